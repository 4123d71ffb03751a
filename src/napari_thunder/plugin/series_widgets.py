"""Series dock widgets: the trace under the cursor, and a Series result as an image.

* :class:`PixelTraceWidget` plots the series (axis 0 of an image layer) of the
  pixel under the cursor, or the mean of a small box around it, and its
  processed version (ΔF/F with a percentile or running-percentile baseline,
  z-score, or detrended), with the same kernels as ``Series.normalize``,
  ``Series.zscore`` and ``Series.detrend``; the plot is a matplotlib canvas.
* :class:`SeriesMapWidget` turns a Series result back into an image layer:
  correlation of every pixel's series with a stimulus, peak ΔF/F, standard
  deviation of ΔF/F... computed by ``Images.toseries()`` on the engine of the
  Thunder engine settings, streamed into the layer from a thread so the
  window stays responsive.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_thunder.kernels import series_ops
from napari_thunder.plugin.operation_widget import full_resolution_data, image_layers

#: processing choices of the trace plot: label -> (kernel, uses percentile, uses window)
PROCESSING = {
    "ΔF/F (percentile baseline)": ("percentile", True, False),
    "ΔF/F (running percentile)": ("window", True, True),
    "ΔF/F (mean baseline)": ("mean", False, False),
    "z-score": ("zscore", False, False),
    "detrended (linear)": ("detrend", False, False),
}


def process_trace(trace, method, perc=20.0, window=6, offset=0.1) -> np.ndarray:
    """One series processed like the matching ``Series`` method.

    Parameters
    ----------
    trace : 1-D array
    method : {'percentile', 'window', 'mean', 'zscore', 'detrend'}
    perc, window, offset
        As ``Series.normalize``.

    Raises
    ------
    ValueError
        Unknown ``method``.
    """
    x = np.asarray(trace, dtype=np.float64).reshape(1, -1)
    if method in ("percentile", "window", "mean"):
        return series_ops.normalize(x, method, int(window), float(perc), float(offset))[0]
    if method == "zscore":
        with np.errstate(invalid="ignore", divide="ignore"):
            return series_ops.zscore(x)[0]
    if method == "detrend":
        return series_ops.detrend(x, 1)[0]
    raise ValueError(f"method must be one of percentile, window, mean, zscore, detrend; got {method!r}")


class _LayerPicker(QComboBox):
    """Image layers of the viewer, kept up to date."""

    def __init__(self, viewer):
        super().__init__()
        self.viewer = viewer
        viewer.layers.events.inserted.connect(self.refresh)
        viewer.layers.events.removed.connect(self.refresh)
        self.refresh()

    def refresh(self, event=None):
        current = self.currentText()
        self.blockSignals(True)
        self.clear()
        for layer in image_layers(self.viewer):
            if full_resolution_data(layer).ndim >= 3 and not getattr(layer, "rgb", False):
                self.addItem(layer.name)
        index = self.findText(current)
        if index >= 0:
            self.setCurrentIndex(index)
        self.blockSignals(False)

    def layer(self):
        name = self.currentText()
        return self.viewer.layers[name] if name and name in self.viewer.layers else None


class PixelTraceWidget(QWidget):
    """The series under the cursor and its processed version, plotted live.

    Scripting: :meth:`show_trace_at` (data coordinates of the layer) plots
    one position and returns ``(raw, processed)``.
    """

    def __init__(self, napari_viewer):
        super().__init__()
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.viewer = napari_viewer
        self.picker = _LayerPicker(napari_viewer)
        self.box = QSpinBox()
        self.box.setRange(0, 50)
        self.box.setToolTip("half-width of the box averaged around the cursor (0 = one pixel)")
        self.method = QComboBox()
        self.method.addItems(list(PROCESSING))
        self.perc = QDoubleSpinBox()
        self.perc.setRange(0.0, 100.0)
        self.perc.setValue(20.0)
        self.window = QSpinBox()
        self.window.setRange(1, 10_000)
        self.window.setValue(6)
        self.follow = QCheckBox("follow the cursor")
        self.follow.setChecked(True)
        self.status = QLabel("move the cursor over an image layer")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("layer", self.picker)
        form.addRow("box half-width", self.box)
        form.addRow("processing", self.method)
        form.addRow("percentile", self.perc)
        form.addRow("window", self.window)
        form.addRow(self.follow)
        self.figure = Figure(figsize=(4, 4), tight_layout=True)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(320)
        self.ax_raw = self.figure.add_subplot(2, 1, 1)
        self.ax_proc = self.figure.add_subplot(2, 1, 2, sharex=self.ax_raw)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.canvas)
        layout.addWidget(self.status)
        self._last = None
        for widget in (self.box, self.perc, self.window):
            widget.valueChanged.connect(self._replot)
        self.method.currentTextChanged.connect(self._replot)
        self.picker.currentTextChanged.connect(self._replot)
        napari_viewer.mouse_move_callbacks.append(self._on_move)

    # -- data ------------------------------------------------------------
    def trace_at(self, position):
        """The raw series at ``position`` (data coordinates, image axis first
        or spatial only) of the picked layer: the mean over the box.

        Returns
        -------
        ndarray or None
            None outside the image or without a layer.
        """
        layer = self.picker.layer()
        if layer is None:
            return None
        data = full_resolution_data(layer)
        spatial = data.shape[1:]
        pos = np.asarray(position, dtype=np.float64).reshape(-1)
        pos = pos[-len(spatial):]
        idx = np.round(pos).astype(int)
        if np.any(idx < 0) or np.any(idx >= np.asarray(spatial)):
            return None
        half = int(self.box.value())
        keys = [slice(None)]
        for axis, (i, size) in enumerate(zip(idx, spatial)):
            if axis >= len(spatial) - 2:  # the box spans the last two axes
                keys.append(slice(max(0, i - half), min(size, i + half + 1)))
            else:
                keys.append(slice(i, i + 1))
        block = np.asarray(data[tuple(keys)], dtype=np.float64)
        return block.reshape(block.shape[0], -1).mean(axis=1)

    def show_trace_at(self, position):
        """Plot the series at ``position``; returns ``(raw, processed)`` or None."""
        raw = self.trace_at(position)
        if raw is None:
            return None
        self._last = tuple(np.round(np.asarray(position, dtype=float)).astype(int))
        method, _, _ = PROCESSING[self.method.currentText()]
        processed = process_trace(raw, method, self.perc.value(), self.window.value())
        self._draw(raw, processed)
        return raw, processed

    # -- drawing -------------------------------------------------------------
    def _draw(self, raw, processed):
        layer = self.picker.layer()
        where = ", ".join(str(i) for i in self._last[-(len(full_resolution_data(layer).shape) - 1):])
        box = self.box.value()
        self.ax_raw.clear()
        self.ax_proc.clear()
        self.ax_raw.plot(raw, color="tab:blue", lw=1)
        self.ax_raw.set_title(f"{layer.name} at ({where})" + (f" ± {box} px" if box else ""), fontsize=9)
        self.ax_raw.set_ylabel("raw", fontsize=8)
        self.ax_proc.plot(processed, color="tab:orange", lw=1)
        self.ax_proc.set_ylabel(self.method.currentText(), fontsize=8)
        self.ax_proc.set_xlabel("index (axis 0)", fontsize=8)
        for ax in (self.ax_raw, self.ax_proc):
            ax.tick_params(labelsize=7)
        self.canvas.draw_idle()
        self.status.setText(f"{len(raw)} values; min {raw.min():.4g}, max {raw.max():.4g}")

    def _replot(self, *args):
        if self._last is not None:
            self.show_trace_at(self._last)

    def _on_move(self, viewer, event):
        if not self.follow.isChecked():
            return
        layer = self.picker.layer()
        if layer is None:
            return
        try:
            position = layer.world_to_data(event.position)
        except Exception:  # layer removed meanwhile
            return
        self.show_trace_at(position)


#: maps of the series widget: label -> function(Series, stimulus, freq) -> Series
def _correlation(s, stimulus, freq):
    return s.correlate(stimulus)


def _peak_dff(s, stimulus, freq):
    return s.normalize().series_max()


def _std_dff(s, stimulus, freq):
    return s.normalize().series_std()


def _coherence(s, stimulus, freq):
    return s.fourier(freq).select("coherence")


def _series_mean(s, stimulus, freq):
    return s.series_mean()


MAPS = {
    "correlation with the stimulus": _correlation,
    "peak ΔF/F": _peak_dff,
    "standard deviation of ΔF/F": _std_dff,
    "Fourier coherence at frequency": _coherence,
    "mean": _series_mean,
}


def parse_stimulus(text, length) -> np.ndarray:
    """A stimulus from comma/space separated numbers.

    Raises
    ------
    ValueError
        Not numbers, or not ``length`` of them.
    """
    parts = str(text).replace(",", " ").split()
    try:
        values = np.array([float(p) for p in parts])
    except ValueError:
        raise ValueError(f"stimulus must be numbers separated by commas, got {text!r}") from None
    if values.size != length:
        raise ValueError(f"stimulus must have {length} values (one per image), got {values.size}")
    return values


class SeriesMapWidget(QWidget):
    """A per-pixel Series result as a new image layer ``<layer>_<map>``.

    Scripting: :meth:`compute` returns the map as an ndarray (no layer);
    :meth:`run` adds the layer (``run(wait=True)`` computes on the calling
    thread).
    """

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.picker = _LayerPicker(napari_viewer)
        self.map = QComboBox()
        self.map.addItems(list(MAPS))
        self.stimulus = QLineEdit()
        self.stimulus.setPlaceholderText("one value per image, e.g. 0, 0, 1, 1, 0, ...")
        self.freq = QSpinBox()
        self.freq.setRange(0, 100_000)
        self.freq.setValue(1)
        self.button = QPushButton("Run")
        self.button.clicked.connect(lambda: self.run())
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("layer", self.picker)
        form.addRow("map", self.map)
        form.addRow("stimulus", self.stimulus)
        form.addRow("frequency", self.freq)
        form.addRow(self.button)
        form.addRow(self.status)

    def _prepare(self):
        """On the GUI thread: what the work needs of the layer and the fields
        (no engine is started here).

        Raises
        ------
        ValueError
            No 3-D+ image layer, or a bad stimulus.
        """
        from napari_thunder.plugin.operation_widget import LayerSnapshot
        from napari_thunder.plugin.settings import get_engine

        layer = self.picker.layer()
        if layer is None:
            raise ValueError("pick an image layer with an image axis (3-D or more)")
        snapshot = LayerSnapshot(layer)
        name = self.map.currentText()
        stimulus = None
        if name == "correlation with the stimulus":
            stimulus = parse_stimulus(self.stimulus.text(), snapshot.nimages)
        placement = {"name": f"{layer.name}_{name.split(' ')[0].lower()}",
                     "scale": tuple(layer.scale)[1:], "translate": tuple(layer.translate)[1:]}
        job = _MapJob(snapshot, name, stimulus, int(self.freq.value()), get_engine())
        return job, tuple(snapshot.data.shape[1:]), placement

    def compute(self) -> np.ndarray:
        """The chosen map of the picked layer, shape = the layer's image shape.

        Raises
        ------
        ValueError
            No 3-D+ image layer, or a bad stimulus.
        """
        job, shape, _ = self._prepare()
        return np.asarray(job.series().toarray()).reshape(shape)

    def run(self, wait=False):
        """Compute the map into a new layer.

        With ``wait`` on the calling thread (returns the layer); otherwise in
        a thread that streams the map block of records by block of records
        into the layer (NaN where not yet computed) with the progress in the
        status line, and returns the worker (``worker.quit()`` stops it).
        """
        try:
            job, shape, placement = self._prepare()
        except ValueError as err:
            self._failed(err)
            if wait:
                raise
            return None
        if wait:
            return self._show(np.asarray(job.series().toarray()).reshape(shape), placement, done=True)
        from napari.qt.threading import create_worker

        self.status.setText("computing...")
        self._layer = None

        def partial(update):
            done, total, values = update
            self._show(values, placement, done=False)
            self.status.setText(f"{placement['name']}: {done}/{total} pixels")

        def finished(values):
            if values is not None:
                self._show(values, placement, done=True)

        # with _connect the worker starts at once
        return create_worker(_stream_map, job, shape,
                             _connect={"yielded": partial, "returned": finished, "errored": self._failed})

    def _show(self, values, placement, done):
        layer = getattr(self, "_layer", None)
        if layer is None or layer not in self.viewer.layers:
            layer = self.viewer.add_image(values, colormap="magma", **placement)
            self._layer = layer
        else:
            layer.data = values
        if done and np.isfinite(values).any():
            self.status.setText(f"{layer.name}: min {np.nanmin(values):.4g}, max {np.nanmax(values):.4g}")
            layer.reset_contrast_limits()
        return layer

    def _failed(self, err):
        self.status.setText(f"{type(err).__name__}: {err}")


def _identity(block, start):
    return block


class _MapJob:
    """The map's work, built where it runs (the engine starts in the worker)."""

    def __init__(self, snapshot, name, stimulus, freq, choice):
        self.snapshot = snapshot
        self.name = name
        self.stimulus = stimulus
        self.freq = freq
        self.choice = choice

    def series(self):
        from napari_thunder import images

        imgs = images.fromlayer(self.snapshot, npartitions=self.choice.npartitions_arg,
                                engine=self.choice.engine)
        return MAPS[self.name](imgs.toseries(), self.stimulus, self.freq)


def _stream_map(job, shape):
    """Generator run by the worker: ``(done, total, map so far)`` per block of
    records (the engine's chunks or partitions, in order); returns the map."""
    result = job.series()
    total = int(np.prod(shape))
    out = np.full(total, np.nan)
    for start, stop, block in result.frames.iter_chunks(_identity):
        out[start:stop] = np.asarray(block, dtype=np.float64).reshape(stop - start, -1)[:, 0]
        yield stop, total, out.reshape(shape).copy()
    return out.reshape(shape)
