"""Optional compiled loops (numba) for the hottest kernels.

Imported lazily by :mod:`napari_thunder.kernels.moments` when numba is
installed; every function here has a numpy equivalent there giving the same
bits. Functions are compiled on first use for each argument type and cached
on disk (``cache=True``), so later processes only load them; they release
the GIL (``nogil=True``), so the engine's threads run them in parallel.
"""

from __future__ import annotations

import numba
import numpy as np

#: frames folded per pass over the accumulators (they are read and written
#: once per pass, so folding 8 frames at a time cuts that traffic 8-fold:
#: ~4x faster on 512x512 frames); integer adds are exact in any order
_UNROLL = 8


@numba.njit(cache=True, nogil=True)
def int_sums(flat, s1):  # pragma: no cover - compiled
    """``s1 += flat.sum(axis=0)`` for integer ``flat`` (k, p), ``s1`` int64."""
    k, p = flat.shape
    i = 0
    while i + _UNROLL <= k:
        r0, r1, r2, r3 = flat[i], flat[i + 1], flat[i + 2], flat[i + 3]
        r4, r5, r6, r7 = flat[i + 4], flat[i + 5], flat[i + 6], flat[i + 7]
        for j in range(p):
            s1[j] += ((np.int64(r0[j]) + np.int64(r1[j])) + (np.int64(r2[j]) + np.int64(r3[j]))) \
                + ((np.int64(r4[j]) + np.int64(r5[j])) + (np.int64(r6[j]) + np.int64(r7[j])))
        i += _UNROLL
    while i < k:
        row = flat[i]
        for j in range(p):
            s1[j] += np.int64(row[j])
        i += 1


