"""Per-record kernels of ``Series``: numpy on a block of records.

Every function takes ``x``, a 2-D block ``(k, n)`` of ``k`` records of
length ``n`` (one row per record), and returns a 2-D block ``(k, m)``: the
work is vectorised over the whole block, never a Python call per record.
:class:`RecordOp` wraps a kernel and its arguments as the picklable
``func(block, start)`` the engines run.
"""

from __future__ import annotations

import numpy as np


class RecordOp:
    """Picklable ``func(block, start)``: ``kernel(block2d, *args)``.

    The block may carry the records' value shape ``(k, n)`` or, for
    ``with_start`` kernels, is passed with the index of its first record.
    """

    def __init__(self, kernel, *args, with_start=False, dtype=None):
        self.kernel = kernel
        self.args = args
        self.with_start = with_start
        self.dtype = None if dtype is None else np.dtype(dtype)

    def __call__(self, block, start):
        x = block.reshape(len(block), -1)
        out = self.kernel(x, start, *self.args) if self.with_start else self.kernel(x, *self.args)
        out = np.asarray(out)
        if out.ndim == 1:
            out = out[:, None]
        if self.dtype is not None and out.dtype != self.dtype:
            out = out.astype(self.dtype)
        return out


def _float(x):
    return x if x.dtype.kind in "fc" else x.astype(np.float64)


def center(x):
    x = _float(x)
    return x - x.mean(axis=1, keepdims=True)


def standardize(x):
    x = _float(x)
    return x / x.std(axis=1, keepdims=True)


def zscore(x):
    """``(x - mean) / std`` per record (``ddof=0``), the centred values reused for the std."""
    c = _float(x) - x.mean(axis=1, keepdims=True)
    sd = np.sqrt(np.mean(c * c, axis=1, keepdims=True))
    c /= sd
    return c


def subtract_divide(x, sub, div):
    """``(x - sub) / div`` with ``sub``/``div`` broadcast over records (None: skip)."""
    x = _float(x)
    if sub is not None:
        x = x - sub
    if div is not None:
        x = x / div
    return x


def squelch(x, threshold):
    out = x.copy()
    out[x.max(axis=1) < threshold] = 0
    return out


