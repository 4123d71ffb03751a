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

import numpy as np
from magicgui.widgets import (
    ComboBox,
    Container,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)

from napari_thunder.plugin import settings as engine_settings
from napari_thunder.plugin import worker as background


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


class OperationWidget(Container):
    """Base class of the operation widgets.

    Subclasses set ``operation`` (used in the output layer name), ``kind``
    (``'frames'``, ``'statistic'`` or ``'localcorr'``), build their parameter
    widgets in :meth:`make_parameters` and apply the operation in
    :meth:`apply` (``'frames'``) or :meth:`stream` (estimates).
    """

    operation = ""
    kind = "frames"
    help = ""

    def __init__(self, viewer: napari.viewer.Viewer):  # noqa: F821 (napari passes the viewer)
        super().__init__(labels=True)
        self.viewer = viewer
        self.job = None
        self.image = ComboBox(label="image", choices=self._layer_choices,
                              tooltip="Image layer to process; axis 0 = images")
        self.parameters = self.make_parameters()
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = Label(label="status", value=self.help or "ready")
        self.extend([self.image, *self.parameters, self.run_button, self.cancel_button,
                     self.progress, self.status])
        self.run_button.changed.connect(self._on_run)
        self.cancel_button.changed.connect(self.cancel)
        events = viewer.layers.events
        events.inserted.connect(self._refresh_layers)
        events.removed.connect(self._refresh_layers)
        events.reordered.connect(self._refresh_layers)

    # -- layer choice --------------------------------------------------------------
    def _layer_choices(self, _widget=None):
        return [(layer.name, layer) for layer in _image_layers(self.viewer)]

    def _refresh_layers(self, *_):
        self.reset_choices()

    # -- to override -------------------------------------------------------------------
    def make_parameters(self) -> list:
        """The operation's parameter widgets."""
        return []

    def parameter_values(self) -> dict:
        """The parameters read from the widgets (on the GUI thread), parsed.

        Raises ValueError for bad values, before any work starts.
        """
        return {}

    def apply(self, imgs, **params):
        """Per-frame operations: the lazy result ``Images`` (worker thread)."""
        raise NotImplementedError

    def stream(self, imgs, **params):
        """Estimates: a generator of ``(done, total, estimate)`` (worker thread)."""
        raise NotImplementedError

    # -- running -------------------------------------------------------------------------
    def output_name(self, layer) -> str:
        return f"{layer.name}_{self.operation}"

    def _on_run(self, *_):
        self.run()

    def run(self):
        """Start the operation on the chosen layer in the background.

        Returns
        -------
        Job or None
            None when nothing could start (the reason is notified).
        """
        if self.job is not None and self.job.running:
            _notify_error(f"{self.operation} is already running; cancel it first")
            return None
        layer = self.image.value
        if layer is None:
            _notify_error(f"{self.operation}: choose an image layer first")
            return None
        try:
            params = self.parameter_values()
        except (ValueError, TypeError) as exc:
            self.status.value = f"error: {exc}"
            _notify_error(f"{self.operation}: {exc}")
            return None
        choice = engine_settings.get_engine()
        data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
        name = self.output_name(layer)
        n = int(data.shape[0]) if data.ndim > 2 else 1

        streaming = {}  # the Images whose stream runs, for cancelling its engine jobs

        def to_images():
            from napari_thunder import images

            return images.fromarray(data, npartitions=choice.npartitions_arg, engine=choice.engine)

        def result_images():
            streaming["imgs"] = self.apply(to_images(), **params)
            return streaming["imgs"]

        def result_stream():
            streaming["imgs"] = to_images()
            return self.stream(streaming["imgs"], **params)

        if self.kind == "frames":
            job = background.start_frames_job(
                self.viewer, result_images, name, desc=name, on_finish=self._on_finish, total=n,
            )
        else:
            job = background.start_estimate_job(
                self.viewer, result_stream, name, total=n, desc=name, on_finish=self._on_finish,
            )
        job.cancel_hooks.append(lambda: _cancel_engine_streams(streaming.get("imgs")))
        job.progress_callbacks.append(self._on_progress)
        self.job = job
        self.progress.max = max(n, 1)
        self.progress.value = 0
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.status.value = f"running on the {choice.describe()}"
        return job

    def cancel(self, *_):
        """Cancel the running job (it stops after the current chunk)."""
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.status.value = "cancelling..."

    def _on_progress(self, job):
        self.progress.max = max(job.total, 1)
        self.progress.value = min(job.done, self.progress.max)
        self.status.value = f"{job.done} / {job.total} images"

    def _on_finish(self, job):
        self.run_button.enabled = True
        self.cancel_button.enabled = False
        if job.status == "done":
            self.progress.value = self.progress.max
            self.status.value = f"done: layer '{job.name}'"
        elif job.status == "cancelled":
            self.status.value = f"cancelled after {job.done} / {job.total} images"
        else:
            self.status.value = f"failed: {job.error}"


