"""One dock widget per images operation (napari Layers menus and Plugins menu).

Every widget has the same shape: an image-layer picker, the operation's
parameters, Run / Cancel buttons, a progress bar and a status line. *Run*
turns the layer into ``Images`` on the engine chosen in the Thunder engine
settings (:mod:`napari_thunder.plugin.settings`), then hands the work to the
background engine (:mod:`napari_thunder.plugin.worker`):

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
from magicgui.widgets import (
    ComboBox,
    Container,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)

from napari_thunder.plugin import settings as engine_settings
from napari_thunder.plugin import worker as background
from napari_thunder.plugin.messages import wrapping_label


def parse_numbers(text, name, cast=float):
    """``'2'`` -> ``2.0``; ``'0, 2, 2'`` -> ``(0.0, 2.0, 2.0)``.

    Parameters
    ----------
    text : str or number
    name : str
        Parameter name, for the error message.
    cast : type
        ``float`` or ``int``.

    Raises
    ------
    ValueError
        ``text`` is empty or not numbers (the message names the parameter).
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return cast(text)
    parts = [p.strip() for p in str(text).replace(";", ",").split(",")]
    if not parts or any(p == "" for p in parts):
        raise ValueError(f"{name} must be a number or comma-separated numbers, got {text!r}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{name} must be a number or comma-separated numbers, got {text!r}") from None
    if cast is int:
        if any(v != int(v) for v in values):
            raise ValueError(f"{name} must be integers, got {text!r}")
        values = [int(v) for v in values]
    return values[0] if len(values) == 1 else tuple(values)


def _image_layers(viewer):
    from napari.layers import Image

    return [layer for layer in viewer.layers if isinstance(layer, Image)]


def _notify_error(message):
    from napari.utils.notifications import show_error

    show_error(message)


def _tidy_tabs_when_docked(widget) -> None:
    """Once the widget is docked (next event-loop turn), let the window's dock
    tabs show whole names instead of "G...", "M..." when many are open."""
    from qtpy.QtCore import QTimer

    def tidy():
        from napari_thunder.plugin.app import tidy_dock_tabs

        try:
            window = widget.native.window()
        except RuntimeError:  # deleted meanwhile
            return
        if window is not None and window is not widget.native:
            tidy_dock_tabs(window)

    QTimer.singleShot(0, tidy)


def show_progress(bar, done, total=None) -> None:
    """Set a magicgui ``ProgressBar`` to ``done`` of ``total`` (``total``
    unchanged when None), repainted with the window's next update.

    ``QProgressBar.setValue`` repaints at once, and with napari's OpenGL
    canvas in the window every immediate repaint recomposes the whole window
    (tens of ms under a software renderer): once per chunk, that cost more
    than a small job itself. Here the change waits for the next regular
    update, together with the status text and the layer.
    """
    native = bar.native
    native.setUpdatesEnabled(False)
    try:
        if total is not None:
            bar.max = max(int(total), 1)
        bar.value = min(int(done), bar.max)
    finally:
        native.setUpdatesEnabled(True)  # schedules an ordinary update


