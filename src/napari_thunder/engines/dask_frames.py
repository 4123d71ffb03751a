"""Frames and tiles held in a dask array: what the local and the distributed
engines share (their shape and dtype, picking frames, checking that the
frames read from items agree)."""

from __future__ import annotations

import dask.array as da
import numpy as np


def take_frames(array, indices):
    """The frames ``indices`` of the dask array ``array`` (axis 0), or None when
    ``indices`` are all the frames in order.

    An evenly stepped selection is a slice (no gather); an empty one is an
    empty array of the frames' shape and dtype. Shared by the local and the
    distributed frames.

    Parameters
    ----------
    array : dask.array.Array
    indices : sequence of int

    Returns
    -------
    dask.array.Array or None

    Raises
    ------
    IndexError
        An index outside ``0 .. n-1``.
    """
    indices = np.asarray(indices, dtype=np.intp).reshape(-1)
    n = int(array.shape[0])
    if indices.size == n and np.array_equal(indices, np.arange(n)):
        return None
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise IndexError(f"frame index out of range for {n} frames")
    if indices.size == 0:
        empty = np.empty((0,) + tuple(int(s) for s in array.shape[1:]), np.dtype(array.dtype))
        return da.from_array(empty, chunks=empty.shape or (0,))
    steps = np.diff(indices)
    if indices.size > 1 and np.all(steps == steps[0]) and steps[0] > 0:
        return array[indices[0]: indices[-1] + 1: int(steps[0])]
    return array[indices]


def check_frames_agree(shapes, dtypes, nitems):
    """Raise unless the frames ``nitems`` items yielded, of frame shapes
    ``shapes`` and dtypes ``dtypes`` (sets), are some frames of one shape and
    one dtype. Shared by the local and the distributed frames.

    Parameters
    ----------
    shapes : set of tuple
    dtypes : set of numpy.dtype
    nitems : int

    Raises
    ------
    ValueError
        No frame, or frames of several shapes or dtypes (two of them named).
    """
    if not shapes:
        raise ValueError(f"no frames: the {nitems} items yielded no image")
    if len(shapes) > 1:
        first, other = sorted(shapes)[:2]
        raise ValueError(f"Arrays must all be of same shape; got {first} and {other}")
    if len(dtypes) > 1:
        first, other = sorted(dtypes, key=str)[:2]
        raise ValueError(f"Arrays must all be of same data type; got {first} and {other}")


class _DaskArrayDescription:
    """``shape`` and ``dtype`` of what is held as a dask array ``self.array``."""

    @property
    def shape(self):
        return tuple(int(s) for s in self.array.shape)

    @property
    def dtype(self):
        return np.dtype(self.array.dtype)


class DaskFramesDescription(_DaskArrayDescription):
    """``shape``, ``dtype`` and ``nchunks`` of frames held as a dask array ``self.array``
    (chunks along axis 0); shared by the local and the distributed frames."""

    @property
    def nchunks(self) -> int:
        return len(self.array.chunks[0])


class DaskTilesDescription(_DaskArrayDescription):
    """``shape``, ``dtype``, ``tile_shape`` and ``count`` of tiles held as a dask array
    ``self.array`` (one chunk per tile, every frame in it) with ``self._tile_shape``."""

    @property
    def tile_shape(self):
        return self._tile_shape

    def count(self) -> int:
        return int(np.prod(self.array.numblocks[1:], dtype=np.int64))
