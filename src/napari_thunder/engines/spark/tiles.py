"""Spatial tiles on Spark: the tile shuffle and :class:`SparkBlockStore`.

Frames become tiles in one shuffle: each task cuts its blocks of frames into
``(tile, (start, piece))``, the pieces are partitioned by tile index (ordered
ranges of the C-ordered tile grid) and assembled into ``(tile, (n,) + tile)``.
Back to frames is the mirror shuffle: each tile is cut by the frame ranges of
the target partitions and the pieces are laid into frame blocks.
"""

from __future__ import annotations

import numpy as np

from napari_thunder.engines.base import BlockStore
from napari_thunder.engines.spark import settings
from napari_thunder.engines.spark.errors import _Guard, _spark_call
from napari_thunder.engines.spark.records import (
    _conformed,
    _even_bounds,
    _identity_partition,
    _iter_blocks,
    _RangePartition,
    _split_records,
)


def _tile_grid(value_shape, tile_shape) -> list[tuple[slice, ...]]:
    """Slices of every tile, C order of the tile grid."""
    ranges = [
        [slice(lo, min(lo + t, d)) for lo in range(0, d, t)] for d, t in zip(value_shape, tile_shape)
    ]
    grid = [()]
    for axis in ranges:
        grid = [prefix + (s,) for prefix in grid for s in axis]
    return grid


class _CutTiles:
    """Partition function: cut blocks of frames into ``(tile, (start, piece))``."""

    def __init__(self, value_shape, tile_shape, block_bytes):
        self.grid = _tile_grid(value_shape, tile_shape)
        self.block_bytes = block_bytes

    def __call__(self, records):
        for start, block in _iter_blocks(records, self.block_bytes):
            for t, slices in enumerate(self.grid):
                yield t, (start, np.ascontiguousarray(block[(slice(None),) + slices]))


class _AssembleTiles:
    """Partition function: pieces ``(tile, (start, piece))`` -> ``(tile, (n,)+tile)``."""

    def __init__(self, n, value_shape, tile_shape, dtype):
        self.n = n
        self.grid = _tile_grid(value_shape, tile_shape)
        self.dtype = np.dtype(dtype)

    def __call__(self, pieces):
        tiles: dict[int, np.ndarray] = {}
        for t, (start, piece) in pieces:
            if t not in tiles:
                shape = (self.n,) + tuple(s.stop - s.start for s in self.grid[t])
                tiles[t] = np.empty(shape, self.dtype)
            tiles[t][start:start + piece.shape[0]] = piece
        for t in sorted(tiles):
            yield t, tiles[t]


class _MapTile:
    """Partition function: ``func(tile)`` on every tile, ``length`` frames of
    ``dtype`` out."""

    def __init__(self, func, length, dtype):
        self.func = func
        self.length = int(length)
        self.dtype = np.dtype(dtype)

    def __call__(self, records):
        for t, tile in records:
            yield t, _conformed(self.func(tile), (self.length,) + tile.shape[1:], self.dtype,
                                "block function returned shape", f" for tile {t}")


class _TilesToRanges:
    """Partition function: tile -> ``(p, (tile, tile[bounds[p]:bounds[p+1]]))``."""

    def __init__(self, bounds):
        self.bounds = list(bounds)

    def __call__(self, records):
        b = self.bounds
        for t, tile in records:
            for p in range(len(b) - 1):
                if b[p + 1] > b[p]:
                    yield p, (t, np.ascontiguousarray(tile[b[p]:b[p + 1]]))


class _RangesToFrames:
    """mapPartitionsWithIndex function: pieces of every tile for frames
    ``bounds[p]..`` -> ordered frame records."""

    def __init__(self, bounds, value_shape, tile_shape, dtype):
        self.bounds = list(bounds)
        self.grid = _tile_grid(value_shape, tile_shape)
        self.value_shape = tuple(value_shape)
        self.dtype = np.dtype(dtype)

    def __call__(self, index, pieces):
        lo, hi = self.bounds[index], self.bounds[index + 1]
        if hi <= lo:
            return
        block = np.empty((hi - lo,) + self.value_shape, self.dtype)
        for _, (t, piece) in pieces:
            block[(slice(None),) + self.grid[t]] = piece
        yield from _split_records(lo, block)



