"""Frame sources: picklable descriptions of where frames are, read on demand.

A loader lists its files and reads their headers on the driver, then hands a
:class:`FrameSource` to an engine. The engine calls :meth:`FrameSource.read`
where the pixels are needed (a dask task locally, a Spark executor remotely),
so the driver never reads pixels it does not need.
"""

from __future__ import annotations

import os

import numpy as np


def file_paths(files) -> list[str]:
    """The files of a file source as a list of str paths.

    Parameters
    ----------
    files : str, os.PathLike or sequence of them
        One file, or files in frame order.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        No file.
    """
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    paths = [os.fspath(f) for f in files]
    if not paths:
        raise ValueError("files must hold at least one file")
    return paths


class FrameSource:
    """Frames ``0 .. n-1`` of ``value_shape`` and ``dtype``, readable by range.

    Subclasses set ``shape`` (``(n,) + value_shape``) and ``dtype`` and
    implement :meth:`read`. Instances must be picklable (plain attributes:
    paths, shapes, offsets; no open file handles).
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    #: frames per storage chunk along axis 0 (Zarr chunks): engines keep the
    #: frame ranges they read on multiples of it, so no chunk is read twice
    chunk_frames: int = 1

    @property
    def value_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[1:])

    def __len__(self) -> int:
        return int(self.shape[0])

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``[start, stop)`` as a new ndarray ``(stop - start,) + value_shape``."""
        raise NotImplementedError

    def frame_bytes(self) -> int:
        return int(np.prod(self.value_shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    def _output(self, start, stop) -> tuple[int, int, np.ndarray]:
        """``(start, stop, out)`` for :meth:`read`: the range as ints, checked to lie
        within ``[0, n]`` (``IndexError`` otherwise), and an empty array for it."""
        n = len(self)
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= n:
            raise IndexError(f"frame range [{start}, {stop}) outside [0, {n})")
        return start, stop, np.empty((stop - start,) + self.value_shape, self.dtype)


class ArraySource(FrameSource):
    """Frames held in an in-memory array (or anything sliceable like one)."""

    def __init__(self, array):
        self.array = array
        self.shape = tuple(int(s) for s in array.shape)
        self.dtype = np.dtype(array.dtype)

    def read(self, start, stop):
        return np.array(self.array[start:stop])


class CallableSource(FrameSource):
    """Frame ``i`` is ``func(i)``; used by ``fromrandom`` and ``fromlist``.

    ``func`` must be picklable and return arrays of ``value_shape``/``dtype``.
    """

    def __init__(self, n, func, value_shape, dtype):
        self.func = func
        self.shape = (int(n),) + tuple(int(s) for s in value_shape)
        self.dtype = np.dtype(dtype)

    def read(self, start, stop):
        out = np.empty((stop - start,) + self.value_shape, self.dtype)
        for k, i in enumerate(range(start, stop)):
            out[k] = self.func(i)
        return out
