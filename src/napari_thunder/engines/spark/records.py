"""Executor-side record functions and the partition layout.

Frames are records ``((i,), ndarray)``; an ordered RDD holds frames
``bounds[p] .. bounds[p+1]-1`` in partition ``p``. This module has the
functions that run inside tasks on those records (stacking consecutive records
into blocks without a copy when possible, reading frame ranges from a source,
mapping blocks, describing, re-keying, selecting and scattering records), the
partitioners that send keys to ordered ranges, and the driver-side helpers
that choose partition counts and bounds.

Everything here is defined at module level so that Spark pickles it by
reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


# -- partition layout (driver) --------------------------------------------------
def _npartitions(sc, npartitions, n: int) -> int:
    """Validated partition count: default parallelism, never more than ``n``
    (but at least 1)."""
    if npartitions is None:
        npartitions = sc.defaultParallelism
    if isinstance(npartitions, bool) or not isinstance(npartitions, (int, np.integer)) or npartitions < 1:
        raise ValueError(f"npartitions must be a positive integer, got {npartitions!r}")
    return int(max(1, min(int(npartitions), n)))


def _even_bounds(n: int, parts: int) -> list[int]:
    """Starts of ``parts`` contiguous, nearly equal ranges of ``0..n`` (+ end)."""
    return [i * n // parts for i in range(parts + 1)]


def _aligned_bounds(bounds, align) -> list[int]:
    """``bounds`` moved to the nearest multiple of ``align`` (the end kept),
    empty ranges dropped: each partition then reads whole storage chunks."""
    align = max(1, int(align))
    if align == 1 or len(bounds) < 2:
        return list(bounds)
    n = bounds[-1]
    inner = {min(n, round(b / align) * align) for b in bounds[1:-1]}
    out = sorted({0, n} | inner)
    return out if len(out) > 1 else [0, n]



# -- blocks of consecutive records -----------------------------------------------
def _as_key(key) -> tuple:
    """Promote an int key to ``(k,)``; keep 1-tuples."""
    if isinstance(key, (tuple, list)):
        if len(key) != 1:
            raise ValueError(f"Images records need 1-tuple keys (i,), got {key!r}")
        return (int(key[0]),)
    return (int(key),)


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def _stack(frames: list) -> np.ndarray:
    """``np.stack(frames)``, without copying when the frames lie back to back
    in one C-contiguous buffer (records split from a block upstream in the
    same task: a source read, a map's output)."""
    first = frames[0]
    base = first.base
    if (
        isinstance(base, np.ndarray)
        and base.flags.c_contiguous
        and first.flags.c_contiguous
        and first.nbytes > 0
    ):
        step = first.nbytes
        offset = _address(first) - _address(base)
        if 0 <= offset and offset + step * len(frames) <= base.nbytes and all(
            frame.base is base
            and frame.dtype == first.dtype
            and frame.shape == first.shape
            and _address(frame) == _address(first) + k * step
            for k, frame in enumerate(frames)
        ):
            return np.ndarray((len(frames),) + first.shape, first.dtype, buffer=base, offset=offset)
    return np.stack(frames)


def _iter_blocks(records: Iterable, block_bytes: int) -> Iterator[tuple[int, np.ndarray]]:
    """Group ordered records into ``(start, block)`` of consecutive frames, each
    block at most ``block_bytes`` (but at least one frame)."""
    frames: list = []
    start = expected = None
    size = 0
    for key, value in records:
        i = key[0]
        if frames and (i != expected or size + value.nbytes > block_bytes):
            yield start, _stack(frames)
            frames, size = [], 0
        if not frames:
            start = i
        frames.append(value)
        size += value.nbytes
        expected = i + 1
    if frames:
        yield start, _stack(frames)


def _split_records(start: int, block: np.ndarray):
    for k in range(block.shape[0]):
        yield (start + k,), block[k]


def _conformed(block, shape: tuple, dtype, returned: str, where: str = "") -> np.ndarray:
    """``block`` as an ndarray of ``dtype`` (cast when needed).

    Raises
    ------
    ValueError
        Its shape is not ``shape``: ``"{returned} {its shape}{where}, expected
        {shape}"`` (``returned`` names the function that made it).
    """
    block = np.asarray(block)
    if block.shape != shape:
        raise ValueError(f"{returned} {block.shape}{where}, expected {shape}")
    return block if block.dtype == dtype else block.astype(dtype)


class _ReadRanges:
    """Partition function: read frame ranges ``(start, stop)`` from a source, in
    sub-ranges of at most ``block_bytes``."""

    def __init__(self, source, block_bytes: int):
        self.source = source
        self.block_bytes = block_bytes

    def __call__(self, ranges):
        source = self.source
        step = max(1, self.block_bytes // max(1, source.frame_bytes()))
        align = max(1, int(getattr(source, "chunk_frames", 1)))
        step = max(align, step // align * align)  # whole storage chunks per read
        expected = tuple(source.value_shape)
        for start, stop in ranges:
            for lo in range(start, stop, step):
                hi = min(stop, lo + step)
                block = _conformed(source.read(lo, hi), (hi - lo,) + expected, source.dtype,
                                   f"{type(source).__name__}.read({lo}, {hi}) returned shape")
                yield from _split_records(lo, block)


def _explode_pieces(pieces):
    for start, block in pieces:
        yield from _split_records(start, block)


class _MapBlocks:
    """Partition function applying ``func(block, start)`` block-wise."""

    def __init__(self, func, value_shape, dtype, block_bytes: int):
        self.func = func
        self.value_shape = tuple(value_shape)
        self.dtype = np.dtype(dtype)
        self.block_bytes = block_bytes

    def __call__(self, records):
        for start, block in _iter_blocks(records, self.block_bytes):
            last = start + block.shape[0] - 1
            out = _conformed(self.func(block, start), (block.shape[0],) + self.value_shape, self.dtype,
                             "map function returned a block of shape", f" for frames {start}..{last}")
            yield from _split_records(start, out)



# -- describing, re-keying, selecting --------------------------------------------
class _Layout:
    """Partition function describing a partition: ``(count, first, last,
    consecutive, {(shape, dtype)})``."""

    def __call__(self, records):
        count = 0
        first = last = None
        consecutive = True
        kinds = set()
        for key, value in records:
            i = key[0]
            if first is None:
                first = i
            elif i != last + 1:
                consecutive = False
            last = i
            count += 1
            kinds.add((tuple(value.shape), value.dtype.str))
        yield count, first, last, consecutive, kinds


class _ExpandItems:
    """Partition function: ``func(item)`` -> iterable of ``(key, frame)``."""

    def __init__(self, func):
        self.func = func

    def __call__(self, items):
        for item in items:
            for key, value in self.func(item):
                yield _as_key(key), np.asarray(value)


def _promote_records(records):
    for key, value in records:
        yield _as_key(key), np.asarray(value)


class _Rekey:
    """mapPartitionsWithIndex function: number records from ``offsets[p]``."""

    def __init__(self, offsets):
        self.offsets = list(offsets)

    def __call__(self, index, records):
        i = self.offsets[index]
        for _, value in records:
            yield (i,), value
            i += 1


class _KeepSorted:
    """Keep the records whose key is in the sorted array ``keep``; new key =
    position in ``keep``."""

    def __init__(self, keep: np.ndarray):
        self.keep = keep

    def __call__(self, records):
        keep = self.keep
        m = len(keep)
        for key, value in records:
            pos = int(np.searchsorted(keep, key[0]))
            if pos < m and keep[pos] == key[0]:
                yield (pos,), value


class _Scatter:
    """Emit every record once per output position that selects it."""

    def __init__(self, indices: np.ndarray):
        order = np.argsort(indices, kind="stable")
        self.sorted_values = indices[order]
        self.order = order

    def __call__(self, records):
        for key, value in records:
            lo = np.searchsorted(self.sorted_values, key[0], side="left")
            hi = np.searchsorted(self.sorted_values, key[0], side="right")
            for pos in self.order[lo:hi]:
                yield (int(pos),), value


class _RangePartition:
    """partitionFunc: the partition whose range ``[bounds[p], bounds[p+1])``
    holds the key (``(i,)`` or ``i``)."""

    def __init__(self, bounds):
        self.starts = np.asarray(bounds[:-1])
        self.nparts = len(bounds) - 1

    def __call__(self, key):
        i = key[0] if isinstance(key, tuple) else key
        p = int(np.searchsorted(self.starts, i, side="right")) - 1
        return min(max(p, 0), self.nparts - 1)


def _identity_partition(key):
    return int(key)


def _sort_partition(records):
    return iter(sorted(records, key=lambda record: record[0]))


class _KeptKeys:
    """Partition function: the keys of records passing ``predicate``."""

    def __init__(self, predicate):
        self.predicate = predicate

    def __call__(self, records):
        yield [key[0] for key, value in records if self.predicate(value)]

