"""Per-frame kernels on one block of consecutive frames.

A block is an ndarray ``(k,) + value_shape``. Every function here is a pure
numpy/scipy function of the block and of parameters already checked and
normalised by :mod:`napari_thunder.validation` (the kernels do not check
them again; a single value is broadcast to every image axis), picklable, without engine or I/O,
so it runs in dask threads and on Spark executors alike. The engine calls
them as ``func(block, start)`` through :func:`functools.partial` or a small
wrapper; ``start`` does not matter for per-frame work.

Filters keep the input dtype: scipy writes into an output
array of the input dtype, so integer results are truncated toward zero exactly
as ``scipy.ndimage.<filter>(frame)`` does on its own.

Compiled filters
----------------
When numba is installed, blocks of 2-D frames of at least ``_JIT_MIN_VALUES``
values in 8/16-bit integers, float32 or float64 are filtered by compiled loops
(:mod:`._jit`) instead of scipy: the gaussian and box filters do the same
floating-point operations in the same order as scipy's ``correlate1d`` and
``uniform_filter1d`` (axis 0, cast into the output dtype, then axis 1), so
the results are the same bits, only vectorised across pixels; the 2x2 and
3x3 medians of integer frames are computed with min/max networks (a median is
one of the input values, so the result is exact). Other cases (volumes,
other dtypes, other median sizes) use scipy. ``NAPARI_THUNDER_NO_JIT=1``
turns the compiled loops off.

Why not a library such as OpenCV (``sepFilter2D`` with ``BORDER_REFLECT``,
which is scipy's 'reflect')? It rounds integer results to nearest and works
in float32 for small integer types, so its results differ from scipy's by one
unit in many pixels; the goal here is the same bits as scipy.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.ndimage as ndi

__all__ = [
    "filter_output_dtype",
    "gaussian_block",
    "max_min_projection_block",
    "max_projection_block",
    "median_block",
    "projection_shape",
    "squeeze_axes",
    "subsample_block",
    "subsample_shape",
    "subtract_block",
    "subtract_dtype",
    "uniform_block",
]

# dtypes scipy.ndimage cannot write into; computed in a wider type and cast back
_SCIPY_WORK_DTYPE = {np.dtype(np.float16): np.dtype(np.float32), np.dtype(np.bool_): np.dtype(np.uint8)}

#: blocks with fewer values are filtered by scipy: loading numba (about 0.2 s
#: once per process) would cost more than the compiled loops save
_JIT_MIN_VALUES = 2**18
#: dtypes of the compiled gaussian/uniform filters (their casts match scipy's)
_JIT_FILTER_DTYPES = frozenset(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16,
                                                     np.float32, np.float64))
#: dtypes of the compiled medians (integers: no NaN, no signed zeros)
_JIT_MEDIAN_DTYPES = frozenset(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16,
                                                     np.int32, np.uint32, np.int64, np.uint64))
#: scipy skips the gaussian pass along an axis with a sigma this small
_SIGMA_SKIP = 1e-15


def _jit_for(block: np.ndarray, dtypes):
    """The compiled loops module for a block of 2-D frames, or None (numba
    missing or disabled, a small block, volumes, another dtype)."""
    if block.ndim != 3 or block.dtype not in dtypes or block.size < _JIT_MIN_VALUES:
        return None
    from napari_thunder.kernels.block_moments import jit_module as _jit_module

    return _jit_module()


@functools.lru_cache(maxsize=64)
def _gaussian_taps(sigma: float, order: int):
    """``(weights, sign)`` of scipy's 1-D gaussian correlation for one axis.

    The weights are read back from scipy itself: ``gaussian_filter1d`` of a
    unit impulse (zeros around it) returns every weight exactly (each output
    is ``1.0 * w`` plus exact zeros). ``sign`` is 1 for scipy's symmetric
    branch, -1 for its antisymmetric one; None when the response is neither
    (the caller then uses scipy).
    """
    radius = int(4.0 * float(sigma) + 0.5)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    response = ndi.gaussian_filter1d(impulse, sigma, order=order, mode="constant", truncate=4.0)
    # response[radius + k] is the weight applied to the value k before the centre
    weights = np.ascontiguousarray(response[::-1])
    left, right = response[:radius][::-1], response[radius + 1:]
    if np.array_equal(left, right):
        return weights, 1
    if np.array_equal(left, -right):
        return weights, -1
    return None, None


def _per_axis(value, ndim: int) -> tuple:
    """``value`` as one entry per image axis (a single value is repeated)."""
    if np.ndim(value) == 0:
        return (value,) * ndim
    return tuple(value)


def _per_frame(block: np.ndarray, apply) -> np.ndarray:
    """Run ``apply(frame, out_frame)`` on every frame of ``block``.

    The output has the block's dtype; for dtypes scipy cannot handle
    (float16, bool) each frame goes through a wider type, one frame at a time.
    """
    block = np.asarray(block)
    out = np.empty(block.shape, dtype=block.dtype)
    work = _SCIPY_WORK_DTYPE.get(block.dtype)
    if work is None:
        for i in range(block.shape[0]):
            apply(block[i], out[i])
    else:
        tmp = np.empty(block.shape[1:], dtype=work)
        for i in range(block.shape[0]):
            apply(block[i].astype(work), tmp)
            out[i] = tmp
    return out


def filter_output_dtype(dtype) -> np.dtype:
    """dtype of every filter's output: the input dtype."""
    return np.dtype(dtype)


