"""Indexing and reshaping of :class:`~napari_thunder.data.images.Images`.

``imgs[...]`` (integers keep their axis), ``sample``, ``squeeze`` and
``reshape``: which images and pixels, in which shape. The metadata follow the
selection (slicing shifts the origin and multiplies the scale by the step). A
mixin that ``Images`` inherits.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder import validation
from napari_thunder.data._block_functions import BlockOp
from napari_thunder.metadata import ImageMetadata

if TYPE_CHECKING:
    from napari_thunder.data.images import Images


class ImageIndexingMethods:
    """Indexing, sampling, squeezing and reshaping (mixed into ``Images``)."""

    def __getitem__(self, index) -> Images:
        """Slice images and pixels without dropping any axis.

        Integers select one entry but keep the axis (``imgs[1].shape ==
        (1, h, w)``, ``imgs[-1]`` is the last image); a list or integer array
        on axis 0 selects images; slices work as in numpy.
        """
        if not isinstance(index, tuple):
            index = (index,)
        if any(i is Ellipsis for i in index):
            pos = [k for k, i in enumerate(index) if i is Ellipsis]
            if len(pos) > 1:
                raise IndexError("an index can only have a single ellipsis ('...')")
            k = pos[0]
            fill = (slice(None),) * (len(self.shape) - len(index) + 1)
            index = index[:k] + fill + index[k + 1:]
        if len(index) > len(self.shape):
            raise IndexError(
                f"too many indices: {len(index)} for Images with {len(self.shape)} axes"
            )
        n = self.shape[0]
        chosen = _image_indices(index[0], n)
        frames = self.frames if chosen is None else self.frames.take(chosen)
        spatial = tuple(
            _keep_axis(i, size, axis + 1)
            for axis, (i, size) in enumerate(zip(index[1:], self.value_shape))
        )
        metadata = self._metadata
        if chosen is None:
            metadata = metadata.sliced((index[0],) if isinstance(index[0], slice) else (), self.shape)
        elif _is_regular(chosen):
            step = int(chosen[1] - chosen[0]) if len(chosen) > 1 else 1
            metadata = metadata.sliced((slice(int(chosen[0]), int(chosen[-1]) + 1, step),), self.shape)
        if spatial and any(s != slice(None) for s in spatial):
            out_shape = np.empty(self.value_shape, dtype=bool)[spatial].shape
            frames = frames.map(BlockOp(_slice_block, index=spatial), out_shape, self.dtype)
            metadata = metadata.sliced((slice(None),) + spatial, self.shape)
        labels = self._labels
        if labels is not None and chosen is not None:
            labels = labels[chosen]
        return self._new(frames, metadata, labels=labels)

    def sample(self, nsamples: int = 100, seed=None) -> Images:
        """A random sample of images, drawn without replacement, kept in order.

        Parameters
        ----------
        nsamples : int
            Number of images; at most ``count()`` are returned.
        seed : int, optional
            Seed of :func:`numpy.random.default_rng`; the same seed gives the same
            sample on every engine.

        Returns
        -------
        Images

        Raises
        ------
        ValueError
            ``nsamples`` below 1 or fractional.
        TypeError
            ``nsamples`` is not an integer.
        """
        nsamples = validation.check_nsamples(nsamples)
        n = self.count()
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(n, size=min(nsamples, n), replace=False))
        labels = None if self._labels is None else self._labels[chosen]
        return self._new(self.frames.take(chosen), labels=labels)

    def squeeze(self) -> Images:
        """Remove the length-1 image axes (axis 0 is always kept).

        An image of a single pixel keeps one axis of length 1. The metadata of the
        removed axes is dropped.

        Returns
        -------
        Images
            These images when no image axis has length 1.
        """
        shape = self.value_shape
        if int(np.prod(shape)) == 1:
            axes = tuple(range(1, len(shape)))
        else:
            axes = tuple(k for k, s in enumerate(shape) if s == 1)
        if not axes:
            return self
        out_shape = tuple(s for k, s in enumerate(shape) if k not in axes)
        block_axes = tuple(a + 1 for a in axes)
        return self._new(self.frames.map(BlockOp(_squeeze_block, axes=block_axes),
                                         out_shape, self.dtype),
                         self._metadata.drop_axes(block_axes))

    def reshape(self, *shape) -> Images:
        """The images with another image shape (the number of images kept).

        Parameters
        ----------
        *shape : int, or one tuple of int
            The new full shape ``(n,) + value_shape``: ``n`` unchanged, 2-D or
            3-D images (3 or 4 entries), the same number of pixels.

        Returns
        -------
        Images
            Lazy; the labels are kept, the metadata are the defaults unless
            the shape is unchanged.

        Raises
        ------
        ValueError
            The element count or the number of images changes, or the images
            would not be 2-D or 3-D.
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(int(s) for s in shape)
        if int(np.prod(self.shape, dtype=np.int64)) != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"shape: reshaping {self.shape} to {shape} must leave the number of "
                             "elements unchanged")
        if shape[0] != self.shape[0]:
            raise ValueError(f"shape: reshaping cannot change the number of images ({self.shape[0]})")
        if len(shape) not in (3, 4):
            raise ValueError(f"shape: reshaping must produce 2d or 3d images, got {shape}")
        if shape == self.shape:
            return self
        frames = self.frames.map(BlockOp(_reshape_block, shape=shape[1:]), shape[1:], self.dtype)
        return self._new(frames, ImageMetadata.default(len(shape)))


def _slice_block(block, index):
    return block[(slice(None),) + tuple(index)]


def _squeeze_block(block, axes):
    return block.squeeze(axis=axes)


def _reshape_block(block, shape):
    return block.reshape((len(block),) + tuple(shape))


def _is_regular(indices) -> bool:
    """True for increasing, evenly spaced frame indices (a slice)."""
    if len(indices) <= 1:
        return len(indices) == 1
    steps = np.diff(indices)
    return bool(steps[0] > 0 and np.all(steps == steps[0]))


def _image_indices(index, n):
    """Frame indices selected by the first index, or None for all of them."""
    if isinstance(index, slice):
        if index == slice(None):
            return None
        return np.arange(n)[index]
    if isinstance(index, (numbers.Integral, np.integer)) and not isinstance(index, bool):
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"image index {i} out of range for {n} images")
        return np.array([i % n])
    arr = np.asarray(index)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexError(f"boolean index must have length {n}, got shape {arr.shape}")
        return np.flatnonzero(arr)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"images can be indexed with ints, slices or lists of ints, got {index!r}")
    arr = arr.reshape(-1).astype(np.intp)
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise IndexError(f"image index out of range for {n} images: {index!r}")
    return arr % n if n else arr


def _keep_axis(index, size, axis):
    """An index on an image axis as a slice (integers keep the axis)."""
    if isinstance(index, slice):
        return index
    if isinstance(index, (numbers.Integral, np.integer)) and not isinstance(index, bool):
        i = int(index)
        if not -size <= i < size:
            raise IndexError(f"index {i} out of range for axis {axis} of size {size}")
        i %= size
        return slice(i, i + 1)
    raise IndexError(f"axis {axis} can only be indexed with an int or a slice, got {index!r}")
