"""The methods of :class:`~napari_thunder.data.images.Images` that run a user function.

``map`` (image by image), ``filter``, ``foreach``, ``reduce`` (pairwise, across
images) and ``map_as_series`` (pixel series by pixel series). A mixin that
``Images`` inherits.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder.data._shared import check_callable
from napari_thunder.kernels.moments import ReduceAccumulator

if TYPE_CHECKING:
    from napari_thunder.data.images import Images


class ImageFunctionalMethods:
    """``map``, ``filter``, ``foreach``, ``reduce``, ``map_as_series`` (mixed into ``Images``)."""

    def map(self, func: Callable, value_shape=None, dtype=None, with_keys: bool = False,
            dims=None) -> Images:
        """Apply ``func`` to every image.

        Parameters
        ----------
        func : callable
            ``func(image) -> array``; with ``with_keys=True``,
            ``func((key, image))`` where ``key`` is the 1-tuple ``(i,)``.
            Scalar results become length-1 images (shape ``(n, 1)``).
        value_shape : int or tuple of int, optional
            Shape of the result of ``func`` on one image (Thunder's name). With
            ``dtype`` too, ``func`` is not run on the first image to find them.
        dtype : numpy dtype, optional
            Dtype of the results (they are cast to it).
        with_keys : bool
            Pass ``(key, image)`` pairs instead of images.
        dims : int or tuple of int, optional
            The older name of ``value_shape``. The older positional order
            ``map(func, dims, with_keys)`` still works: a bool third argument
            is ``with_keys``.

        Returns
        -------
        Images
            Lazy: nothing runs until an action. The labels are kept.

        Raises
        ------
        TypeError
            ``func`` is not callable, or both ``value_shape`` and ``dims`` given.
        """
        check_callable(func, "func")
        if isinstance(dtype, (bool, np.bool_)):  # map(func, dims, with_keys): the older order
            dtype, with_keys = None, bool(dtype)
        if dims is not None:
            if value_shape is not None:
                raise TypeError("map: pass value_shape or dims (its older name), not both")
            value_shape = dims
        if value_shape is None or dtype is None:
            probe = np.asarray(func(((0,), self.first())) if with_keys else func(self.first()))
            if probe.ndim == 0:
                probe = probe.reshape(1)
            value_shape = probe.shape if value_shape is None else value_shape
            dtype = probe.dtype if dtype is None else dtype
        if isinstance(value_shape, numbers.Integral):
            value_shape = (int(value_shape),)
        else:
            value_shape = tuple(int(d) for d in value_shape)
        return self._new(self.frames.map(_PerImage(func, with_keys, value_shape, dtype), value_shape, dtype))

    def filter(self, func: Callable) -> Images:
        """Keep the images for which ``func(image)`` is true, in their order.

        Parameters
        ----------
        func : callable
            ``func(image) -> bool`` on one image of ``value_shape``.

        Returns
        -------
        Images
            Lazy; its length is known only once computed.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        """
        check_callable(func, "func")
        return self._new(self.frames.filter(func))

    def foreach(self, func: Callable) -> None:
        """Call ``func((i, image))`` on every image for its side effects.

        Locally the calls happen in the driver, in image order; in Spark mode they
        run on the executors, in no defined order.

        Parameters
        ----------
        func : callable
            ``func((i, image))``; its return value is ignored.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        """
        check_callable(func, "func")
        self.frames.foreach_block(_ForEach(func))

    def reduce(self, func: Callable) -> Images:
        """Reduce the images pairwise with ``func(a, b) -> image``.

        Partial results are combined in chunk order, so ``func`` must be
        associative; numpy ufuncs such as ``np.maximum`` are applied with
        ``ufunc.reduce`` over each chunk.

        Parameters
        ----------
        func : callable
            ``func(a, b)`` returning an array of ``value_shape``.

        Returns
        -------
        Images
            One image.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        ValueError
            ``func`` returned an array of another shape than ``value_shape``.
        """
        check_callable(func, "func")
        result = np.asarray(self.frames.aggregate(ReduceAccumulator(func)).finalize())
        if result.shape != self.value_shape:
            raise ValueError("reduce did not yield an array with valid dimensions")
        return self._new(self.frames.with_array(result[np.newaxis]), labels=None)

    def map_as_series(self, func: Callable, value_size=None, dtype=None, chunk_size=None,
                      block_size=None) -> Images:
        """Apply ``func`` to every pixel's series (length ``n``).

        The images are regrouped into blocks of pixel series, ``func`` runs on
        each series, and the results are regrouped into images.

        Parameters
        ----------
        func : callable
            Maps a 1-D series of length ``n`` to a 1-D series of length
            ``value_size``.
        value_size : int, optional
            Length of ``func``'s output; found by running ``func`` on a series
            of zeros if not given (with ``dtype`` too, ``func`` is not probed).
        dtype : numpy dtype, optional
            Dtype of the result (``func``'s outputs are cast to it); that of
            ``func``'s output on zeros if not given.
        chunk_size : str, int or tuple, optional
            Size of the blocks of series, as in :meth:`toblocks` (default
            ``'150'``: about 150 KB; ``'auto'``: one block).
        block_size : str, int or tuple, optional
            The older name of ``chunk_size``. The older positional order
            ``map_as_series(func, value_size, block_size)`` still works when
            the third argument is a size (``'150'``, ``'2M'``, ``'auto'``, a tuple).

        Returns
        -------
        Images
            Shape ``(value_size,) + value_shape``; no labels.

        Raises
        ------
        TypeError
            If ``func`` is not callable, or both ``chunk_size`` and ``block_size`` given.
        ValueError
            If ``func`` does not return a 1-D series.
        """
        check_callable(func, "func")
        if _looks_like_size(dtype) and chunk_size is None and block_size is None:
            dtype, block_size = None, dtype  # map_as_series(func, value_size, block_size)
        if chunk_size is not None and block_size is not None:
            raise TypeError("map_as_series: pass chunk_size or block_size (its older name), not both")
        chunk = "150" if chunk_size is None and block_size is None else (
            chunk_size if block_size is None else block_size)
        n = self.count()
        if value_size is None or dtype is None:
            probe = np.atleast_1d(np.asarray(func(np.zeros(n, self.dtype))))
            if probe.ndim != 1:
                raise ValueError(f"func must return a 1-D series, got shape {probe.shape}")
            length = int(value_size) if value_size is not None else probe.shape[0]
            dtype = probe.dtype if dtype is None else np.dtype(dtype)
        else:
            length, dtype = int(value_size), np.dtype(dtype)
        store = self.frames.to_blocks(self._tile_shape(chunk))
        out = store.map(_AlongSeries(func, length, dtype), length, dtype)
        return self._new(out.to_frames(), labels=None)


class _PerImage:
    """Apply a user function image by image inside a block."""

    def __init__(self, func, with_keys, dims, dtype):
        self.func = func
        self.with_keys = with_keys
        self.dims = tuple(dims)
        self.dtype = np.dtype(dtype)

    def __call__(self, block, start):
        out = np.empty((len(block),) + self.dims, self.dtype)
        for k, image in enumerate(block):
            arg = ((start + k,), image) if self.with_keys else image
            raw = self.func(arg)
            result = np.asarray(raw)
            if result.dtype.kind in "OUSV":
                raise TypeError(f"map: func returned {type(raw).__name__} for image {start + k}, "
                                f"not a numeric array")
            if result.size != out[k].size:
                raise ValueError(f"map: func returned an image of shape {result.shape} for image "
                                 f"{start + k}, expected shape {self.dims} (every image must map to "
                                 f"the same shape; pass value_shape= if the first one is not typical)")
            out[k] = result.reshape(self.dims)
        return out


class _ForEach:
    def __init__(self, func):
        self.func = func

    def __call__(self, block, start):
        for k, image in enumerate(block):
            self.func((start + k, image))


class _AlongSeries:
    def __init__(self, func, length, dtype):
        self.func = func
        self.length = length
        self.dtype = np.dtype(dtype)

    def __call__(self, tile):
        out = np.apply_along_axis(lambda s: np.atleast_1d(self.func(s)), 0, tile)
        if out.shape[0] != self.length:
            raise ValueError(
                f"func returned series of length {out.shape[0]}, expected value_size={self.length}"
            )
        return out.astype(self.dtype, copy=False)


def _looks_like_size(value) -> bool:
    """Whether ``value`` is a block size (``'150'``, ``'2M'``, ``'auto'``, a tuple), not a dtype."""
    if isinstance(value, (tuple, list)):
        return True
    return isinstance(value, str) and (value == "auto" or value[:1].isdigit())
