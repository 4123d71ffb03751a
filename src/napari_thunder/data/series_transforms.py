"""The per-record transformations of :class:`~napari_thunder.data.series.Series`.

Centering and scaling, ``squelch``, correlation with signals, resampling,
Fourier and convolution, detrending and ``normalize`` (ΔF/F): each is numpy
over a whole block of records (:mod:`napari_thunder.kernels.series_ops`), run
through the engine contract like every ``Series`` method. A mixin that
``Series`` inherits.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder import validation
from napari_thunder.data._shared import check_options
from napari_thunder.kernels import series_ops as ops
from napari_thunder.kernels.moments import MomentAccumulator

if TYPE_CHECKING:
    from napari_thunder.data.series import Series


def _positive_factor(value) -> int:
    return validation.check_int(value, "sample_factor", minimum=1)


def _record_axis(axis) -> int:
    """``axis`` of center/standardize/zscore: 1 (within records) or 0 (across them)."""
    axis = validation.check_int(axis, "axis")
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 or 1, got {axis!r}")
    return axis


class SeriesTransformMethods:
    """Per-record transformations (mixed into ``Series``)."""

    def center(self, axis=1) -> Series:
        """Subtract the mean within each record (``axis=1``) or the mean record
        across records (``axis=0``).

        Parameters
        ----------
        axis : {1, 0}, default 1
            1: every record minus its own mean; 0: every record minus the mean
            record (the mean of each value over all records).

        Returns
        -------
        Series
            Same shape, index and labels; float64 for integer input, else the
            input's floating dtype.

        Raises
        ------
        ValueError
            ``axis`` not 0 or 1.
        TypeError
            ``axis`` not an integer (a bool, a string).
        """
        axis = _record_axis(axis)
        if axis == 1:
            return self._kernel(ops.center)
        if axis == 0:
            return self._kernel(ops.subtract_divide, self._across("mean").first(), None)
        raise ValueError(f"axis must be 0 or 1, got {axis!r}")

    def standardize(self, axis=1) -> Series:
        """Divide by the standard deviation within (1) or across (0) records.

        The mean is not subtracted (see :meth:`zscore`); standard deviations use
        ``ddof=0``.

        Parameters
        ----------
        axis : {1, 0}, default 1
            1: every record divided by its own standard deviation; 0: each value
            divided by its standard deviation over all records.

        Returns
        -------
        Series
            Same shape, index and labels; float64 for integer input. A constant
            record (axis 1) gives inf or NaN, as numpy's division.

        Raises
        ------
        ValueError
            ``axis`` not 0 or 1.
        TypeError
            ``axis`` not an integer (a bool, a string).
        """
        axis = _record_axis(axis)
        if axis == 1:
            return self._kernel(ops.standardize)
        if axis == 0:
            return self._kernel(ops.subtract_divide, None, self._across("std").first())
        raise ValueError(f"axis must be 0 or 1, got {axis!r}")

    def zscore(self, axis=1) -> Series:
        """Subtract the mean and divide by the standard deviation, within (1)
        or across (0) records.

        Parameters
        ----------
        axis : {1, 0}, default 1
            1: ``(x - mean(x)) / std(x)`` for every record ``x``; 0: each value
            centred and scaled by its mean and standard deviation over all
            records. Standard deviations use ``ddof=0``.

        Returns
        -------
        Series
            Same shape, index and labels; float64 for integer input.

        Raises
        ------
        ValueError
            ``axis`` not 0 or 1.
        TypeError
            ``axis`` not an integer (a bool, a string).
        """
        axis = _record_axis(axis)
        if axis == 1:
            return self._kernel(ops.zscore)
        if axis == 0:
            acc = self.frames.aggregate(MomentAccumulator((self.shape[-1],), self.dtype,
                                                          stats=("mean", "std")))
            return self._kernel(ops.subtract_divide, acc.finalize("mean"), acc.finalize("std"))
        raise ValueError(f"axis must be 0 or 1, got {axis!r}")

    def squelch(self, threshold) -> Series:
        """Records whose maximum is below ``threshold`` become zeros.

        The dtype is kept (Thunder's local mode turned integer data into
        float64 only when some record was squelched).

        Parameters
        ----------
        threshold : scalar
            A record is kept unchanged when its largest value is at least
            ``threshold``, and set to all zeros otherwise.

        Returns
        -------
        Series
            Same shape, dtype, index and labels.

        Raises
        ------
        TypeError
            ``threshold`` is not a number.
        """
        threshold = validation.check_real(threshold, "threshold")
        return self._kernel(ops.squelch, threshold, dtype=self.dtype)

    def correlate(self, signal) -> Series:
        """Pearson correlation of every record with ``signal`` (1-D, index
        ``[1]``) or with each row of a 2-D ``signal`` (index ``arange(rows)``).

        Parameters
        ----------
        signal : array-like
            Shape ``(n,)`` for one signal, or ``(s, n)`` for ``s`` signals; ``n``
            is the record length.

        Returns
        -------
        Series
            float64, shape ``baseshape + (1,)`` for a 1-D signal or
            ``baseshape + (s,)`` for a 2-D one; labels kept. A constant record
            gives NaN (as ``np.corrcoef``).

        Raises
        ------
        ValueError
            The signal length differs from the record length, or ``signal``
            is not 1-D or 2-D.
        """
        s = np.asarray(signal, dtype=np.float64)
        n = self.shape[-1]
        if s.ndim == 1:
            if s.size != n:
                raise ValueError(f"Length of signal {s.size} does not match record length {n}")
            return self._kernel(ops.correlate, s[None, :], index=[1])
        if s.ndim == 2:
            if s.shape[1] != n:
                raise ValueError(f"Length of signal {s.shape[1]} does not match record length {n}")
            return self._kernel(ops.correlate, s, index=np.arange(s.shape[0]))
        raise ValueError(f"signal must have 1 or 2 dimensions, got {s.ndim}")

    def subsample(self, sample_factor=2) -> Series:
        """Every ``sample_factor``-th value.

        Parameters
        ----------
        sample_factor : int, default 2
            Keep the values at positions ``0, sample_factor, 2 * sample_factor, ...``.

        Returns
        -------
        Series
            Same ``baseshape``, dtype and labels; records of length
            ``ceil(n / sample_factor)``, indexed by the kept index values.

        Raises
        ------
        ValueError
            ``sample_factor`` is not a positive integer.
        """
        factor = _positive_factor(sample_factor)
        return self._kernel(ops.subsample, factor, index=np.asarray(self.index)[::factor])

    def downsample(self, sample_factor=2) -> Series:
        """Means of consecutive groups of ``sample_factor`` values (a last
        partial group dropped).

        Parameters
        ----------
        sample_factor : int, default 2
            Number of consecutive values averaged into one.

        Returns
        -------
        Series
            Same ``baseshape`` and labels; records of length
            ``n // sample_factor``, index ``arange(n // sample_factor)``, float.

        Raises
        ------
        ValueError
            ``sample_factor`` is not a positive integer.
        """
        factor = _positive_factor(sample_factor)
        return self._kernel(ops.downsample, factor, index=np.arange(len(self.index) // factor))

    def fourier(self, freq=None) -> Series:
        """Coherence and phase of every record at digital frequency ``freq``
        (index ``['coherence', 'phase']``).

        The record's mean is removed before the FFT; the coherence is the
        amplitude at ``freq`` over the root sum of squares of the amplitudes of
        all frequencies below ``n / 2``.

        Parameters
        ----------
        freq : int
            Frequency bin, ``0 <= freq < n // 2``; required despite the default.

        Returns
        -------
        Series
            Floating point, shape ``baseshape + (2,)``: coherence (0-1) then
            phase (radians, in ``[0, 2 * pi)``) of every record; labels kept.

        Raises
        ------
        ValueError
            ``freq`` is missing, negative, fractional or not below half the
            record length.
        TypeError
            ``freq`` is not a number.
        """
        half = int(np.fix(len(self.index) / 2))
        if freq is None:
            raise ValueError("freq (the digital frequency of the coherence and phase) is required")
        freq = validation.check_int(freq, "freq", minimum=0)
        if freq >= half:
            raise ValueError(f"Requested frequency, {freq}, is too high, must be less than half the "
                             f"series duration ({half})")
        return self._kernel(ops.fourier, freq, index=["coherence", "phase"])

    def convolve(self, signal, mode="full") -> Series:
        """``np.convolve(record, signal, mode)`` of every record.

        Parameters
        ----------
        signal : array-like
            The kernel, flattened to 1-D (``m`` values).
        mode : {'full', 'same', 'valid'}, default 'full'
            As ``np.convolve``: records of length ``n + m - 1``, ``max(n, m)`` or
            ``max(n, m) - min(n, m) + 1``.

        Returns
        -------
        Series
            Same ``baseshape`` and labels; records of the length given by
            ``mode``, index ``arange(length)``.

        Raises
        ------
        ValueError
            ``mode`` not 'full', 'same' or 'valid'.
        """
        check_options(mode, "mode", ("full", "same", "valid"))
        s = np.asarray(signal).reshape(-1)
        n, m = len(self.index), s.size
        newmax = {"same": max(n, m), "valid": max(m, n) - min(m, n) + 1}.get(mode, n + m - 1)
        return self._kernel(ops.convolve, s, mode, index=np.arange(newmax))

    def crosscorr(self, signal, lag=0) -> Series:
        """Cross-correlation of every record with ``signal`` at lags
        ``-lag..lag`` (index: the lags).

        Record and signal are centred and scaled to unit norm, so each value is
        the Pearson correlation with the shifted signal (the shifted-in values
        are zeros, not wrapped around); a constant record gives 0.

        Parameters
        ----------
        signal : array-like
            Flattened to 1-D; must have the record length ``n``.
        lag : int, default 0
            Largest shift, in values, either way.

        Returns
        -------
        Series
            float64, shape ``baseshape + (2 * lag + 1,)``, index
            ``[-lag, ..., lag]``; labels kept.

        Raises
        ------
        ValueError
            The signal length differs from the record length; a negative or
            fractional ``lag``.
        TypeError
            ``lag`` is not an integer.
        """
        s = np.asarray(signal, dtype=np.float64).reshape(-1)
        if s.size != len(self.index):
            raise ValueError(f"Size of signal to cross correlate with, {s.size}, does not match size of "
                             f"series {len(self.index)}")
        lag = validation.check_int(lag, "lag", minimum=0)
        s = s - s.mean()
        s = s / np.linalg.norm(s)
        if lag != 0:
            shifts = list(range(-lag, lag + 1))
            d = s.size
            shifted = np.zeros((len(shifts), d))
            for i, sh in enumerate(shifts):
                tmp = np.roll(s, sh)
                if sh < 0:
                    tmp[d + sh:] = 0
                if sh > 0:
                    tmp[:sh] = 0
                shifted[i] = tmp
        else:
            shifts = [0]
            shifted = s[None, :]
        return self._kernel(ops.crosscorr, shifted, index=shifts)

    def detrend(self, method="linear", order=5) -> Series:
        """Subtract a least-squares line (``'linear'``) or polynomial of
        ``order`` (``'nonlinear'``) from every record, keeping its intercept.

        Parameters
        ----------
        method : {'linear', 'nonlinear'}, default 'linear'
            A straight line, or a polynomial of degree ``order``, fitted to each
            record against its positions ``0 .. n - 1``.
        order : int, default 5
            Degree of the polynomial for ``'nonlinear'``; ignored for ``'linear'``.

        Returns
        -------
        Series
            Same shape, index and labels; float64 for integer input.

        Raises
        ------
        ValueError
            Unknown ``method``; a negative or fractional ``order``.
        TypeError
            A non-integer ``order`` (a bool, a string).
        """
        check_options(method, "method", ("linear", "nonlinear"))
        order = 1 if method == "linear" else validation.check_int(order, "order", minimum=0)
        return self._kernel(ops.detrend, order)

    def normalize(self, method="percentile", window=None, perc=20, offset=0.1) -> Series:
        """ΔF/F: ``(x - b) / (b + offset)`` with a baseline ``b`` per record.

        Parameters
        ----------
        method : {'percentile', 'mean', 'window', 'window-exact'}
            ``'percentile'``: the ``perc`` percentile of the record;
            ``'mean'``: its mean; ``'window'``: a running ``perc`` percentile
            over ``window`` values (``scipy.ndimage.percentile_filter``,
            ``mode='nearest'``); ``'window-exact'``: the exact percentile over
            the same centred window, cut at the record's ends instead of
            padded (Thunder 1.4.2's 'window-exact' fails on Python 3 with float
            slice bounds, and its odd windows were ``window + 3`` wide).
        window : int, optional
            Window width (default 6) for the window methods.
        perc : float
            Percentile, 0-100.
        offset : float
            Added to the baseline in the division.

        Returns
        -------
        Series
            float64, same shape, index and labels.

        Raises
        ------
        ValueError
            Unknown ``method``, ``window`` below 1 or fractional, or ``perc``
            outside 0-100.
        TypeError
            A non-numeric ``perc``/``offset`` or non-integer ``window``.
        """
        check_options(method, "method", ("mean", "percentile", "window", "window-exact"))
        if method not in ("window", "window-exact"):
            if window is not None:
                warnings.warn('Setting window without using method "window" has no effect', stacklevel=2)
            window = 0
        else:
            window = 6 if window is None else validation.check_int(window, "window", minimum=1)
        perc = validation.check_real(perc, "perc", minimum=0, maximum=100)
        offset = validation.check_real(offset, "offset")
        return self._kernel(ops.normalize, method, window, perc, float(offset), dtype=np.float64)
