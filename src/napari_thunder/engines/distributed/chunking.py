"""How the dask.distributed engine cuts a stack into chunks along the image axis."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np

from napari_thunder.engines import local
from napari_thunder.engines.distributed import client as clients

#: chunks per worker thread the default chunking aims at
CHUNKS_PER_THREAD = 4


def frames_per_chunk(client, nbytes: int, nframes: int, npartitions=None) -> int:
    """How many frames one chunk holds on ``client``'s cluster.

    ``npartitions`` (when given) asks for about that many chunks. Otherwise a
    chunk holds at most what one worker thread can process in about a twelfth of
    its memory (a chunk plus float64 temporaries, a few in flight), at most
    the embedded engine's chunk size (results come back to the driver chunk
    by chunk), and there are ``CHUNKS_PER_THREAD`` chunks per worker thread
    (fewer, down to two, rather than chunks under ``MIN_CHUNK_BYTES``): with
    several chunks per thread, sending one chunk's result to the driver
    overlaps computing the next, and only the last ones wait alone.

    Parameters
    ----------
    client : distributed.Client
    nbytes : int
        Bytes of one frame.
    nframes : int
    npartitions : int, optional

    Returns
    -------
    int
    """
    if npartitions:
        return max(1, math.ceil(nframes / int(npartitions)))
    threads = clients.cluster_threads(client)
    target = local.chunk_bytes_target()
    per_thread = clients.worker_memory(client)
    if per_thread:
        target = min(target, max(local.MIN_CHUNK_BYTES, per_thread // (4 * 8 * 3)))
    by_memory = max(1, target // max(1, int(nbytes)))
    by_overlap = math.ceil(nframes / (CHUNKS_PER_THREAD * threads))
    by_parallelism = math.ceil(nframes / (2 * threads))
    # tiny chunks cost the scheduler more than their overlap saves
    floor = max(1, local.MIN_CHUNK_BYTES // max(1, int(nbytes)))
    per = max(by_overlap, min(floor, by_parallelism))
    return int(max(1, min(by_memory, per)))


def frame_chunks(client, nbytes: int, nframes: int, npartitions=None) -> tuple[int, ...]:
    """Chunk lengths along the image axis: ``npartitions`` chunks as even as
    possible when given (at most one per frame), else
    :func:`frames_per_chunk` frames each (the last one shorter).

    Parameters
    ----------
    client : distributed.Client
    nbytes : int
        Bytes of one frame.
    nframes : int
    npartitions : int, optional

    Returns
    -------
    tuple of int
    """
    if npartitions and nframes:
        parts = min(int(npartitions), nframes)
        base, extra = divmod(nframes, parts)
        return (base + 1,) * extra + (base,) * (parts - extra)
    return local._frame_chunks(nframes, frames_per_chunk(client, nbytes, nframes))


def aligned_chunks(lengths, align: int) -> tuple[int, ...]:
    """Chunk lengths whose inner boundaries are moved to the nearest multiple
    of ``align`` (empty chunks dropped), so each chunk reads whole storage
    chunks of a source stored ``align`` frames per chunk (Zarr).

    Parameters
    ----------
    lengths : sequence of int
        Chunk lengths along the image axis.
    align : int
        Frames per storage chunk.

    Returns
    -------
    tuple of int
        The same total; every chunk but the last a multiple of ``align``.
    """
    lengths = tuple(int(k) for k in lengths)
    align = max(1, int(align))
    total = sum(lengths)
    if align == 1 or len(lengths) < 2:
        return lengths
    stops = np.cumsum(lengths)[:-1]
    inner = {min(total, int(round(b / align)) * align) for b in stops}
    bounds = sorted({0, total} | inner)
    return tuple(int(b - a) for a, b in zip(bounds[:-1], bounds[1:])) or (total,)


def frame_bytes(shape, dtype) -> int:
    """Bytes of one frame of a stack of ``shape`` and ``dtype``.

    Parameters
    ----------
    shape : tuple of int
    dtype : numpy dtype

    Returns
    -------
    int
    """
    return int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize


def rechunk(client, array: da.Array, npartitions=None) -> da.Array:
    """``array`` rechunked along axis 0 only, as :func:`frames_per_chunk` says.

    Parameters
    ----------
    client : distributed.Client
    array : dask.array.Array
    npartitions : int, optional

    Returns
    -------
    dask.array.Array
    """
    shape = tuple(int(s) for s in array.shape)
    lengths = frame_chunks(client, frame_bytes(shape, array.dtype), shape[0], npartitions)
    chunks = (lengths,) + tuple((s,) for s in shape[1:])
    return array.rechunk(chunks)
