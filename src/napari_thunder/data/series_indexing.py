"""Indexing, selection and reshaping of :class:`~napari_thunder.data.series.Series`.

``s[...]`` (records and values by position, integers keep their axis),
``select`` and ``between`` (values by index value), ``sample`` (records at
random), ``reshape`` and ``flatten`` (the key shape). A mixin that ``Series``
inherits.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder import validation
from napari_thunder.kernels import series_ops as ops

if TYPE_CHECKING:
    from napari_thunder.data.series import Series


class SeriesIndexingMethods:
    """Indexing, ``select``, ``between``, ``sample``, ``reshape``, ``flatten`` (mixed into ``Series``)."""

    def __getitem__(self, item) -> Series:
        """Records and values by position; integers keep their axis (Thunder):
        ``s[10, 20]`` has shape ``(1, 1, n)``. Lists select positions on one
        axis each (orthogonally, as Thunder's Spark mode: ``s[[0, 2], [1, 3]]``
        is 2 x 2 records; Thunder's local mode paired them as numpy does),
        slices as numpy; a last entry beyond the key axes selects values of
        every record.

        Raises
        ------
        IndexError
            Too many indices, or an integer out of range.
        """
        if not isinstance(item, tuple):
            item = (item,)
        if len(item) > len(self.shape):
            raise IndexError(f"too many indices for a Series of shape {self.shape}")
        axes = []
        for k, (it, size) in enumerate(zip(item, self.shape)):
            if isinstance(it, (numbers.Integral, np.integer)) and not isinstance(it, bool):
                i = int(it)
                if not -size <= i < size:
                    raise IndexError(f"index {i} is out of bounds for axis {k} with size {size}")
                axes.append(np.array([i % size]))
            elif isinstance(it, slice):
                axes.append(np.arange(size)[it])
            else:
                arr = np.asarray(it)
                if arr.dtype == bool:
                    arr = np.flatnonzero(arr)
                axes.append(np.arange(size)[arr.reshape(-1)])
        nbase = len(self._baseshape)
        base_axes = axes[:nbase] + [np.arange(s) for s in self._baseshape[len(axes):]]
        ids = np.arange(self.count()).reshape(self._baseshape)[np.ix_(*base_axes)]
        frames = self.frames.take(ids.reshape(-1))
        labels = None if self.labels is None else self.labels[np.ix_(*base_axes)]
        new = self._new(frames, ids.shape, index=self.index, labels=labels)
        if len(axes) > nbase:
            columns = axes[nbase]
            new = new._kernel(ops.take_columns, columns, index=np.asarray(self.index)[columns])
        return new

    def select(self, crit) -> Series:
        """Values whose index matches ``crit`` (a function of one index value,
        a value, or a list of values).

        Parameters
        ----------
        crit : callable, value or iterable of values
            A callable is called with each index value and keeps the positions
            where it returns true; a string or other single value keeps the
            positions whose index equals it; an iterable keeps those whose index
            is one of its values.

        Returns
        -------
        Series
            Same ``baseshape`` and labels; every record holds only the matching
            values, in their order, with the matching index values. When every
            position matches, this Series itself.

        Raises
        ------
        ValueError
            No index value matches (Thunder raises a bare ``Exception``).
        """
        if not callable(crit):
            if isinstance(crit, str):
                wanted = {crit}
            else:
                try:
                    wanted = set(crit)
                except TypeError:
                    wanted = {crit}
            crit = _InSet(wanted)
        index = list(self.index)
        matches = np.array([bool(crit(i)) for i in index])
        if len(index) == 1:
            if matches[0]:
                return self
            raise ValueError("No indices found matching criterion")
        if not matches.any():
            raise ValueError("No indices found matching criterion")
        if matches.all():
            return self
        columns = np.flatnonzero(matches)
        newindex = [index[c] for c in columns]
        return self._kernel(ops.take_columns, columns, index=newindex)

    def between(self, left, right) -> Series:
        """Values with ``left <= index < right``.

        Parameters
        ----------
        left : scalar
            Smallest index value kept (inclusive).
        right : scalar
            Index values from ``right`` on are dropped (exclusive).

        Returns
        -------
        Series
            Same ``baseshape``; the values whose index lies in ``[left, right)``,
            as :meth:`select` gives them.

        Raises
        ------
        ValueError
            No index value lies in the interval.
        """
        return self.select(_Between(left, right))

    def sample(self, n=100, seed=None) -> Series:
        """``n`` records drawn at random without replacement (all when fewer),
        in key order; shape ``(n, length)``. (Thunder's local mode drew with
        replacement, its Spark mode without.)

        Parameters
        ----------
        n : int, default 100
            Number of records to draw; when the Series holds fewer, all of them
            are returned.
        seed : int or numpy.random.Generator, optional
            Seed for ``numpy.random.default_rng``; the same seed draws the same
            records. Default: a fresh, unpredictable draw.

        Returns
        -------
        Series
            ``min(n, count())`` distinct records in key order, shape
            ``(min(n, count()), length)``, with this index and no labels.

        Raises
        ------
        ValueError
            ``n`` below 1 or fractional.
        TypeError
            ``n`` is not an integer (a bool, a string).
        """
        n = validation.check_int(n, "n")
        if n < 1:
            raise ValueError(f"Number of samples must be larger than 0, got {n}")
        rng = np.random.default_rng(seed)
        total = self.count()
        chosen = np.sort(rng.choice(total, size=min(int(n), total), replace=False))
        return self._new(self.frames.take(chosen), (chosen.size,), index=self.index)

    def reshape(self, *shape) -> Series:
        """New key shape; the last axis (record length) cannot change.

        Parameters
        ----------
        *shape : int, or one tuple or list of int
            The new full shape, ``newbaseshape + (n,)``; the last entry must be
            the record length ``n``.

        Returns
        -------
        Series
            The same records in the same C order under keys of ``shape[:-1]``;
            index kept, labels reshaped alike.

        Raises
        ------
        ValueError
            The element count or the record length changes.
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(int(s) for s in shape)
        if math.prod(self.shape) != math.prod(shape):
            raise ValueError("Reshaping must leave the number of elements unchanged")
        if self.shape[-1] != shape[-1]:
            raise ValueError("Reshaping cannot change the size of the constituent series (last dimension)")
        labels = None if self.labels is None else self.labels.reshape(shape[:-1])
        return self._new(self.frames, shape[:-1], index=self.index, labels=labels)

    def flatten(self) -> Series:
        """All key axes in one: shape ``(count, n)``.

        Returns
        -------
        Series
            The same records in C order of the keys, shape ``(count(), n)``; index
            kept, labels flattened.
        """
        return self.reshape(self.count(), self.shape[-1])


class _InSet:
    def __init__(self, values):
        self.values = values

    def __call__(self, x):
        try:
            return x in self.values
        except TypeError:
            return False


class _Between:
    def __init__(self, left, right):
        self.left = left
        self.right = right

    def __call__(self, x):
        return self.left <= x < self.right
