"""The arithmetic of :class:`~napari_thunder.data.series.Series`.

``element_wise`` and Thunder's names for it (``plus``, ``minus``, ``dottimes``,
``dotdivide``), ``times`` (records times a matrix), ``clip`` and ``astype``. A
mixin that ``Series`` inherits.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder.kernels import series_ops as ops

if TYPE_CHECKING:
    from napari_thunder.data.series import Series


class SeriesArithmeticMethods:
    """Element-wise operations, ``times``, ``clip`` and ``astype`` (mixed into ``Series``).

    ``isinstance(x, SeriesArithmeticMethods)`` is "``x`` is a ``Series``" here:
    ``Series`` (and so ``TimeSeries``) is the one class that inherits this mixin.
    """

    def element_wise(self, other, op) -> Series:
        """``op(self, other)`` value by value; ``other`` a scalar, an ndarray
        of this shape, or a Series of this shape (its values are sent to the
        engine's workers with the work).

        Parameters
        ----------
        other : scalar, ndarray or Series
            The second operand: a scalar for every value, or an array or Series of
            exactly ``self.shape``, paired value by value.
        op : callable
            A binary function on arrays, such as ``operator.add``.

        Returns
        -------
        Series
            Same shape, index and labels; dtype as ``op`` gives.

        Raises
        ------
        ValueError
            Shapes differ.
        """
        if np.isscalar(other):
            return self._kernel(ops.element_wise, other, op, with_start=True)
        if isinstance(other, SeriesArithmeticMethods):
            values = other.frames.collect()
            shape = other.shape
        else:
            values = np.asarray(other)
            shape = values.shape
        if tuple(shape) != self.shape:
            raise ValueError(f"shapes {self.shape} and {tuple(shape)} must be equal")
        values = values.reshape(self.count(), self.shape[-1])
        return self._kernel(ops.element_wise, values, op, with_start=True)

    def plus(self, other):
        """``self + other`` value by value (see :meth:`element_wise`).

        Parameters
        ----------
        other : scalar, ndarray or Series
            A scalar applied to every value, or an array or Series of exactly
            this shape, combined value by value.

        Returns
        -------
        Series
            Same shape, index and labels; dtype as numpy gives for
            ``values + other``.

        Raises
        ------
        ValueError
            ``other`` is an array or Series of another shape.
        """
        return self.element_wise(other, operator.add)

    def minus(self, other):
        """``self - other`` value by value (see :meth:`element_wise`).

        Parameters
        ----------
        other : scalar, ndarray or Series
            A scalar applied to every value, or an array or Series of exactly
            this shape, combined value by value.

        Returns
        -------
        Series
            Same shape, index and labels; dtype as numpy gives for
            ``values - other``.

        Raises
        ------
        ValueError
            ``other`` is an array or Series of another shape.
        """
        return self.element_wise(other, operator.sub)

    def dottimes(self, other):
        """``self * other`` value by value (see :meth:`element_wise`).

        Parameters
        ----------
        other : scalar, ndarray or Series
            A scalar applied to every value, or an array or Series of exactly
            this shape, combined value by value.

        Returns
        -------
        Series
            Same shape, index and labels; dtype as numpy gives for
            ``values * other``.

        Raises
        ------
        ValueError
            ``other`` is an array or Series of another shape.
        """
        return self.element_wise(other, operator.mul)

    def dotdivide(self, other):
        """``self / other`` value by value (see :meth:`element_wise`).

        Parameters
        ----------
        other : scalar, ndarray or Series
            A scalar applied to every value, or an array or Series of exactly
            this shape, combined value by value.

        Returns
        -------
        Series
            Same shape, index and labels; dtype as numpy gives for
            ``values / other``.

        Raises
        ------
        ValueError
            ``other`` is an array or Series of another shape.
        """
        return self.element_wise(other, operator.truediv)

    def times(self, other) -> Series:
        """Records times a matrix: ``x @ other`` for each record (a scalar
        scales, a 1-D array is a column, a local Series is its array).

        Parameters
        ----------
        other : scalar, array-like or Series
            A scalar multiplies every value; otherwise a matrix of shape
            ``(n, m)`` (a 1-D array of length ``n`` is one column), or a Series
            whose array is that matrix.

        Returns
        -------
        Series
            For a scalar: same shape, index and labels. For a matrix: floating
            point (float64 for integer records), shape ``baseshape + (m,)``,
            index ``arange(m)``; labels kept.

        Raises
        ------
        ValueError
            The shapes are not aligned.
        """
        if np.isscalar(other):
            return self._kernel(ops.scale, other, index=self.index)
        if isinstance(other, SeriesArithmeticMethods):
            other = other.toarray()
        other = np.asarray(other)
        if other.ndim < 2:
            other = other[:, None]
        if self.shape[-1] != other.shape[0]:
            raise ValueError(f"shapes {self.shape} and {other.shape} are not aligned")
        return self._kernel(ops.dot, other, index=np.arange(other.shape[1]))

    def clip(self, min=None, max=None) -> Series:
        """Values clipped to ``[min, max]``.

        Parameters
        ----------
        min : scalar, optional
            Values below it become ``min``; None: no lower bound.
        max : scalar, optional
            Values above it become ``max``; None: no upper bound.

        Returns
        -------
        Series
            Same shape, index and labels; dtype as ``np.clip`` gives.
        """
        return self._kernel(ops.clip, min, max)

    def astype(self, dtype, casting="unsafe") -> Series:
        """Values cast to ``dtype``.

        Parameters
        ----------
        dtype : numpy dtype or str
            dtype of the result.
        casting : {'no', 'equiv', 'safe', 'same_kind', 'unsafe'}, default 'unsafe'
            As numpy's ``casting``: which casts are allowed.

        Returns
        -------
        Series
            Same shape, index and labels, of ``dtype``.

        Raises
        ------
        TypeError
            The cast is not allowed by ``casting``.
        """
        dtype = np.dtype(dtype)
        if not np.can_cast(self.dtype, dtype, casting=casting):
            raise TypeError(f"Cannot cast {self.dtype} to {dtype} with casting rule {casting!r}")
        return self._kernel(ops.astype, dtype, casting, dtype=dtype)
