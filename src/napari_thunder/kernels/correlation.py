"""Local correlation as a mergeable accumulator.

``localcorr(neighborhood=n)`` is, per pixel, the Pearson correlation between
the pixel's series and the series of the mean of its neighbourhood (a centred
box of width ``2n+1`` on every image axis, reflect boundary, the pixel
included). The neighbourhood mean of each frame is computed in float64 (no
integer truncation of the blurred copy).

:class:`LocalCorrAccumulator` keeps, per pixel, the count, the means of both
series and the co-moments ``Cxx``, ``Cyy``, ``Cxy`` in float64. A block is
processed a few frames at a time (bounded float64 buffers), each sub-block is
centred on its own means (two-pass, no cancellation) and merged with Chan's
formulas, as are partial accumulators from different chunks/partitions.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from . import block_moments, moments

__all__ = ["LocalCorrAccumulator", "WindowCorrAccumulator", "box_sum", "neighborhood_mean"]

# blocks with fewer values use numpy only (see block_moments.JIT_MIN_VALUES)
_JIT_MIN_VALUES = 2**18
# box sums of one sub-block on the compiled 2-D path: each sub-block costs a
# merge pass over the running co-moments, so not too small
_JIT_SUBBLOCK_BYTES = 16 * 2**20
# co-moments of at least this many pixels merge in a compiled pass
_JIT_MERGE_PIXELS = 4096
# budget for the two box-sum buffers of one sub-block
_SUBBLOCK_BYTES = 16 * 2**20
# bytes of the frames of one box_sum call
_BOX_CALL_BYTES = 2 * 2**20
# bytes of one float64 tile when forming the co-moments (cache-sized)
_TILE_BYTES = 256 * 2**10


def _jit_loops(block: np.ndarray):
    """The compiled loops module for this block, or None (numba missing,
    ``NAPARI_THUNDER_NO_JIT`` set, or a block too small to be worth it)."""
    if block.size < _JIT_MIN_VALUES or not (
        block.dtype.kind in "iu" or block.dtype in (np.float32, np.float64)
    ):
        return None
    return block_moments.jit_module()


def neighborhood_mean(frame: np.ndarray, neighborhood: int, out: np.ndarray | None = None) -> np.ndarray:
    """Mean of the ``2n+1`` box around every pixel of one frame, in float64.

    Parameters
    ----------
    frame : ndarray
        One image or volume (any real dtype).
    neighborhood : int
        Half-width ``n`` of the box.
    out : ndarray of float64, optional
        Where to write the result.

    Returns
    -------
    ndarray of float64, same shape as ``frame``.
    """
    size = 2 * int(neighborhood) + 1
    work = np.asarray(frame, dtype=np.float64)
    if out is None:
        out = np.empty(work.shape, dtype=np.float64)
    ndi.uniform_filter(work, size=size, output=out, mode="reflect")
    return out


def _box_work_dtype(dtype, neighborhood: int, ndim: int) -> np.dtype:
    """dtype in which box sums of frames of ``dtype`` are exact enough.

    Integers of at most 16 bits (and bools): float32 while every box sum is an
    integer below 2**24 (exact); otherwise float64.
    """
    dtype = np.dtype(dtype)
    volume = (2 * int(neighborhood) + 1) ** ndim
    if dtype == np.bool_:
        largest = 1
    elif np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2:
        info = np.iinfo(dtype)
        largest = max(abs(int(info.min)), int(info.max))
    else:
        return np.dtype(np.float64)
    return np.dtype(np.float32) if largest * volume < 2**24 else np.dtype(np.float64)


def _reflect_index(i: int, length: int) -> int:
    """scipy 'reflect' (``d c b a | a b c d | d c b a``) index into ``range(length)``."""
    i %= 2 * length
    return i if i < length else 2 * length - 1 - i


def _box_sum_axis(src: np.ndarray, dst: np.ndarray, n: int, axis: int) -> None:
    """``dst = sum of src[i-n .. i+n]`` along ``axis`` (reflect boundary)."""
    length = src.shape[axis]

    def along(start, stop):
        index = [slice(None)] * src.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    if length > 2 * n and src.flags.c_contiguous and dst.flags.c_contiguous:
        # interior: 2n shifted adds over the flat arrays (contiguous, SIMD);
        # a shift of one step along ``axis`` is ``stride`` flat elements. Only
        # positions within n of the axis' ends mix in wrong values; the edge
        # loop below overwrites exactly those.
        stride = int(np.prod(src.shape[axis + 1 :], dtype=np.int64))
        flat_src = src.reshape(-1)
        flat_dst = dst.reshape(-1)
        span = flat_src.size - 2 * n * stride
        inner = flat_dst[n * stride : n * stride + span]
        np.add(flat_src[:span], flat_src[stride : stride + span], out=inner, dtype=inner.dtype,
               casting="unsafe")
        for shift in range(2, 2 * n + 1):
            np.add(inner, flat_src[shift * stride : shift * stride + span], out=inner, casting="unsafe")
        edges = list(range(n)) + list(range(length - n, length))
    elif length > 2 * n:
        # interior: 2n shifted adds of whole slabs
        inner = dst[along(n, length - n)]
        np.copyto(inner, src[along(0, length - 2 * n)], casting="unsafe")
        for shift in range(1, 2 * n + 1):
            np.add(inner, src[along(shift, length - 2 * n + shift)], out=inner, casting="unsafe")
        edges = list(range(n)) + list(range(length - n, length))
    else:
        edges = list(range(length))
    for i in edges:
        neighbours = [_reflect_index(j, length) for j in range(i - n, i + n + 1)]
        slab = dst[along(i, i + 1)]
        np.copyto(slab, src[along(neighbours[0], neighbours[0] + 1)], casting="unsafe")
        for j in neighbours[1:]:
            np.add(slab, src[along(j, j + 1)], out=slab, casting="unsafe")


def box_sum(frames: np.ndarray, neighborhood: int, buffers=None) -> np.ndarray:
    """Sum over the centred ``2n+1`` box of every pixel, for a stack of frames.

    Axis 0 of ``frames`` indexes frames; every other axis is summed over
    ``[i - n, i + n]`` with scipy's 'reflect' boundary (``d c b a | a b c d``).
    Equals ``(2n+1)**ndim * scipy.ndimage.uniform_filter(frame, 2n+1)`` per
    frame up to rounding, computed with shifted adds of whole slabs (no Python
    loop over pixels, no padded copy).

    Parameters
    ----------
    frames : ndarray, shape ``(m,) + value_shape``
        Input frames, never modified. The sums are computed in the dtype of
        the buffers (float64 if none are given).
    neighborhood : int
        Half-width ``n`` of the box.
    buffers : pair of ndarray, optional
        Two work arrays of ``frames``' shape; the result is one of them
        (the first for an odd number of image axes, else the second).

    Returns
    -------
    ndarray of ``frames``' shape (``frames`` itself when ``n == 0`` and no
    buffers are given).
    """
    n = int(neighborhood)
    if buffers is None:
        if n == 0:
            return np.array(frames, dtype=np.float64)
        buffers = (np.empty(frames.shape, np.float64), np.empty(frames.shape, np.float64))
    first, second = buffers
    if n == 0:
        np.copyto(first, frames, casting="unsafe")
        return first
    src, dst, spare = frames, first, second
    for axis in range(1, frames.ndim):
        _box_sum_axis(src, dst, n, axis)
        src, dst, spare = dst, spare, dst
    return src


class LocalCorrAccumulator:
    """Streaming, mergeable per-pixel correlation with the neighbourhood mean.

    Parameters
    ----------
    value_shape : tuple of int
        Shape of one frame.
    neighborhood : int
        Half-width of the box (window ``2n+1``).

    Notes
    -----
    :meth:`finalize` returns float64 of ``value_shape``; a pixel whose series
    (or neighbourhood series) is constant gives NaN, without a RuntimeWarning.
    """

    def __init__(self, value_shape, neighborhood=2):
        self.value_shape = tuple(int(d) for d in value_shape)
        self.neighborhood = int(neighborhood)
        self.count = 0
        self.mean_x = None
        self.mean_y = None
        self.cxx = None
        self.cyy = None
        self.cxy = None

    def empty(self) -> LocalCorrAccumulator:
        """A fresh accumulator with the same value_shape and neighborhood."""
        return LocalCorrAccumulator(self.value_shape, self.neighborhood)

    def _merge_moments(self, n_b, mx_b, my_b, cxx_b, cyy_b, cxy_b) -> None:
        """Chan's merge of one set of moments (n_b frames) into self."""
        if self.count == 0:
            self.mean_x, self.mean_y = mx_b.copy(), my_b.copy()
            self.cxx, self.cyy, self.cxy = cxx_b.copy(), cyy_b.copy(), cxy_b.copy()
            self.count = n_b
            return
        n_a = self.count
        # the compiled merge when the compiled loops are loaded already (never
        # loads numba for a merge alone): one pass, no temporaries, same bits
        jit = block_moments.JIT_STATE.get("module") if self.mean_x.size >= _JIT_MERGE_PIXELS else None
        if jit is not None:
            jit.comoments_chan_merge(n_a, n_b, self.mean_x, self.mean_y, self.cxx, self.cyy, self.cxy,
                                     mx_b, my_b, cxx_b, cyy_b, cxy_b)
            self.count = n_a + n_b
            return
        n = n_a + n_b
        dx = mx_b - self.mean_x
        dy = my_b - self.mean_y
        weight = n_a * n_b / n
        self.cxx += cxx_b
        self.cxx += dx * dx * weight
        self.cyy += cyy_b
        self.cyy += dy * dy * weight
        self.cxy += cxy_b
        self.cxy += dx * dy * weight
        dx *= n_b / n
        dy *= n_b / n
        self.mean_x += dx
        self.mean_y += dy
        self.count = n

    def add(self, block, start=0) -> LocalCorrAccumulator:
        """Fold a block of frames ``(k,) + value_shape`` in; returns self."""
        block = moments.frames_block(block, self.value_shape)
        k = block.shape[0]
        if k == 0:
            return self
        p = int(np.prod(self.value_shape))
        work = _box_work_dtype(block.dtype, self.neighborhood, len(self.value_shape))
        jit = _jit_loops(block)
        compiled_2d = jit is not None and len(self.value_shape) == 2
        if compiled_2d:
            # box sums of a sub-block, then the compiled co-moments
            sub = max(1, min(k, _JIT_SUBBLOCK_BYTES // max(p * work.itemsize, 1)))
            buf_a = np.empty((sub,) + self.value_shape, dtype=work)
        else:
            # two box buffers of a sub-block stay within the budget
            sub = max(1, min(k, _SUBBLOCK_BYTES // max(2 * p * work.itemsize, 1)))
            buf_a = np.empty((sub,) + self.value_shape, dtype=work)
            buf_b = np.empty((sub,) + self.value_shape, dtype=work)
        # frames per box_sum call: a few MiB, so calls are neither tiny (Python
        # overhead) nor far out of cache
        group = max(1, min(sub, _BOX_CALL_BYTES // max(p * work.itemsize, 1)))
        flat = block.reshape(k, p)
        if jit is None:
            # float64 tiles of about 256 KiB (cache-sized) for the co-moments
            tile_pixels = max(1, min(p, _TILE_BYTES // (8 * sub)))
            xbuf = np.empty((sub, tile_pixels), dtype=np.float64)
            ybuf = np.empty((sub, tile_pixels), dtype=np.float64)
            mx, my, cxx, cyy, cxy = np.empty((5, p))
        odd = len(self.value_shape) % 2 == 1 or self.neighborhood == 0
        if jit is not None and self.count == 0:
            self.mean_x, self.mean_y = np.zeros(p), np.zeros(p)
            self.cxx, self.cyy, self.cxy = np.zeros(p), np.zeros(p), np.zeros(p)
        for i0 in range(0, k, sub):
            i1 = min(i0 + sub, k)
            m = i1 - i0
            # box SUM of every frame (the mean times a constant: r is unchanged)
            if compiled_2d:
                jit.box_sum_2d(block[i0:i1], self.neighborhood, buf_a[:m])
                flat_sums = buf_a[:m].reshape(m, p)
            else:
                for g0 in range(0, m, group):
                    g1 = min(g0 + group, m)
                    box_sum(block[i0 + g0 : i0 + g1], self.neighborhood,
                            (buf_a[g0:g1], buf_b[g0:g1]))
                flat_sums = (buf_a if odd else buf_b)[:m].reshape(m, p)
            if jit is not None:
                # one compiled pass per pixel tile: means, centred co-moments
                # and the merge with the running values
                jit.comoments_merge(np.ascontiguousarray(flat[i0:i1]), flat_sums, self.count,
                                    self.mean_x, self.mean_y, self.cxx, self.cyy, self.cxy)
                self.count += m
                continue
            for j0 in range(0, p, tile_pixels):
                j1 = min(j0 + tile_pixels, p)
                x, tx = block_moments.centered(flat[i0:i1, j0:j1], xbuf[:m, : j1 - j0])
                y, ty = block_moments.centered(flat_sums[:, j0:j1], ybuf[:m, : j1 - j0])
                mx[j0:j1] = tx
                my[j0:j1] = ty
                cxx[j0:j1] = np.einsum("ij,ij->j", x, x)
                cyy[j0:j1] = np.einsum("ij,ij->j", y, y)
                cxy[j0:j1] = np.einsum("ij,ij->j", x, y)
            self._merge_moments(m, mx, my, cxx, cyy, cxy)
        return self

    def _window(self):
        """What decides the neighbourhood (merged accumulators must agree)."""
        return self.neighborhood

    def merge(self, other: LocalCorrAccumulator) -> LocalCorrAccumulator:
        """Combine ``other`` (frames disjoint from ours, same class, value_shape
        and window) into self; returns self."""
        if type(other) is not type(self):
            raise TypeError(f"can only merge a {type(self).__name__}, got {type(other).__name__}")
        if (other.value_shape, other._window()) != (self.value_shape, self._window()):
            raise ValueError("cannot merge accumulators of different value_shape or window: "
                             f"{other.value_shape}, {other._window()} into "
                             f"{self.value_shape}, {self._window()}")
        if other.count:
            self._merge_moments(other.count, other.mean_x, other.mean_y, other.cxx, other.cyy, other.cxy)
        return self

    def finalize(self) -> np.ndarray:
        """Pearson r per pixel, float64 of ``value_shape`` (NaN where constant).

        Raises
        ------
        ValueError
            If no frame has been added.
        """
        if self.count == 0:
            raise ValueError("cannot compute localcorr of zero frames (empty accumulator)")
        # a series whose spread is at the rounding level of its values is
        # constant (float means of equal values need not be exact)
        eps = np.finfo(np.float64).eps
        tol_x = self.count * np.square(64 * eps * np.abs(self.mean_x))
        tol_y = self.count * np.square(64 * eps * np.abs(self.mean_y))
        varying = (self.cxx > tol_x) & (self.cyy > tol_y)
        denom = self.cxx * self.cyy
        np.sqrt(denom, out=denom)
        r = np.full(self.cxy.shape, np.nan)
        np.divide(self.cxy, denom, out=r, where=varying & (denom > 0))
        np.clip(r, -1.0, 1.0, out=r)
        return r.reshape(self.value_shape)

    def __repr__(self) -> str:
        return (f"LocalCorrAccumulator(value_shape={self.value_shape}, "
                f"neighborhood={self.neighborhood}, count={self.count})")


class WindowCorrAccumulator(LocalCorrAccumulator):
    """:class:`LocalCorrAccumulator` for any box: ``size`` pixels per image axis.

    Thunder 1.4.2's ``localcorr(size=...)``: the neighbourhood mean is
    ``scipy.ndimage.uniform_filter(frame, size)`` with reflected borders, so
    an even width covers one more pixel before the pixel than after it.
    The mean is taken in float64 (Thunder truncated it for integer images).

    Parameters
    ----------
    value_shape : tuple of int
        Shape of one frame.
    size : tuple of int
        Window width per image axis (each at least 1).
    """

    def __init__(self, value_shape, size):
        super().__init__(value_shape, 0)
        self.size = tuple(int(s) for s in size)
        if len(self.size) != len(self.value_shape):
            raise ValueError(f"size must have one entry per image axis {self.value_shape}, got {size}")

    def empty(self) -> WindowCorrAccumulator:
        """A fresh accumulator with the same value_shape and size."""
        return WindowCorrAccumulator(self.value_shape, self.size)

    def add(self, block, start=0) -> WindowCorrAccumulator:
        """Fold a block of frames ``(k,) + value_shape`` in; returns self."""
        block = moments.frames_block(block, self.value_shape)
        k = block.shape[0]
        if k == 0:
            return self
        p = int(np.prod(self.value_shape))
        x = block.reshape(k, p).astype(np.float64)
        y = ndi.uniform_filter(block.astype(np.float64), size=(1,) + self.size, mode="reflect")
        y = y.reshape(k, p)
        mx, my = x.mean(axis=0), y.mean(axis=0)
        x -= mx
        y -= my
        self._merge_moments(k, mx, my, np.einsum("ij,ij->j", x, x), np.einsum("ij,ij->j", y, y),
                            np.einsum("ij,ij->j", x, y))
        return self

    def _window(self):
        return self.size

    def __repr__(self) -> str:
        return (f"WindowCorrAccumulator(value_shape={self.value_shape}, "
                f"size={self.size}, count={self.count})")
