"""Pixel-by-pixel arithmetic of :class:`~napari_thunder.data.images.Images`.

``element_wise`` and Thunder's names for it (``plus``, ``minus``, ``dottimes``,
``dotdivide``), ``subtract`` (one image or number from every image), ``clip``
and ``astype``; the dtype of every result follows numpy's rules. A mixin that
``Images`` inherits.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder import validation
from napari_thunder.data._block_functions import BlockOp, WithStart
from napari_thunder.data._shared import check_callable
from napari_thunder.kernels import filters

if TYPE_CHECKING:
    from napari_thunder.data.images import Images


class ImageArithmeticMethods:
    """Element-wise operations, ``subtract``, ``clip`` and ``astype`` (mixed into ``Images``).

    ``isinstance(x, ImageArithmeticMethods)`` is "``x`` is an ``Images``" here:
    ``Images`` is the one class that inherits this mixin.
    """

    def element_wise(self, other, op) -> Images:
        """``op(self, other)`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            A number, or an ndarray or Images of exactly this ``shape`` (its
            values are computed on the driver and sent with the work, as
            Thunder's local mode holds them; any mode).
        op : callable
            A binary numpy operation, e.g. ``operator.add`` or ``np.maximum``.

        Returns
        -------
        Images
            Lazy; the dtype follows numpy's rules for ``op``.

        Raises
        ------
        ValueError
            ``other`` has another shape.
        TypeError
            ``op`` is not callable.
        """
        check_callable(op, "op")
        if not np.isscalar(other):
            if isinstance(other, ImageArithmeticMethods):
                shape = other.shape
                other = other.frames.collect()
            else:
                other = np.asarray(other)
                shape = other.shape
            if tuple(shape) != self.shape:
                raise ValueError(f"other: shapes {self.shape} and {tuple(shape)} must be equal")
            other = np.asarray(other).reshape(self.shape)
        op_block = WithStart(_element_wise_block, other=other, op=op)
        zero = np.zeros((1,) + self.value_shape, self.dtype)
        with np.errstate(all="ignore"):
            probe = np.asarray(op(zero, other if np.isscalar(other) else other[:1]))
        return self._new(self.frames.map(op_block, self.value_shape, probe.dtype))

    def plus(self, other) -> Images:
        """``self + other`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.add)

    def minus(self, other) -> Images:
        """``self - other`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.sub)

    def dottimes(self, other) -> Images:
        """``self * other`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.mul)

    def dotdivide(self, other) -> Images:
        """``self / other`` pixel by pixel (true division: float results).

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.truediv)

    def subtract(self, val) -> Images:
        """Subtract a number or one image from every image.

        The result dtype follows numpy's casting: ``int16 - 1`` stays int16 (and
        can wrap), ``int16 - 0.5`` is float64.

        Parameters
        ----------
        val : number, ndarray or Images
            A scalar, an array of ``value_shape``, or an Images of one image.

        Returns
        -------
        Images

        Raises
        ------
        ValueError
            An array of another shape, or an Images of several images.
        TypeError
            A value that is neither a number nor an array.
        """
        if isinstance(val, ImageArithmeticMethods):
            if val.count() != 1:
                raise ValueError(
                    f"val: an Images holds {val.count()} images; subtract takes one image"
                )
            val = val.first()
        val = validation.check_subtract_value(val, self.value_shape)
        return self._map_kernel(filters.subtract_block, value=val)

    def clip(self, min=None, max=None) -> Images:
        """Values clipped to ``[min, max]`` (``numpy.clip``).

        Parameters
        ----------
        min, max : scalar or array-like, optional
            Bounds, broadcast against one image; at least one is needed.

        Returns
        -------
        Images
            Lazy; the dtype follows ``numpy.clip``.

        Raises
        ------
        ValueError
            Neither ``min`` nor ``max`` given.
        """
        if min is None and max is None:
            raise ValueError("clip: one of min or max must be given")
        lo = min if min is None or np.isscalar(min) else np.asarray(min)
        hi = max if max is None or np.isscalar(max) else np.asarray(max)
        return self._map_kernel(_clip_block, lo=lo, hi=hi)

    def astype(self, dtype, casting="unsafe") -> Images:
        """Images cast to ``dtype`` (numpy ``astype`` rules).

        Parameters
        ----------
        dtype : dtype-like
            The new data type; values are converted like ``ndarray.astype(dtype)``
            (floats to ints truncate toward zero, out-of-range values wrap).
        casting : {'unsafe', 'same_kind', 'safe', 'equiv', 'no'}
            numpy's casting rule; a cast it forbids is refused before any work.

        Returns
        -------
        Images
            Same shape, metadata and labels, lazily cast.

        Raises
        ------
        TypeError
            If ``dtype`` is not a numpy data type, or ``casting`` forbids the cast.
        ValueError
            An unknown ``casting`` rule.
        """
        dtype = np.dtype(dtype)
        if casting not in ("no", "equiv", "safe", "same_kind", "unsafe"):
            raise ValueError(f"casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe', "
                             f"got {casting!r}")
        if not np.can_cast(self.dtype, dtype, casting=casting):
            raise TypeError(f"casting: cannot cast {self.dtype} to {dtype} with casting rule {casting!r}")
        return self._new(self.frames.map(BlockOp(_astype_block, dtype=dtype),
                                         self.value_shape, dtype))


def _element_wise_block(block, start, other, op):
    """``op(block, other)``: ``other`` a scalar, or all images (``other[start:start + k]``
    are the block's partners)."""
    if isinstance(other, np.ndarray) and other.ndim == block.ndim:
        other = other[start:start + len(block)]
    return op(block, other)


def _clip_block(block, lo, hi):
    return np.clip(block, lo, hi)


def _astype_block(block, dtype):
    return block.astype(dtype)
