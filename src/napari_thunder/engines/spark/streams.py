"""Streaming an RDD of frames partition by partition, in frame order.

:func:`stream_partitions` runs one Spark job per partition (a few at a time,
in one job group) and yields the per-block results in frame order: with a
``local[...]`` master as the blocks are computed (each task leaves every
block's result in a file of the stream's result directory, which the driver
polls while the job runs), with other masters as the partitions finish (the
results come back through Spark). Closing the generator, or
:func:`cancel_streams` from any thread, cancels the jobs.

Blocks hold at most ``settings.BLOCK_BYTES``; inside
:func:`napari_thunder.engines.progress.min_chunks` (GUI jobs) they are cut
finer, so the stream moves in about ``count`` steps (:func:`block_bytes`).
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from napari_thunder.engines import progress
from napari_thunder.engines.spark import settings
from napari_thunder.engines.spark.errors import _Guard, _spark_call
from napari_thunder.engines.spark.results import _ApplyToPartition, _parse_chunks, _ready_blocks, _result_dir

#: guards every registry of running streams (``{job group: state}``)
_STREAMS_LOCK = threading.Lock()

#: seconds between two looks for new block files while a partition's job runs
POLL_SECONDS = 0.05


def block_bytes(nframes: int, frame_bytes: int) -> int:
    """Bytes of the blocks a partition of a stack of ``nframes`` frames of
    ``frame_bytes`` each is cut into, decided now.

    ``settings.BLOCK_BYTES``, unless the caller is inside
    :func:`napari_thunder.engines.progress.min_chunks` (``count``,
    ``min_bytes``), e.g. a GUI job: then whole frames adding up to about
    ``nframes * frame_bytes / count`` bytes, at least ``min_bytes`` (each
    block costs a task a file and the driver a poll) and at most
    ``settings.BLOCK_BYTES``, so the whole stack streams in about ``count``
    blocks (plus at most one per partition).

    Parameters
    ----------
    nframes : int
    frame_bytes : int

    Returns
    -------
    int
        A byte budget for ``records._iter_blocks`` (which takes at least one
        frame per block).
    """
    largest = settings.BLOCK_BYTES
    frame_bytes = int(frame_bytes)
    if frame_bytes <= 0 or progress.requested()[0] == 0:
        return largest
    per = progress.frames_per_chunk(nframes, frame_bytes, max(1, largest // frame_bytes))
    return per * frame_bytes


def _not_covered(p, bounds) -> RuntimeError:
    return RuntimeError(f"partition {p} does not hold frames {bounds[p]}..{bounds[p + 1] - 1}")


def _checked(blocks, p, bounds, start):
    """Yield ``blocks`` of partition ``p``, checking that each begins where
    the previous one ended (the first at frame ``start``) and none goes past
    the partition; return the frame where the last one ended."""
    for block in blocks:
        if block[0] != start or not start <= block[1] <= bounds[p + 1]:
            raise _not_covered(p, bounds)
        start = block[1]
        yield block
    return start


def stream_partitions(rdd, bounds, func, max_inflight, streams: dict,
                      block_bytes: int | None = None) -> Iterator[tuple[int, int, Any]]:
    """Run ``func(block, start)`` on the blocks of each partition and yield
    ``(start, stop, result)`` in frame order.

    Parameters
    ----------
    rdd : pyspark.RDD
        Ordered frame records; partition ``p`` holds frames
        ``bounds[p] .. bounds[p+1]-1``.
    bounds : list of int
    func : callable
        ``func(block, start)``, run on the executors on blocks of at most
        ``block_bytes`` (at least one frame).
    max_inflight : int or None
        Jobs running at once; default ``sc.defaultParallelism``.
    streams : dict
        Registry of the caller's running streams: ``{job group: state}``
        while this generator runs, for :func:`cancel_streams`.
    block_bytes : int, optional
        Block size; default ``settings.BLOCK_BYTES`` when the stream starts
        (:func:`block_bytes` gives the size for a stack, decided by the caller
        when it makes the stream).

    Yields
    ------
    tuple
        ``(start, stop, result)`` for every block, in frame order; with a
        local master as soon as the block and all before it are computed,
        else once its partition's job has ended.

    Raises
    ------
    RuntimeError
        A partition's results do not cover exactly its frames.
    """
    parts = [p for p in range(len(bounds) - 1) if bounds[p + 1] > bounds[p]]
    if not parts:
        return
    sc = rdd.context
    inflight = max(1, int(max_inflight or sc.defaultParallelism))
    group = "napari-thunder-" + uuid.uuid4().hex
    state = {"cancelled": False}
    with _result_dir(sc) as result_dir:
        block = settings.BLOCK_BYTES if block_bytes is None else int(block_bytes)
        apply = _Guard(_ApplyToPartition(func, block, settings.RESULT_PIECE_BYTES, result_dir))

        def run(p):
            if state["cancelled"]:
                raise RuntimeError("stream cancelled")
            sc.setJobGroup(group, f"napari-thunder chunk {p}", interruptOnCancel=True)
            return _spark_call(lambda: sc.runJob(rdd, apply, [p]))

        pool = ThreadPoolExecutor(max_workers=min(inflight, len(parts)),
                                  thread_name_prefix="napari-thunder-spark")
        todo = iter(parts)
        pending: deque = deque()

        def submit_next():
            p = next(todo, None)
            if p is not None:
                pending.append((p, pool.submit(run, p)))

        finished = False
        with _STREAMS_LOCK:
            streams[group] = state
        try:
            for _ in range(inflight):
                submit_next()
            while pending and not state["cancelled"]:
                p, future = pending[0]  # stays pending (cancelled on close) until its job ended
                start = bounds[p]
                if result_dir is not None:  # local master: the blocks computed so far, while the job runs
                    while not wait([future], timeout=POLL_SECONDS).done:
                        if state["cancelled"]:
                            return
                        start = yield from _checked(_ready_blocks(result_dir, p, start), p, bounds, start)
                try:
                    result = future.result()
                except Exception:
                    if state["cancelled"]:
                        return
                    raise
                pending.popleft()
                submit_next()
                if result_dir is not None:
                    start = yield from _checked(_ready_blocks(result_dir, p, start), p, bounds, start)
                    if start != bounds[p + 1]:
                        raise _not_covered(p, bounds)
                    continue
                chunks = _parse_chunks(result)
                del result
                covered = [bounds[p]] + [stop for _, stop, _ in chunks]
                if [start for start, _, _ in chunks] != covered[:-1] or covered[-1] != bounds[p + 1]:
                    raise _not_covered(p, bounds)
                while chunks:
                    yield chunks.pop(0)
            finished = not state["cancelled"]
        finally:
            with _STREAMS_LOCK:
                streams.pop(group, None)
            if not finished:
                state["cancelled"] = True  # jobs not yet submitted never start
                running = [future for _, future in pending if not future.cancel()]
                # re-cancel until every job ended (one may start while we cancel)
                while running:
                    try:
                        sc.cancelJobGroup(group)
                    except Exception:  # context already stopped
                        pass
                    _, still = wait(running, timeout=0.5)
                    running = list(still)
            pool.shutdown(wait=True, cancel_futures=True)


def cancel_streams(sc, streams: dict) -> int:
    """Cancel, from any thread, the jobs of every stream in ``streams`` (a
    registry filled by :func:`stream_partitions`); those generators end quietly.

    Parameters
    ----------
    sc : pyspark.SparkContext
    streams : dict

    Returns
    -------
    int
        The number of streams cancelled.
    """
    with _STREAMS_LOCK:
        running = list(streams.items())
    for group, state in running:
        state["cancelled"] = True
        try:
            sc.cancelJobGroup(group)
        except Exception:  # context stopped
            pass
    return len(running)
