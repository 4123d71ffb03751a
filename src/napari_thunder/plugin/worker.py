"""The background engine: run an ``Images`` stream off the GUI thread.

Two kinds of jobs, both built on one generator worker:

* :func:`start_frames_job` - a per-frame operation (filters, projections,
  subsample, subtract). The result ``Images`` is streamed chunk by chunk
  (``imgs.iter_chunks()`` -> ``(start, stop, block)``) into an output layer
  that appears with the first chunk and is repainted as chunks arrive.
* :func:`start_estimate_job` - a statistic or ``localcorr``. The stream yields
  ``(done, total, estimate)``; the output layer shows the running estimate and
  ends with the exact value.

Output layers sit where their input is in world coordinates (the result's
metadata gives ``scale``/``translate``/...). A job that fails leaves no
layer behind; a cancelled one leaves its partial result renamed
``'<name> (cancelled done/total)'``. While an engine starts (Spark's Java VM
can take many seconds) the job's ``message`` says so, and Cancel ends the job
at once.

Rules kept here: the stream runs in a napari thread worker; layers are only
touched in the ``yielded`` / ``finished`` slots, which Qt runs on the main
thread; ``Job.cancel()`` (``worker.quit()``) stops at the next chunk and
*closes the stream generator* in the worker thread, which stops the work that
is left (the Spark engine cancels its jobs); errors become napari
notifications of one readable line (details in the ``napari_thunder`` log)
and leave the viewer usable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_thunder.data.layers import METADATA_KEY
from napari_thunder.plugin.convert import display_limits
from napari_thunder.plugin.messages import report_error


def _closing_worker_class():
    """napari's GeneratorWorker whose loop closes the generator on exit."""
    from napari.qt.threading import GeneratorWorker

    class ClosingGeneratorWorker(GeneratorWorker):
        """Runs a generator; on abort, return or error, closes it in the worker
        thread (so ``finally`` blocks of the stream run there), and lets every
        exception (RuntimeError included) reach the ``errored`` signal."""

        def _relay_error(self, exc):
            """Nothing: the job reports its errors itself, as one readable
            sentence. (napari connects this method to ``errored`` to show the
            raw exception as a second notification; disconnecting it instead
            makes PySide6 warn "Failed to disconnect" on every job.)"""

        def work(self):
            try:
                while True:
                    if self.abort_requested:
                        self.aborted.emit()
                        return None
                    try:
                        output = next(self._gen)
                    except StopIteration as stop:
                        return stop.value
                    self.yielded.emit(output)
            finally:
                self._gen.close()

    return ClosingGeneratorWorker


def _relay(stream: Iterator) -> Iterator:
    """Generator handed to the worker: yields the stream's items and closes the
    stream when it is closed itself."""
    try:
        yield from stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


@dataclass
class Job:
    """A running operation: its worker, output layer and progress.

    Attributes
    ----------
    name : str
        Name of the output layer.
    worker : napari GeneratorWorker
        ``worker.finished`` fires when the worker thread ends.
    layer : napari.layers.Image or None
        The output layer, once the first real result arrived. It is removed
        when the job fails, and renamed ``'<name> (cancelled done/total)'``
        when it is cancelled.
    done, total : int
        Frames processed and frames in all.
    partial_updates : int
        How many partial results reached the layer (for tests and the GUI).
    status : str
        ``'running'``, ``'done'``, ``'cancelled'`` or ``'failed'``.
    message : str
        The last status message of the stream (e.g. ``'starting Spark...'``).
    error : Exception or None
    progress : napari.utils.progress or None
        The job's bar in napari's activity dock, made once the job has run
        :data:`ACTIVITY_DELAY` seconds (None before, and for quicker jobs).
    """

    name: str
    total: int
    worker: Any = None
    layer: Any = None
    done: int = 0
    partial_updates: int = 0
    status: str = "running"
    message: str = ""
    error: Exception | None = None
    progress: Any = None
    callbacks: list = field(default_factory=list)
    progress_callbacks: list = field(default_factory=list)
    cancel_hooks: list = field(default_factory=list)
    cancel_requested: bool = False
    viewer_layers: Any = None
    _finish: Any = None

    def cancel(self) -> None:
        """Ask the worker to stop at the next chunk (non-blocking), and run
        the ``cancel_hooks`` (e.g. cancel the Spark jobs in flight at once).

        A job that has shown nothing yet (still starting its engine, e.g. the
        Java VM of Spark) ends at once as cancelled; its worker thread stops
        by itself when the engine call returns, and its results are dropped.
        """
        if self.worker is None or self.status != "running":
            return
        self.cancel_requested = True
        self.worker.quit()
        for hook in self.cancel_hooks:
            try:
                hook()
            except Exception:  # a failed hook must not break cancelling
                pass
        if self.layer is None and self._finish is not None:
            self._finish("cancelled")

    @property
    def running(self) -> bool:
        return self.status == "running"

    def wait(self, timeout: float = 60.0) -> bool:
        """Process Qt events until the job ends or ``timeout`` seconds pass
        (for scripts and tests; the GUI never needs it). Returns True if the
        job ended."""
        from qtpy.QtWidgets import QApplication

        deadline = time.monotonic() + timeout
        while self.status == "running" and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.005)
        return self.status != "running"