class SparkBlockStore(BlockStore):
    """Spatial tiles of a frame sequence in an RDD of ``(tile_index, ndarray
    (n,)+tile)``, tile indices in C order of the tile grid, partitions ordered.

    Parameters
    ----------
    rdd : pyspark.RDD
        Records ``(tile_index, tile)``.
    shape : tuple of int
        ``(n,) + value_shape`` of the whole stack.
    dtype : numpy dtype
    tile_shape : tuple of int
        Nominal tile shape (spatial axes).
    frame_partitions : int
        Partitions of the frames :meth:`to_frames` makes.
    frames_type : type
        The frames class :meth:`to_frames` builds (the class of the frames the
        tiles came from), called as ``frames_type(rdd, shape, dtype, bounds)``.
    """

    mode = "spark"

    def __init__(self, rdd, shape, dtype, tile_shape, frame_partitions, frames_type):
        self._rdd = rdd
        self._shape = tuple(int(s) for s in shape)
        self._dtype = np.dtype(dtype)
        self._tile_shape = tuple(int(t) for t in tile_shape)
        self._frame_partitions = int(frame_partitions)
        self._frames_type = frames_type

    @classmethod
    def from_frames(cls, frames, tile_shape) -> SparkBlockStore:
        """Tiles of all ``frames`` (a ``SparkFrames``), built on the executors
        (cut blocks into tiles, shuffle by tile, assemble).

        Raises
        ------
        ValueError
            ``tile_shape`` is not one positive int per spatial axis.
        """
        value_shape = frames.value_shape
        tile_shape = tuple(int(t) for t in tile_shape)
        if len(tile_shape) != len(value_shape) or any(t < 1 for t in tile_shape):
            raise ValueError(f"tile_shape must be {len(value_shape)} positive ints, got {tile_shape}")
        ntiles = len(_tile_grid(value_shape, tile_shape))
        parts = max(1, min(frames.npartitions(), ntiles))
        tile_bounds = _even_bounds(ntiles, parts)
        rdd = (
            frames.rdd.mapPartitions(_Guard(_CutTiles(value_shape, tile_shape, settings.BLOCK_BYTES)))
            .partitionBy(parts, _RangePartition(tile_bounds))
            .mapPartitions(_Guard(_AssembleTiles(frames.shape[0], value_shape, tile_shape, frames.dtype)),
                           preservesPartitioning=True)
        )
        return cls(rdd, frames.shape, frames.dtype, tile_shape, frames.npartitions(), type(frames))

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def tile_shape(self) -> tuple[int, ...]:
        return self._tile_shape

    @property
    def rdd(self):
        return self._rdd

    def count(self) -> int:
        return len(_tile_grid(self._shape[1:], self._tile_shape))

    def map(self, func, length, dtype) -> SparkBlockStore:
        rdd = self._rdd.mapPartitions(_Guard(_MapTile(func, length, dtype)), preservesPartitioning=True)
        return SparkBlockStore(rdd, (int(length),) + self._shape[1:], dtype, self._tile_shape,
                               self._frame_partitions, self._frames_type)

    def collect_blocks(self) -> list[np.ndarray]:
        rdd = self._rdd
        tiles = _spark_call(rdd.collect)
        tiles.sort(key=lambda record: record[0])
        return [tile for _, tile in tiles]

    def collect(self) -> np.ndarray:
        out = np.empty(self._shape, self._dtype)
        grid = _tile_grid(self._shape[1:], self._tile_shape)
        for slices, tile in zip(grid, self.collect_blocks()):
            out[(slice(None),) + slices] = tile
        return out

    def to_frames(self):
        n = self._shape[0]
        parts = max(1, min(self._frame_partitions, n))
        bounds = _even_bounds(n, parts)
        rdd = (
            self._rdd.mapPartitions(_Guard(_TilesToRanges(bounds)))
            .partitionBy(parts, _identity_partition)
            .mapPartitionsWithIndex(
                _Guard(_RangesToFrames(bounds, self._shape[1:], self._tile_shape, self._dtype)),
                preservesPartitioning=True,
            )
        )
        return self._frames_type(rdd, self._shape, self._dtype, bounds)
