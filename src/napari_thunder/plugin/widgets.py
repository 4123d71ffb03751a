"""One dock widget per images operation (napari Layers menus and Plugins menu).

Every widget is an :class:`~napari_thunder.plugin.operation_widget.OperationWidget`
(an image-layer picker, the operation's parameters, Run / Cancel, a progress
bar and a status line) and runs on the engine chosen in the Thunder engine
settings:

* per-frame operations (gaussian/median/uniform filters, max and max+min
  projections, subsample, subtract) stream their result chunk by chunk into a
  new layer ``<layer>_<operation>``;
* statistics over the images (mean, std, var, sum, min, max) and localcorr
  show a running estimate in a new layer that refines to the exact value.

Parameters typed as text accept one number or comma-separated numbers, one per
*image* axis (the axes after the image axis): ``sigma = 0, 2, 2`` on
``(n, z, y, x)`` data smooths each z plane in 2-D. Argument errors and engine
errors are shown as napari notifications.

Scripting: ``widget.run()`` returns the :class:`~napari_thunder.plugin.worker.Job`
(``job.wait()``, ``job.cancel()``).
"""

from __future__ import annotations

import functools

import numpy as np
from magicgui.widgets import ComboBox, LineEdit, SpinBox

from napari_thunder.plugin.operation_widget import (
    LayerSnapshot,
    OperationWidget,
    format_value,
    full_resolution_data,
    image_layers,
    parse_numbers,
)


# -- filters --------------------------------------------------------------------------------
class GaussianFilterWidget(OperationWidget):
    """``imgs.gaussian_filter(sigma, order)`` on every image."""

    operation = "gaussian_filter"
    short = "gaussian"
    help = "sigma per image axis; 0 = no smoothing on that axis (plane by plane)"

    def make_parameters(self):
        self.sigma = LineEdit(label="sigma", value="2",
                              tooltip="one value, or one per image axis (e.g. 0, 2, 2 for "
                                      "(z, y, x) volumes: each plane smoothed in 2-D)")
        self.order = SpinBox(label="order", min=0, max=3, value=0,
                             tooltip="derivative order of the Gaussian (0 = smoothing)")
        return [self.sigma, self.order]

    def parameter_values(self):
        return {"sigma": parse_numbers(self.sigma.value, "sigma"), "order": int(self.order.value)}

    def describe_parameters(self, params):
        text = f"sigma={format_value(params['sigma'])}"
        return text + (f", order={params['order']}" if params.get("order") else "")

    def apply(self, imgs, sigma, order):
        return imgs.gaussian_filter(sigma=sigma, order=order)


class _SizeFilterWidget(OperationWidget):
    method = ""
    help = "size per image axis; for 3-D images a last size of 0 filters plane by plane"

    def make_parameters(self):
        self.size = LineEdit(label="size", value="2",
                             tooltip="window width: one value or one per image axis; for 3-D "
                                     "images 'a, b, 0' filters each plane along the last axis "
                                     "in 2-D (Thunder's rule)")
        return [self.size]

    def parameter_values(self):
        return {"size": parse_numbers(self.size.value, "size", int)}

    def apply(self, imgs, size):
        return getattr(imgs, self.method)(size=size)


class MedianFilterWidget(_SizeFilterWidget):
    """``imgs.median_filter(size)`` on every image."""

    operation = method = "median_filter"
    short = "median"


class UniformFilterWidget(_SizeFilterWidget):
    """``imgs.uniform_filter(size)`` on every image."""

    operation = method = "uniform_filter"
    short = "uniform"


# -- projections inside each image --------------------------------------------------------------
def _image_axis_names(snapshot) -> list:
    """Names of the axes of ONE image of the layer (after the image axis),
    without an RGB samples axis: ``['z', 'y', 'x']`` for (t, z, y, x)."""
    from napari_thunder.data.layers import metadata_from_layer

    shape = tuple(int(s) for s in snapshot.data.shape)
    if len(shape) == 2 or (snapshot.rgb and len(shape) == 3):
        shape = (1,) + shape  # one image
    names = list(metadata_from_layer(snapshot, shape).names[1:])
    return names[:-1] if snapshot.rgb else names