class Status:
    """An item a stream yields to say what it is doing (shown as the job's
    ``message``), e.g. ``Status('starting Spark (Java)...')``."""

    def __init__(self, text: str):
        self.text = str(text)


def cancelled_name(name: str, done: int, total: int) -> str:
    """The name a cancelled job's layer gets: ``'<name> (cancelled 3/10)'``."""
    return f"{name} (cancelled {done}/{total})"


#: seconds a job runs before it also gets a progress bar in napari's activity
#: dock: that bar repaints the whole window at every step (napari processes
#: Qt events in it), which a job of a moment would spend most of its time on;
#: the widget's own progress bar shows every job from the start
ACTIVITY_DELAY = 1.0


def _show_activity_later(job: Job, desc: str) -> None:
    """Give ``job`` a napari progress bar (activity dock and status bar) once it
    has run :data:`ACTIVITY_DELAY` seconds, starting at the frames done so far."""
    from qtpy.QtCore import QTimer

    def show():
        if job.status != "running" or job.progress is not None:
            return
        from napari.utils import progress as napari_progress

        job.progress = napari_progress(total=max(job.total, 1), desc=desc)
        if job.done:
            job.progress.update(job.done)

    QTimer.singleShot(int(ACTIVITY_DELAY * 1000), show)


def _start(job: Job, stream: Iterator, on_item: Callable, on_done: Callable, desc: str,
           on_finish: Callable | None = None) -> Job:
    """Create the worker for ``stream`` and wire its signals, then start it."""
    from napari.qt.threading import create_worker
    from napari.utils.notifications import show_error, show_info

    _show_activity_later(job, desc)

    def finish(status):
        """End the job once, on the main thread: keep, rename or remove its layer."""
        if job.status != "running":
            return
        job.status = status
        try:
            if status == "done":
                on_done()
            elif job.layer is not None and status == "cancelled":
                job.layer.name = cancelled_name(job.name, job.done, job.total)
            elif job.layer is not None:  # failed: nothing half-made stays behind
                try:
                    job.viewer_layers.remove(job.layer)
                except (ValueError, AttributeError):
                    pass
                job.layer = None
        finally:
            if status == "cancelled":
                show_info(f"{desc} cancelled after {job.done} of {job.total} frames")
            if job.progress is not None:
                job.progress.close()
            if on_finish is not None:
                on_finish(job)
            for callback in job.callbacks:
                callback(job)

    job._finish = finish

    def fail(exc):
        job.error = exc
        show_error(report_error(desc, exc))
        finish("failed")

    def yielded(item):
        if job.status != "running":
            return  # ended already (cancelled while the engine started)
        try:
            if isinstance(item, Status):
                job.message = item.text
                step = 0
            else:
                step = on_item(item)
                if step is None:  # a Begin item: nothing to show yet
                    return
            for callback in job.progress_callbacks:
                callback(job)
            # last: napari's progress bar processes Qt events, delivering the
            # next item re-entrantly; everything for this item is done by now
            if job.progress is not None:
                job.progress.total = max(job.total, 1)
                if step:
                    job.progress.update(step)
                else:
                    job.progress.refresh()
        except Exception as exc:  # a bad partial must not kill the GUI
            job.worker.quit()
            fail(exc)

    def cut_short():
        # a cancelled engine stream may end quietly instead of being aborted
        return job.cancel_requested and job.done < job.total

    def returned(_value):
        if job.status == "running" and job.error is None:
            finish("cancelled" if cut_short() else "done")

    def errored(exc):
        if job.status != "running":
            return
        if job.cancel_requested:  # an engine job cancelled under the stream
            finish("cancelled")
            return
        fail(exc)

    def aborted():
        finish("cancelled")

    def finished():
        if job.status == "running":
            if job.error is not None:
                finish("failed")
            else:
                finish("cancelled" if cut_short() else "done")

    worker = create_worker(
        _relay,
        stream,
        _worker_class=_closing_worker_class(),
        _ignore_errors=True,
        _start_thread=False,
    )
    worker.yielded.connect(yielded)
    worker.returned.connect(returned)
    worker.errored.connect(errored)
    worker.aborted.connect(aborted)
    worker.finished.connect(finished)
    job.worker = worker
    worker.start()
    return job


