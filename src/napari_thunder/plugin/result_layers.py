"""Streaming a job's results into napari layers.

Two kinds of jobs, both run by :func:`napari_thunder.plugin.worker.start_job`:

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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from napari_thunder.data.layers import METADATA_KEY
from napari_thunder.plugin.convert import display_limits
from napari_thunder.plugin.worker import Job, relay_closing, start_job, status_items


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

#: a job's local-engine inputs and Spark streams are cut into this many
#: chunks (blocks), so progress moves in steps of about 2% (the local
#: engine's default, two chunks per core, gives 4 steps on 2 cores; Spark's,
#: blocks of up to 64 MiB per partition, one step per partition)...
GUI_MIN_CHUNKS = 50
#: ...unless chunks would be smaller than this: each costs the GUI a few ms
#: (contrast, signals) and Spark a block file, and small stacks are done in a
#: moment anyway
GUI_MIN_CHUNK_BYTES = 256 * 2**10


def _finer_chunks():
    """Context in which the job's input frames (local engine) and streams
    (Spark: blocks of each partition, decided when the stream or ``map`` is
    made) get :data:`GUI_MIN_CHUNKS` chunks of at least
    :data:`GUI_MIN_CHUNK_BYTES`; dask.distributed keeps its chunks.

    Entered in the worker thread around everything that makes the job's
    frames and streams, including a stream's first step (a generator makes
    its inputs and engine streams then): the request holds only on the
    thread that entered it."""
    from napari_thunder.engines.factory import min_chunks

    return min_chunks(GUI_MIN_CHUNKS, GUI_MIN_CHUNK_BYTES)


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


def _frames_stream(result, prepare=None) -> Iterator:
    """Worker side of a frames job: run ``prepare`` (status messages while an
    engine starts), build the result if given a factory (so a slow engine
    start, e.g. Spark, happens off the GUI thread), announce its shape and
    placement, then stream its chunks."""
    yield from status_items(prepare)
    # the result, its stream and the stream's first step (which may make the
    # engine stream, e.g. registration) are made here, in the worker thread
    with _finer_chunks():
        if callable(result) and not hasattr(result, "iter_chunks"):
            result = result()
        n = int(result.shape[0]) if len(result.shape) else 0
        single = len(result.shape) > 2 and n == 1
        yield Begin(result.shape, result.dtype,
                    result_layer_kwargs(getattr(result, "metadata", None), single))
        yield from relay_closing(result.iter_chunks())


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

    return start_job(job, _frames_stream(result, prepare), on_item, on_done, desc or name, on_finish)


def _estimate_stream(stream, prepare=None) -> Iterator:
    yield from status_items(prepare)
    with _finer_chunks():  # a stream made here makes its input on its first step
        if callable(stream) and not hasattr(stream, "__next__"):
            stream = stream()
        yield from relay_closing(stream)


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

    return start_job(job, _estimate_stream(stream, prepare), on_item, on_done, desc or name, on_end)