class _ProjectionWidget(OperationWidget):
    """Projection along one axis INSIDE each image (z of volumes); the images
    (time) axis is kept. For a projection over time use Maximum / Mean."""

    method = ""
    help = ("projects inside each image (e.g. along z of (t, z, y, x) volumes); "
            "the time axis is kept - over time, use 'Maximum over images'")

    def make_parameters(self):
        self.axis = ComboBox(label="axis", choices=self._axis_choices,
                             tooltip="axis of each image to project along (z for volumes)")
        return [self.axis]

    def _axis_choices(self, _widget=None):
        layer = getattr(self, "image", None)
        layer = layer.value if layer is not None else None
        if layer is None:
            return [("z / first image axis", 0)]
        names = _image_axis_names(LayerSnapshot(layer))
        return [(f"{name} (image axis {k})", k) for k, name in enumerate(names)]

    def _on_layer_changed(self, *_):
        self.axis.reset_choices()
        layer = self.image.value
        if layer is None:
            return
        snapshot = LayerSnapshot(layer)
        if len(_image_axis_names(snapshot)) < 3:
            self.status.value = ("each image of this layer is 2-D: projecting gives a 1-D strip per "
                                 "image; for a projection over time use 'Maximum over images'")
        else:
            self.status.value = self.help

    def parameter_values(self):
        if self.axis.value is None:
            raise ValueError("axis: choose an image layer first")
        return {"axis": int(self.axis.value)}

    def describe_parameters(self, params):
        names = _image_axis_names(LayerSnapshot(self.image.value)) if self.image.value else []
        axis = params["axis"]
        return f"axis={names[axis]}" if axis < len(names) else f"axis={axis}"

    def keeps_ndim(self, snapshot):
        return False

    def apply(self, imgs, axis):
        return getattr(imgs, self.method)(axis=axis)


class MaxProjectionWidget(_ProjectionWidget):
    """``imgs.max_projection(axis)``: maximum along one axis of each image."""

    operation = method = "max_projection"
    short = "max projection"


class MaxMinProjectionWidget(_ProjectionWidget):
    """``imgs.max_min_projection(axis)``: max + min along the axis (Thunder's
    definition), in the input dtype."""

    operation = method = "max_min_projection"
    short = "max+min projection"


# -- statistics over the images ---------------------------------------------------------------------
class _StatisticWidget(OperationWidget):
    kind = "statistic"
    help = "over all images (time); the estimate refines as chunks finish"

    def stream(self, imgs):
        return imgs.stream_statistic(self.operation)

    def keeps_ndim(self, snapshot):
        return False


class MeanWidget(_StatisticWidget):
    """Mean over the images (running estimate)."""

    operation = short = "mean"


class StdWidget(_StatisticWidget):
    """Population standard deviation over the images."""

    operation = short = "std"


class VarWidget(_StatisticWidget):
    """Population variance over the images."""

    operation = short = "var"


class SumWidget(_StatisticWidget):
    """Sum over the images."""

    operation = short = "sum"


class MinWidget(_StatisticWidget):
    """Minimum over the images."""

    operation = short = "min"


class MaxWidget(_StatisticWidget):
    """Maximum over the images."""

    operation = short = "max"


class LocalCorrWidget(OperationWidget):
    """``imgs.localcorr(neighborhood)``: each pixel's correlation with its
    neighbourhood's mean series (running estimate), shown in ``magma``."""

    operation = short = "localcorr"
    kind = "localcorr"
    help = "box of width 2n+1 around each pixel; refines as chunks finish"
    result_layer_kwargs = {"colormap": "magma"}

    def make_parameters(self):
        self.neighborhood = SpinBox(label="neighborhood", min=0, max=100, value=2,
                                    tooltip="half-width n of the (2n+1) box")
        return [self.neighborhood]

    def parameter_values(self):
        return {"neighborhood": int(self.neighborhood.value)}

    def check_layer(self, snapshot, params):
        if snapshot.nimages < 2:
            raise ValueError(
                f"localcorr correlates time series, and layer '{snapshot.name}' holds one image; "
                "it needs at least 2 images (axis 0)"
            )
        if snapshot.rgb:
            raise ValueError(f"localcorr works on one channel; layer '{snapshot.name}' is RGB "
                             "(split its channels first: right-click > Split RGB)")

    def keeps_ndim(self, snapshot):
        return False

    def stream(self, imgs, neighborhood):
        return imgs.stream_localcorr(neighborhood)


