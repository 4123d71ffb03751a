"""The local engine: frames in a lazy dask array chunked along the image axis.

Nothing is read or computed until an action (``collect``, ``iter_chunks``,
``aggregate``). Actions run chunk by chunk on a pool of threads (numpy and
scipy release the GIL), with at most a few chunks in flight, so stacks larger
than memory work: only the chunks being processed are ever held.
"""

from __future__ import annotations

import math
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import dask
import dask.array as da
import numpy as np

from napari_thunder.engines import progress
from napari_thunder.engines.base import BlockStore, Frames, _AddTo
from napari_thunder.engines.dask_frames import (
    DaskFramesDescription,
    DaskTilesDescription,
    check_frames_agree,
    take_frames,
)

#: the context asking for finer chunks (:func:`napari_thunder.engines.progress.min_chunks`),
#: also reachable here
min_chunks = progress.min_chunks

#: upper bound for the bytes of one chunk of input frames
MAX_CHUNK_BYTES = 64 * 2**20
#: lower bound, so tiny frames are not processed one by one
MIN_CHUNK_BYTES = 1 * 2**20


def worker_count() -> int:
    """Threads used for local actions: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def chunk_bytes_target() -> int:
    """Bytes of input frames per chunk, from the memory available.

    Each worker holds a chunk plus a few float64 temporaries of it (up to ~8x
    its bytes for 16-bit data), and a few chunks may be in flight per worker;
    the target keeps that under about a quarter of the available memory.
    """
    try:
        import psutil

        available = psutil.virtual_memory().available
    except Exception:  # pragma: no cover - psutil missing or failing
        available = 4 * 2**30
    budget = available // (4 * 8 * 3 * worker_count())
    return int(min(MAX_CHUNK_BYTES, max(MIN_CHUNK_BYTES, budget)))


def frames_per_chunk(frame_bytes: int, nframes: int) -> int:
    """How many frames one chunk holds: bounded by :func:`chunk_bytes_target`,
    and small enough that every worker gets work (and the GUI sees progress,
    see :func:`napari_thunder.engines.progress.min_chunks`)."""
    frame_bytes = max(1, int(frame_bytes))
    # at least two chunks per worker when there are enough frames
    by_parallelism = max(1, math.ceil(nframes / (2 * worker_count())))
    if by_parallelism == 1:  # one frame a chunk whatever the memory (e.g. a statistic's result)
        return progress.frames_per_chunk(nframes, frame_bytes, 1)
    by_memory = max(1, chunk_bytes_target() // frame_bytes)
    return progress.frames_per_chunk(nframes, frame_bytes, min(by_memory, by_parallelism))


#: lasting thread pools of :meth:`LocalFrames.aggregate`, by (process, threads)
_FOLDING_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _folding_pool(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` threads kept for :meth:`LocalFrames.aggregate`:
    starting and joining threads for every statistic costs ~0.5 ms, 3% of a
    statistic of a 0.5 GB stack. Keyed by process id: a forked child starts
    its own threads instead of waiting on its parent's."""
    key = (os.getpid(), threads)
    pool = _FOLDING_POOLS.get(key)
    if pool is None:
        pool = _FOLDING_POOLS.setdefault(
            key, ThreadPoolExecutor(max_workers=threads, thread_name_prefix="napari-thunder-fold"))
    return pool


def _frame_chunks(nframes: int, per_chunk: int) -> tuple[int, ...]:
    if nframes == 0:
        return (0,)
    full, rest = divmod(nframes, per_chunk)
    return (per_chunk,) * full + ((rest,) if rest else ())


