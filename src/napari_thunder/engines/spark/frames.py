"""The Spark engine's frames: :class:`SparkFrames`, an ordered RDD of
``((i,), frame)`` records.

``shape``, ``dtype`` and (when known) the partition ``bounds`` live on the
driver, so no job is needed to describe the frames. Pixels never travel
through the driver while loading: ``from_source`` hands each partition a frame
range and the executors call ``source.read``. The work itself is done by the
sibling modules: records (block functions), streams (``iter_chunks``), merge
(``aggregate``), tiles (``to_blocks``), errors (task errors re-raised with
their type).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from napari_thunder.engines.base import Frames, _AddTo
from napari_thunder.engines.spark import merge, settings, streams
from napari_thunder.engines.spark.errors import _Guard, _spark_call
from napari_thunder.engines.spark.records import (
    _aligned_bounds,
    _even_bounds,
    _ExpandItems,
    _explode_pieces,
    _KeepSorted,
    _KeptKeys,
    _Layout,
    _MapBlocks,
    _npartitions,
    _promote_records,
    _RangePartition,
    _ReadRanges,
    _Rekey,
    _Scatter,
    _sort_partition,
)
from napari_thunder.engines.spark.tiles import SparkBlockStore


class SparkFrames(Frames):
    """Frames held in an ordered RDD of ``((i,), ndarray)`` records.

    Parameters
    ----------
    rdd : pyspark.RDD
        Records ``((i,), frame)``.
    shape : tuple of int
        ``(n,) + value_shape``.
    dtype : numpy dtype
    bounds : list of int, optional
        ``bounds[p]`` = first frame of partition ``p``, ``bounds[-1] = n``.
        When None (RDDs handed in by users), the layout is checked (and the
        records sorted if needed) by the first operation that needs it.
    """

    mode = "spark"

    def __init__(self, rdd, shape, dtype, bounds=None, driver_copy=None):
        self._rdd = rdd
        self._shape = tuple(int(s) for s in shape)
        self._dtype = np.dtype(dtype)
        self._bounds = None if bounds is None else [int(b) for b in bounds]
        # small stacks built on the driver (statistics results, fromarray)
        # keep a private copy there: collect/first need no job
        self._driver_copy = driver_copy
        # job group -> {"cancelled": bool} of the running iter_chunks streams
        self._streams: dict[str, dict] = {}

    # -- construction --------------------------------------------------------
    @classmethod
    def from_source(cls, source, sc, npartitions=None) -> SparkFrames:
        """Frames read from ``source`` on the executors.

        Parameters
        ----------
        source : FrameSource
            Picklable; ``source.read(start, stop)`` runs inside the tasks.
        sc : SparkContext
        npartitions : int, optional
            Default ``sc.defaultParallelism``; never more than the frame count.
            Partition ``p`` reads a contiguous frame range.
        """
        n = len(source)
        parts = _npartitions(sc, npartitions, n)
        bounds = _aligned_bounds(_even_bounds(n, parts), getattr(source, "chunk_frames", 1))
        parts = len(bounds) - 1
        ranges = [(bounds[p], bounds[p + 1]) for p in range(parts)]
        block = streams.block_bytes(n, source.frame_bytes())  # finer inside progress.min_chunks
        rdd = sc.parallelize(ranges, parts).mapPartitions(
            _Guard(_ReadRanges(source, block)), preservesPartitioning=True
        )
        return cls(rdd, source.shape, source.dtype, bounds)

    @classmethod
    def from_array(cls, array, sc, npartitions=None) -> SparkFrames:
        """Frames holding ``array`` (axis 0 = frames; a dask array is computed
        on the driver first), split into ``npartitions`` contiguous slices."""
        if not isinstance(array, np.ndarray):
            array = np.asarray(array)
        n = int(array.shape[0])
        parts = _npartitions(sc, npartitions, n)
        bounds = _even_bounds(n, parts)
        pieces = [(bounds[p], array[bounds[p]:bounds[p + 1]]) for p in range(parts)]
        rdd = sc.parallelize(pieces, parts).mapPartitions(_explode_pieces, preservesPartitioning=True)
        copy = np.array(array, copy=True) if array.nbytes <= settings.DRIVER_COPY_BYTES else None
        return cls(rdd, array.shape, array.dtype, bounds, driver_copy=copy)

    @classmethod
    def from_rdd(cls, rdd, dims=None, nrecords=None, dtype=None) -> SparkFrames:
        """Frames from a user RDD of ``(key, ndarray)`` (thunder's ``fromrdd``).

        Int keys are promoted to ``(k,)``. When ``dims``, ``dtype`` or
        ``nrecords`` is missing, one job describes the records (count, shapes,
        order); otherwise nothing runs until needed. Records whose keys are not
        ``0..n-1`` in partition order are sorted by key and re-numbered.

        Raises
        ------
        ValueError
            Frames of different shapes/dtypes, or hints that contradict the data.
        """
        promoted = rdd.mapPartitions(_Guard(_promote_records), preservesPartitioning=True)
        if dims is not None and dtype is not None and nrecords is not None:
            shape = (int(nrecords),) + tuple(int(d) for d in np.atleast_1d(dims))
            return cls(promoted, shape, dtype, None)
        frames = cls._described(promoted, recount=False)
        if dims is not None and tuple(int(d) for d in np.atleast_1d(dims)) != frames.value_shape:
            raise ValueError(f"dims={tuple(dims)} does not match the records' shape {frames.value_shape}")
        if nrecords is not None and int(nrecords) != frames.count():
            raise ValueError(f"nrecords={nrecords} does not match the record count {frames.count()}")
        if dtype is not None and np.dtype(dtype) != frames.dtype:
            raise ValueError(f"dtype={np.dtype(dtype)} does not match the records' dtype {frames.dtype}")
        return frames

    @classmethod
    def from_items(cls, sc, items, func, npartitions=None, recount=True) -> SparkFrames:
        """Frames from ``func(item)`` run on the executors (generic loader).

        Parameters
        ----------
        sc : SparkContext
        items : sequence
            Picklable items (e.g. file paths), distributed in order.
        func : callable
            ``func(item)`` -> iterable of ``(key, ndarray)``.
        npartitions : int, optional
            Default ``sc.defaultParallelism``, at most ``len(items)``.
        recount : bool
            Re-number the records ``(0,), (1,), ...`` in item order then yield
            order. Otherwise the yielded keys are kept (sorted and re-numbered
            if they are not ``0..n-1`` in order).

        Raises
        ------
        ValueError
            No item yields a frame, or frames differ in shape/dtype.
        """
        items = list(items)
        parts = _npartitions(sc, npartitions, len(items))
        rdd = sc.parallelize(items, parts).mapPartitions(_Guard(_ExpandItems(func)))
        return cls._described(rdd, recount=recount)

    @classmethod
    def _described(cls, rdd, recount: bool) -> SparkFrames:
        """Run the layout job; re-key or sort as needed."""
        layout = _spark_call(lambda: rdd.mapPartitions(_Guard(_Layout())).collect())
        kinds = set().union(*(entry[4] for entry in layout)) if layout else set()
        if not kinds:
            raise ValueError("no frames: the records are empty, nothing to build Images from")
        shapes = sorted({shape for shape, _ in kinds})
        dtypes = sorted({dt for _, dt in kinds})
        if len(shapes) > 1:
            raise ValueError(f"Arrays must all be of same shape; got {shapes[0]} and {shapes[1]}")
        if len(dtypes) > 1:
            raise ValueError(
                f"Arrays must all be of same data type; got {np.dtype(dtypes[0])} and {np.dtype(dtypes[1])}"
            )
        value_shape, dtype = shapes[0], np.dtype(dtypes[0])
        counts = [entry[0] for entry in layout]
        n = sum(counts)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
        shape = (n,) + tuple(value_shape)
        if recount:
            return cls(rdd.mapPartitionsWithIndex(_Rekey(bounds[:-1]), preservesPartitioning=True),
                       shape, dtype, bounds)
        if cls._layout_is_ordered(layout):
            return cls(rdd, shape, dtype, bounds)
        return cls._sorted(rdd, shape, dtype, len(layout))

    @staticmethod
    def _layout_is_ordered(layout) -> bool:
        expected = 0
        for count, first, last, consecutive, _ in layout:
            if count == 0:
                continue
            if not consecutive or first != expected:
                return False
            expected = last + 1
        return True

    @classmethod
    def _sorted(cls, rdd, shape, dtype, parts) -> SparkFrames:
        """Sort records by key and number them ``0..n-1`` (a shuffle)."""
        n = shape[0]
        parts = max(1, min(parts, n))
        ordered = rdd.sortByKey(ascending=True, numPartitions=parts)
        counts = _spark_call(lambda: ordered.mapPartitions(lambda it: [sum(1 for _ in it)]).collect())
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
        return cls(ordered.mapPartitionsWithIndex(_Rekey(bounds[:-1]), preservesPartitioning=True),
                   shape, dtype, bounds)

    def _new(self, rdd, shape=None, dtype=None, bounds=None) -> SparkFrames:
        return SparkFrames(rdd, self._shape if shape is None else shape,
                           self._dtype if dtype is None else dtype, bounds)

    def _get_bounds(self) -> list[int]:
        """Partition bounds; checks (and if needed sorts) user RDDs once."""
        if self._bounds is None:
            rdd = self._rdd
            layout = _spark_call(lambda: rdd.mapPartitions(_Guard(_Layout())).collect())
            n = sum(entry[0] for entry in layout)
            if n != self._shape[0]:
                raise ValueError(f"nrecords={self._shape[0]} does not match the record count {n}")
            kinds = set().union(*(entry[4] for entry in layout)) if layout else set()
            bad = [k for k in kinds if k[0] != self.value_shape or np.dtype(k[1]) != self._dtype]
            if bad:
                raise ValueError(
                    f"records of shape {bad[0][0]} and dtype {np.dtype(bad[0][1])} do not match "
                    f"dims={self.value_shape}, dtype={self._dtype}"
                )
            if self._layout_is_ordered(layout):
                counts = [entry[0] for entry in layout]
                self._bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
            else:
                ordered = self._sorted(rdd, self._shape, self._dtype, len(layout))
                self._rdd, self._bounds = ordered._rdd, ordered._bounds
        return self._bounds

    # -- description -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def rdd(self):
        """The RDD of ``((i,), ndarray)`` records."""
        return self._rdd

    def tordd(self):
        """The RDD of ``((i,), ndarray)`` records."""
        return self._rdd

    @property
    def context(self):
        """The SparkContext."""
        return self._rdd.context

    def npartitions(self) -> int:
        return self._rdd.getNumPartitions()

    def _frame_bytes(self) -> int:
        return int(np.prod(self.value_shape, dtype=np.int64)) * self._dtype.itemsize

    def _block_bytes(self) -> int:
        """Block size of a stream or ``map`` made now: ``settings.BLOCK_BYTES``,
        finer inside :func:`napari_thunder.engines.progress.min_chunks`
        (:func:`streams.block_bytes`)."""
        return streams.block_bytes(self._shape[0], self._frame_bytes())

    @property
    def nchunks(self) -> int:
        """Chunks streamed by :meth:`iter_chunks` called now: every partition
        cut in blocks of at most ``settings.BLOCK_BYTES`` (at least one frame
        each; finer inside :func:`napari_thunder.engines.progress.min_chunks`)."""
        bounds = self._get_bounds()
        frame_bytes = self._frame_bytes()
        per = max(1, self._block_bytes() // frame_bytes) if frame_bytes else max(1, self._shape[0])
        return sum(-(-(b - a) // per) for a, b in zip(bounds[:-1], bounds[1:]))

    def count(self) -> int:
        return self._shape[0]

    def __repr__(self) -> str:
        return f"SparkFrames(shape={self._shape}, dtype={self._dtype}, npartitions={self.npartitions()})"

    # -- lazy transformations ------------------------------------------------------
    def map(self, func, value_shape, dtype) -> SparkFrames:
        value_shape = tuple(int(s) for s in value_shape)
        # blocks decided now: a map made inside progress.min_chunks (a GUI job)
        # hands its stream small blocks as they are computed, not one per partition
        rdd = self._rdd.mapPartitions(
            _Guard(_MapBlocks(func, value_shape, dtype, self._block_bytes())), preservesPartitioning=True
        )
        return SparkFrames(rdd, (self._shape[0],) + value_shape, dtype, self._bounds)

    def take(self, indices) -> SparkFrames:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = self._shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(f"indices must be in [0, {n}), got {indices.min()}..{indices.max()}")
        m = int(indices.size)
        shape = (m,) + self.value_shape
        if m == 0:
            return self._new(self.context.parallelize([], 1), shape, bounds=[0, 0])
        bounds = self._get_bounds()
        if m == 1 or np.all(np.diff(indices) > 0):
            new_bounds = np.searchsorted(indices, bounds).astype(int).tolist()
            rdd = self._rdd.mapPartitions(_Guard(_KeepSorted(indices)), preservesPartitioning=True)
            return self._new(rdd, shape, bounds=new_bounds)
        parts = max(1, min(self.npartitions(), m))
        new_bounds = _even_bounds(m, parts)
        rdd = (
            self._rdd.mapPartitions(_Guard(_Scatter(indices)))
            .partitionBy(parts, _RangePartition(new_bounds))
            .mapPartitions(_sort_partition, preservesPartitioning=True)
        )
        return self._new(rdd, shape, bounds=new_bounds)

    def filter(self, predicate) -> SparkFrames:
        """Frames passing ``predicate`` (evaluated once per frame in a job that
        returns only the kept indices), order kept, re-numbered."""
        self._get_bounds()
        rdd = self._rdd
        kept = _spark_call(lambda: rdd.mapPartitions(_Guard(_KeptKeys(predicate))).collect())
        keep = np.asarray(sorted(k for part in kept for k in part), dtype=np.int64)
        return self.take(keep)

    def repartition(self, npartitions: int) -> SparkFrames:
        """Same frames in ``npartitions`` contiguous partitions (a shuffle)."""
        n = self._shape[0]
        parts = _npartitions(self.context, npartitions, n)
        bounds = _even_bounds(n, parts)
        rdd = self._rdd.partitionBy(parts, _RangePartition(bounds)).mapPartitions(
            _sort_partition, preservesPartitioning=True
        )
        return self._new(rdd, bounds=bounds)

    def persist(self, storage_level=None) -> SparkFrames:
        """Keep the records in executor memory (``rdd.persist``)."""
        if storage_level is None:
            self._rdd.cache()
        else:
            self._rdd.persist(storage_level)
        return self

    def unpersist(self) -> SparkFrames:
        self._rdd.unpersist()
        return self

    # -- actions -----------------------------------------------------------------------
    def first(self) -> np.ndarray:
        if self._shape[0] == 0:
            raise ValueError("no frames: first() of an empty Images")
        if self._driver_copy is not None:
            return self._driver_copy[0].copy()
        self._get_bounds()
        record = _spark_call(self._rdd.first)
        return np.asarray(record[1])

    def collect(self) -> np.ndarray:
        if self._driver_copy is not None:
            return self._driver_copy.copy()
        out = np.empty(self._shape, self._dtype)
        for start, stop, block in self.iter_chunks(_identity_block):
            out[start:stop] = block
        return out

    def iter_chunks(self, func, max_inflight=None) -> Iterator[tuple[int, int, Any]]:
        """Run ``func(block, start)`` on the blocks of each partition (blocks
        of at most ``settings.BLOCK_BYTES``, so a big partition is several
        chunks; one Spark job per partition, up to ``max_inflight`` jobs at once, default
        ``sc.defaultParallelism``) and yield ``(start, stop, result)`` in frame
        order: with a ``local[...]`` master as the blocks are computed, with
        other masters as the partitions finish.

        The block size is decided by this call, not when the stream starts:
        called inside :func:`napari_thunder.engines.progress.min_chunks`, the
        stream moves in about ``count`` blocks wherever and whenever it is
        consumed. Nothing runs before the first step.

        The jobs run in one Spark job group; closing the generator (or losing
        it) cancels the group, interrupting running tasks. From another
        thread, :meth:`cancel_streams` cancels at once: the generator then
        ends quietly, without waiting for the partition in progress.
        """
        return self._stream(func, max_inflight, self._block_bytes())

    def _stream(self, func, max_inflight, block_bytes) -> Iterator[tuple[int, int, Any]]:
        bounds = self._get_bounds()  # may sort a user RDD: self._rdd after it
        yield from streams.stream_partitions(self._rdd, bounds, func, max_inflight, self._streams,
                                             block_bytes)

    def stream_aggregate(self, acc) -> Iterator[tuple[int, int, Any]]:
        """As :meth:`Frames.stream_aggregate`; the blocks are decided by this
        call, as for :meth:`iter_chunks`."""
        return _running_totals(self.iter_chunks(_AddTo(acc)), acc, self.count())

    def cancel_streams(self) -> int:
        """Cancel, from any thread, the Spark jobs of every running
        :meth:`iter_chunks` stream of these frames (and the streams built on
        it, such as ``stream_aggregate``); those generators end quietly.

        Returns
        -------
        int
            The number of streams cancelled.
        """
        return streams.cancel_streams(self.context, self._streams)

    def aggregate(self, acc, fan_in: int = 16):
        """Fold every partition block-wise into ``acc.empty()`` on the
        executors, then merge the partials in frame order: on the driver when
        there are at most ``fan_in`` of them, else first on the executors in
        ordered groups of ``fan_in`` (a tree), so non-commutative merges (e.g.
        ``reduce``) see the frames in order."""
        if self._shape[0] == 0:
            return acc.empty()
        return merge.aggregate(self._rdd, acc, fan_in)

    # -- engine changes --------------------------------------------------------------------
    def with_array(self, array) -> SparkFrames:
        return SparkFrames.from_array(array, self.context, self.npartitions())

    def to_blocks(self, tile_shape) -> SparkBlockStore:
        """Tiles of all frames, built on the executors (cut blocks into tiles,
        shuffle by tile, assemble)."""
        return SparkBlockStore.from_frames(self, tile_shape)


def _identity_block(block, start):
    return block


def _running_totals(chunks, acc, n) -> Iterator[tuple[int, int, Any]]:
    """``(done, n, running_acc)`` after every partial of ``chunks`` merged
    into ``acc.empty()`` in order (:meth:`Frames.stream_aggregate`)."""
    total = acc.empty()
    done = 0
    try:
        for start, stop, part in chunks:
            total = total.merge(part)
            done += stop - start
            yield done, n, total
    finally:
        chunks.close()