def _update_limits(layer, low, high):
    if high > low:
        layer.contrast_limits_range = (low, high)
        layer.contrast_limits = (low, high)


#: results larger than this fraction of the available memory go to a
#: disk-backed (memory-mapped, already unlinked) temporary file
MEMMAP_FRACTION = 0.25

#: seconds between two repaints of a layer being filled or refined (the first
#: and last chunks always repaint): repainting after every chunk costs more
#: than small chunks
REFRESH_INTERVAL = 0.2

#: local-engine inputs made by a job are cut into this many chunks, so
#: progress moves in steps of about 2% (the engine's default, two chunks per
#: core, gives 4 steps on 2 cores)...
GUI_MIN_CHUNKS = 50
#: ...unless chunks would be smaller than this: each costs the GUI a few ms
#: (contrast, signals), and small stacks are done in a moment anyway
GUI_MIN_CHUNK_BYTES = 256 * 2**10


def _finer_chunks():
    """Context in which the job's input frames get :data:`GUI_MIN_CHUNKS`
    chunks of at least :data:`GUI_MIN_CHUNK_BYTES` (local engine; other
    engines keep their partitions)."""
    from napari_thunder.engines.factory import local_min_chunks

    return local_min_chunks(GUI_MIN_CHUNKS, GUI_MIN_CHUNK_BYTES)


def allocate_output(shape, dtype, fraction=MEMMAP_FRACTION):
    """Zeros of ``shape`` / ``dtype`` for a streamed result.

    In memory when it takes less than ``fraction`` of the available memory,
    else in a memory-mapped temporary file (removed from the file system at
    once; the space is freed when the layer is deleted), so a result as big
    as the input stack does not exhaust RAM.
    """
    import tempfile

    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    try:
        import psutil

        available = psutil.virtual_memory().available
    except Exception:  # pragma: no cover
        available = 4 * 2**30
    if nbytes == 0 or nbytes < fraction * available:
        return np.zeros(shape, dtype)
    with tempfile.NamedTemporaryFile(prefix="napari-thunder-", suffix=".raw") as handle:
        out = np.memmap(handle.name, dtype=dtype, mode="w+", shape=tuple(shape))
    return out


class Begin:
    """First item of a stream: the result's shape and dtype (frames jobs) and
    the ``add_image`` arguments its layer gets (scale, translate, ... of the
    result's metadata)."""

    def __init__(self, shape=None, dtype=None, layer_kwargs=None):
        self.shape = None if shape is None else tuple(int(s) for s in shape)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.layer_kwargs = dict(layer_kwargs or {})


_Begin = Begin  # the former name


def result_layer_kwargs(metadata, shown_single: bool) -> dict:
    """``add_image`` arguments placing a result where its input is in the world.

    Parameters
    ----------
    metadata : napari_thunder.metadata.ImageMetadata or None
        The result's metadata (it follows every operation's rule: a
        projection drops its axis, subsample multiplies the scale...).
    shown_single : bool
        The layer shows one image (the image axis of length 1 dropped).

    Returns
    -------
    dict
        ``scale``, ``translate``, ``axis_labels``, ``units`` and ``rgb``; empty
        without metadata, or for a channel axis (the result stays one layer).
    """
    if metadata is None:
        return {}
    kwargs = metadata.layer_kwargs(drop_image_axis=shown_single)
    if "channel_axis" in kwargs:
        return {}
    if metadata.is_default():
        kwargs = {k: v for k, v in kwargs.items() if k == "rgb"}
    return kwargs