@numba.njit(cache=True, nogil=True)
def int_group_moments(flat, mean, m2):  # pragma: no cover - compiled
    """Mean and M2 over axis 0 of integer ``flat`` (k, p) into float64 arrays.

    Sums are exact in int64; ``M2 = (k*S2 - S1**2) / k`` is an exact integer
    divided once, so the caller must keep ``k * S2`` below 2**53 (k <= 1024
    frames of 16-bit data) for it to convert to float64 exactly. ``mean`` and
    ``m2`` (contiguous) double as the int64 sums while folding: no temporary
    arrays, whose first touch (page faults) cost as much as the sums.
    """
    k, p = flat.shape
    s1 = mean.view(np.int64)
    s2 = m2.view(np.int64)
    s1[:] = 0
    s2[:] = 0
    i = 0
    while i + _UNROLL <= k:
        r0, r1, r2, r3 = flat[i], flat[i + 1], flat[i + 2], flat[i + 3]
        r4, r5, r6, r7 = flat[i + 4], flat[i + 5], flat[i + 6], flat[i + 7]
        for j in range(p):
            x0, x1, x2, x3 = np.int64(r0[j]), np.int64(r1[j]), np.int64(r2[j]), np.int64(r3[j])
            x4, x5, x6, x7 = np.int64(r4[j]), np.int64(r5[j]), np.int64(r6[j]), np.int64(r7[j])
            s1[j] += ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7))
            s2[j] += ((x0 * x0 + x1 * x1) + (x2 * x2 + x3 * x3)) \
                + ((x4 * x4 + x5 * x5) + (x6 * x6 + x7 * x7))
        i += _UNROLL
    while i < k:
        row = flat[i]
        for j in range(p):
            x = np.int64(row[j])
            s1[j] += x
            s2[j] += x * x
        i += 1
    for j in range(p):
        a = s1[j]
        b = s2[j]
        mean[j] = a / k
        m2[j] = (b * k - a * a) / k


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def comoments_merge(x, y, count, mean_x, mean_y, cxx, cyy, cxy):  # pragma: no cover - compiled
    """Fold ``m`` frames of two series into running co-moments, in place.

    ``x`` and ``y`` are C-contiguous ``(m, p)`` (any real dtypes); ``count``
    frames are already in the float64 ``(p,)`` arrays ``mean_x, mean_y``
    (means) and ``cxx, cyy, cxy`` (co-moments). Per tile of pixels: the
    block's means (pass 1), its centred co-moments (pass 2, no
    cancellation), then Chan's merge with the running values; every pass
    works on a cache-sized tile, through 1-D contiguous views (vectorised).
    Only fused multiply-adds are allowed (``fastmath={'contract'}``): no
    reassociation, NaN and infinities propagate as in numpy.
    """
    m, p = x.shape
    xf = x.reshape(m * p)
    yf = y.reshape(m * p)
    tile = 1024
    sx = np.empty(tile)
    sy = np.empty(tile)
    axx = np.empty(tile)
    ayy = np.empty(tile)
    axy = np.empty(tile)
    n = count + m
    weight = count * m / n
    fraction = m / n
    for j0 in range(0, p, tile):
        w = min(tile, p - j0)
        sx[:] = 0.0
        sy[:] = 0.0
        axx[:] = 0.0
        ayy[:] = 0.0
        axy[:] = 0.0
        for i in range(m):
            xr = xf[i * p + j0:i * p + j0 + w]
            yr = yf[i * p + j0:i * p + j0 + w]
            for j in range(w):
                sx[j] += xr[j]
                sy[j] += yr[j]
        for j in range(w):
            sx[j] /= m
            sy[j] /= m
        for i in range(m):
            xr = xf[i * p + j0:i * p + j0 + w]
            yr = yf[i * p + j0:i * p + j0 + w]
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
    ``moments._chan_merge`` (no fastmath), hence the same bits."""
    n = n_a + n_b
    weight = n_a * n_b / n
    fraction = n_b / n
    for j in range(mean_a.size):
        delta = mean_b[j] - mean_a[j]
        m2_a[j] = (m2_a[j] + m2_b[j]) + (delta * delta) * weight
        mean_a[j] = mean_a[j] + delta * fraction


@numba.njit(cache=True, nogil=True)
def _reflect(i, length):  # pragma: no cover - compiled
    """scipy 'reflect' index (``d c b a | a b c d | d c b a``)."""
    i %= 2 * length
    return i if i < length else 2 * length - 1 - i

@numba.njit(cache=True, nogil=True)
def box_sum_2d(frames, n, tmp, out):  # pragma: no cover - compiled
    """Sum over the centred ``(2n+1)**2`` box of every pixel of 2-D frames.

    ``frames`` is ``(m, h, w)``; ``out`` ``(m, h, w)`` and ``tmp`` ``(h, w)``
    are of the work dtype (see ``correlation._box_work_dtype``). Boundary
    'reflect' as scipy. Per frame (in cache): whole rows added along y, then
    shifted adds along x; the terms are added in the same order as
    ``correlation.box_sum``, so the results are the same bits. Loops index
    with plain range variables on sliced views (no negative-index checks),
    so they vectorise.
    """
    m, h, w = frames.shape
    width = 2 * n + 1
    for f in range(m):
        src = frames[f]
        # along y: whole rows (contiguous, vectorised)
        for r in range(h):
            target = tmp[r]
            first = src[_reflect(r - n, h)]
            for c in range(w):
                target[c] = first[c]
            for d in range(1, width):
                other = src[_reflect(r - n + d, h)]
                for c in range(w):
                    target[c] += other[c]
        # along x
        dst = out[f]
        for r in range(h):
            line = tmp[r]
            acc = dst[r]
            if w > 2 * n:
                inner = acc[n:w - n]
                span = w - 2 * n
                first = line[0:span]
                for c in range(span):
                    inner[c] = first[c]
                for d in range(1, width):
                    shifted = line[d:d + span]
                    for c in range(span):
                        inner[c] += shifted[c]
                for c in range(n):
                    s = line[_reflect(c - n, w)]
                    for d in range(1, width):
                        s += line[_reflect(c - n + d, w)]
                    acc[c] = s
                for c in range(w - n, w):
                    s = line[_reflect(c - n, w)]
                    for d in range(1, width):
                        s += line[_reflect(c - n + d, w)]
                    acc[c] = s
            else:
                for c in range(w):
                    s = line[_reflect(c - n, w)]
                    for d in range(1, width):
                        s += line[_reflect(c - n + d, w)]
                    acc[c] = s
