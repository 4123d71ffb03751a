"""Calcium-imaging ROI traces: a dock widget that extracts and plots them.

:class:`TracesWidget` takes the mean trace of every ROI of a Labels layer
(drawn in napari or read from a file) over an image layer, raw or dF/F, one
line per ROI in a plot; clicking a ROI in the viewer highlights its trace;
traces export to CSV or NPY. The extraction runs in the background on the
engine chosen in the Thunder engine settings, like the operation widgets.
"""

from __future__ import annotations

import time

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)

from napari_thunder.plugin import settings as engine_settings
from napari_thunder.plugin import worker as background
from napari_thunder.plugin.calcium_widgets import plot_canvas
from napari_thunder.plugin.messages import wrapping_label
from napari_thunder.plugin.operation_widget import (
    LayerSnapshot,
    cancel_engine_streams,
    image_layers,
    notify_error,
    show_progress,
)

#: seconds between two repaints of the traces plot while traces stream in
REDRAW_INTERVAL = 0.5


def _labels_layers(viewer):
    from napari.layers import Labels

    return [layer for layer in viewer.layers if isinstance(layer, Labels)]


class TracesWidget(Container):
    """Mean trace per ROI of a Labels layer over an image layer, plotted.

    Attributes
    ----------
    traces : ndarray or None
        ``(n_rois, n_frames)`` raw (neuropil-corrected) traces of the last run.
    ids : ndarray or None
        The ROI labels, one per row.
    job : Job or None
    """

    def __init__(self, viewer: napari.viewer.Viewer):  # noqa: F821
        super().__init__(labels=True)
        self.viewer = viewer
        self.job = None
        self.traces = None
        self.ids = None
        self.highlighted = None
        self._lines = {}
        self._connected = None
        self.image = ComboBox(label="image", choices=self._image_choices)
        self.labels = ComboBox(label="labels", choices=self._labels_choices,
                               tooltip="Labels layer of one image's shape: 0 = background, k = ROI k")
        self.neuropil = CheckBox(label="neuropil", value=False,
                                 tooltip="subtract coefficient x the mean of a ring around each ROI")
        self.inner = FloatSpinBox(label="ring inner", min=0.0, max=100.0, value=2.0, step=0.5)
        self.outer = FloatSpinBox(label="ring outer", min=0.5, max=200.0, value=8.0, step=0.5)
        self.coefficient = FloatSpinBox(label="coefficient", min=0.0, max=2.0, value=0.7, step=0.05)
        self.dff = CheckBox(label="dF/F", value=True, tooltip="plot (F - F0) / F0")
        self.window = SpinBox(label="baseline window", min=0, max=100000, value=0,
                              tooltip="frames of the running baseline; 0 = the whole trace")
        self.percentile = FloatSpinBox(label="percentile", min=0.0, max=100.0, value=8.0)
        self.run_button = PushButton(text="Extract traces")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.export_path = LineEdit(label="export to", value="traces.csv",
                                    tooltip=".csv (one column per ROI) or .npy")
        self.export_button = PushButton(text="Export", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=1, value=0)
        self.status = wrapping_label(label="status", value="pick an image and a Labels layer")
        self.extend([self.image, self.labels, self.neuropil, self.inner, self.outer, self.coefficient,
                     self.dff, self.window, self.percentile, self.run_button, self.cancel_button,
                     self.export_path, self.export_button, self.progress, self.status])
        self.figure, self.axes, self.canvas = plot_canvas(3.0)
        self.native.layout().addWidget(self.canvas)
        self.run_button.changed.connect(lambda *_: self.run())
        self.cancel_button.changed.connect(lambda *_: self.cancel())
        self.export_button.changed.connect(lambda *_: self._export_clicked())
        self.dff.changed.connect(lambda *_: self.redraw())
        self.labels.changed.connect(self._connect_labels)
        events = viewer.layers.events
        for event in (events.inserted, events.removed, events.reordered):
            event.connect(lambda *_: self.reset_choices())
        self._connect_labels()

    def _image_choices(self, _widget=None):
        return [(layer.name, layer) for layer in image_layers(self.viewer)]

    def _labels_choices(self, _widget=None):
        return [(layer.name, layer) for layer in _labels_layers(self.viewer)]

    # -- ROI highlighting --------------------------------------------------------------------------
    def _connect_labels(self, *_):
        layer = self.labels.value
        if layer is self._connected:
            return
        if self._connected is not None:
            try:
                self._connected.mouse_drag_callbacks.remove(self._on_click)
                self._connected.events.selected_label.disconnect(self._on_selected)
            except (ValueError, TypeError):
                pass
        self._connected = layer
        if layer is not None:
            layer.mouse_drag_callbacks.append(self._on_click)
            layer.events.selected_label.connect(self._on_selected)

    def _on_click(self, layer, event):
        value = layer.get_value(event.position, world=True)
        if value is not None and not isinstance(value, tuple) and int(value) > 0:
            self.highlight(int(value))

    def _on_selected(self, event=None):
        layer = self._connected
        if layer is not None and self.ids is not None and int(layer.selected_label) in set(self.ids.tolist()):
            self.highlight(int(layer.selected_label))

    def highlight(self, label):
        """Make ROI ``label``'s trace stand out in the plot."""
        self.highlighted = int(label)
        for roi, line in self._lines.items():
            on = roi == self.highlighted
            line.set_linewidth(2.5 if on else 0.8)
            line.set_alpha(1.0 if on else 0.35)
            line.set_zorder(3 if on else 1)
        self.axes.set_title(f"ROI {label}" if label in self._lines else "", fontsize="small")
        self.canvas.draw_idle()

    # -- values ----------------------------------------------------------------------------------------
    def shown_traces(self):
        """The plotted traces: raw, or dF/F with the widget's baseline."""
        if self.traces is None:
            return None
        if not self.dff.value:
            return self.traces
        from napari_thunder.kernels.traces import delta_f_over_f

        window = int(self.window.value) or None
        finite = np.isfinite(self.traces).all(axis=0)
        out = np.full(self.traces.shape, np.nan)
        if finite.any():
            done = self.traces[:, finite]
            if window is not None:
                window = min(window, done.shape[1])
            out[:, finite] = delta_f_over_f(done, window, float(self.percentile.value))
        return out

    def redraw(self, *_):
        ax = self.axes
        ax.clear()
        self._lines = {}
        values = self.shown_traces()
        ax.set_xlabel("frame")
        ax.set_ylabel("dF/F" if self.dff.value else "F")
        if values is not None:
            layer = self.labels.value
            for label, row in zip(self.ids, values):
                color = None
                if layer is not None:
                    try:
                        color = tuple(np.asarray(layer.get_color(int(label)))[:3])
                    except Exception:  # a colormap without this label
                        color = None
                (line,) = ax.plot(np.arange(len(row)), row, lw=0.8, color=color)
                self._lines[int(label)] = line
            if self.highlighted in self._lines:
                self.highlight(self.highlighted)
        self.canvas.draw_idle()

    def export(self, path):
        """Write the shown traces (raw or dF/F) to ``path``: ``.npy`` (an
        ``(n_rois, n_frames)`` array) or ``.csv`` (a ``frame`` column and one
        column per ROI, headed ``roi_<label>``).

        Raises
        ------
        ValueError
            No traces yet, or another file extension.
        """
        import os

        values = self.shown_traces()
        if values is None:
            raise ValueError("no traces to export yet: run 'Extract traces' first")
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".npy":
            np.save(path, values)
        elif ext == ".csv":
            header = ",".join(["frame"] + [f"roi_{int(i)}" for i in self.ids])
            table = np.column_stack([np.arange(values.shape[1]), values.T])
            np.savetxt(path, table, delimiter=",", header=header, comments="",
                       fmt=["%d"] + ["%.9g"] * len(self.ids))
        else:
            raise ValueError(f"export to: a .csv or .npy file, got {path!r}")
        return path

    def _export_clicked(self):
        try:
            path = self.export(self.export_path.value)
        except (ValueError, OSError) as exc:
            self.status.value = f"error: {exc}"
            notify_error(f"export traces: {exc}")
            return
        self.status.value = f"exported to {path}"

    # -- running ---------------------------------------------------------------------------------------
    def run(self):
        """Extract the traces in the background; returns the Job or None."""
        from napari_thunder.plugin.engine_check import prepare_engine

        if self.job is not None and self.job.running:
            notify_error("traces are already being extracted; cancel first")
            return None
        image, labels = self.image.value, self.labels.value
        try:
            if image is None:
                raise ValueError("choose an image layer")
            if labels is None:
                raise ValueError("choose a Labels layer (Layers > New labels layer, then draw ROIs)")
            snapshot = LayerSnapshot(image)
            shape = tuple(snapshot.data.shape[1:]) if snapshot.nimages > 1 or snapshot.data.ndim > 2 \
                else tuple(snapshot.data.shape)
            label_data = np.asarray(labels.data)
            if label_data.ndim == len(shape) + 1 and label_data.shape[0] == 1:
                label_data = label_data[0]
            if label_data.shape != shape:
                raise ValueError(f"Labels layer '{labels.name}' has shape {label_data.shape}; it must "
                                 f"be one image of {shape} (the image layer's frames)")
            neuropil = (float(self.inner.value), float(self.outer.value)) if self.neuropil.value else None
            coefficient = float(self.coefficient.value)
            ids = np.unique(label_data)
            ids = ids[ids > 0]
            if not ids.size:
                raise ValueError(f"Labels layer '{labels.name}' has no ROI yet: draw some first")
        except ValueError as exc:
            self.status.value = f"error: {exc}"
            notify_error(f"traces: {exc}")
            return None
        choice = engine_settings.get_engine()
        state = {}

        def stream():
            from napari_thunder import images

            yield from background.status_items(lambda: prepare_engine(choice))
            imgs = state["imgs"] = images.fromlayer(snapshot, npartitions=choice.npartitions_arg,
                                                    engine=choice.engine)
            yield from imgs.stream_traces(label_data, ids=ids, neuropil=neuropil,
                                          neuropil_coefficient=coefficient)

        job = background.Job(name=f"{image.name} traces", total=snapshot.nimages,
                             viewer_layers=self.viewer.layers)
        self.ids = ids
        self.traces = None

        drawn = {"at": 0.0}

        def on_item(item):
            done, total, values = item
            step = int(done) - job.done
            job.done, job.total = int(done), int(total)
            self.traces = values
            now = time.monotonic()
            # one line per ROI: repaint at most every REDRAW_INTERVAL seconds while streaming
            if now - drawn["at"] > REDRAW_INTERVAL or job.done >= job.total:
                self.redraw()
                drawn["at"] = now
            return step

        def on_done():
            self.redraw()

        def on_progress(j):
            show_progress(self.progress, j.done, j.total)
            self.status.value = j.message if (j.done == 0 and j.message) else f"{j.done} / {j.total} frames"

        job.progress_callbacks.append(on_progress)
        job.cancel_hooks.append(lambda: cancel_engine_streams(state.get("imgs")))
        self.job = background.start_job(job, stream(), on_item, on_done, job.name, self._on_finish)
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.export_button.enabled = False
        self.status.value = f"running on the {choice.describe()}"
        return self.job

    def cancel(self):
        if self.job is not None and self.job.running:
            self.status.value = "cancelling..."
            self.job.cancel()

    def _on_finish(self, job):
        from napari_thunder.plugin.messages import describe_error

        self.run_button.enabled = True
        self.cancel_button.enabled = False
        self.export_button.enabled = self.traces is not None
        if job.status == "done":
            show_progress(self.progress, self.progress.max)
            self.status.value = f"done: {len(self.ids)} ROIs x {job.total} frames"
        elif job.status == "cancelled":
            self.status.value = f"cancelled after {job.done} / {job.total} frames (partial traces kept)"
        else:
            self.status.value = f"failed: {describe_error(job.error) if job.error else 'unknown error'}"
