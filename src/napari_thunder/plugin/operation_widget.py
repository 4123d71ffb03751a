"""The base of the operation dock widgets, and what they share.

:class:`OperationWidget` gives every operation widget the same shape: an
image-layer picker, the operation's parameters, Run / Cancel buttons, a
progress bar and a status line. *Run* reads the chosen layer on the GUI
thread (:class:`LayerSnapshot`), checks the parameters, turns the layer into
``Images`` on the engine chosen in the Thunder engine settings
(:mod:`napari_thunder.plugin.settings`) in the worker thread, and streams the
result into a new layer (:mod:`napari_thunder.plugin.result_layers`). Argument
errors and engine errors are shown as napari notifications.

The per-operation widgets are in :mod:`napari_thunder.plugin.widgets` and
:mod:`napari_thunder.plugin.calcium_widgets`.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, ProgressBar, PushButton

from napari_thunder.plugin import result_layers
from napari_thunder.plugin import settings as engine_settings
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


def image_layers(viewer) -> list:
    """The Image layers of ``viewer``, in the layer list's order.

    Parameters
    ----------
    viewer : napari.Viewer

    Returns
    -------
    list of napari.layers.Image
    """
    from napari.layers import Image

    return [layer for layer in viewer.layers if isinstance(layer, Image)]



def notify_error(message: str) -> None:
    """Show ``message`` as a napari error notification.

    Parameters
    ----------
    message : str
    """
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


def format_value(value) -> str:
    """A parameter as it appears in a layer name: ``2.0`` -> ``'2'``,
    ``(0.0, 2.0)`` -> ``'0,2'``.

    Parameters
    ----------
    value : number, tuple of numbers or object

    Returns
    -------
    str
    """
    if isinstance(value, tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)



def full_resolution_data(layer):
    """The data of ``layer``; of a multiscale layer, its first (largest) level.

    Parameters
    ----------
    layer : napari.layers.Layer

    Returns
    -------
    array-like
    """
    data = layer.data
    if getattr(layer, "multiscale", False) or isinstance(data, (list, tuple)):
        data = data[0]
    return data


class LayerSnapshot:
    """What the worker thread needs of an image layer, read on the GUI thread:
    the (full-resolution) data and the layer's placement (``scale``,
    ``translate``, ``units``, ``axis_labels``, ``rgb``), for
    :func:`napari_thunder.images.fromlayer`."""

    def __init__(self, layer):
        self.data = full_resolution_data(layer)
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
        return [(layer.name, layer) for layer in image_layers(self.viewer)]

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
        return ", ".join(f"{key}={format_value(value)}" for key, value in params.items())

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
            notify_error(f"{self.operation} is already running; cancel it first")
            return None
        layer = self.image.value
        if layer is None:
            notify_error(f"{self.operation}: choose an image layer first")
            return None
        snapshot = LayerSnapshot(layer)
        try:
            params = self.parameter_values()
            self.check_layer(snapshot, params)
        except (ValueError, TypeError) as exc:
            self.status.value = f"error: {exc}"
            notify_error(f"{self.operation}: {exc}")
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
            imgs = streaming["imgs"] = to_images()
            placement = result_layers.result_layer_kwargs(imgs.metadata, shown_single=True)
            yield result_layers.Begin(layer_kwargs=placement)
            yield from self.stream(imgs, **params)

        extra = dict(self.result_layer_kwargs)
        if snapshot.transform and self.keeps_ndim(snapshot):
            extra.update(snapshot.transform)
        if self.kind == "frames":
            job = result_layers.start_frames_job(
                self.viewer, result_images, name, desc=name, on_finish=self._on_finish, total=n,
                prepare=lambda: prepare_engine(choice), layer_kwargs=extra,
            )
        else:
            job = result_layers.start_estimate_job(
                self.viewer, result_stream, name, total=n, desc=name, on_finish=self._on_finish,
                prepare=lambda: prepare_engine(choice), layer_kwargs=extra,
            )
        job.cancel_hooks.append(lambda: cancel_engine_streams(streaming.get("imgs")))
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


def cancel_engine_streams(imgs) -> None:
    """Cancel at once the engine jobs streaming ``imgs`` (Spark job groups);
    the local engine stops between chunks by itself."""
    if imgs is not None:
        imgs.cancel_streams()