def correlate(x, signals):
    """Pearson correlation of every record with every row of ``signals``
    ``(s, n)``: ``(k, s)`` (NaN for a constant record, as ``np.corrcoef``)."""
    x = _float(x)
    xc = x - x.mean(axis=1, keepdims=True)
    sc = signals - signals.mean(axis=1, keepdims=True)
    num = xc @ sc.T
    den = np.sqrt((xc * xc).sum(axis=1))[:, None] * np.sqrt((sc * sc).sum(axis=1))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def mean_by_panel(x, length):
    k, n = x.shape
    return x.reshape(k, n // length, length).mean(axis=1)


def take_columns(x, columns):
    return x[:, columns]


def subsample(x, factor):
    return x[:, ::factor]


def downsample(x, factor):
    k, n = x.shape
    m = n // factor
    return x[:, :m * factor].reshape(k, m, factor).mean(axis=2)


def mean_by_window(x, windows):
    """Mean over windows: ``windows`` is ``(w, width)`` column indices."""
    return x[:, windows].mean(axis=1)


def fourier(x, freq):
    """Coherence and phase at ``freq`` (Thunder's definition): ``(k, 2)``."""
    x = _float(x)
    n = x.shape[1]
    y = x - x.mean(axis=1, keepdims=True)
    ft = np.fft.fft(y, axis=1)[:, : int(np.fix(n / 2))]
    amp_ft = 2 * np.abs(ft) / n
    amp = amp_ft[:, freq]
    amp_sum = np.sqrt((amp_ft ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        co = amp / amp_sum
    ph = -(np.pi / 2) - np.angle(ft[:, freq])
    ph = np.where(ph < 0, ph + 2 * np.pi, ph)
    return np.stack([co, ph], axis=1)


def convolve(x, signal, mode):
    """``np.convolve(record, signal, mode)`` for every record."""
    from scipy.signal import convolve as sconvolve

    x = np.asarray(x)
    s = np.asarray(signal)
    n, m = x.shape[1], s.size
    full = sconvolve(x, s.reshape(1, -1), mode="full", method="direct")
    if mode == "full":
        return full
    short, long = min(n, m), max(n, m)
    if mode == "same":
        start = (short - 1) // 2
        return full[:, start:start + long]
    return full[:, short - 1: long]


def crosscorr(x, shifted):
    """Dot products of every centred, unit-norm record with the rows of
    ``shifted`` (the lagged, centred, unit-norm signals); zero records give 0."""
    y = _float(x)
    y = y - y.mean(axis=1, keepdims=True)
    norm = np.sqrt((y * y).sum(axis=1))
    safe = np.where(norm == 0, 1.0, norm)
    out = (y / safe[:, None]) @ shifted.T
    out[norm == 0] = 0.0
    return out


def detrend(x, order):
    """Subtract the least-squares polynomial of ``order`` (its constant term
    kept) from every record."""
    y = _float(x)
    n = y.shape[1]
    t = np.arange(n, dtype=np.float64)
    coef = np.polyfit(t, y.T, order)  # (order + 1, k)
    coef[-1] = 0
    vander = np.vander(t, order + 1)
    return y - (vander @ coef).T


def normalize(x, method, window, perc, offset):
    """``(x - b) / (b + offset)`` with the baseline ``b`` of ``method``."""
    y = _float(x)
    if method == "mean":
        b = y.mean(axis=1, keepdims=True)
    elif method == "percentile":
        b = np.percentile(y, perc, axis=1, keepdims=True)
    elif method == "window":
        from scipy.ndimage import percentile_filter

        b = percentile_filter(y.astype(np.float64), perc, size=(1, window), mode="nearest")
    else:  # window-exact
        b = window_percentile(y, window, perc)
    return (y - b) / (b + offset)


def window_percentile(y, window, perc):
    """Exact percentile of each record over the window of ``window`` values
    centred like ``scipy.ndimage.percentile_filter`` (``[i - window//2, i -
    window//2 + window)``), cut at the ends of the record (no padding)."""
    k, n = y.shape
    out = np.empty((k, n), np.float64)
    left = window // 2
    lo = np.clip(np.arange(n) - left, 0, n)
    hi = np.clip(np.arange(n) - left + window, 0, n)
    # interior positions share one width: one vectorised percentile per batch
    full = np.flatnonzero((hi - lo) == window)
    if full.size:
        from numpy.lib.stride_tricks import sliding_window_view

        views = sliding_window_view(y, window, axis=1)  # (k, n - window + 1, window)
        batch = max(1, int(2**22 // max(1, k * window)))
        for b0 in range(0, full.size, batch):
            idx = full[b0:b0 + batch]
            out[:, idx] = np.percentile(views[:, lo[idx]], perc, axis=2)
    for i in np.flatnonzero((hi - lo) != window):
        out[:, i] = np.percentile(y[:, lo[i]:hi[i]], perc, axis=1)
    return out


_STATS = {
    "sum": lambda v: v.sum(axis=1),
    "mean": lambda v: v.mean(axis=1),
    "median": lambda v: np.median(v, axis=1),
    "stdev": lambda v: v.std(axis=1),
    "std": lambda v: v.std(axis=1),
    "var": lambda v: v.var(axis=1),
    "max": lambda v: v.max(axis=1),
    "min": lambda v: v.min(axis=1),
    "count": lambda v: np.full(v.shape[0], v.shape[1], dtype=np.int64),
}

STAT_NAMES = tuple(_STATS)


def group_stat(x, masks, stat):
    """``stat`` of every record over each group of columns: ``(k, groups)``."""
    func = _STATS[stat]
    return np.stack([func(x[:, m]) for m in masks], axis=1)


def record_stat(x, stat):
    """``stat`` of every record over all its values: ``(k, 1)``."""
    return _STATS[stat](x)[:, None]


def group_apply(x, masks, function):
    """A user ``function`` of each record's group of values (one call per
    record and group): ``(k, groups)``."""
    out = [[np.asarray(function(row[m])) for m in masks] for row in x]
    return np.asarray(out).reshape(len(x), len(masks))


def dot(x, matrix):
    return _float(x) @ matrix


def scale(x, factor):
    return x * factor


def element_wise(x, start, other, op):
    """``op(x, other)``: ``other`` a scalar, or every record's partner row
    (``other[start:start + k]``) when 2-D."""
    if np.ndim(other) == 2:
        return op(x, other[start:start + len(x)])
    return op(x, other)


def clip(x, lo, hi):
    return np.clip(x, lo, hi)


def astype(x, dtype, casting):
    return x.astype(dtype, casting=casting)


def per_record(x, start, func, with_keys, baseshape, length, dtype):
    """A user ``func`` of one record (or of ``(key, record)``), record by record."""
    out = np.empty((len(x), length), dtype)
    for k, row in enumerate(x):
        if with_keys:
            key = tuple(int(i) for i in np.unravel_index(start + k, baseshape))
            value = func((key, row))
        else:
            value = func(row)
        value = np.asarray(value)
        if value.size != length or value.ndim > 1:
            raise ValueError(
                f"func returned a value of shape {value.shape} for record {start + k}; "
                f"expected {length} values (value_shape=({length},))")
        out[k] = value.reshape(length)
    return out


def predicate_mask(x, func):
    """``bool(func(record))`` of every record: ``(k,)``."""
    return np.array([bool(func(row)) for row in x], dtype=bool)


class GramianAccumulator:
    """Mergeable ``sum over records of outer(x, x)`` (the accumulator protocol
    of :mod:`napari_thunder.engines.base`)."""

    def __init__(self, n):
        self.n = int(n)
        self.total = np.zeros((self.n, self.n), np.float64)

    def empty(self) -> GramianAccumulator:
        return GramianAccumulator(self.n)

    def add(self, block, start=0) -> GramianAccumulator:
        x = np.asarray(block, dtype=np.float64).reshape(len(block), -1)
        self.total += x.T @ x
        return self

    def merge(self, other) -> GramianAccumulator:
        self.total += other.total
        return self