def _prepared(prepare) -> Iterator:
    """The messages of ``prepare()`` as :class:`Status` items."""
    if prepare is None:
        return
    for message in prepare():
        yield message if isinstance(message, Status) else Status(message)


def _frames_stream(result, prepare=None) -> Iterator:
    """Worker side of a frames job: run ``prepare`` (status messages while an
    engine starts), build the result if given a factory (so a slow engine
    start, e.g. Spark, happens off the GUI thread), announce its shape and
    placement, then stream its chunks."""
    yield from _prepared(prepare)
    if callable(result) and not hasattr(result, "iter_chunks"):
        with _finer_chunks():
            result = result()
    n = int(result.shape[0]) if len(result.shape) else 0
    single = len(result.shape) > 2 and n == 1
    yield Begin(result.shape, result.dtype,
                result_layer_kwargs(getattr(result, "metadata", None), single))
    chunks = result.iter_chunks()
    try:
        yield from chunks
    finally:
        chunks.close()


def start_frames_job(viewer, result, name: str, desc: str | None = None,
                     on_finish: Callable | None = None, layer_kwargs: dict | None = None,
                     total: int | None = None, prepare: Callable | None = None) -> Job:
    """Compute a per-frame result chunk by chunk into a new layer ``name``.

    The layer appears with the first computed chunk (the frames not computed
    yet are zeros; an image axis of length 1 is dropped), placed in the same
    world coordinates as the input (the result's metadata: scale, translate,
    units, axis labels), and is filled as chunks finish; contrast limits follow
    the percentiles of the chunks computed so far. A failed job removes the
    layer; a cancelled one renames it ``'<name> (cancelled done/total)'``.

    Parameters
    ----------
    viewer : napari.Viewer
    result : napari_thunder.Images or callable
        The (lazy) result of a per-frame operation, or a function returning
        it, called in the worker thread.
    name : str
        Output layer name.
    desc : str, optional
        Progress bar label; defaults to ``name``.
    on_finish : callable, optional
        ``on_finish(job)`` after the job ends, on the main thread.
    layer_kwargs : dict, optional
        Extra ``add_image`` arguments (they override the computed ones).
    total : int, optional
        Number of frames, for the progress bar before the result is known.
    prepare : callable, optional
        A generator function run first in the worker thread; the strings or
        :class:`Status` items it yields become the job's ``message``.

    Returns
    -------
    Job
    """
    if total is None:
        total = int(result.shape[0]) if hasattr(result, "shape") else 0
    job = Job(name=name, total=int(total), viewer_layers=viewer.layers)
    state = {"refreshed": 0.0}

    def begin(item):
        state.update(shape=item.shape, dtype=item.dtype, limits=[np.inf, -np.inf],
                     kwargs=item.layer_kwargs)
        job.total = item.shape[0]

    def add_layer(first_block, start=0, stop=0):
        out = allocate_output(state["shape"], state["dtype"])
        if stop > start:
            out[start:stop] = first_block  # shown as added: no repaint of its own
        view = out[0] if (out.ndim > 2 and state["shape"][0] == 1) else out
        kwargs = dict(state["kwargs"])
        kwargs.update({
            "name": name,
            "contrast_limits": display_limits(first_block, state["dtype"],
                                              rgb=bool(kwargs.get("rgb"))),
            "metadata": {METADATA_KEY: {"shape": state["shape"], "dtype": str(state["dtype"]),
                                        "complete": False}},
        })
        kwargs.update(layer_kwargs or {})
        state["out"] = out
        job.layer = viewer.add_image(view, **kwargs)

    def on_item(item):
        if isinstance(item, Begin):
            begin(item)
            return None
        start, stop, block = item
        block = np.asarray(block)
        first = job.layer is None
        if first:
            add_layer(block, start, stop)
        else:
            state["out"][start:stop] = block
            state["stale"] = True
        dtype, limits, layer = state["dtype"], state["limits"], job.layer
        if block.size and not layer.rgb and dtype != np.bool_:
            low, high = display_limits(block, dtype)
            limits[0], limits[1] = min(limits[0], low), max(limits[1], high)
            _update_limits(layer, limits[0], limits[1])
        job.done += stop - start
        job.partial_updates += 1
        now = time.monotonic()
        if first:
            state["refreshed"] = now
        elif job.done >= job.total or now - state["refreshed"] > REFRESH_INTERVAL:
            layer.refresh()
            state["refreshed"], state["stale"] = now, False
        return stop - start

    def on_done():
        if job.layer is None and state.get("shape") is not None:
            # an empty result (no frames): still give the user a layer
            add_layer(np.zeros((0,), state["dtype"]))
        if job.layer is not None:
            job.layer.metadata[METADATA_KEY]["complete"] = True
            if state.get("stale"):
                job.layer.refresh()

    return _start(job, _frames_stream(result, prepare), on_item, on_done, desc or name, on_finish)


