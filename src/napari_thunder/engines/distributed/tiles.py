"""``DistributedBlockStore``: spatial tiles of a stack, computed on the cluster.

The tiles are a dask array whose chunks hold every frame of one spatial tile
(the frames re-laid by dask's rechunk on the workers); ``collect`` and
``collect_blocks`` compute on the cluster and bring the tiles to the driver.
"""

from __future__ import annotations

import numpy as np

from napari_thunder.engines import dask_frames, local
from napari_thunder.engines.base import BlockStore
from napari_thunder.engines.distributed import chunking
from napari_thunder.engines.distributed.errors import result_of


class DistributedBlockStore(dask_frames.DaskTilesDescription, BlockStore):
    """Tiles of a stack on a dask.distributed cluster.

    Parameters
    ----------
    client : distributed.Client
    array : dask.array.Array
        Chunks of ``(n,) + tile_shape`` (smaller at the edges).
    tile_shape : tuple of int
    frames_class : type
        The frames class :meth:`to_frames` builds (``DistributedFrames``; given
        by the frames, so this module does not import theirs).
    """

    mode = "distributed"

    def __init__(self, client, array, tile_shape, frames_class):
        self.client = client
        self.frames_class = frames_class
        self.array = array
        self._tile_shape = tuple(tile_shape)

    def map(self, func, length, dtype) -> DistributedBlockStore:
        tiles = local.LocalBlockStore(self.array, self._tile_shape).map(func, length, dtype)
        return DistributedBlockStore(self.client, tiles.array, self._tile_shape, self.frames_class)

    def collect(self) -> np.ndarray:
        return np.asarray(result_of(self.client.compute(self.array), "the tiles"))

    def collect_blocks(self) -> list[np.ndarray]:
        blocks = list(self.array.to_delayed(optimize_graph=True).reshape(-1))
        futures = self.client.compute(blocks)
        return [np.asarray(result_of(f, f"tile {i}")) for i, f in enumerate(futures)]

    def to_frames(self):
        return self.frames_class(self.client, chunking.rechunk(self.client, self.array))
