"""The methods of :class:`~napari_thunder.data.series.Series` that run a user function.

``map`` (record by record), ``filter`` (the records it keeps) and ``reduce``
(pairwise, across records). A mixin that ``Series`` inherits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from napari_thunder.data._shared import check_callable
from napari_thunder.kernels import series_ops as ops
from napari_thunder.kernels.moments import ReduceAccumulator

if TYPE_CHECKING:
    from napari_thunder.data.series import Series


class SeriesFunctionalMethods:
    """``map``, ``filter`` and ``reduce`` (mixed into ``Series``)."""

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
        check_callable(func, "func")
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
        check_callable(func, "func")
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