# -- filters --------------------------------------------------------------------------------
class GaussianFilterWidget(OperationWidget):
    """``imgs.gaussian_filter(sigma, order)`` on every image."""

    operation = "gaussian_filter"
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


class UniformFilterWidget(_SizeFilterWidget):
    """``imgs.uniform_filter(size)`` on every image."""

    operation = method = "uniform_filter"


# -- projections inside each image --------------------------------------------------------------
class _ProjectionWidget(OperationWidget):
    method = ""
    help = "axis of each image (0 = first image axis); the image axis is kept"

    def make_parameters(self):
        self.axis = SpinBox(label="axis", min=0, max=8, value=0,
                            tooltip="image axis to project along: 0 = z for (n, z, y, x) data")
        return [self.axis]

    def parameter_values(self):
        return {"axis": int(self.axis.value)}

    def apply(self, imgs, axis):
        return getattr(imgs, self.method)(axis=axis)


class MaxProjectionWidget(_ProjectionWidget):
    """``imgs.max_projection(axis)``."""

    operation = method = "max_projection"


class MaxMinProjectionWidget(_ProjectionWidget):
    """``imgs.max_min_projection(axis)``: max + min along the axis (Thunder's
    definition), in the input dtype."""

    operation = method = "max_min_projection"


# -- statistics over the images ---------------------------------------------------------------------
class _StatisticWidget(OperationWidget):
    kind = "statistic"
    help = "over all images; the estimate refines as chunks finish"

    def stream(self, imgs):
        return imgs.stream_statistic(self.operation)


class MeanWidget(_StatisticWidget):
    """Mean over the images (running estimate)."""

    operation = "mean"


class StdWidget(_StatisticWidget):
    """Population standard deviation over the images."""

    operation = "std"


class VarWidget(_StatisticWidget):
    """Population variance over the images."""

    operation = "var"


class SumWidget(_StatisticWidget):
    """Sum over the images."""

    operation = "sum"


class MinWidget(_StatisticWidget):
    """Minimum over the images."""

    operation = "min"


class MaxWidget(_StatisticWidget):
    """Maximum over the images."""

    operation = "max"


class LocalCorrWidget(OperationWidget):
    """``imgs.localcorr(neighborhood)``: each pixel's correlation with its
    neighbourhood's mean series (running estimate)."""

    operation = "localcorr"
    kind = "localcorr"
    help = "box of width 2n+1 around each pixel; refines as chunks finish"

    def make_parameters(self):
        self.neighborhood = SpinBox(label="neighborhood", min=0, max=100, value=2,
                                    tooltip="half-width n of the (2n+1) box")
        return [self.neighborhood]

    def parameter_values(self):
        return {"neighborhood": int(self.neighborhood.value)}

    def stream(self, imgs, neighborhood):
        return imgs.stream_localcorr(neighborhood)


# -- other operations ---------------------------------------------------------------------------------
class SubsampleWidget(OperationWidget):
    """``imgs.subsample(factor)``: keep every factor-th pixel on each image axis."""

    operation = "subsample"

    def make_parameters(self):
        self.factor = LineEdit(label="factor", value="2",
                               tooltip="one integer, or one per image axis")
        return [self.factor]

    def parameter_values(self):
        return {"factor": parse_numbers(self.factor.value, "factor", int)}

    def apply(self, imgs, factor):
        return imgs.subsample(factor)


NUMBER_CHOICE = "(the number below)"


class SubtractWidget(OperationWidget):
    """``imgs.subtract(value)``: a number, or an image layer shaped like one image."""

    operation = "subtract"

    def make_parameters(self):
        self.subtrahend = ComboBox(label="subtract", choices=self._subtrahend_choices,
                                   tooltip="a number, or an image layer shaped like ONE image "
                                           "(e.g. the result of Mean)")
        self.value = LineEdit(label="number", value="0")
        return [self.subtrahend, self.value]

    def _subtrahend_choices(self, _widget=None):
        return [(NUMBER_CHOICE, None)] + [(layer.name, layer) for layer in _image_layers(self.viewer)]

    def parameter_values(self):
        other = self.subtrahend.value
        if other is None:
            text = str(self.value.value).strip()
            try:  # '5' stays an int, so int16 - 5 stays int16 (numpy casting)
                return {"value": int(text)}
            except ValueError:
                value = parse_numbers(text, "number")
            if isinstance(value, tuple):
                raise ValueError(f"number must be one number, got {text!r}")
            return {"value": value}
        data = other.data[0] if getattr(other, "multiscale", False) else other.data
        return {"value": data}

    def apply(self, imgs, value):
        if not isinstance(value, (int, float)):
            value = np.asarray(value)  # another layer's data (computed here, off the GUI)
            if value.ndim == len(imgs.shape) and value.shape[0] == 1:
                value = value[0]  # a one-image stack
        return imgs.subtract(value)


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
    imgs.cancel_streams()