# -- other operations ---------------------------------------------------------------------------------
class SubsampleWidget(OperationWidget):
    """``imgs.subsample(factor)``: keep every factor-th pixel on each image
    axis; the result's pixels are ``factor`` times larger in the world, so it
    stays on top of its input."""

    operation = short = "subsample"

    def make_parameters(self):
        self.factor = LineEdit(label="factor", value="2",
                               tooltip="one integer, or one per image axis")
        return [self.factor]

    def parameter_values(self):
        return {"factor": parse_numbers(self.factor.value, "factor", int)}

    def apply(self, imgs, factor):
        return imgs.subsample(factor)


NUMBER_CHOICE = "(the number below)"

#: how ``SubtractWidget`` keeps an integer result in range
OVERFLOW_CLIP = "clip to the input type"
OVERFLOW_FLOAT = "float32 result (negative values kept)"
OVERFLOW_WRAP = "wrap around (numpy integer rules)"
OVERFLOW_CHOICES = (OVERFLOW_CLIP, OVERFLOW_FLOAT, OVERFLOW_WRAP)


class SubtractWidget(OperationWidget):
    """``imgs.subtract(value)``: a number, or an image layer shaped like one image.

    For integer layers ``result`` chooses what happens below 0 (or above the
    type's maximum): clipped at the type's range (the default: ``uint16``
    ``3 - 5`` is 0, not 65534), a ``float32`` result, or numpy's wrap-around.
    """

    operation = short = "subtract"

    def make_parameters(self):
        self.subtrahend = ComboBox(label="subtract", choices=self._subtrahend_choices,
                                   tooltip="a number, or an image layer shaped like ONE image "
                                           "(e.g. the result of Mean)")
        self.value = LineEdit(label="number", value="0")
        self.overflow = ComboBox(label="result", choices=list(OVERFLOW_CHOICES),
                                 value=OVERFLOW_CLIP,
                                 tooltip="integer layers: what happens to values below 0 or "
                                         "above the type's maximum")
        return [self.subtrahend, self.value, self.overflow]

    def _subtrahend_choices(self, _widget=None):
        return [(NUMBER_CHOICE, None)] + [(layer.name, layer) for layer in image_layers(self.viewer)]

    def parameter_values(self):
        other = self.subtrahend.value
        overflow = self.overflow.value
        if other is None:
            text = str(self.value.value).strip()
            try:  # '5' stays an int, so int16 - 5 stays int16 (numpy casting)
                return {"value": int(text), "overflow": overflow}
            except ValueError:
                value = parse_numbers(text, "number")
            if isinstance(value, tuple):
                raise ValueError(f"number must be one number, got {text!r}")
            return {"value": value, "overflow": overflow}
        return {"value": full_resolution_data(other), "layer": other.name, "overflow": overflow}

    def describe_parameters(self, params):
        what = params.get("layer") or format_value(params["value"])
        mode = {OVERFLOW_CLIP: "", OVERFLOW_FLOAT: ", float32", OVERFLOW_WRAP: ", wrap"}
        return f"{what}{mode.get(params.get('overflow'), '')}"

    def apply(self, imgs, value, overflow=OVERFLOW_WRAP, layer=None):
        if not isinstance(value, (int, float)):
            value = np.asarray(value)  # another layer's data (computed here, off the GUI)
            if value.ndim == len(imgs.shape) and value.shape[0] == 1:
                value = value[0]  # a one-image stack
        if overflow == OVERFLOW_FLOAT:
            return imgs.astype(np.float32).subtract(value)
        if overflow == OVERFLOW_CLIP and imgs.dtype.kind in "iub":
            info = np.iinfo(imgs.dtype) if imgs.dtype.kind != "b" else None
            if info is None:
                return imgs.subtract(value)
            clipped = imgs.astype(np.float64).subtract(value)
            return clipped.map(functools.partial(_clip_round, low=float(info.min),
                                                 high=float(info.max)),
                               dtype=imgs.dtype)
        return imgs.subtract(value)


def _clip_round(block, low, high):
    """Round to integers and clip to ``[low, high]`` (float blocks)."""
    return np.clip(np.rint(block), low, high)


#: widget class of every operation, by operation name
OPERATION_WIDGETS = {
    cls.operation: cls
    for cls in (
        GaussianFilterWidget, MedianFilterWidget, UniformFilterWidget, MaxProjectionWidget,
        MaxMinProjectionWidget, MeanWidget, StdWidget, VarWidget, SumWidget, MinWidget,
        MaxWidget, LocalCorrWidget, SubsampleWidget, SubtractWidget,
    )
}
