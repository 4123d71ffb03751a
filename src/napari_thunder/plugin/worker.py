"""The background engine: run an ``Images`` stream off the GUI thread.

Two kinds of jobs, both built on one generator worker:

* :func:`start_frames_job` - a per-frame operation (filters, projections,
  subsample, subtract). The result ``Images`` is streamed chunk by chunk
  (``imgs.iter_chunks()`` -> ``(start, stop, block)``) into a preallocated
  output layer, which is refreshed after every chunk.
* :func:`start_estimate_job` - a statistic or ``localcorr``. The stream yields
  ``(done, total, estimate)``; the output layer shows the running estimate and
  ends with the exact value.

Rules kept here: the stream runs in a napari thread worker; layers are only
touched in the ``yielded`` / ``finished`` slots, which Qt runs on the main
thread; ``Job.cancel()`` (``worker.quit()``) stops at the next chunk and
*closes the stream generator* in the worker thread, which stops the work that
is left (the Spark engine cancels its jobs); errors become napari
notifications and leave the viewer usable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from napari_thunder.data.layers import METADATA_KEY, contrast_limits_for


def _closing_worker_class():
    """napari's GeneratorWorker whose loop closes the generator on exit."""
    from napari.qt.threading import GeneratorWorker

    class ClosingGeneratorWorker(GeneratorWorker):
        """Runs a generator; on abort, return or error, closes it in the worker
        thread (so ``finally`` blocks of the stream run there), and lets every
        exception (RuntimeError included) reach the ``errored`` signal."""

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


def _deferred(factory: Callable) -> Iterator:
    """Iterate ``factory()``, calling it only when iteration starts (in the
    worker thread), and close it when closed."""
    stream = factory()
    try:
        yield from stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


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
        ``worker.finished`` fires when the job ends (done, cancelled or failed).
    layer : napari.layers.Image or None
        The output layer, once it exists.
    done, total : int
        Frames processed and frames in all.
    partial_updates : int
        How many partial results reached the layer (for tests and the GUI).
    status : str
        ``'running'``, ``'done'``, ``'cancelled'`` or ``'failed'``.
    error : Exception or None
    """

    name: str
    total: int
    worker: Any = None
    layer: Any = None
    done: int = 0
    partial_updates: int = 0
    status: str = "running"
    error: Exception | None = None
    progress: Any = None
    callbacks: list = field(default_factory=list)
    progress_callbacks: list = field(default_factory=list)
    cancel_hooks: list = field(default_factory=list)
    cancel_requested: bool = False

    def cancel(self) -> None:
        """Ask the worker to stop at the next chunk (non-blocking), and run
        the ``cancel_hooks`` (e.g. cancel the Spark jobs in flight at once)."""
        if self.worker is not None and self.status == "running":
            self.cancel_requested = True
            self.worker.quit()
            for hook in self.cancel_hooks:
                try:
                    hook()
                except Exception:  # a failed hook must not break cancelling
                    pass

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


def _start(job: Job, stream: Iterator, on_item: Callable, on_done: Callable, desc: str,
           on_finish: Callable | None = None) -> Job:
    """Create the worker for ``stream`` and wire its signals, then start it."""
    from napari.qt.threading import create_worker
    from napari.utils import progress as napari_progress
    from napari.utils.notifications import show_error, show_info

    job.progress = napari_progress(total=max(job.total, 1), desc=desc)

    def yielded(item):
        try:
            step = on_item(item)
            for callback in job.progress_callbacks:
                callback(job)
            # last: napari's progress bar may process Qt events, delivering the
            # next item re-entrantly; everything for this item is done by now
            job.progress.total = max(job.total, 1)
            if step:
                job.progress.update(step)
            else:
                job.progress.refresh()
        except Exception as exc:  # a bad partial must not kill the GUI
            job.error = exc
            show_error(f"{desc} failed: {type(exc).__name__}: {exc}")
            job.worker.quit()

    def cut_short():
        # a cancelled engine stream may end quietly instead of being aborted
        return job.cancel_requested and job.done < job.total

    def returned(_value):
        if job.error is None and not cut_short():
            on_done()

    def errored(exc):
        job.error = exc
        show_error(f"{desc} failed: {type(exc).__name__}: {exc}")

    def aborted():
        if job.error is None:
            job.status = "cancelled"

    def finished():
        if job.status == "running":
            if job.error is not None:
                job.status = "failed"
            else:
                job.status = "cancelled" if cut_short() else "done"
        if job.status == "cancelled":
            show_info(f"{desc} cancelled after {job.done} of {job.total} frames")
        job.progress.close()
        if on_finish is not None:
            on_finish(job)
        for callback in job.callbacks:
            callback(job)

    worker = create_worker(
        _relay,
        stream,
        _worker_class=_closing_worker_class(),
        _ignore_errors=True,
        _start_thread=False,
    )
    # napari's mixin already relays errors as notifications; keep ours only
    # (clear message naming the operation)
    try:
        worker.errored.disconnect(worker._relay_error)
    except (TypeError, RuntimeError, AttributeError):
        pass
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


class _Begin:
    """First item of a frames stream: the result's shape and dtype."""

    def __init__(self, shape, dtype):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)


