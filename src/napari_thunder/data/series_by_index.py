"""The methods of :class:`~napari_thunder.data.series.Series` driven by index values.

``select_by_index`` (values whose index, at a level of a multi-index, is
chosen), the groups of equal index values (``aggregate_by_index``,
``stat_by_index`` and its ``*_by_index`` names), and the means over panels
(``mean_by_panel``) and over windows centred on index values
(``mean_by_window``). A mixin that ``Series`` inherits.
"""

from __future__ import annotations

import numbers
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder import validation
from napari_thunder.data._shared import check_options
from napari_thunder.kernels import series_ops as ops

if TYPE_CHECKING:
    from napari_thunder.data.series import Series


class SeriesByIndexMethods:
    """Selection, groups, panels and windows by index value (mixed into ``Series``)."""

    def _makemasks(self, index=None, level=0):
        """Masks of the index positions of every combination of the values at
        ``level`` (multi-index aware), and the combinations."""
        index = self.index if index is None else index
        try:
            index = np.array(index)
            if index.ndim == 1:
                index = index[:, None]
        except Exception:
            raise TypeError("A multi-index must be convertible to a numpy ndarray") from None
        try:
            index = index[:, level]
        except IndexError:
            raise ValueError("Levels must be indices into individual elements of the index") from None
        uniques = [np.unique(index[:, i]) for i in range(index.shape[1])]
        combs = [np.array(c) for c in product(*uniques)]
        masks, kept = [], []
        for c in combs:
            mask = np.all(index == c, axis=1)
            if mask.any():
                masks.append(mask)
                kept.append(c)
        return masks, kept

    def select_by_index(self, val, level=0, squeeze=False, filter=False, return_mask=False):
        """Values whose index (at ``level`` of a multi-index) is in ``val``.

        Parameters
        ----------
        val : value, list, or list of lists (one per level)
        level : int or list of int
        squeeze : bool
            Drop the levels left with a single value.
        filter : bool
            Keep every value except those selected.
        return_mask : bool
            Also return the boolean mask of kept positions.

        Returns
        -------
        Series, or (Series, ndarray)

        Raises
        ------
        ValueError
            ``level`` and ``val`` have different lengths.
        """
        level = list(level) if isinstance(level, (list, tuple, np.ndarray)) else [level]
        val = list(val) if isinstance(val, (list, tuple, np.ndarray)) else [val]
        remove = []
        if len(level) == 1:
            if not (len(val) and isinstance(val[0], (list, tuple, np.ndarray))):
                val = [val]
            if squeeze and not filter and len(val[0]) == 1:
                remove.append(level[0])
        else:
            for i in range(len(val)):
                if not isinstance(val[i], (list, tuple, np.ndarray)):
                    val[i] = [val[i]]
                if squeeze and not filter and len(val[i]) == 1:
                    remove.append(level[i])
        if len(level) != len(val):
            raise ValueError("List of levels must be same length as list of corresponding values")
        selected = {tuple(x) for x in product(*val)}
        masks, combs = self._makemasks(level=level)
        chosen = [m for m, c in zip(masks, combs) if tuple(c.tolist()) in selected]
        final = np.any(chosen, axis=0) if chosen else np.zeros(len(self.index), bool)
        if filter:
            final = ~final
        if not final.any():
            raise ValueError("No index values match the selection")
        newindex = np.array(self.index)
        if newindex.ndim == 1:
            newindex = newindex[:, None]
        newindex = newindex[final]
        if squeeze:
            newindex = np.delete(newindex, remove, axis=1)
        if newindex.shape[1] == 1:
            newindex = newindex.ravel()
        elif newindex.shape[1] == 0:
            newindex = np.arange(int(final.sum()))
        result = self._kernel(ops.take_columns, np.flatnonzero(final), index=newindex)
        return (result, final) if return_mask else result

    def _group_index(self, level):
        level = [level] if isinstance(level, numbers.Integral) else list(level)
        masks, combs = self._makemasks(level=level)
        newindex = np.array(combs)
        if newindex.shape[1] == 1:
            newindex = newindex.ravel()
        return masks, newindex

    def aggregate_by_index(self, function, level=0) -> Series:
        """``function`` of each record's values grouped by unique index value
        (at ``level``): one value per group, indexed by the groups.

        ``function`` is called once per record and group; the statistics of
        :meth:`stat_by_index` are vectorised.

        Parameters
        ----------
        function : callable
            ``function(values) -> scalar``, called with the 1-D ndarray of one
            record's values in one group.
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape`` and labels; one value per group in every record,
            the index listing the groups in sorted order.

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        masks, newindex = self._group_index(level)
        return self._kernel(ops.group_apply, masks, function, index=newindex)

    def stat_by_index(self, stat, level=0) -> Series:
        """Statistic of each record's values grouped by unique index value.

        Parameters
        ----------
        stat : str
            sum, mean, median, stdev (or std), var, max, min, count.
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape`` and labels; one value per group in every record.
            The index lists the groups: the distinct index values (or, with
            several levels, combinations of values that occur) in sorted order.

        Raises
        ------
        ValueError
            Unknown ``stat``, or ``level`` is not a level of the index.
        """
        stat = str(stat).lower()
        check_options(stat, "stat", ops.STAT_NAMES)
        masks, newindex = self._group_index(level)
        return self._kernel(ops.group_stat, masks, stat, index=newindex)

    def sum_by_index(self, level=0):
        """``stat_by_index('sum', level)``: the sum of each group of equal index values.

        Parameters
        ----------
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape``; each record holds, per group, the sum of the
            record's values in that group. The index lists the groups (the
            distinct index values at ``level``, in sorted order).

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        return self.stat_by_index("sum", level)

    def mean_by_index(self, level=0):
        """``stat_by_index('mean', level)``: the mean of each group of equal index values.

        Parameters
        ----------
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape``; each record holds, per group, the mean of the
            record's values in that group. The index lists the groups (the
            distinct index values at ``level``, in sorted order).

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        return self.stat_by_index("mean", level)

    def median_by_index(self, level=0):
        """``stat_by_index('median', level)``: the median of each group of equal index values.

        Parameters
        ----------
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape``; each record holds, per group, the median of the
            record's values in that group. The index lists the groups (the
            distinct index values at ``level``, in sorted order).

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        return self.stat_by_index("median", level)

    def std_by_index(self, level=0):
        """``stat_by_index('stdev', level)``: the std of each group of equal index values.

        Parameters
        ----------
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape``; each record holds, per group, the standard deviation (``ddof=0``) of the
            record's values in that group. The index lists the groups (the
            distinct index values at ``level``, in sorted order).

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        return self.stat_by_index("stdev", level)

    def max_by_index(self, level=0):
        """``stat_by_index('max', level)``: the max of each group of equal index values.

        Parameters
        ----------
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape``; each record holds, per group, the largest value of the
            record's values in that group. The index lists the groups (the
            distinct index values at ``level``, in sorted order).

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        return self.stat_by_index("max", level)

    def min_by_index(self, level=0):
        """``stat_by_index('min', level)``: the min of each group of equal index values.

        Parameters
        ----------
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape``; each record holds, per group, the smallest value of the
            record's values in that group. The index lists the groups (the
            distinct index values at ``level``, in sorted order).

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        return self.stat_by_index("min", level)

    def count_by_index(self, level=0):
        """``stat_by_index('count', level)``: the count of each group of equal index values.

        Parameters
        ----------
        level : int or list of int, default 0
            Level(s) of a multi-index whose values form the groups; with a 1-D
            index, 0.

        Returns
        -------
        Series
            Same ``baseshape``; each record holds, per group, the number of values (int64) of the
            record's values in that group. The index lists the groups (the
            distinct index values at ``level``, in sorted order).

        Raises
        ------
        ValueError
            ``level`` is not a level of the index.
        """
        return self.stat_by_index("count", level)

    def _check_panel(self, length):
        n = len(self.index)
        if n % length != 0:
            raise ValueError(f"Panel length {length} must evenly divide length of series {n}")
        if n == length:
            raise ValueError(f"Panel length {length} cannot be length of series {n}")

    def mean_by_panel(self, length) -> Series:
        """Mean over the consecutive panels of ``length`` values of each record.

        Each record is cut into ``n // length`` consecutive panels of ``length``
        values and the panels are averaged together, position by position.

        Parameters
        ----------
        length : int
            Number of values per panel; must divide the record length ``n`` and
            be smaller than it.

        Returns
        -------
        Series
            Same ``baseshape`` and labels; records of length ``length``, index
            ``arange(length)``, float64 for integer input.

        Raises
        ------
        ValueError
            ``length`` does not divide the record length, or equals it, or is
            fractional or below 1.
        TypeError
            ``length`` is not an integer (a bool, a string).
        """
        length = validation.check_int(length, "length", minimum=1)
        self._check_panel(length)
        return self._kernel(ops.mean_by_panel, length, index=np.arange(length))

    def _makewindows(self, indices, window):
        before = window // 2
        after = window // 2 + window % 2
        index = np.asarray(self.index)
        indices = np.atleast_1d(np.asarray(indices))
        positions = []
        for i in indices:
            where = np.flatnonzero(index == i)
            if where.size == 0:
                raise ValueError(f"index value {i} is not in the index")
            positions.append(int(where[0]))
        if max(positions) + after > len(index):
            raise ValueError(f"Maximum requested index {indices.max()}, with window {window}, exceeds "
                             f"length {len(index)}")
        if min(positions) - before < 0:
            raise ValueError(f"Minimum requested index {indices.min()}, with window {window}, is less "
                             f"than 0")
        return np.array([np.arange(p - before, p + after) for p in positions])

    def mean_by_window(self, indices, window) -> Series:
        """Mean of the windows of ``window`` values centred on the index values
        ``indices``: records of length ``window``.

        A window around position ``p`` covers positions ``p - window // 2`` up to
        (not including) ``p - window // 2 + window``; the windows of all
        ``indices`` are averaged together, position by position.

        Parameters
        ----------
        indices : scalar or array-like
            Index values (not positions) the windows are centred on.
        window : int
            Width of every window, in values.

        Returns
        -------
        Series
            Same ``baseshape`` and labels; records of length ``window``, index
            ``arange(window)``.

        Raises
        ------
        ValueError
            A window leaves the record, an index value is unknown, or
            ``window`` is below 1 or fractional.
        TypeError
            ``window`` is not an integer.
        """
        windows = self._makewindows(indices, validation.check_int(window, "window", minimum=1))
        return self._kernel(ops.mean_by_window, windows, index=np.arange(windows.shape[1]))