def gaussian_block(block: np.ndarray, sigma, order=0) -> np.ndarray:
    """Gaussian filter of every frame over all image axes.

    Parameters
    ----------
    block : ndarray, shape ``(k,) + value_shape``
    sigma : float or sequence of float
        Per image axis.
    order : int or sequence of int
        Derivative order per axis (0 = smoothing).

    Returns
    -------
    ndarray
        Same shape and dtype as ``block`` (``scipy.ndimage.gaussian_filter``
        with mode 'reflect', truncate 4.0, per frame).
    """
    ndim = np.ndim(block) - 1
    sigma = _per_axis(sigma, ndim)
    order = _per_axis(order, ndim)
    block = np.asarray(block)
    jit = _jit_for(block, _JIT_FILTER_DTYPES)
    if jit is not None:
        taps = [(np.empty(0), 1) if s <= _SIGMA_SKIP else _gaussian_taps(float(s), int(o))
                for s, o in zip(sigma, order)]
        if all(w is not None for w, _ in taps):
            block = np.ascontiguousarray(block)
            out = np.empty_like(block)
            (w_rows, sign_rows), (w_cols, sign_cols) = taps
            jit.correlate_frames(block, out, w_rows, sign_rows, w_cols, sign_cols,
                                 bool(np.issubdtype(block.dtype, np.integer)))
            return out

    def apply(frame, out):
        ndi.gaussian_filter(frame, sigma, order=order, output=out, mode="reflect", truncate=4.0)

    return _per_frame(block, apply)


def _plane_by_plane(size: tuple[int, ...]) -> bool:
    """Thunder's rule: a volume with ``size[2] == 0`` is filtered per z-plane."""
    return len(size) == 3 and size[2] == 0


def _window_widths(block, size) -> tuple[np.ndarray, tuple[int, ...]]:
    """``block`` as an array and the window width per image axis; a volume's
    ``size[2] == 0`` (each z-plane in 2-D) becomes width 1 along z, the same
    filter (scipy leaves an axis of width 1 alone)."""
    block = np.asarray(block)
    size = _per_axis(size, block.ndim - 1)
    if _plane_by_plane(size):
        size = size[:2] + (1,)
    return block, size


def uniform_block(block: np.ndarray, size) -> np.ndarray:
    """Box (mean) filter of every frame with Thunder's size rules.

    Parameters
    ----------
    block : ndarray, shape ``(k,) + value_shape``
    size : int or sequence of int
        Window width per image axis; for volumes ``size[2] == 0`` filters each
        z-plane (last axis) in 2-D with ``size[:2]``.

    Returns
    -------
    ndarray
        Same shape and dtype as ``block``.
    """
    block, size = _window_widths(block, size)
    jit = _jit_for(block, _JIT_FILTER_DTYPES)
    if jit is not None:
        block = np.ascontiguousarray(block)
        out = np.empty_like(block)
        jit.uniform_frames(block, out, int(size[0]), int(size[1]),
                           bool(np.issubdtype(block.dtype, np.integer)))
        return out

    def apply(frame, out):
        ndi.uniform_filter(frame, size, output=out, mode="reflect")

    return _per_frame(block, apply)


