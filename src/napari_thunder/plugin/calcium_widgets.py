"""Calcium-imaging dock widgets: motion correction and summary images.

* :class:`MotionCorrectionWidget` - registers an image layer (rigid or
  piecewise-rigid, onto the iterated mean of the first frames or onto
  another layer) and streams the corrected movie into a new layer while the
  y/x shifts are plotted as chunks finish.
* :class:`SummaryImagesWidget` - mean, maximum, correlation image, peak-to-
  noise ratio or enhanced mean, as a running estimate in a new layer.
* :func:`motion_sample` - the sample movie with known motion, and its cells.

The ROI traces widget is in :mod:`napari_thunder.plugin.calcium_traces`. All
run in the background on the engine chosen in the Thunder engine settings,
like the other operation widgets (:mod:`napari_thunder.plugin.widgets`).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, FloatSpinBox, LineEdit, SpinBox

from napari_thunder.plugin.operation_widget import (
    OperationWidget,
    full_resolution_data,
    image_layers,
    parse_numbers,
)

MEAN_REFERENCE = "(iterated mean of the first frames)"


def plot_canvas(height=2.4):
    """A matplotlib canvas for a dock widget.

    Parameters
    ----------
    height : float
        Figure height in inches; the canvas is at least ``70 * height`` pixels tall.

    Returns
    -------
    figure, axes, canvas
        The figure, its one axes, and the Qt canvas to add to a layout.
    """
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, height), tight_layout=True)
    canvas = FigureCanvasQTAgg(figure)
    canvas.setMinimumHeight(int(height * 70))
    return figure, figure.add_subplot(111), canvas


class _RegistrationStream:
    """What ``start_frames_job`` streams for the motion-correction widget:
    the registered frames chunk by chunk, the shifts kept in ``shifts``
    (written in the worker thread before each chunk is handed over)."""

    def __init__(self, imgs, options):
        self.imgs = imgs
        self.options = options
        self.shape = imgs.shape
        self.dtype = np.dtype(np.float32 if imgs.dtype.kind != "f" else imgs.dtype)
        self.metadata = imgs.metadata
        self.stream = imgs.stream_register(**options)  # checks and reference, in the worker
        self.shifts = None

    def iter_chunks(self):
        stream = self.stream
        try:
            for start, stop, frames, shifts in stream:
                if self.shifts is None:
                    self.shifts = np.full((self.shape[0],) + shifts.shape[1:], np.nan)
                self.shifts[start:stop] = shifts
                yield start, stop, frames
        finally:
            stream.close()

    def cancel_streams(self):
        return self.imgs.cancel_streams()


class MotionCorrectionWidget(OperationWidget):
    """``imgs.register(...)``: the motion-corrected movie in a new layer and
    its shifts plotted as they are computed (``widget.shifts`` at the end)."""

    operation = "register"
    short = "registered"
    help = "shifts in pixels; the plot fills as chunks finish"

    def __init__(self, viewer: napari.viewer.Viewer):  # noqa: F821
        self._stream = None
        self.shifts = None
        super().__init__(viewer)
        self.figure, self.axes, self.canvas = plot_canvas()
        self.native.layout().addWidget(self.canvas)
        self._draw_shifts(None)

    def make_parameters(self):
        self.method = ComboBox(label="method", choices=["rigid", "piecewise"], value="rigid",
                               tooltip="one shift per frame, or also one per patch (non-rigid)")
        self.reference = ComboBox(label="reference", choices=self._reference_choices,
                                  tooltip="image to register onto: the iterated mean of the first "
                                          "frames, or a layer holding one image")
        self.nreference = SpinBox(label="frames for mean", min=1, max=100000, value=50)
        self.max_shift = LineEdit(label="max shift", value="",
                                  tooltip="largest shift searched (pixels), empty = no limit")
        self.block_size = SpinBox(label="patch size", min=8, max=4096, value=128,
                                  tooltip="piecewise: patch size in pixels")
        return [self.method, self.reference, self.nreference, self.max_shift, self.block_size]

    def _reference_choices(self, _widget=None):
        return [(MEAN_REFERENCE, None)] + [(layer.name, layer) for layer in image_layers(self.viewer)]

    def parameter_values(self):
        params = {"method": self.method.value, "nreference": int(self.nreference.value)}
        text = str(self.max_shift.value).strip()
        if text:
            params["max_shift"] = parse_numbers(text, "max shift")
        ref = self.reference.value
        if ref is not None:
            params["reference"] = np.asarray(full_resolution_data(ref))
            params["reference_name"] = ref.name
        if params["method"] == "piecewise":
            params["block_size"] = int(self.block_size.value)
        return params

    def check_layer(self, snapshot, params):
        if snapshot.rgb:
            raise ValueError(f"layer '{snapshot.name}' is RGB; registration works on one channel")
        if snapshot.nimages < 2:
            raise ValueError(f"layer '{snapshot.name}' holds one image; motion correction needs a movie")
        ref = params.get("reference")
        if ref is not None:
            shape = tuple(snapshot.data.shape[1:])
            if ref.ndim == len(shape) + 1 and ref.shape[0] == 1:
                params["reference"] = ref = ref[0]
            if ref.shape != shape:
                raise ValueError(f"reference layer '{params['reference_name']}' has shape {ref.shape}; "
                                 f"it must be one image of {shape}")

    def describe_parameters(self, params):
        text = params["method"]
        if "max_shift" in params:
            text += f", max_shift={params['max_shift']}"
        return text

    def apply(self, imgs, reference_name=None, **params):
        self._stream = _RegistrationStream(imgs, params)
        return self._stream

    def run(self):
        self.shifts = None
        self._stream = None
        self._draw_shifts(None)
        return super().run()

    def _on_progress(self, job):
        super()._on_progress(job)
        stream = self._stream
        if stream is not None and stream.shifts is not None:
            self._draw_shifts(stream.shifts)

    def _on_finish(self, job):
        super()._on_finish(job)
        stream = self._stream
        if stream is not None and stream.shifts is not None:
            self.shifts = stream.shifts.copy()
            self._draw_shifts(self.shifts)
            if job.layer is not None:
                job.layer.metadata["shifts"] = self.shifts

    def _draw_shifts(self, shifts):
        ax = self.axes
        ax.clear()
        ax.set_xlabel("frame")
        ax.set_ylabel("shift (pixels)")
        if shifts is not None:
            rigid = shifts if shifts.ndim == 2 else shifts.reshape(len(shifts), -1, shifts.shape[-1]).mean(1)
            names = ["z", "y", "x"][-rigid.shape[1]:]
            for axis, name in enumerate(names):
                ax.plot(np.arange(len(rigid)), rigid[:, axis], label=name, lw=1)
            ax.legend(loc="upper right", fontsize="small")
        self.canvas.draw_idle()


# -- summary images -----------------------------------------------------------------------------
SUMMARIES = {
    "mean": "mean over frames",
    "max": "maximum over frames",
    "correlation": "correlation image (mean correlation with the neighbours)",
    "pnr": "peak-to-noise ratio",
    "enhanced mean": "enhanced mean (high-pass, local contrast)",
}


class SummaryImagesWidget(OperationWidget):
    """Summary images of a movie, one streaming pass each, refined as chunks
    finish: mean, max, correlation image, PNR, enhanced mean."""

    operation = "summary image"
    short = "summary"
    kind = "summary"
    help = "one pass over the frames; the estimate refines as chunks finish"

    def make_parameters(self):
        self.summary = ComboBox(label="image", choices=list(SUMMARIES), value="correlation",
                                tooltip="\n".join(f"{k}: {v}" for k, v in SUMMARIES.items()))
        self.neighbours = ComboBox(label="neighbours", choices=[4, 8], value=8,
                                   tooltip="correlation image: 4 or 8 neighbours (6 or 26 for volumes)")
        self.sigma = FloatSpinBox(label="sigma", min=0.0, max=100.0, value=0.0, step=0.5,
                                  tooltip="PNR: smoothing (pixels) first; enhanced mean: its scale "
                                          "(0 = 5 pixels)")
        return [self.summary, self.neighbours, self.sigma]

    def parameter_values(self):
        return {"what": self.summary.value, "neighbours": int(self.neighbours.value),
                "sigma": float(self.sigma.value)}

    def check_layer(self, snapshot, params):
        if snapshot.rgb:
            raise ValueError(f"layer '{snapshot.name}' is RGB; summary images work on one channel")
        if params["what"] in ("correlation", "pnr") and snapshot.nimages < 3:
            raise ValueError(f"layer '{snapshot.name}' has {snapshot.nimages} image(s); "
                             f"the {params['what']} image needs at least 3")
        if params["what"] == "correlation" and snapshot.ndim_shown == 4:
            params["neighbours"] = 26 if params["neighbours"] == 8 else 6

    def describe_parameters(self, params):
        what = params["what"]
        if what == "correlation":
            return f"correlation, {params['neighbours']} neighbours"
        if what in ("pnr", "enhanced mean") and params["sigma"]:
            return f"{what}, sigma={params['sigma']:g}"
        return what

    def output_name(self, layer, params=None):
        return f"{layer.name} {self.describe_parameters(params)}"

    def keeps_ndim(self, snapshot):
        return False

    def stream(self, imgs, what, neighbours, sigma):
        if what in ("mean", "max"):
            return imgs.stream_statistic(what)
        if what == "correlation":
            return imgs.stream_correlation_image(neighbours)
        if what == "pnr":
            return imgs.stream_pnr_image(sigma)
        from napari_thunder.kernels.summary import enhanced_mean

        scale = sigma or 5.0
        return ((done, total, enhanced_mean(np.asarray(est).reshape(imgs.value_shape), scale))
                for done, total, est in imgs.stream_statistic("mean"))


# -- sample ---------------------------------------------------------------------------------------
def motion_sample():
    """File > Open Sample: a synthetic calcium movie with known rigid motion
    (200 frames of 128x128 uint16) and the Labels layer of its cells."""
    from napari_thunder.sample_data.motion import calcium_movie

    m = calcium_movie(n=200, shape=(128, 128), ncells=30, seed=0)
    low, high = np.percentile(m.movie, (1, 99.8))
    return [
        (m.movie, {"name": "calcium (moving)", "contrast_limits": (float(low), float(high)),
                   "axis_labels": ("t", "y", "x"), "metadata": {"shifts": m.shifts}}, "image"),
        (m.labels, {"name": "cells", "opacity": 0.4, "axis_labels": ("y", "x")}, "labels"),
    ]