def _format_value(value) -> str:
    if isinstance(value, tuple):
        return ",".join(_format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class LayerSnapshot:
    """What the worker thread needs of an image layer, read on the GUI thread:
    the (full-resolution) data and the layer's placement (``scale``,
    ``translate``, ``units``, ``axis_labels``, ``rgb``), for
    :func:`napari_thunder.images.fromlayer`."""

    def __init__(self, layer):
        data = layer.data
        if getattr(layer, "multiscale", False) or isinstance(data, (list, tuple)):
            data = data[0]
        self.data = data
        self.name = layer.name
        self.rgb = bool(getattr(layer, "rgb", False))
        self.multiscale = False
        for attr in ("scale", "translate", "units", "axis_labels"):
            value = getattr(layer, attr, None)
            if value is not None:
                setattr(self, attr, tuple(value))
        affine = getattr(layer, "affine", None)
        matrix = getattr(affine, "affine_matrix", None)
        #: rotate/shear/affine of the layer, when not the identity
        self.transform = {}
        if matrix is not None and not np.allclose(matrix, np.eye(matrix.shape[0])):
            self.transform["affine"] = np.array(matrix)
        for attr, neutral in (("rotate", None), ("shear", 0.0)):
            value = getattr(layer, attr, None)
            if value is None:
                continue
            value = np.asarray(value)
            same = (np.allclose(value, np.eye(value.shape[0])) if attr == "rotate" and value.ndim == 2
                    else np.allclose(value, neutral or 0.0))
            if not same:
                self.transform[attr] = value

    @property
    def nimages(self) -> int:
        """Images in the layer (axis 0; a 2-D layer or one RGB picture is one)."""
        single_ndim = 3 if self.rgb else 2
        return int(self.data.shape[0]) if self.data.ndim > single_ndim else 1

    @property
    def ndim_shown(self) -> int:
        """Axes napari places (without the RGB samples axis)."""
        return self.data.ndim - (1 if self.rgb else 0)


class OperationWidget(Container):
    """Base class of the operation widgets.

    Subclasses set ``operation`` (the images method), ``short`` (the name in
    the output layer), ``kind`` (``'frames'``, ``'statistic'`` or
    ``'localcorr'``), build their parameter widgets in :meth:`make_parameters`
    and apply the operation in :meth:`apply` (``'frames'``) or :meth:`stream`
    (estimates).
    """

    operation = ""
    short = ""
    kind = "frames"
    help = ""
    #: extra ``add_image`` arguments of the output layer (e.g. a colormap)
    result_layer_kwargs: dict = {}

    def __init__(self, viewer: napari.viewer.Viewer):  # noqa: F821 (napari passes the viewer)
        super().__init__(labels=True)
        self.viewer = viewer
        self.job = None
        self.image = ComboBox(label="image", choices=self._layer_choices,
                              tooltip="Image layer to process; axis 0 = images (time)")
        self.parameters = self.make_parameters()
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = wrapping_label(label="status", value=self.help or "ready")
        self.extend([self.image, *self.parameters, self.run_button, self.cancel_button,
                     self.progress, self.status])
        self.run_button.changed.connect(self._on_run)
        self.cancel_button.changed.connect(self.cancel)
        self.image.changed.connect(self._on_layer_changed)
        events = viewer.layers.events
        events.inserted.connect(self._refresh_layers)
        events.removed.connect(self._refresh_layers)
        events.reordered.connect(self._refresh_layers)
        self._on_layer_changed()
        _tidy_tabs_when_docked(self)

    # -- layer choice --------------------------------------------------------------
    def _layer_choices(self, _widget=None):
        return [(layer.name, layer) for layer in _image_layers(self.viewer)]

    def _refresh_layers(self, *_):
        self.reset_choices()

    def _on_layer_changed(self, *_):
        """Adapt the parameters to the chosen layer (subclasses)."""

    # -- to override -------------------------------------------------------------------
    def make_parameters(self) -> list:
        """The operation's parameter widgets."""
        return []

    def parameter_values(self) -> dict:
        """The parameters read from the widgets (on the GUI thread), parsed.

        Raises ValueError for bad values, before any work starts.
        """
        return {}

    def check_layer(self, snapshot, params) -> None:
        """Raise ValueError when the operation cannot run on this layer (GUI thread)."""

    def apply(self, imgs, **params):
        """Per-frame operations: the lazy result ``Images`` (worker thread)."""
        raise NotImplementedError

    def stream(self, imgs, **params):
        """Estimates: a generator of ``(done, total, estimate)`` (worker thread)."""
        raise NotImplementedError

    # -- running -------------------------------------------------------------------------
    def describe_parameters(self, params) -> str:
        """The parameters as they appear in the output layer's name."""
        return ", ".join(f"{key}={_format_value(value)}" for key, value in params.items())

    def output_name(self, layer, params=None) -> str:
        """``'<layer> <operation>(<parameters>)'``, e.g. ``'movie gaussian(sigma=2, order=0)'``."""
        text = self.describe_parameters(params or {})
        return f"{layer.name} {self.short or self.operation}" + (f"({text})" if text else "")

    def _on_run(self, *_):
        self.run()

    def run(self):
        """Start the operation on the chosen layer in the background.

        Returns
        -------
        Job or None
            None when nothing could start (the reason is notified).
        """
        from napari_thunder.plugin.engine_check import prepare_engine

        if self.job is not None and self.job.running:
            _notify_error(f"{self.operation} is already running; cancel it first")
            return None
        layer = self.image.value
        if layer is None:
            _notify_error(f"{self.operation}: choose an image layer first")
            return None
        snapshot = LayerSnapshot(layer)
        try:
            params = self.parameter_values()
            self.check_layer(snapshot, params)
        except (ValueError, TypeError) as exc:
            self.status.value = f"error: {exc}"
            _notify_error(f"{self.operation}: {exc}")
            return None
        choice = engine_settings.get_engine()
        name = self.output_name(layer, params)
        n = snapshot.nimages

        streaming = {}  # the Images whose stream runs, for cancelling its engine jobs

        def to_images():
            from napari_thunder import images

            return images.fromlayer(snapshot, npartitions=choice.npartitions_arg,
                                    engine=choice.engine)

        def result_images():
            streaming["imgs"] = self.apply(to_images(), **params)
            return streaming["imgs"]

        def result_stream():
            from napari_thunder.plugin.worker import Begin, result_layer_kwargs

            imgs = streaming["imgs"] = to_images()
            yield Begin(layer_kwargs=result_layer_kwargs(imgs.metadata, shown_single=True))
            yield from self.stream(imgs, **params)

        extra = dict(self.result_layer_kwargs)
        if snapshot.transform and self.keeps_ndim(snapshot):
            extra.update(snapshot.transform)
        if self.kind == "frames":
            job = background.start_frames_job(
                self.viewer, result_images, name, desc=name, on_finish=self._on_finish, total=n,
                prepare=lambda: prepare_engine(choice), layer_kwargs=extra,
            )
        else:
            job = background.start_estimate_job(
                self.viewer, result_stream, name, total=n, desc=name, on_finish=self._on_finish,
                prepare=lambda: prepare_engine(choice), layer_kwargs=extra,
            )
        job.cancel_hooks.append(lambda: _cancel_engine_streams(streaming.get("imgs")))
        job.progress_callbacks.append(self._on_progress)
        self.job = job
        show_progress(self.progress, 0, n)
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.status.value = f"running on the {choice.describe()}"
        return job

    def keeps_ndim(self, snapshot) -> bool:
        """The output layer has the input layer's axes (so its rotate/shear/affine apply)."""
        return self.kind == "frames"

    def cancel(self, *_):
        """Cancel the running job (it stops after the current chunk; at once
        while the engine is still starting)."""
        if self.job is not None and self.job.running:
            self.status.value = "cancelling..."
            self.job.cancel()

    def _on_progress(self, job):
        show_progress(self.progress, job.done, job.total)
        if job.done == 0 and job.message:
            self.status.value = job.message
        else:
            self.status.value = f"{job.done} / {job.total} images"

    def _on_finish(self, job):
        from napari_thunder.plugin.messages import describe_error

        self.run_button.enabled = True
        self.cancel_button.enabled = False
        if job.status == "done":
            show_progress(self.progress, self.progress.max)
            self.status.value = f"done: layer '{job.name}'"
        elif job.status == "cancelled":
            kept = f"; partial result in '{job.layer.name}'" if job.layer is not None else ""
            self.status.value = f"cancelled after {job.done} / {job.total} images{kept}"
        else:
            error = describe_error(job.error) if job.error is not None else "unknown error"
            self.status.value = f"failed: {error}"


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
        text = f"sigma={_format_value(params['sigma'])}"
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
        return [(NUMBER_CHOICE, None)] + [(layer.name, layer) for layer in _image_layers(self.viewer)]

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
        data = other.data[0] if getattr(other, "multiscale", False) else other.data
        return {"value": data, "layer": other.name, "overflow": overflow}

    def describe_parameters(self, params):
        what = params.get("layer") or _format_value(params["value"])
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


def _cancel_engine_streams(imgs) -> None:
    """Cancel at once the engine jobs streaming ``imgs`` (Spark job groups);
    the local engine stops between chunks by itself."""
    if imgs is not None:
        imgs.cancel_streams()