def _frames_stream(result) -> Iterator:
    """Worker side of a frames job: build the result if given a factory (so a
    slow engine start, e.g. Spark, happens off the GUI thread), announce its
    shape, then stream its chunks."""
    if callable(result) and not hasattr(result, "iter_chunks"):
        result = result()
    yield _Begin(result.shape, result.dtype)
    chunks = result.iter_chunks()
    try:
        yield from chunks
    finally:
        chunks.close()


def start_frames_job(viewer, result, name: str, desc: str | None = None,
                     on_finish: Callable | None = None, layer_kwargs: dict | None = None,
                     total: int | None = None) -> Job:
    """Compute a per-frame result chunk by chunk into a new layer ``name``.

    The layer is created as soon as the result's shape is known (zeros of its
    shape and dtype; an image axis of length 1 is dropped) and filled as
    chunks finish, refreshed after each; contrast limits follow the range
    computed so far.

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
        Extra ``add_image`` arguments.
    total : int, optional
        Number of frames, for the progress bar before the result is known.

    Returns
    -------
    Job
    """
    if total is None:
        total = int(result.shape[0]) if hasattr(result, "shape") else 0
    job = Job(name=name, total=int(total))
    state = {}

    def begin(item):
        out = allocate_output(item.shape, item.dtype)
        view = out[0] if (out.ndim > 2 and item.shape[0] == 1) else out
        kwargs = {
            "name": name,
            "contrast_limits": (0.0, 255.0) if item.dtype == np.uint8 else (0.0, 1.0),
            "metadata": {METADATA_KEY: {"shape": item.shape, "dtype": str(item.dtype),
                                        "complete": False}},
        }
        kwargs.update(layer_kwargs or {})
        state.update(out=out, dtype=item.dtype, limits=[np.inf, -np.inf])
        job.total = item.shape[0]
        job.layer = viewer.add_image(view, **kwargs)

    def on_item(item):
        if isinstance(item, _Begin):
            begin(item)
            return 0
        start, stop, block = item
        block = np.asarray(block)
        state["out"][start:stop] = block
        dtype, limits, layer = state["dtype"], state["limits"], job.layer
        if block.size and dtype != np.uint8:
            low, high = contrast_limits_for(block, dtype, nframes=block.shape[0])
            limits[0], limits[1] = min(limits[0], low), max(limits[1], high)
            _update_limits(layer, limits[0], limits[1])
        job.done += stop - start
        job.partial_updates += 1
        layer.refresh()
        return stop - start

    def on_done():
        if job.layer is not None:
            job.layer.metadata[METADATA_KEY]["complete"] = True
            job.layer.refresh()

    return _start(job, _frames_stream(result), on_item, on_done, desc or name, on_finish)


def start_estimate_job(viewer, stream: Iterator, name: str, total: int,
                       desc: str | None = None, on_finish: Callable | None = None,
                       layer_kwargs: dict | None = None) -> Job:
    """Show a running estimate from ``stream`` in a layer ``name``.

    Parameters
    ----------
    viewer : napari.Viewer
    stream : iterator of (done, total, estimate), or a callable returning one
        e.g. ``imgs.stream_statistic('mean')`` or ``imgs.stream_localcorr(2)``
        (a callable is called in the worker thread);
        ``estimate`` is an ndarray of the final result's shape (one image, or
        ``(1,) + value_shape``, which is shown as ``value_shape``).
    name : str
        Output layer name; the layer is added with the first estimate.
    total : int
        Number of frames (for the progress bar before the first item).

    Returns
    -------
    Job
    """
    job = Job(name=name, total=int(total))
    if callable(stream) and not hasattr(stream, "__next__"):
        stream = _deferred(stream)

    def on_item(item):
        done, n, estimate = item
        estimate = np.asarray(estimate)
        if estimate.ndim > 2 and estimate.shape[0] == 1:
            estimate = estimate[0]
        low, high = contrast_limits_for(estimate, estimate.dtype, nframes=1 << 30)
        if job.layer is None:
            kwargs = {
                "name": name,
                "contrast_limits": (low, high),
                "metadata": {METADATA_KEY: {"complete": False}},
            }
            kwargs.update(layer_kwargs or {})
            job.layer = viewer.add_image(estimate, **kwargs)
        else:
            job.layer.data = estimate
            _update_limits(job.layer, low, high)
        step = int(done) - job.done
        job.done = int(done)
        job.total = int(n)
        job.partial_updates += 1
        return step

    def on_done():
        if job.layer is not None:
            job.layer.metadata[METADATA_KEY]["complete"] = True

    return _start(job, stream, on_item, on_done, desc or name, on_finish)
