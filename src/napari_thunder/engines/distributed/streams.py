"""Running one function per chunk on the cluster, in frame order.

:func:`stream_chunks` submits ``func(block, start)`` for a window of chunks
(a couple per worker thread), yields the results on the driver in frame order
as they arrive and submits more as the window empties, so only a bounded
number of results wait on the workers or the driver. Closing the generator,
or :func:`cancel_all` from any thread, cancels the futures still pending.
Every task has a key of its own, so cancelling one stream never touches
another stream's work. :func:`tree_aggregate` folds every chunk into an
accumulator and merges the partials on the workers, a few consecutive ones
per task: only the final accumulator reaches the driver.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from napari_thunder.engines.distributed.errors import result_of

#: guards every registry of running streams
_LOCK = threading.Lock()


def _run_chunk(block, func, start):
    return func(np.asarray(block), start)


#: partials merged by one task of :func:`tree_aggregate` (in frame order)
FAN_IN = 8


def _merge(first, *later):
    # on a copy: the first partial is the stored result of another task, which
    # a retried merge would otherwise fold the later ones into twice
    merged = copy.deepcopy(first)
    for part in later:
        merged = merged.merge(part)
    return merged


def chunk_tasks(array):
    """One delayed block per chunk of ``array`` (chunked along axis 0 only).

    Parameters
    ----------
    array : dask.array.Array

    Returns
    -------
    list of dask.delayed.Delayed
    """
    return list(array.to_delayed(optimize_graph=True).reshape(-1))


def stream_chunks(client, array, bounds, func, window: int, streams: dict
                  ) -> Iterator[tuple[int, int, Any]]:
    """Run ``func(block, start)`` on every chunk of ``array`` on the cluster;
    yield ``(start, stop, result)`` in frame order.

    Parameters
    ----------
    client : distributed.Client
    array : dask.array.Array
        Chunked along axis 0 only; chunk ``i`` holds frames ``bounds[i]``.
    bounds : list of (int, int)
    func : callable
        Picklable; runs on the workers.
    window : int
        Chunks submitted and not yet yielded, at most.
    streams : dict
        The caller's registry ``{stream id: state}``, for :func:`cancel_all`.

    Yields
    ------
    tuple
        ``(start, stop, result)``.

    Raises
    ------
    WorkerLostError
        A chunk's task killed its workers too often.
    Exception
        What ``func`` raised on a worker, with its own type.
    """
    import dask
    from distributed import CancelledError

    if not bounds:
        return
    blocks = chunk_tasks(array)
    run = dask.delayed(_run_chunk, pure=False)
    stream_id = uuid.uuid4().hex
    state = {"cancelled": False, "pending": deque()}
    pending: deque = state["pending"]
    with _LOCK:
        streams[stream_id] = state
    todo = iter(range(len(bounds)))
    window = max(1, int(window))

    def refill():
        batch = []
        for i in todo:
            batch.append(i)
            if len(pending) + len(batch) >= window:
                break
        if not batch:
            return
        tasks = [run(blocks[i], func, bounds[i][0],
                     dask_key_name=f"napari-thunder-chunk-{stream_id}-{i}") for i in batch]
        futures = client.compute(tasks)
        with _LOCK:
            if state["cancelled"]:
                client.cancel(futures)
                return
            pending.extend(zip(batch, futures))

    try:
        refill()
        while pending:
            i, future = pending[0]
            start, stop = bounds[i]
            try:
                result = result_of(future, f"frames {start}-{stop}")
            except CancelledError:
                if state["cancelled"]:
                    return
                raise
            with _LOCK:
                if state["cancelled"]:
                    return
                pending.popleft()
            if len(pending) <= window // 2:
                refill()
            yield start, stop, result
    finally:
        with _LOCK:
            streams.pop(stream_id, None)
            left = [f for _, f in pending]
            pending.clear()
        if left:
            client.cancel(left)


def cancel_all(client, streams: dict) -> int:
    """Cancel every stream of ``streams`` (from any thread).

    Parameters
    ----------
    client : distributed.Client
    streams : dict
        A registry filled by :func:`stream_chunks`.

    Returns
    -------
    int
        Streams cancelled.
    """
    with _LOCK:
        states = list(streams.values())
        futures = []
        for state in states:
            state["cancelled"] = True
            futures.extend(f for _, f in state["pending"])
    if futures:
        client.cancel(futures)
    return len(states)


def tree_aggregate(client, array, bounds, acc, fan_in=None):
    """Fold every chunk into a fresh copy of ``acc`` and merge the partials in
    frame order on the workers, ``fan_in`` consecutive partials per task (a
    tree of few levels: each level is a round of transfers between workers).

    Parameters
    ----------
    client : distributed.Client
    array : dask.array.Array
    bounds : list of (int, int)
    acc : accumulator
        ``acc.empty()``, ``add(block, start)`` and ``merge(other)``.
    fan_in : int, optional
        Partials merged per task (default ``FAN_IN``; at least 2).

    Returns
    -------
    accumulator
        The merged accumulator, on the driver.
    """
    import dask

    from napari_thunder.engines.base import _AddTo

    if not bounds:
        return acc.empty()
    blocks = chunk_tasks(array)
    tag = uuid.uuid4().hex
    add = _AddTo(acc)
    parts = [dask.delayed(_run_chunk, pure=False)(b, add, a, dask_key_name=f"napari-thunder-add-{tag}-{i}")
             for i, (b, (a, _)) in enumerate(zip(blocks, bounds))]
    fan_in = max(2, int(fan_in or FAN_IN))
    level = 0
    while len(parts) > 1:
        level += 1
        merged = []
        for j in range(0, len(parts), fan_in):
            group = parts[j:j + fan_in]
            if len(group) == 1:
                merged.append(group[0])
                continue
            merged.append(dask.delayed(_merge, pure=False)(
                *group, dask_key_name=f"napari-thunder-merge-{tag}-{level}-{j}"))
        parts = merged
    future = client.compute(parts[0])
    try:
        return result_of(future, f"the accumulator of frames 0-{bounds[-1][1]}")
    finally:
        future.release()