class SourceArray:
    """Array-like view of a FrameSource for ``dask.array.from_array``."""

    def __init__(self, source):
        self.source = source
        self.shape = tuple(source.shape)
        self.dtype = np.dtype(source.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        first = key[0] if key else slice(None)
        if isinstance(first, slice) and (first.step in (None, 1)):
            start, stop, _ = first.indices(self.shape[0])
            block = self.source.read(start, max(start, stop))
            return block[(slice(None),) + tuple(key[1:])]
        # anything fancier: read the covering range, then index
        idx = np.arange(self.shape[0])[first]
        lo, hi = int(np.min(idx)), int(np.max(idx)) + 1
        block = self.source.read(lo, hi)
        return block[(np.asarray(idx) - lo,) + tuple(key[1:])]


class _ArrayView:
    """An ndarray seen by ``dask.array.from_array`` without being copied:
    slicing gives views of the caller's array (the documented "not copied")."""

    def __init__(self, array: np.ndarray):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim

    def __getitem__(self, key):
        return self.array[key]

    def read(self, start, stop):
        """Frames ``[start, stop)``: a view of the array."""
        return self.array[start:stop]


def source_dask_array(source, frame_chunks) -> da.Array:
    """A lazy dask array over ``source`` (a ``FrameSource``).

    Parameters
    ----------
    source : FrameSource
    frame_chunks : int or tuple of int
        Frames per chunk (an int), or the chunk lengths along axis 0.
    """
    shape = tuple(source.shape)
    if isinstance(frame_chunks, (int, np.integer)):
        frame_chunks = _frame_chunks(shape[0], int(frame_chunks))
    chunks = (tuple(frame_chunks),) + tuple((s,) for s in shape[1:])
    return da.from_array(SourceArray(source), chunks=chunks, asarray=True, lock=False,
                         fancy=False, name=f"frames-{uuid.uuid4().hex}")


def _apply_block(block, block_func, block_info=None):
    start = block_info[0]["array-location"][0][0] if block_info else 0
    return block_func(block, start)


class LocalFrames(DaskFramesDescription, Frames):
    """Frames in a dask array chunked along axis 0 only.

    Parameters
    ----------
    array : dask.array.Array
        Stack of frames, axis 0 indexing frames; spatial axes must be one
        chunk each (use :meth:`from_array` to build one from anything).
    """

    mode = "local"

    def __init__(self, array: da.Array, reader=None):
        self.array = array
        #: ``reader(start, stop) -> ndarray`` giving the frames of ``array``
        #: without dask (set for untransformed sources and arrays: actions
        #: then skip dask's per-chunk graph handling, ~0.4 ms a chunk)
        self.reader = reader
        #: ``reader`` followed by the block functions of the ``map`` calls
        #: since (None without a reader): actions read and transform each
        #: chunk directly, without dask's per-chunk graph handling (which,
        #: for a map dropping axes, also copies every input chunk)
        self.chunk_reader = reader
        self.source = None

    # -- construction ------------------------------------------------------
    @classmethod
    def from_source(cls, source, npartitions=None) -> LocalFrames:
        """Lazy frames reading ``source`` chunk by chunk (``npartitions`` is a
        Spark hint and ignored here)."""
        per = frames_per_chunk(source.frame_bytes(), int(source.shape[0]))
        align = max(1, int(getattr(source, "chunk_frames", 1)))
        per = max(align, per // align * align)  # whole storage chunks per dask chunk
        frames = cls(source_dask_array(source, per), reader=source.read)
        #: the file source the frames read, untransformed (display code may
        #: re-chunk it frame by frame)
        frames.source = source
        return frames

    @classmethod
    def from_items(cls, items, func, npartitions=None) -> LocalFrames:
        """Frames from ``func(item)`` (``(key, ndarray)`` pairs), read now, in
        item order then yield order."""
        values = [np.asarray(v) for item in items for _, v in func(item)]
        check_frames_agree({v.shape for v in values}, {v.dtype for v in values}, len(items))
        return cls.from_array(np.stack(values), npartitions)

    @classmethod
    def from_array(cls, array, npartitions=None) -> LocalFrames:
        """Frames holding an ndarray or dask array (not copied)."""
        shape = tuple(int(s) for s in array.shape)
        dtype = np.dtype(array.dtype)
        frame_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        per = frames_per_chunk(frame_bytes, shape[0])
        chunks = (_frame_chunks(shape[0], per),) + tuple((s,) for s in shape[1:])
        if isinstance(array, da.Array):
            return cls(array.rechunk(chunks))
        # through a view object: dask.array.from_array copies anything with a
        # ``copy`` method (a whole extra copy of the stack); a unique name
        # spares hashing every byte of it
        view = _ArrayView(np.asarray(array))
        return cls(da.from_array(view, chunks=chunks, lock=False, name=f"array-{uuid.uuid4().hex}"),
                   reader=view.read)

    def with_array(self, array) -> LocalFrames:
        return LocalFrames.from_array(array)

    def chunk_bounds(self) -> list[tuple[int, int]]:
        """``(start, stop)`` frame range of every chunk."""
        stops = np.cumsum(self.array.chunks[0])
        starts = stops - np.asarray(self.array.chunks[0])
        return [(int(a), int(b)) for a, b in zip(starts, stops)]

    # -- lazy transformations ----------------------------------------------
    def map(self, func, value_shape, dtype) -> LocalFrames:
        value_shape = tuple(int(s) for s in value_shape)
        in_ndim = self.array.ndim
        out_ndim = 1 + len(value_shape)
        kwargs = {}
        if out_ndim < in_ndim:
            kwargs["drop_axis"] = list(range(out_ndim, in_ndim))
        elif out_ndim > in_ndim:
            kwargs["new_axis"] = list(range(in_ndim, out_ndim))
        chunks = (self.array.chunks[0],) + tuple((s,) for s in value_shape)
        out = da.map_blocks(
            _apply_block, self.array, block_func=func, chunks=chunks, dtype=np.dtype(dtype),
            meta=np.empty((0,) * out_ndim, dtype=np.dtype(dtype)), **kwargs,
        )
        frames = LocalFrames(out)
        if isinstance(self.chunk_reader, _MappedReader):
            frames.chunk_reader = self.chunk_reader.then(func)
        elif self.chunk_reader is not None:
            frames.chunk_reader = _MappedReader(self.chunk_reader, (func,))
        return frames

    def take(self, indices) -> LocalFrames:
        picked = take_frames(self.array, indices)
        if picked is None:
            return self
        return LocalFrames(picked) if picked.shape[0] == 0 else LocalFrames.from_array(picked)

    def filter(self, predicate) -> LocalFrames:
        keep = [mask for _, _, mask in self.iter_chunks(_Predicate(predicate))]
        mask = np.concatenate(keep) if keep else np.zeros(0, bool)
        return self.take(np.flatnonzero(mask))

    # -- actions -------------------------------------------------------------
    def first(self) -> np.ndarray:
        if self.shape[0] == 0:
            raise ValueError("no frames: first() of an empty Images")
        return np.asarray(self.array[0].compute(scheduler="sync"))

    def collect(self) -> np.ndarray:
        """All frames in one new ndarray: chunks computed on the worker
        threads and written straight into it (no concatenation copy)."""
        out = np.empty(self.shape, self.dtype)
        if self.shape[0] == 0:
            return out
        into = _CopyInto(out)
        reader = self.chunk_reader
        if reader is not None and self.nchunks == 1:
            # one chunk (a small result, e.g. a statistic): no thread pool
            block = np.asarray(reader(0, self.shape[0]))
            into(block, 0)
        elif isinstance(reader, _MappedReader):
            # each worker reads a chunk, transforms it piece by piece and
            # writes the pieces into ``out``: the temporaries stay small
            # (reused by malloc instead of mapped, page-faulted and unmapped
            # for every chunk), and ``out`` is written while in cache
            with ThreadPoolExecutor(max_workers=worker_count(), thread_name_prefix="napari-thunder") as pool:
                out_frame = out[:1].nbytes
                list(pool.map(lambda ab: reader.read_into(into, ab[0], ab[1], out_frame),
                              self.chunk_bounds()))
        else:
            for _ in self.iter_chunks(into):
                pass
        if into.mismatch:  # a block of another dtype/shape: let dask assemble them
            return np.asarray(self.array.compute(scheduler="threads", num_workers=worker_count()))
        return out

    def display_array(self) -> da.Array:
        """The lazy dask array; for frames read straight from files, one with
        ONE frame per chunk over the same source, so a viewer showing frame
        ``k`` reads frame ``k`` only (the computing chunks hold many frames)."""
        if self.source is not None and tuple(self.source.shape) == self.shape:
            return source_dask_array(self.source, 1)
        return self.array

    def iter_chunks(self, func) -> Iterator[tuple[int, int, object]]:
        bounds = self.chunk_bounds()
        if self.shape[0] == 0:
            return
        if self.chunk_reader is not None:
            blocks = [_Direct(self.chunk_reader, a, b) for a, b in bounds]
        else:
            blocks = self.array.to_delayed(optimize_graph=True).reshape(-1)
        nworkers = worker_count()
        pool = ThreadPoolExecutor(max_workers=nworkers, thread_name_prefix="napari-thunder")
        pending = {}
        try:
            nxt = 0
            for i in range(len(bounds)):
                # keep at most ``nworkers + 1`` chunks in flight (bounded memory)
                while nxt < len(bounds) and nxt <= i + nworkers:
                    pending[nxt] = pool.submit(_run_chunk, blocks[nxt], func, bounds[nxt][0])
                    nxt += 1
                result = pending.pop(i).result()
                yield bounds[i][0], bounds[i][1], result
        finally:
            for fut in pending.values():
                fut.cancel()
            pool.shutdown(wait=False, cancel_futures=True)

    def aggregate(self, acc):
        """Fold every chunk into accumulators and merge them in frame order.

        In general each chunk is folded into a fresh accumulator and the
        partials are merged one by one in frame order on the calling thread:
        the same operations as :meth:`stream_aggregate`, so both give the same
        bits. The calling thread folds chunks too, beside the pool threads (see
        :class:`_OrderedFold`). The first partial becomes the running total
        itself (a fresh accumulator owned here): no copy of its arrays.

        An accumulator whose ``order_free(nframes)`` is true (exact integer
        moments: any grouping of the merges gives the same bits) is instead
        folded with one contiguous run of frames per worker thread into ONE
        accumulator per worker (``add`` in place: no per-chunk accumulator
        to allocate, fill and merge on the calling thread); the few partials
        are then merged in frame order. Frames read by range get equal shares
        of frames per worker (chunk boundaries would leave one thread idle at
        the end, e.g. 512 + 488 frames); dask-backed frames, runs of whole
        chunks.
        """
        bounds = self.chunk_bounds()
        if self.shape[0] == 0:
            return acc.empty()
        order_free = getattr(acc, "order_free", None)
        if order_free is None or not order_free(self.shape[0]):
            if self.chunk_reader is not None:
                blocks = [_Direct(self.chunk_reader, a, b) for a, b in bounds]
            else:
                blocks = list(self.array.to_delayed(optimize_graph=True).reshape(-1))
            return _OrderedFold(acc, list(zip(blocks, (a for a, _ in bounds)))).run(worker_count())
        if self.chunk_reader is not None:
            # frames read by range: each worker takes an equal share of the
            # frames (not of the chunks), read a chunk's length at a time
            step, read = max(b - a for a, b in bounds), self.chunk_reader
            runs = [[(_Direct(read, a, min(a + step, stop)), a) for a in range(start, stop, step)]
                    for start, stop in _equal_shares(self.shape[0], worker_count())]
        else:
            blocks = list(self.array.to_delayed(optimize_graph=True).reshape(-1))
            runs = [[(blocks[i], bounds[i][0]) for i in run]
                    for run in _contiguous_runs(bounds, worker_count())]

        def fold(run):
            part = acc.empty()
            for block, start in run:
                part = part.add(np.asarray(block.compute(scheduler="sync")), start)
            return part

        if len(runs) == 1:
            return fold(runs[0])
        # the calling thread folds the first run itself, and works instead of
        # waiting; a run no pool thread has started yet (the pool busy, e.g.
        # with the aggregate this one is nested in) it folds too
        others = [_folding_pool(len(runs) - 1).submit(fold, run) for run in runs[1:]]
        try:
            parts = [fold(runs[0])]
            parts += [fold(run) if future.cancel() else future.result()
                      for run, future in zip(runs[1:], others)]
        finally:  # an error in one run: the others do not go on in the background
            for future in others:
                future.cancel()
        total = parts[0]
        for part in parts[1:]:
            total = total.merge(part)
        return total

    def to_blocks(self, tile_shape) -> LocalBlockStore:
        tile_shape = tuple(int(t) for t in tile_shape)
        n = self.shape[0]
        return LocalBlockStore(self.array.rechunk((max(n, 1),) + tile_shape), tile_shape)


class _OrderedFold:
    """Each chunk folded into a fresh accumulator, the partials merged in frame
    order: what :meth:`LocalFrames.aggregate` does for accumulators whose bits
    depend on the grouping (float moments), the same operations as
    ``stream_aggregate``.

    The calling thread takes chunks as the pool threads do, and merges each
    partial as soon as the ones before it are in: no thread sits waiting while
    the cores have work (a third thread on two cores, woken for every merge,
    delayed the merges and the next chunks). At most ``workers + 1`` partials
    beyond the merged ones exist at a time (bounded memory). A pool thread only
    ever waits for the merges, and the calling thread only for a chunk a
    running thread has taken, so a fold nested in another (the pool busy) does
    the work itself instead of waiting.
    """

    def __init__(self, acc, chunks):
        self.acc = acc
        self.chunks = chunks
        self.window = 1
        self.changed = threading.Condition()
        self.taken = 0  # chunks taken by a thread so far
        self.merged = 0  # partials merged into the total so far
        self.parts = {}  # chunk index -> its partial, or the exception folding it raised
        self.stopped = False

    def _fold(self, index):
        block, start = self.chunks[index]
        try:
            part = _run_chunk(block, _AddTo(self.acc), start)
        except BaseException as exc:  # raised on the calling thread, in frame order
            part = _Failed(exc)
        with self.changed:
            self.parts[index] = part
            self.changed.notify_all()

    def _work(self):
        """A pool thread: take the next chunk while the window allows."""
        while True:
            with self.changed:
                while (not self.stopped and self.taken < len(self.chunks)
                       and self.taken >= self.merged + self.window):
                    self.changed.wait()
                if self.stopped or self.taken >= len(self.chunks):
                    return
                index = self.taken
                self.taken += 1
            self._fold(index)

    def run(self, workers: int):
        """The merged accumulator of every chunk, with ``workers`` threads."""
        count = len(self.chunks)
        helpers = min(max(0, int(workers) - 1), count - 1)
        self.window = helpers + 2
        futures = [_folding_pool(helpers).submit(self._work) for _ in range(helpers)] if helpers else []
        total = None
        try:
            while self.merged < count:
                with self.changed:
                    part = self.parts.pop(self.merged, None)
                    take = part is None and self.taken < count
                    if take:
                        index = self.taken
                        self.taken += 1
                    elif part is None:
                        self.changed.wait()
                        continue
                if take:
                    self._fold(index)
                    continue
                if isinstance(part, _Failed):
                    raise part.exc
                total = part if total is None else total.merge(part)
                with self.changed:
                    self.merged += 1
                    self.changed.notify_all()
        finally:  # done or failed: the pool threads take no more chunks
            with self.changed:
                self.stopped = True
                self.changed.notify_all()
            for future in futures:
                future.cancel()
        return total


class _Failed:
    """The exception a chunk's fold raised, kept for the calling thread."""

    def __init__(self, exc):
        self.exc = exc


def _equal_shares(nframes: int, nworkers: int) -> list[tuple[int, int]]:
    """``[0, nframes)`` cut into at most ``nworkers`` contiguous ranges whose
    lengths differ by at most one frame (every range non-empty)."""
    nshares = max(1, min(int(nworkers), int(nframes)))
    edges = [nframes * k // nshares for k in range(nshares + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _contiguous_runs(bounds, nworkers: int) -> list[list[int]]:
    """Chunk indices split into at most ``nworkers`` contiguous runs of about
    equal frame counts (every run non-empty)."""
    nchunks = len(bounds)
    nruns = max(1, min(int(nworkers), nchunks))
    total = bounds[-1][1] - bounds[0][0]
    runs = [[] for _ in range(nruns)]
    for i, (a, b) in enumerate(bounds):
        middle = (a + b) / 2 - bounds[0][0]
        runs[min(nruns - 1, int(middle * nruns / max(total, 1)))].append(i)
    return [run for run in runs if run]


#: input bytes transformed at a time by :meth:`_MappedReader.read_into`
PIECE_BYTES = 4 * 2**20


class _MappedReader:
    """``funcs`` applied in turn (``f(block, start)``) to the frames read by
    ``root(start, stop)``."""

    def __init__(self, root, funcs):
        self.root = root
        self.funcs = tuple(funcs)

    def then(self, func) -> _MappedReader:
        """This reader followed by one more block function."""
        return _MappedReader(self.root, self.funcs + (func,))

    def _apply(self, block, start):
        for func in self.funcs:
            block = func(block, start)
        return block

    def __call__(self, start, stop):
        return self._apply(self.root(start, stop), start)

    def read_into(self, into, start, stop, out_frame_bytes) -> None:
        """Read frames ``[start, stop)`` once, transform them a few frames at
        a time (the block functions work frame by frame) and hand each piece
        to ``into(piece, piece_start)``. Outputs much smaller than the input
        (projections) are computed on the whole chunk at once."""
        data = self.root(start, stop)
        frame_bytes = max(1, data[:1].nbytes)
        if 4 * out_frame_bytes < frame_bytes:
            into(self._apply(data, start), start)
            return
        step = max(1, PIECE_BYTES // frame_bytes)
        # a last kernel that can write into the output (``kernel.accepts_out``,
        # called as ``kernel(block, out=..., **kwargs)``) skips the copy
        last = self.funcs[-1]
        kernel = getattr(last, "kernel", None)
        direct = getattr(kernel, "accepts_out", False) and isinstance(getattr(last, "kwargs", None), dict)
        for offset in range(0, len(data), step):
            piece = data[offset:offset + step]
            if direct:
                for func in self.funcs[:-1]:
                    piece = func(piece, start + offset)
                target = into.target(start + offset, len(piece))
                try:
                    kernel(piece, out=target, **last.kwargs)
                    continue
                except (TypeError, ValueError):  # another dtype or shape: the general path
                    direct = False
                    piece = data[offset:offset + step]
            into(self._apply(piece, start + offset), start + offset)


class _Direct:
    """A chunk read by a reader, with the ``compute`` of a dask delayed."""

    def __init__(self, reader, start, stop):
        self.reader = reader
        self.start = start
        self.stop = stop

    def compute(self, scheduler=None):
        return self.reader(self.start, self.stop)


def _run_chunk(block, func, start):
    data = np.asarray(block.compute(scheduler="sync"))
    return func(data, start)


class _CopyInto:
    """``func(block, start)`` writing each block into ``out[start:...]``;
    remembers a block whose dtype or shape does not fit."""

    def __init__(self, out):
        self.out = out
        self.mismatch = False

    def target(self, start, length):
        """The part of ``out`` for frames ``[start, start + length)``."""
        return self.out[start:start + length]

    def __call__(self, block, start):
        target = self.out[start:start + len(block)]
        if block.dtype != target.dtype or block.shape != target.shape:
            self.mismatch = True
            return None
        target[...] = block
        return None


class _Predicate:
    def __init__(self, predicate):
        self.predicate = predicate

    def __call__(self, block, start):
        return np.array([bool(self.predicate(frame)) for frame in block], dtype=bool)


class _TileCall:
    def __init__(self, func):
        self.func = func

    def __call__(self, tile):
        return self.func(tile)


class LocalBlockStore(DaskTilesDescription, BlockStore):
    """Spatial tiles of a local stack: a dask array whose chunks hold every
    frame of one tile."""

    mode = "local"

    def __init__(self, array: da.Array, tile_shape):
        self.array = array
        self._tile_shape = tuple(tile_shape)

    def map(self, func, length, dtype) -> LocalBlockStore:
        chunks = ((int(length),),) + self.array.chunks[1:]
        out = self.array.map_blocks(
            _TileCall(func), chunks=chunks, dtype=np.dtype(dtype),
            meta=np.empty((0,) * self.array.ndim, dtype=np.dtype(dtype)),
        )
        return LocalBlockStore(out, self._tile_shape)

    def collect(self) -> np.ndarray:
        return np.asarray(self.array.compute(scheduler="threads", num_workers=worker_count()))

    def collect_blocks(self) -> list[np.ndarray]:
        blocks = self.array.to_delayed(optimize_graph=True).reshape(-1)
        return [np.asarray(b) for b in dask.compute(*blocks, scheduler="threads",
                                                    num_workers=worker_count())]

    def to_frames(self) -> LocalFrames:
        return LocalFrames.from_array(self.array)