def median_block(block: np.ndarray, size) -> np.ndarray:
    """Median filter of every frame with Thunder's size rules.

    Parameters
    ----------
    block : ndarray, shape ``(k,) + value_shape``
    size : int or sequence of int
        Window width per image axis (>= 1); for volumes ``size[2] == 0``
        filters each z-plane (last axis) in 2-D with ``size[:2]``.

    Returns
    -------
    ndarray
        Same shape and dtype as ``block``; for even widths the upper median
        (scipy's rank ``n // 2``).
    """
    block, size = _window_widths(block, size)
    jit = _jit_for(block, _JIT_MEDIAN_DTYPES)
    if jit is not None and tuple(size) in ((3, 3), (2, 2)):
        block = np.ascontiguousarray(block)
        out = np.empty_like(block)
        (jit.median3_frames if size[0] == 3 else jit.median2_frames)(block, out)
        return out

    def apply(frame, out):
        ndi.median_filter(frame, size=size, output=out, mode="reflect")

    return _per_frame(block, apply)


def projection_shape(value_shape, axis) -> tuple[int, ...]:
    """Image shape after a projection along image ``axis``."""
    value_shape = tuple(value_shape)
    axis = int(axis) % len(value_shape)
    return value_shape[:axis] + value_shape[axis + 1 :]


def max_projection_block(block: np.ndarray, axis) -> np.ndarray:
    """Maximum of every frame along image ``axis`` (0 = x, 1 = y, 2 = z).

    Returns
    -------
    ndarray, shape ``(k,) + projection_shape(value_shape, axis)``, input dtype.
    """
    block = np.asarray(block)
    axis = int(axis) % (block.ndim - 1)
    return np.max(block, axis=axis + 1)


def max_min_projection_block(block: np.ndarray, axis) -> np.ndarray:
    """``max + min`` of every frame along image ``axis``.

    The sum is taken in the input dtype, as Thunder does: small integer types
    wrap around on overflow (e.g. uint8 ``200 + 100 -> 44``); floats are exact
    up to rounding.
    """
    block = np.asarray(block)
    axis = int(axis) % (block.ndim - 1)
    high = np.max(block, axis=axis + 1)
    low = np.min(block, axis=axis + 1)
    if block.dtype == np.bool_:
        return high | low
    return np.add(high, low, out=high)


def subsample_shape(value_shape, factors) -> tuple[int, ...]:
    """Image shape after keeping indices ``0, f, 2f, ...`` on every axis."""
    value_shape = tuple(value_shape)
    factors = _per_axis(factors, len(value_shape))
    return tuple(math.ceil(d / f) for d, f in zip(value_shape, factors))


def subsample_block(block: np.ndarray, factors, out=None) -> np.ndarray:
    """Keep pixels ``0, f, 2f, ...`` along every image axis.

    Parameters
    ----------
    block : ndarray, shape ``(k,) + value_shape``
    factors : int or sequence of int
        Step per image axis.
    out : ndarray, optional
        Where to write the result (its shape; the block's dtype).

    Returns
    -------
    ndarray
        A new contiguous array (not a view holding the whole block alive),
        or ``out``.
    """
    block = np.asarray(block)
    factors = _per_axis(factors, block.ndim - 1)
    index = (slice(None),) + tuple(slice(0, None, f) for f in factors)
    if out is not None:
        np.copyto(out, block[index], casting="no")
        return out
    return np.ascontiguousarray(block[index])


#: the engine may pass ``out=`` (a view of the final array) to these kernels
subsample_block.accepts_out = True


def subtract_dtype(dtype, value) -> np.dtype:
    """Result dtype of ``frame - value`` for frames of ``dtype`` (numpy rules,
    Python scalars are "weak": ``int16 - 1`` is int16, ``int16 - 0.5`` float64)."""
    probe = np.zeros((1,), dtype=dtype)
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[:1]
    return (probe - value).dtype


def subtract_block(block: np.ndarray, value, out=None) -> np.ndarray:
    """``frame - value`` for every frame (value: scalar or array of
    value_shape), written into ``out`` when given (of the result dtype,
    :func:`subtract_dtype`)."""
    if out is not None:
        np.subtract(np.asarray(block), value, out=out, casting="no")
        return out
    return np.subtract(np.asarray(block), value)


subtract_block.accepts_out = True


def squeeze_axes(value_shape) -> tuple[int, ...]:
    """Image axes removed by ``Images.squeeze``.

    Every length-1 image axis, except that an image whose axes are all of
    length 1 keeps its first axis: ``(3, 1) -> (1,)`` removed,
    ``(1, 4, 1) -> (0, 2)``, ``(1, 1) -> (1,)``.

    Parameters
    ----------
    value_shape : tuple of int
        Shape of one image.

    Returns
    -------
    tuple of int
        Axis indices relative to the image.
    """
    value_shape = tuple(value_shape)
    if math.prod(value_shape) == 1:
        return tuple(range(1, len(value_shape)))
    return tuple(i for i, d in enumerate(value_shape) if d == 1)
