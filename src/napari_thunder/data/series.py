"""``Series`` and ``TimeSeries``: a collection of 1-D records (Thunder's series API).

A ``Series`` of shape ``baseshape + (n,)`` holds ``prod(baseshape)`` records
of length ``n`` (for ``Images.toseries``: one per pixel, time last). The
records live in an engine's frames (``napari_thunder.engines.base``), one
frame per record in C order of ``baseshape``, so the same code runs on the
local, Spark and dask.distributed engines: per-record work is a block
function over a whole block of records (``kernels/series_ops.py``, numpy on
the block's records x values matrix) and statistics across records are an
accumulator folded over the blocks.
"""

from __future__ import annotations

import math
import numbers
import operator
import warnings

import numpy as np

from napari_thunder.data._spark_methods import SparkMethods
from napari_thunder.data.series_transforms import SeriesTransformMethods, _check_options
from napari_thunder.kernels import series_ops as ops
from napari_thunder.kernels.moments import MomentAccumulator, ReduceAccumulator


class Series(SeriesTransformMethods, SparkMethods):
    """Indexed 1-D records: shape ``baseshape + (n,)``.

    Parameters
    ----------
    frames : napari_thunder.engines.base.Frames
        The records, shape ``(prod(baseshape), n)``.
    baseshape : tuple of int, optional
        Shape of the record keys (default ``(nrecords,)``).
    index : array-like, optional
        One label per value of a record (default ``arange(n)``).
    labels : array-like, optional
        One label per record, shape ``baseshape``.
    """

    def __init__(self, frames, baseshape=None, index=None, labels=None):
        if len(frames.shape) != 2:
            raise ValueError(f"series frames must be 2-D (records, values), got shape {frames.shape}")
        self.frames = frames
        nrecords = int(frames.shape[0])
        if baseshape is None:
            baseshape = (nrecords,)
        baseshape = tuple(int(b) for b in baseshape)
        if math.prod(baseshape) != nrecords:
            raise ValueError(f"baseshape {baseshape} does not hold the {nrecords} records")
        self._baseshape = baseshape
        self._index = None
        if index is not None:
            self.index = index
        self._labels = None
        self.labels = labels

    # ------------------------------------------------------------------
    # description
    # ------------------------------------------------------------------
    @property
    def _constructor(self):
        return type(self)

    def _new(self, frames, baseshape=None, index=None, labels=None):
        return self._constructor(frames, self._baseshape if baseshape is None else baseshape,
                                 index=index, labels=labels)

    @property
    def shape(self) -> tuple[int, ...]:
        """``baseshape + (n,)``."""
        return self._baseshape + (int(self.frames.shape[1]),)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.frames.dtype)

    @property
    def mode(self) -> str:
        """``'local'``, ``'spark'`` or ``'distributed'``."""
        return self.frames.mode

    @property
    def baseaxes(self) -> tuple[int, ...]:
        """Axes of the record keys: all but the last."""
        return tuple(range(len(self._baseshape)))

    @property
    def baseshape(self) -> tuple[int, ...]:
        return self._baseshape

    @property
    def value_shape(self) -> tuple[int, ...]:
        return (int(self.frames.shape[1]),)

    @property
    def length(self) -> int:
        """Length of every record (``len(index)``)."""
        return len(self.index)

    @property
    def index(self):
        """One label per record value; ``arange(n)`` unless set.

        Raises
        ------
        TypeError
            When set to something without a length.
        ValueError
            When set to a sequence of another length than the records.
        """
        if self._index is None:
            self._index = np.arange(self.shape[-1])
        return self._index

    @index.setter
    def index(self, value):
        if isinstance(value, str):
            value = [value]
        try:
            value[0]
        except (TypeError, IndexError, KeyError):
            value = [value]
        try:
            length = len(value)
        except TypeError:
            raise TypeError("index must be an object with a length") from None
        if length != self.shape[-1]:
            raise ValueError(f"Length of new index {length} must match length of original index "
                             f"{self.shape[-1]}")
        self._index = np.asarray(value) if not isinstance(value, np.ndarray) else value

    @property
    def labels(self):
        """One label per record (an ndarray of ``baseshape``), or None.

        Raises
        ------
        ValueError
            When set to an array of another shape than ``baseshape``.
        """
        return self._labels

    @labels.setter
    def labels(self, value):
        if value is not None:
            value = np.asarray(value)
            if value.shape != self._baseshape:
                raise ValueError(f"Labels shape {value.shape} must be the same as the leading "
                                 f"dimensions of the Series {self._baseshape}")
        self._labels = value

    @property
    def values(self):
        """The records: an ndarray ``shape`` in local mode, else the engine's frames."""
        if self.mode == "local":
            return self.frames.collect().reshape(self.shape)
        return self.frames

    def count(self) -> int:
        """Number of records.

        Returns
        -------
        int
            ``prod(baseshape)``, the number of records (not of values).
        """
        return int(math.prod(self._baseshape))

    def first(self) -> np.ndarray:
        """The first record (length ``n``).

        Returns
        -------
        ndarray
            1-D array of shape ``(n,)`` and this dtype: the record at key
            ``(0, ..., 0)``.
        """
        return np.asarray(self.frames.first()).reshape(-1)

    def toarray(self) -> np.ndarray:
        """All records as one ndarray ``baseshape + (n,)``, squeezed (Thunder).

        Returns
        -------
        ndarray
            The records of shape ``baseshape + (n,)`` with every axis of length 1
            removed, of this dtype, collected from the engine.
        """
        return self.frames.collect().reshape(self.shape).squeeze()

    def __array__(self, dtype=None, copy=None):
        out = self.toarray()
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        index = str(self.index)
        if len(index) > 50:
            index = index[:50].strip() + f" ... ] (length: {len(self.index)})"
        return (f"{type(self).__name__}\nmode: {self.mode}\ndtype: {self.dtype}\nshape: {self.shape}"
                f"\nindex: {index}")

    # ------------------------------------------------------------------
    # engines
    # ------------------------------------------------------------------
    def tolocal(self) -> Series:
        """These records in local mode.

        Returns
        -------
        Series
            The same records, index and labels, of the same class, held as a
            numpy array in this process (collected from the engine).
        """
        from napari_thunder import series as loaders

        return loaders.fromarray(self.frames.collect().reshape(self.shape), index=self.index,
                                 labels=self.labels, cls=self._constructor)

    def tospark(self, engine=None) -> Series:
        """These records on Spark (``engine``: a SparkContext or master URL).

        Parameters
        ----------
        engine : pyspark.SparkContext or str
            The Spark context (or a master URL) to distribute the records to;
            required despite the default.

        Returns
        -------
        Series
            The same records, index and labels, of the same class, in Spark mode.

        Raises
        ------
        ValueError
            ``engine`` is None.
        """
        if engine is None:
            raise ValueError("Must provide SparkContext")
        from napari_thunder import series as loaders

        return loaders.fromarray(self.frames.collect().reshape(self.shape), index=self.index,
                                 labels=self.labels, engine=engine, cls=self._constructor)

    def tordd(self):
        """The Spark RDD of ``(key, record)`` pairs (keys: tuples of ``baseshape``).

        Returns
        -------
        pyspark.RDD
            One ``(key, record)`` pair per record: ``key`` a tuple of ints, the
            record's position in ``baseshape``, and ``record`` a 1-D ndarray of
            length ``n``.

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        if self.mode != "spark":
            raise NotImplementedError(f"Cannot return RDD for {self.mode} data")
        return self.frames.tordd().map(_Rekey(self._baseshape))

    def npartitions(self) -> int:
        """Number of Spark partitions (Spark only).

        Returns
        -------
        int
            How many partitions the records' RDD has.

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        self._spark_only("npartitions")
        return self.frames.npartitions()

    def _with_frames(self, frames) -> Series:
        return self._new(frames, index=self.index, labels=self.labels)

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _map_kernel(self, op: ops.RecordOp, length: int, dtype, index=None) -> Series:
        """Apply a vectorised kernel; the index is ``index``, else kept when the
        length is unchanged, else ``arange``."""
        frames = self.frames.map(op, (int(length),), np.dtype(dtype))
        if index is None and int(length) == self.shape[-1]:
            index = self.index
        return self._new(frames, index=index, labels=self.labels)

    def _probe(self, op: ops.RecordOp):
        """Output length and dtype of ``op`` on two records of zeros."""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = op(np.ones((1, self.shape[-1]), self.dtype), 0)
        return out.shape[1], out.dtype

    def _kernel(self, kernel, *args, index=None, length=None, dtype=None, with_start=False) -> Series:
        op = ops.RecordOp(kernel, *args, with_start=with_start)
        plen, pdtype = self._probe(op)
        length = plen if length is None else length
        dtype = pdtype if dtype is None else dtype
        op.dtype = np.dtype(dtype)
        return self._map_kernel(op, length, dtype, index=index)

    def _small(self, values, index=None, labels=None) -> Series:
        """A Series holding a small 2-D ndarray on the same engine."""
        values = np.asarray(values)
        values = values.reshape(-1, values.shape[-1])
        return self._constructor(self.frames.with_array(values), (values.shape[0],), index=index,
                                 labels=labels)

    # ------------------------------------------------------------------
    # functional
    # ------------------------------------------------------------------
    def map(self, func, index=None, value_shape=None, dtype=None, with_keys=False) -> Series:
        """Apply ``func`` to every record.

        Parameters
        ----------
        func : callable
            ``func(record) -> array`` (1-D or a scalar), or with ``with_keys``
            ``func((key, record))``, ``key`` a tuple of ints of ``baseshape``.
        index : array-like, optional
            Index of the result (its length gives ``value_shape``).
        value_shape : int or tuple of one int, optional
            Length of the result records; with ``dtype`` no record is probed.
        dtype : numpy dtype, optional
            dtype of the result (values are cast to it).
        with_keys : bool
            Pass ``(key, record)`` to ``func``.

        Returns
        -------
        Series
            Same ``baseshape``; the index is ``index``, else this index when
            the length is unchanged, else ``arange``.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        ValueError
            A record's result does not have ``value_shape`` values.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        if value_shape is None and index is not None:
            value_shape = len(index)
        if value_shape is not None:
            value_shape = int(np.atleast_1d(value_shape)[0])
        if value_shape is None or dtype is None:
            first = self.first()
            probe = np.asarray(func(((0,) * len(self._baseshape), first)) if with_keys else func(first))
            if probe.ndim > 1:
                raise ValueError(f"func must return a 1-D record or a scalar, got shape {probe.shape}")
            value_shape = probe.size if value_shape is None else value_shape
            dtype = probe.dtype if dtype is None else dtype
        op = ops.RecordOp(ops.per_record, func, bool(with_keys), self._baseshape, int(value_shape),
                          np.dtype(dtype), with_start=True)
        return self._map_kernel(op, value_shape, dtype, index=index)

    def filter(self, func) -> Series:
        """Records for which ``func(record)`` is true, flattened: shape ``(k, n)``.

        Parameters
        ----------
        func : callable
            ``func(record) -> bool``, called with each record as a 1-D ndarray of
            length ``n``; its result is taken as a truth value.

        Returns
        -------
        Series
            The ``k`` kept records in key order, shape ``(k, n)``, with this index;
            the labels (when set) are flattened and filtered alike.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        mask = self.frames.map(ops.RecordOp(ops.predicate_mask, func), (1,), bool).collect().reshape(-1)
        keep = np.flatnonzero(mask)
        labels = None if self.labels is None else self.labels.reshape(-1)[keep]
        return self._new(self.frames.take(keep), (keep.size,), index=self.index, labels=labels)

    def reduce(self, func) -> Series:
        """Reduce ``func(a, b) -> record`` over all records: shape ``(1,) * ndim + (n,)``,
        like :meth:`mean` (Thunder's local mode gave ``(1, n)``, its Spark mode this).

        Parameters
        ----------
        func : callable
            ``func(a, b) -> record``: combines two records (1-D ndarrays of length
            ``n``) into one of the same length. It should be associative and
            commutative, since the order of combination depends on the engine's
            blocks.

        Returns
        -------
        Series
            One record of length ``n``, shape ``(1,) * len(baseshape) + (n,)``,
            with this index.

        Raises
        ------
        ValueError
            ``func`` does not return a record of length ``n``.
        """
        result = np.asarray(self.frames.aggregate(ReduceAccumulator(func)).finalize())
        if result.shape != (self.shape[-1],):
            raise ValueError("reduce did not yield an array with valid dimensions")
        return self._stat_result(result)

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
            ``n`` below 1.
        """
        if n < 1:
            raise ValueError(f"Number of samples must be larger than 0, got {n}")
        rng = np.random.default_rng(seed)
        total = self.count()
        chosen = np.sort(rng.choice(total, size=min(int(n), total), replace=False))
        return self._new(self.frames.take(chosen), (chosen.size,), index=self.index)

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
        _check_options(name, "name", ("mean", "var", "std", "sum", "min", "max"))
        acc = MomentAccumulator((self.shape[-1],), self.dtype, stats=(name,))
        for done, total, running in self.frames.stream_aggregate(acc):
            yield done, total, running.finalize(name)

    # statistics per record ------------------------------------------------
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
        _check_options(stat, "stat", ops.STAT_NAMES)
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

    # ------------------------------------------------------------------
    # shape and selection
    # ------------------------------------------------------------------
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

    # ------------------------------------------------------------------
    # matrices
    # ------------------------------------------------------------------
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
        if isinstance(other, Series):
            other = other.toarray()
        other = np.asarray(other)
        if other.ndim < 2:
            other = other[:, None]
        if self.shape[-1] != other.shape[0]:
            raise ValueError(f"shapes {self.shape} and {other.shape} are not aligned")
        return self._kernel(ops.dot, other, index=np.arange(other.shape[1]))

    # ------------------------------------------------------------------
    # element-wise
    # ------------------------------------------------------------------
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
        if isinstance(other, Series):
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

    # ------------------------------------------------------------------
    # conversions and output
    # ------------------------------------------------------------------
    def toimages(self, chunk_size="auto"):
        """Back to ``Images``: ``n`` images of ``baseshape``.

        ``chunk_size`` is accepted for Thunder's scripts; the layout is
        chosen by the engine.

        Parameters
        ----------
        chunk_size : str or int, default 'auto'
            Ignored.

        Returns
        -------
        Images
            ``n`` images of shape ``baseshape`` (image ``t`` holds value ``t`` of
            every record), this dtype, on the same engine.
        """
        from napari_thunder.data.images import Images
        from napari_thunder.engines.transpose import transpose

        return Images(transpose(self.frames, self._baseshape))

    def totimeseries(self) -> TimeSeries:
        """The same records as a ``TimeSeries``.

        Returns
        -------
        TimeSeries
            Sharing these frames, with the same shape, index and labels.
        """
        return TimeSeries(self.frames, self._baseshape, index=self.index, labels=self.labels)

    def toseries(self) -> Series:
        """The same records as a plain ``Series``.

        Returns
        -------
        Series
            Sharing these frames, with the same shape, index and labels.
        """
        return Series(self.frames, self._baseshape, index=self.index, labels=self.labels)

    def tobinary(self, path, prefix="series", overwrite=False, credentials=None) -> None:
        """Write Thunder 1.4.2's series binary layout into the directory ``path``.

        Records are written raw in key order (C order), one file per block
        (``<prefix>-<first key>.bin``), with a ``conf.json`` (shape, dtype)
        and a ``SUCCESS`` marker; ``series.frombinary(path)`` reads them back.

        Parameters
        ----------
        path : str or os.PathLike
            Output directory; it appears only once every file is written.
        prefix : str, default 'series'
            Start of every block file's name; non-empty, without a path separator.
        overwrite : bool, default False
            Replace an existing ``path``.
        credentials : optional
            Accepted for Thunder's scripts; unused.

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is false.
        ValueError
            ``path`` is empty or names a file, or ``prefix`` is empty or holds a path separator.
        """
        from napari_thunder.io.series_binary import write_series

        write_series(self.frames, self.shape, path, prefix=prefix, overwrite=overwrite)


class TimeSeries(Series):
    """``Series`` whose index is time (``Images.totimeseries``)."""


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


class _Rekey:
    def __init__(self, baseshape):
        self.baseshape = baseshape

    def __call__(self, record):
        key, value = record
        return tuple(int(i) for i in np.unravel_index(key[0], self.baseshape)), value
