"""The statistics of :class:`~napari_thunder.data.series.Series`.

Across records (``mean``, ``var``, ``std``, ``sum``, ``max``, ``min``, their
stream ``stream_stat``, and the ``gramian`` and covariance of the values), each
one pass of a mergeable accumulator; and per record (``series_stat`` and its
``series_*`` names), one value per record. A mixin that ``Series`` inherits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from napari_thunder.data._shared import check_options, running_estimates
from napari_thunder.kernels import series_ops as ops
from napari_thunder.kernels.moments import MomentAccumulator

if TYPE_CHECKING:
    from napari_thunder.data.series import Series


class SeriesStatisticsMethods:
    """Statistics across records and per record (mixed into ``Series``)."""

    # ------------------------------------------------------------------
    # statistics across records
    # ------------------------------------------------------------------
    def _stat_result(self, values):
        values = np.asarray(values).reshape(1, -1)
        out = self._small(values, index=self.index)
        out._baseshape = (1,) * len(self._baseshape)
        return out

    def _across(self, name):
        acc = self.frames.aggregate(MomentAccumulator((self.shape[-1],), self.dtype, stats=(name,)))
        return self._stat_result(acc.finalize(name))

    def mean(self) -> Series:
        """Mean across records (shape ``(1, ..., 1, n)``; the index is kept,
        where Thunder reset it to ``arange(n)``).

        Returns
        -------
        Series
            One record of length ``n`` holding, at each position, the mean of that
            value over all records; shape ``(1,) * len(baseshape) + (n,)``.
        """
        return self._across("mean")

    def var(self) -> Series:
        """Variance across records (``ddof=0``, as numpy).

        Returns
        -------
        Series
            One record of length ``n``: the population variance of each value over
            all records, shape ``(1,) * len(baseshape) + (n,)``, index kept.
        """
        return self._across("var")

    def std(self) -> Series:
        """Standard deviation across records (``ddof=0``).

        Returns
        -------
        Series
            One record of length ``n``: the population standard deviation of each
            value over all records, shape ``(1,) * len(baseshape) + (n,)``, index kept.
        """
        return self._across("std")

    def sum(self) -> Series:
        """Sum across records.

        Returns
        -------
        Series
            One record of length ``n``: the sum of each value over all records,
            shape ``(1,) * len(baseshape) + (n,)``, index kept.
        """
        return self._across("sum")

    def max(self) -> Series:
        """Maximum across records.

        Returns
        -------
        Series
            One record of length ``n``: the largest of each value over all records,
            shape ``(1,) * len(baseshape) + (n,)``, index kept.
        """
        return self._across("max")

    def min(self) -> Series:
        """Minimum across records.

        Returns
        -------
        Series
            One record of length ``n``: the smallest of each value over all records,
            shape ``(1,) * len(baseshape) + (n,)``, index kept.
        """
        return self._across("min")

    def stream_stat(self, name):
        """Yield ``(done, total, partial)`` while computing the statistic
        ``name`` across records (``partial``: an ndarray ``(n,)``), for progress.

        Parameters
        ----------
        name : {'mean', 'var', 'std', 'sum', 'min', 'max'}
            The statistic, computed over all records as :meth:`mean` and the
            other statistics across records do.

        Yields
        ------
        done : int
            Number of records folded in so far.
        total : int
            Number of records in all (``count()``).
        partial : ndarray
            The statistic over the records folded in so far, shape ``(n,)``; the
            last one yielded is over all records.

        Raises
        ------
        ValueError
            ``name`` is not one of mean, var, std, sum, min, max.
        """
        check_options(name, "name", ("mean", "var", "std", "sum", "min", "max"))
        acc = MomentAccumulator((self.shape[-1],), self.dtype, stats=(name,))
        yield from running_estimates(self.frames, acc, name)

    def gramian(self) -> Series:
        """``A.T @ A`` of the records matrix ``A`` (count x n) in float64: a
        Series of ``n`` records of length ``n`` (Thunder's local mode kept the
        input dtype, so integer data overflowed).

        Returns
        -------
        Series
            float64, shape ``(n, n)``, index kept, no labels, on the same engine.
        """
        acc = self.frames.aggregate(ops.GramianAccumulator(self.shape[-1]))
        return self._small(acc.total, index=self.index)

    def cov(self) -> Series:
        """Covariance of the values across records (``ddof=1``), n x n.

        Returns
        -------
        Series
            float64, shape ``(n, n)``: entry ``(i, j)`` is the covariance of
            values ``i`` and ``j`` over the records.
        """
        return self.center(axis=0).gramian().times(1.0 / (self.count() - 1))

    # ------------------------------------------------------------------
    # statistics per record
    # ------------------------------------------------------------------
    def series_stat(self, stat) -> Series:
        """One statistic of every record: shape ``baseshape + (1,)``.

        Parameters
        ----------
        stat : str
            sum, mean, median, std (or stdev), var, max, min or count.

        Returns
        -------
        Series
            One value per record, the statistic over its ``n`` values (std and var
            with ``ddof=0``; count is ``n`` as int64): shape ``baseshape + (1,)``,
            index ``[stat]``, labels kept.

        Raises
        ------
        ValueError
            Unknown ``stat``.
        """
        check_options(stat, "stat", ops.STAT_NAMES)
        return self._kernel(ops.record_stat, stat, index=[stat])

    def series_sum(self):
        """``series_stat('sum')``: the sum of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the sum of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['sum']``, labels kept.
        """
        return self.series_stat("sum")

    def series_mean(self):
        """``series_stat('mean')``: the mean of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the mean of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['mean']``, labels kept.
        """
        return self.series_stat("mean")

    def series_median(self):
        """``series_stat('median')``: the median of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the median of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['median']``, labels kept.
        """
        return self.series_stat("median")

    def series_std(self):
        """``series_stat('std')``: the std of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the standard deviation (``ddof=0``) of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['std']``, labels kept.
        """
        return self.series_stat("std")

    def series_var(self):
        """``series_stat('var')``: the var of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the variance (``ddof=0``) of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['var']``, labels kept.
        """
        return self.series_stat("var")

    def series_max(self):
        """``series_stat('max')``: the max of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the largest value of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['max']``, labels kept.
        """
        return self.series_stat("max")

    def series_min(self):
        """``series_stat('min')``: the min of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the smallest value of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['min']``, labels kept.
        """
        return self.series_stat("min")

    def series_count(self):
        """``series_stat('count')``: the count of every record, shape ``baseshape + (1,)``.

        Returns
        -------
        Series
            One value per record, the number of values (``n``, as int64) of its ``n`` values: shape
            ``baseshape + (1,)``, index ``['count']``, labels kept.
        """
        return self.series_stat("count")