def _estimate_stream(stream, prepare=None) -> Iterator:
    yield from _prepared(prepare)
    with _finer_chunks():  # a stream made here makes its input on its first step
        if callable(stream) and not hasattr(stream, "__next__"):
            stream = stream()
        try:
            yield from stream
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()


def start_estimate_job(viewer, stream: Iterator, name: str, total: int,
                       desc: str | None = None, on_finish: Callable | None = None,
                       layer_kwargs: dict | None = None, prepare: Callable | None = None) -> Job:
    """Show a running estimate from ``stream`` in a layer ``name``.

    Parameters
    ----------
    viewer : napari.Viewer
    stream : iterator of (done, total, estimate), or a callable returning one
        e.g. ``imgs.stream_statistic('mean')`` or ``imgs.stream_localcorr(2)``
        (a callable is called in the worker thread);
        ``estimate`` is an ndarray of the final result's shape (one image, or
        ``(1,) + value_shape``, which is shown as ``value_shape``). A
        :class:`Begin` item first gives the layer's placement
        (``layer_kwargs``); :class:`Status` items become the job's message.
    name : str
        Output layer name; the layer is added with the first estimate,
        removed if the job fails and renamed if it is cancelled.
    total : int
        Number of frames (for the progress bar before the first item).
    layer_kwargs : dict, optional
        Extra ``add_image`` arguments (``colormap``...).
    prepare : callable, optional
        As for :func:`start_frames_job`.

    Returns
    -------
    Job
    """
    job = Job(name=name, total=int(total), viewer_layers=viewer.layers)
    placement = {}
    state = {"refreshed": 0.0, "pending": None}

    def show(estimate):
        rgb = bool(placement.get("rgb"))
        low, high = display_limits(estimate, estimate.dtype, rgb=rgb)
        job.layer.data = estimate
        if not rgb:
            _update_limits(job.layer, low, high)
        state["refreshed"], state["pending"] = time.monotonic(), None

    def on_item(item):
        if isinstance(item, Begin):
            placement.update(item.layer_kwargs)
            return None
        done, n, estimate = item
        estimate = np.asarray(estimate)
        if estimate.ndim > 2 and estimate.shape[0] == 1:
            estimate = estimate[0]
        rgb = bool(placement.get("rgb"))
        if job.layer is None:
            low, high = display_limits(estimate, estimate.dtype, rgb=rgb)
            kwargs = dict(placement)
            kwargs.update({
                "name": name,
                "contrast_limits": (low, high),
                "metadata": {METADATA_KEY: {"complete": False}},
            })
            kwargs.update(layer_kwargs or {})
            job.layer = viewer.add_image(estimate, **kwargs)
            state["refreshed"] = time.monotonic()
        elif int(done) >= int(n) or time.monotonic() - state["refreshed"] > REFRESH_INTERVAL:
            show(estimate)
        else:  # shown with a later estimate, or when the job ends
            state["pending"] = estimate
        step = int(done) - job.done
        job.done = int(done)
        job.total = int(n)
        job.partial_updates += 1
        return step

    def on_done():
        if job.layer is not None:
            if state["pending"] is not None:
                show(state["pending"])
            job.layer.metadata[METADATA_KEY]["complete"] = True

    def on_end(ended):
        # a cancelled job keeps the estimate of every frame it folded in
        if ended.status == "cancelled" and ended.layer is not None and state["pending"] is not None:
            show(state["pending"])
        if on_finish is not None:
            on_finish(ended)

    return _start(job, _estimate_stream(stream, prepare), on_item, on_done, desc or name, on_end)
