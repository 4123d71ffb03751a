"""Optional compiled loops (numba) for the hottest kernels.

Imported lazily by :mod:`napari_thunder.kernels.moments`, ``.correlation`` and
``.filters`` when numba is installed; every function here has a numpy or
scipy equivalent there giving the same bits (or, for the co-moments of
localcorr, the same values to rounding). Functions are compiled on first use for each argument type and cached
on disk (``cache=True``), so later processes only load them; they release
the GIL (``nogil=True``), so the engine's threads run them in parallel.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _tile(flat, frame, p, j0, w):  # pragma: no cover - compiled
    """Pixels ``j0 .. j0 + w`` of frame ``frame`` of ``(m, p)`` frames seen as ``flat``."""
    return flat[frame * p + j0:frame * p + j0 + w]


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def comoments_merge(x, y, count, mean_x, mean_y, cxx, cyy, cxy):  # pragma: no cover - compiled
    """Fold ``m`` frames of two series into running co-moments, in place.

    ``x`` and ``y`` are C-contiguous ``(m, p)`` (any real dtypes); ``count``
    frames are already in the float64 ``(p,)`` arrays ``mean_x, mean_y``
    (means) and ``cxx, cyy, cxy`` (co-moments). Per tile of pixels: the
    block's means (pass 1), its centred co-moments (pass 2, no
    cancellation), then Chan's merge with the running values; every pass
    works on a tile that stays in the first-level cache, through 1-D
    contiguous views (vectorised), four frames at a time: each tile sum is
    loaded and stored once per four frames, the frames still added one after
    the other (the same bits as one at a time). Only fused multiply-adds are
    allowed (``fastmath={'contract'}``): no reassociation, NaN and
    infinities propagate as in numpy.
    """
    m, p = x.shape
    xf = x.reshape(m * p)
    yf = y.reshape(m * p)
    tile = 256
    sx = np.empty(tile)
    sy = np.empty(tile)
    axx = np.empty(tile)
    ayy = np.empty(tile)
    axy = np.empty(tile)
    n = count + m
    weight = count * m / n
    fraction = m / n
    whole = m - m % 4  # frames taken four at a time
    for j0 in range(0, p, tile):
        w = min(tile, p - j0)
        sx[:] = 0.0
        sy[:] = 0.0
        axx[:] = 0.0
        ayy[:] = 0.0
        axy[:] = 0.0
        for i in range(0, m, 4):
            x0 = _tile(xf, i, p, j0, w)
            y0 = _tile(yf, i, p, j0, w)
            if i < whole:
                x1, x2, x3 = (_tile(xf, i + 1, p, j0, w), _tile(xf, i + 2, p, j0, w),
                              _tile(xf, i + 3, p, j0, w))
                y1, y2, y3 = (_tile(yf, i + 1, p, j0, w), _tile(yf, i + 2, p, j0, w),
                              _tile(yf, i + 3, p, j0, w))
                for j in range(w):
                    sx[j] = (((sx[j] + x0[j]) + x1[j]) + x2[j]) + x3[j]
                    sy[j] = (((sy[j] + y0[j]) + y1[j]) + y2[j]) + y3[j]
            else:
                for d in range(i, m):
                    xr = _tile(xf, d, p, j0, w)
                    yr = _tile(yf, d, p, j0, w)
                    for j in range(w):
                        sx[j] += xr[j]
                        sy[j] += yr[j]
        for j in range(w):
            sx[j] /= m
            sy[j] /= m
        for i in range(0, m, 4):
            if i < whole:
                x0, x1, x2, x3 = (_tile(xf, i, p, j0, w), _tile(xf, i + 1, p, j0, w),
                                  _tile(xf, i + 2, p, j0, w), _tile(xf, i + 3, p, j0, w))
                y0, y1, y2, y3 = (_tile(yf, i, p, j0, w), _tile(yf, i + 1, p, j0, w),
                                  _tile(yf, i + 2, p, j0, w), _tile(yf, i + 3, p, j0, w))
                for j in range(w):
                    mx = sx[j]
                    my = sy[j]
                    a = axx[j]
                    b = ayy[j]
                    c = axy[j]
                    dx = x0[j] - mx
                    dy = y0[j] - my
                    a += dx * dx
                    b += dy * dy
                    c += dx * dy
                    dx = x1[j] - mx
                    dy = y1[j] - my
                    a += dx * dx
                    b += dy * dy
                    c += dx * dy
                    dx = x2[j] - mx
                    dy = y2[j] - my
                    a += dx * dx
                    b += dy * dy
                    c += dx * dy
                    dx = x3[j] - mx
                    dy = y3[j] - my
                    a += dx * dx
                    b += dy * dy
                    c += dx * dy
                    axx[j] = a
                    ayy[j] = b
                    axy[j] = c
            else:
                for d in range(i, m):
                    xr = _tile(xf, d, p, j0, w)
                    yr = _tile(yf, d, p, j0, w)
                    for j in range(w):
                        dx = xr[j] - sx[j]
                        dy = yr[j] - sy[j]
                        axx[j] += dx * dx
                        ayy[j] += dy * dy
                        axy[j] += dx * dy
        if count == 0:
            for j in range(w):
                mean_x[j0 + j] = sx[j]
                mean_y[j0 + j] = sy[j]
                cxx[j0 + j] = axx[j]
                cyy[j0 + j] = ayy[j]
                cxy[j0 + j] = axy[j]
        else:
            for j in range(w):
                dx = sx[j] - mean_x[j0 + j]
                dy = sy[j] - mean_y[j0 + j]
                cxx[j0 + j] += axx[j] + dx * dx * weight
                cyy[j0 + j] += ayy[j] + dy * dy * weight
                cxy[j0 + j] += axy[j] + dx * dy * weight
                mean_x[j0 + j] += dx * fraction
                mean_y[j0 + j] += dy * fraction


@numba.njit(cache=True, nogil=True)
def chan_merge(n_a, mean_a, m2_a, n_b, mean_b, m2_b):  # pragma: no cover - compiled
    """Chan's merge of ``(n_b, mean_b, m2_b)`` into ``(n_a, mean_a, m2_a)`` in
    place, in one pass; the same operations in the same order as
    ``block_moments.chan_merge`` (no fastmath), hence the same bits."""
    n = n_a + n_b
    weight = n_a * n_b / n
    fraction = n_b / n
    for j in range(mean_a.size):
        delta = mean_b[j] - mean_a[j]
        m2_a[j] = (m2_a[j] + m2_b[j]) + (delta * delta) * weight
        mean_a[j] = mean_a[j] + delta * fraction


@numba.njit(cache=True, nogil=True)
def comoments_chan_merge(n_a, n_b, mean_x, mean_y, cxx, cyy, cxy,
                         mx_b, my_b, cxx_b, cyy_b, cxy_b):  # pragma: no cover - compiled
    """Chan's merge of the co-moments of ``n_b`` frames into those of ``n_a``
    in place, in one pass; the same operations in the same order as
    ``correlation.LocalCorrAccumulator._merge_moments``'s numpy path (no
    fastmath), hence the same bits."""
    n = n_a + n_b
    weight = n_a * n_b / n
    fraction = n_b / n
    for j in range(mean_x.size):
        dx = mx_b[j] - mean_x[j]
        dy = my_b[j] - mean_y[j]
        cxx[j] = (cxx[j] + cxx_b[j]) + dx * dx * weight
        cyy[j] = (cyy[j] + cyy_b[j]) + dy * dy * weight
        cxy[j] = (cxy[j] + cxy_b[j]) + dx * dy * weight
        mean_x[j] = mean_x[j] + dx * fraction
        mean_y[j] = mean_y[j] + dy * fraction


@numba.njit(cache=True, nogil=True)
def _reflect(i, length):  # pragma: no cover - compiled
    """scipy 'reflect' index (``d c b a | a b c d | d c b a``)."""
    i %= 2 * length
    return i if i < length else 2 * length - 1 - i

@numba.njit(cache=True, nogil=True)
def box_sum_2d(frames, n, out):  # pragma: no cover - compiled
    """Sum over the centred ``(2n+1)**2`` box of every pixel of 2-D frames.

    ``frames`` is ``(m, h, w)``; ``out`` ``(m, h, w)`` is of the work dtype
    (see ``correlation._box_work_dtype``). Boundary 'reflect' as scipy. Row by
    row: the ``2n + 1`` rows around it added along y into one row of the work
    dtype, padded with its reflected ends, then its ``2n + 1`` shifted copies
    added along x; the terms are added in the same order as
    ``correlation.box_sum``, so the results are the same bits. The row stays
    in the first-level cache and the border columns are the padding: both
    loops are plain vectorised adds. The 5x5 box (``n == 2``) adds its five
    terms in one statement (same order, fewer loads and stores).
    """
    m, h, w = frames.shape
    width = 2 * n + 1
    row = np.empty(w + 2 * n, out.dtype)
    inner = row[n:n + w]
    for f in range(m):
        src = frames[f]
        dst = out[f]
        for r in range(h):
            # along y, in the work dtype (the first term converted, then added to)
            first = src[_reflect(r - n, h)]
            if n == 2:
                t1 = src[_reflect(r - 1, h)]
                t2 = src[r]
                t3 = src[_reflect(r + 1, h)]
                t4 = src[_reflect(r + 2, h)]
                for c in range(w):
                    inner[c] = first[c]
                    inner[c] = (((inner[c] + t1[c]) + t2[c]) + t3[c]) + t4[c]
            else:
                for c in range(w):
                    inner[c] = first[c]
                for d in range(1, width):
                    other = src[_reflect(r - n + d, h)]
                    for c in range(w):
                        inner[c] += other[c]
            # the reflected columns: row[j] is column j - n
            for j in range(n):
                row[j] = inner[_reflect(j - n, w)]
                row[n + w + j] = inner[_reflect(w + j, w)]
            # along x
            line = dst[r]
            if n == 2:
                s0 = row[0:w]
                s1 = row[1:1 + w]
                s2 = row[2:2 + w]
                s3 = row[3:3 + w]
                s4 = row[4:4 + w]
                for c in range(w):
                    line[c] = (((s0[c] + s1[c]) + s2[c]) + s3[c]) + s4[c]
                continue
            for c in range(w):
                line[c] = row[c]
            for d in range(1, width):
                shifted = row[d:d + w]
                for c in range(w):
                    line[c] += shifted[c]


# ----------------------------------------------------------------------
# per-frame filters (2-D frames), the same arithmetic as scipy.ndimage
# ----------------------------------------------------------------------
# scipy.ndimage filters a 2-D frame one axis after the other (axis 0 first),
# each 1-D pass reading its input as float64 and writing into the output
# array (so between the passes values are cast to the output dtype). The
# loops below do the same floating-point operations in the same order for
# every pixel, but vectorised across pixels: along axis 0 a pass works on
# whole rows, along axis 1 on a reflect-padded copy of a row. Casts to
# integer dtypes truncate toward zero through int64 (what C's cast does for
# values in range; out-of-range unsigned values wrap as on x86).


@numba.njit(cache=True, nogil=True)
def _store_row(src, dst, to_int):  # pragma: no cover - compiled
    """``dst[:] = src`` (float64 row) with scipy's cast into ``dst``'s dtype."""
    if to_int:
        for c in range(src.size):
            dst[c] = np.int64(src[c])
    else:
        for c in range(src.size):
            dst[c] = src[c]


@numba.njit(cache=True, nogil=True)
def _pad_row(row, n_before, n_after, buf):  # pragma: no cover - compiled
    """``buf = row`` (cast to ``buf``'s dtype) with ``n_before``/``n_after``
    reflected values."""
    w = row.size
    for c in range(w):
        buf[n_before + c] = row[c]
    for c in range(n_before):
        buf[c] = row[_reflect(c - n_before, w)]
    for c in range(n_after):
        buf[n_before + w + c] = row[_reflect(w + c, w)]


@numba.njit(cache=True, nogil=True)
def _correlate_rows(src, dst, weights, sign, to_int, acc):  # pragma: no cover - compiled
    """Symmetric (``sign`` 1) or antisymmetric (-1) 1-D correlation of the 2-D
    ``src`` along axis 0 into ``dst``: per pixel ``x[0] * w[0]`` then
    ``+ (x[-j] +/- x[+j]) * w[-j]`` for ``j = n .. 1`` (scipy's order)."""
    h, w = src.shape
    n = weights.size // 2
    w0 = weights[n]
    for r in range(h):
        centre = src[r]
        for c in range(w):
            acc[c] = np.float64(centre[c]) * w0
        for j in range(n, 0, -1):
            before = src[_reflect(r - j, h)]
            after = src[_reflect(r + j, h)]
            wj = weights[n - j]
            if sign > 0:
                for c in range(w):
                    acc[c] += (np.float64(before[c]) + np.float64(after[c])) * wj
            else:
                for c in range(w):
                    acc[c] += (np.float64(before[c]) - np.float64(after[c])) * wj
        _store_row(acc, dst[r], to_int)


@numba.njit(cache=True, nogil=True)
def _correlate_cols(src, dst, weights, sign, to_int, acc, buf):  # pragma: no cover - compiled
    """As :func:`_correlate_rows`, along axis 1 (each row padded once)."""
    h, w = src.shape
    n = weights.size // 2
    w0 = weights[n]
    for r in range(h):
        _pad_row(src[r], n, n, buf)
        centre = buf[n:n + w]
        for c in range(w):
            acc[c] = centre[c] * w0
        for j in range(n, 0, -1):
            before = buf[n - j:n - j + w]
            after = buf[n + j:n + j + w]
            wj = weights[n - j]
            if sign > 0:
                for c in range(w):
                    acc[c] += (before[c] + after[c]) * wj
            else:
                for c in range(w):
                    acc[c] += (before[c] - after[c]) * wj
        _store_row(acc, dst[r], to_int)


@numba.njit(cache=True, nogil=True)
def correlate_frames(block, out, w_rows, sign_rows, w_cols, sign_cols, to_int):  # pragma: no cover
    """Separable (anti)symmetric correlation of every 2-D frame of ``block``
    into ``out`` (same dtype): axis 0 with ``w_rows`` (skipped when empty),
    result cast to ``out``'s dtype, then axis 1 with ``w_cols`` (skipped when
    empty), as ``scipy.ndimage.correlate1d`` twice."""
    m, h, w = block.shape
    acc = np.empty(w)
    buf = np.empty(w + w_cols.size + 1)
    for f in range(m):
        if w_rows.size:
            _correlate_rows(block[f], out[f], w_rows, sign_rows, to_int, acc)
            if w_cols.size:
                _correlate_cols(out[f], out[f], w_cols, sign_cols, to_int, acc, buf)
        elif w_cols.size:
            _correlate_cols(block[f], out[f], w_cols, sign_cols, to_int, acc, buf)
        else:
            out[f] = block[f]


@numba.njit(cache=True, nogil=True)
def _uniform_rows(src, dst, size, to_int, acc, mean):  # pragma: no cover - compiled
    """scipy's running box filter of width ``size`` along axis 0, all columns
    at once: the window sum of the first ``size`` (padded) values, then
    ``+= entering - leaving``, each output the running sum divided by ``size``."""
    h, w = src.shape
    before = size // 2
    for c in range(w):
        acc[c] = 0.0
    for i in range(size):
        row = src[_reflect(i - before, h)]
        for c in range(w):
            acc[c] += np.float64(row[c])
    for c in range(w):
        mean[c] = acc[c] / size
    _store_row(mean, dst[0], to_int)
    for r in range(1, h):
        leaving = src[_reflect(r - 1 - before, h)]
        entering = src[_reflect(r - 1 - before + size, h)]
        for c in range(w):
            acc[c] += np.float64(entering[c]) - np.float64(leaving[c])
            mean[c] = acc[c] / size
        _store_row(mean, dst[r], to_int)


@numba.njit(cache=True, nogil=True)
def _uniform_cols(src, dst, size, to_int, acc, buf, step):  # pragma: no cover - compiled
    """As :func:`_uniform_rows`, along axis 1: the increments of padded rows
    are computed vectorised, the running sums in sequence (four rows at a
    time: four independent chains of additions), the division vectorised.
    ``acc``, ``buf`` and ``step`` are ``(4, ...)`` scratch arrays."""
    h, w = src.shape
    before = size // 2
    after = size - before - 1
    for r0 in range(0, h, 4):
        rows = min(4, h - r0)
        for q in range(rows):
            line = buf[q]
            _pad_row(src[r0 + q], before, after, line)
            inc = step[q]
            for c in range(w - 1):
                inc[c] = line[c + size] - line[c]
            t = 0.0
            for i in range(size):
                t += line[i]
            acc[q, 0] = t
        if rows == 4:
            t0, t1, t2, t3 = acc[0, 0], acc[1, 0], acc[2, 0], acc[3, 0]
            i0, i1, i2, i3 = step[0], step[1], step[2], step[3]
            a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
            for c in range(1, w):
                t0 += i0[c - 1]
                t1 += i1[c - 1]
                t2 += i2[c - 1]
                t3 += i3[c - 1]
                a0[c] = t0
                a1[c] = t1
                a2[c] = t2
                a3[c] = t3
        else:
            for q in range(rows):
                t = acc[q, 0]
                inc = step[q]
                out = acc[q]
                for c in range(1, w):
                    t += inc[c - 1]
                    out[c] = t
        for q in range(rows):
            out = acc[q]
            for c in range(w):
                out[c] /= size
            _store_row(out, dst[r0 + q], to_int)


@numba.njit(cache=True, nogil=True)
def uniform_frames(block, out, size_rows, size_cols, to_int):  # pragma: no cover - compiled
    """Box (mean) filter of every 2-D frame as ``scipy.ndimage.uniform_filter``
    (a width of 1 skips that axis)."""
    m, h, w = block.shape
    acc = np.empty((4, w))
    buf = np.empty((4, w + size_cols))
    step = np.empty((4, w))
    for f in range(m):
        if size_rows > 1:
            _uniform_rows(block[f], out[f], size_rows, to_int, acc[0], step[0])
            if size_cols > 1:
                _uniform_cols(out[f], out[f], size_cols, to_int, acc, buf, step)
        elif size_cols > 1:
            _uniform_cols(block[f], out[f], size_cols, to_int, acc, buf, step)
        else:
            out[f] = block[f]


@numba.njit(cache=True, nogil=True)
def median3_frames(block, out):  # pragma: no cover - compiled
    """3x3 median (reflect borders) of every 2-D frame of integers.

    Each column of three rows is sorted (``lo <= mid <= hi``); the median of
    the nine values is then the median of (the largest of the three ``lo``,
    the median of the three ``mid``, the smallest of the three ``hi``). Only
    comparisons: the result is one of the input values, as scipy's.
    """
    m, h, w = block.shape
    a = np.empty(w + 2, block.dtype)
    b = np.empty(w + 2, block.dtype)
    c = np.empty(w + 2, block.dtype)
    lo = np.empty(w + 2, block.dtype)
    mid = np.empty(w + 2, block.dtype)
    hi = np.empty(w + 2, block.dtype)
    for f in range(m):
        src = block[f]
        dst = out[f]
        for r in range(h):
            _pad_row(src[_reflect(r - 1, h)], 1, 1, a)
            _pad_row(src[r], 1, 1, b)
            _pad_row(src[_reflect(r + 1, h)], 1, 1, c)
            for x in range(w + 2):
                p, q, s = a[x], b[x], c[x]
                t = min(p, q)
                q = max(p, q)
                p = t
                t = min(q, s)
                s = max(q, s)
                q = t
                t = min(p, q)
                q = max(p, q)
                p = t
                lo[x] = p
                mid[x] = q
                hi[x] = s
            row = dst[r]
            for x in range(w):
                u = max(max(lo[x], lo[x + 1]), lo[x + 2])
                v = min(min(hi[x], hi[x + 1]), hi[x + 2])
                p, q, s = mid[x], mid[x + 1], mid[x + 2]
                med = max(min(p, q), min(max(p, q), s))
                # median of (u, med, v)
                row[x] = max(min(u, med), min(max(u, med), v))


@numba.njit(cache=True, nogil=True)
def median2_frames(block, out):  # pragma: no cover - compiled
    """2x2 median of every 2-D frame of integers, scipy's rank 2 of the four
    values of rows ``r-1, r`` and columns ``x-1, x`` (reflect borders): the
    second largest, ``max(min(hi), max(lo))`` of the two sorted columns."""
    m, h, w = block.shape
    a = np.empty(w + 1, block.dtype)
    b = np.empty(w + 1, block.dtype)
    lo = np.empty(w + 1, block.dtype)
    hi = np.empty(w + 1, block.dtype)
    for f in range(m):
        src = block[f]
        dst = out[f]
        for r in range(h):
            _pad_row(src[_reflect(r - 1, h)], 1, 0, a)
            _pad_row(src[r], 1, 0, b)
            for x in range(w + 1):
                lo[x] = min(a[x], b[x])
                hi[x] = max(a[x], b[x])
            row = dst[r]
            for x in range(w):
                row[x] = max(min(hi[x], hi[x + 1]), max(lo[x], lo[x + 1]))


# ----------------------------------------------------------------------
# exact integer moments, cache-blocked
# ----------------------------------------------------------------------
#: pixels per tile of the integer moment loops: the tile's sums (4 + 8 bytes
#: a pixel, 768 KiB) stay in the L2 cache while every frame of the block
#: streams through (128 KiB runs of each frame: long enough for the hardware
#: prefetchers), so memory traffic is the input alone
MOMENT_TILE = 65536


@numba.njit(cache=True, nogil=True)
def integer_moments(flat, s1, s2, squares):  # pragma: no cover - compiled
    """``s1 += flat.sum(0)`` and, if ``squares``, ``s2 += (flat**2).sum(0)``
    for 8/16-bit integers ``flat`` (k, p), signed or unsigned, exactly (see
    :func:`_integer_moments`); one compiled body per value of ``squares``."""
    if squares:
        _integer_moments(flat, s1, s2, True)
    else:
        _integer_moments(flat, s1, s2, False)


@numba.njit(cache=True, nogil=True, inline="always")
def _integer_moments(flat, s1, s2, squares):  # pragma: no cover - compiled
    """The loop of :func:`integer_moments`, inlined with ``squares`` a
    constant (so its branches fold away).

    ``s1`` is int32 (the caller bounds the frames added between two flushes
    to int64, see ``block_moments.partial_frame_limit``), ``s2`` int64. Per tile
    of ``MOMENT_TILE`` pixels, four frames at a time: each value widened to
    int32 (sign- or zero-extended, whatever the input's signedness), four
    added, then added to the tile of ``s1``; squares in int64. Integer adds
    in any order give the same bits.
    """
    k, p = flat.shape
    for j0 in range(0, p, MOMENT_TILE):
        w = min(MOMENT_TILE, p - j0)
        a1 = s1[j0:j0 + w]
        a2 = s2[j0:j0 + w]
        i = 0
        while i + 4 <= k:
            r0 = flat[i, j0:j0 + w]
            r1 = flat[i + 1, j0:j0 + w]
            r2 = flat[i + 2, j0:j0 + w]
            r3 = flat[i + 3, j0:j0 + w]
            if squares:
                for j in range(w):
                    x0 = np.int64(r0[j])
                    x1 = np.int64(r1[j])
                    x2 = np.int64(r2[j])
                    x3 = np.int64(r3[j])
                    a2[j] += (x0 * x0 + x1 * x1) + (x2 * x2 + x3 * x3)
                    a1[j] += np.int32((x0 + x1) + (x2 + x3))
            else:
                for j in range(w):
                    a1[j] += (np.int32(r0[j]) + np.int32(r1[j])) + (np.int32(r2[j]) + np.int32(r3[j]))
            i += 4
        while i < k:
            row = flat[i, j0:j0 + w]
            if squares:
                for j in range(w):
                    x = np.int64(row[j])
                    a1[j] += np.int32(x)
                    a2[j] += x * x
            else:
                for j in range(w):
                    a1[j] += np.int32(row[j])
            i += 1


@numba.njit(cache=True, nogil=True)
def min_max(flat, low, high, do_low, do_high, first):  # pragma: no cover - compiled
    """Running ``low = minimum(low, flat.min(0))`` and ``high = maximum(...)``
    per tile of ``MOMENT_TILE`` pixels (``first``: start from ``flat[0]``).
    For integer ``flat`` only (no NaN rules to follow)."""
    k, p = flat.shape
    for j0 in range(0, p, MOMENT_TILE):
        w = min(MOMENT_TILE, p - j0)
        lo = low[j0:j0 + w]
        hi = high[j0:j0 + w]
        start = 0
        if first:
            row = flat[0, j0:j0 + w]
            for j in range(w):
                lo[j] = row[j]
                hi[j] = row[j]
            start = 1
        i = start
        while i + 2 <= k:
            r0 = flat[i, j0:j0 + w]
            r1 = flat[i + 1, j0:j0 + w]
            if do_low:
                for j in range(w):
                    lo[j] = min(lo[j], min(r0[j], r1[j]))
            if do_high:
                for j in range(w):
                    hi[j] = max(hi[j], max(r0[j], r1[j]))
            i += 2
        while i < k:
            row = flat[i, j0:j0 + w]
            for j in range(w):
                lo[j] = min(lo[j], row[j])
                hi[j] = max(hi[j], row[j])
            i += 1


@numba.njit(cache=True, nogil=True)
def exact_variance(n, s1, s2, out, root):  # pragma: no cover - compiled
    """``out = ((n*S2 - S1**2) / n) / n`` per pixel (the numpy path's
    operations: an exact int64, then two float64 divisions), clipped at 0;
    its square root if ``root``. One pass, no temporaries."""
    for j in range(out.size):
        v = np.float64(s2[j] * n - s1[j] * s1[j]) / n / n
        if v < 0.0:
            v = 0.0
        out[j] = np.sqrt(v) if root else v
