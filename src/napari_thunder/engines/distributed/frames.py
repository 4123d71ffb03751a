"""``DistributedFrames``: frames in a dask array computed on a dask.distributed cluster.

The frames are the same lazy dask array as the embedded engine's (chunked
along the image axis only, spatial axes one chunk), but every action runs on
the cluster's workers through a ``distributed.Client``:

* files are read by the workers themselves (the ``FrameSource`` travels in the
  task graph, never the pixels), so the workers must see the same paths;
* an ndarray given by the caller is sent to the cluster once and kept there
  (``client.persist``); the scheduler keeps its chunks in the graph, so a
  chunk lost with a worker is sent again, not lost;
* ``collect``/``iter_chunks`` bring results to the driver chunk by chunk in
  frame order; ``aggregate`` merges partials on the workers and returns only
  the final accumulator.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import dask.array as da
import numpy as np

from napari_thunder.engines import dask_frames, local
from napari_thunder.engines.base import Frames
from napari_thunder.engines.distributed import chunking, streams
from napari_thunder.engines.distributed import client as clients
from napari_thunder.engines.distributed.errors import result_of

#: chunks in flight per worker thread while streaming
WINDOW_PER_THREAD = 2


class _Identity:
    def __call__(self, block, start):
        return block


class DistributedFrames(dask_frames.DaskFramesDescription, Frames):
    """Frames on a dask.distributed cluster.

    Parameters
    ----------
    client : distributed.Client
    array : dask.array.Array
        Chunked along axis 0 only.
    source : FrameSource, optional
        The untransformed file source ``array`` reads (a viewer then reads
        single frames).
    """

    mode = "distributed"

    def __init__(self, client, array: da.Array, source=None):
        self.client = client
        self.array = array
        self.source = source
        self._streams: dict = {}

    # -- construction --------------------------------------------------------
    @classmethod
    def from_source(cls, source, client, npartitions=None) -> DistributedFrames:
        """Lazy frames the workers read from ``source`` (picklable) chunk by
        chunk; a source stored in chunks of several frames (Zarr,
        ``source.chunk_frames``) is cut at its storage chunk boundaries."""
        shape = tuple(source.shape)
        lengths = chunking.frame_chunks(client, source.frame_bytes(), shape[0], npartitions)
        lengths = chunking.aligned_chunks(lengths, getattr(source, "chunk_frames", 1))
        return cls(client, local.source_dask_array(source, lengths), source=source)

    @classmethod
    def from_array(cls, array, client, npartitions=None) -> DistributedFrames:
        """Frames holding an ndarray (sent to the cluster now, once) or a dask
        array (kept lazy, rechunked along the image axis)."""
        if isinstance(array, da.Array):
            return cls(client, chunking.rechunk(client, array, npartitions))
        array = np.asarray(array)
        nbytes = chunking.frame_bytes(array.shape, array.dtype)
        lengths = chunking.frame_chunks(client, nbytes, array.shape[0], npartitions)
        return cls(client, _persist_ndarray(client, array, lengths))

    @classmethod
    def from_items(cls, items, func, client, npartitions=None) -> DistributedFrames:
        """Frames from ``func(item)`` (``(key, ndarray)`` pairs), read by the
        workers, numbered in item order then yield order."""
        futures = client.map(_stack_item, [func] * len(items), list(items), pure=False)
        described = [result_of(f, f"item {i}") for i, f in
                     enumerate(client.map(_describe, futures, pure=False))]
        dtypes = {d for s, d in described if s[0]}
        dask_frames.check_frames_agree({s[1:] for s, _ in described if s[0]}, dtypes, len(items))
        dtype = dtypes.pop()
        parts = [da.from_delayed(f, shape, dtype=dtype)
                 for f, (shape, _) in zip(futures, described) if shape[0]]
        return cls(client, chunking.rechunk(client, da.concatenate(parts, axis=0), npartitions))

    def with_array(self, array) -> DistributedFrames:
        return DistributedFrames.from_array(array, self.client)

    def _like(self, array) -> DistributedFrames:
        return DistributedFrames(self.client, array)

    # -- description -----------------------------------------------------------
    def npartitions(self) -> int:
        """Number of chunks along the image axis (the cluster's partitions)."""
        return self.nchunks

    def chunk_bounds(self) -> list[tuple[int, int]]:
        """``(start, stop)`` frame range of every chunk."""
        stops = np.cumsum(self.array.chunks[0])
        return [(int(b - k), int(b)) for b, k in zip(stops, self.array.chunks[0])]

    # -- lazy transformations --------------------------------------------------
    def map(self, func, value_shape, dtype) -> DistributedFrames:
        return self._like(local.LocalFrames(self.array).map(func, value_shape, dtype).array)

    def take(self, indices) -> DistributedFrames:
        picked = dask_frames.take_frames(self.array, indices)
        if picked is None:
            return self
        return self._like(picked if picked.shape[0] == 0 else chunking.rechunk(self.client, picked))

    def filter(self, predicate) -> DistributedFrames:
        keep = [mask for _, _, mask in self.iter_chunks(local._Predicate(predicate))]
        mask = np.concatenate(keep) if keep else np.zeros(0, bool)
        return self.take(np.flatnonzero(mask))

    # -- actions ---------------------------------------------------------------
    def first(self) -> np.ndarray:
        if self.shape[0] == 0:
            raise ValueError("no frames: first() of an empty Images")
        future = self.client.compute(self.array[0])
        return np.asarray(result_of(future, "frame 0"))

    def collect(self) -> np.ndarray:
        """All frames in one new ndarray, filled chunk by chunk as the
        workers send them."""
        out = np.empty(self.shape, self.dtype)
        for start, stop, block in self.iter_chunks(_Identity()):
            block = np.asarray(block)
            if block.shape != (stop - start,) + self.shape[1:]:
                raise RuntimeError(f"frames {start}-{stop} came back with shape {block.shape}, "
                                   f"not {(stop - start,) + self.shape[1:]}")
            out[start:stop] = block
        return out

    def display_array(self) -> da.Array:
        """A lazy array, one frame per chunk, each frame computed on the
        cluster when a viewer shows it."""
        view = _ClusterView(self)
        return da.from_array(view, chunks=(1,) + self.shape[1:], lock=False, fancy=False,
                             asarray=True, name=f"cluster-frames-{uuid.uuid4().hex}")

    def iter_chunks(self, func) -> Iterator[tuple[int, int, object]]:
        window = WINDOW_PER_THREAD * clients.cluster_threads(self.client) + 2
        if self.shape[0] == 0:
            return iter(())
        return streams.stream_chunks(self.client, self.array, self.chunk_bounds(), func,
                                     window, self._streams)

    def cancel_streams(self) -> int:
        return streams.cancel_all(self.client, self._streams)

    def aggregate(self, acc):
        """Fold every chunk and merge the partials on the workers (a few per task);
        only the final accumulator comes to the driver."""
        if self.shape[0] == 0:
            return acc.empty()
        return streams.tree_aggregate(self.client, self.array, self.chunk_bounds(), acc)

    def to_blocks(self, tile_shape):
        from napari_thunder.engines.distributed.tiles import DistributedBlockStore

        tile_shape = tuple(int(t) for t in tile_shape)
        n = self.shape[0]
        return DistributedBlockStore(self.client, self.array.rechunk((max(n, 1),) + tile_shape),
                                     tile_shape, DistributedFrames)


class _ClusterView:
    """Array-like for ``dask.array.from_array``: frames computed on the cluster."""

    def __init__(self, frames: DistributedFrames):
        self.frames = frames
        self.shape = frames.shape
        self.dtype = frames.dtype
        self.ndim = len(self.shape)

    def __getitem__(self, key):
        future = self.frames.client.compute(self.frames.array[key])
        return np.asarray(result_of(future, f"frames {key}"))


def _stack_item(func, item):
    values = [np.asarray(v) for _, v in func(item)]
    if not values:
        return np.empty((0,), np.uint8)
    return np.stack(values)


def _describe(stack):
    return tuple(stack.shape), stack.dtype


def _persist_ndarray(client, array: np.ndarray, frame_chunks) -> da.Array:
    """``array`` as a dask array whose chunks (``frame_chunks`` frames each)
    are graph literals (one key each), persisted on the cluster."""
    name = f"array-{uuid.uuid4().hex}"
    tail = (0,) * (array.ndim - 1)
    graph, start = {}, 0
    for i, k in enumerate(frame_chunks):
        graph[(name, i) + tail] = array[start:start + k]
        start += k
    chunks = (frame_chunks,) + tuple((s,) for s in array.shape[1:])
    lazy = da.Array(graph, name, chunks, dtype=array.dtype)
    with warnings.catch_warnings():
        # the chunks are the data: a graph this large is the point
        warnings.filterwarnings("ignore", message=".*large graph.*")
        return client.persist(lazy)
