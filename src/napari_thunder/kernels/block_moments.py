"""Moments of one block of frames: the per-block arithmetic behind
:class:`~napari_thunder.kernels.moments.MomentAccumulator`.

Exact integer sums for integers of at most 16 bits and bools (``S1 = sum(x)``
and ``S2 = sum(x**2)`` in int64, from compiled cache-blocked loops in
:mod:`._jit` when numba is installed and the block is large enough, else from
numpy in float tiles whose partial sums stay exact integers); float64 mean and
``M2`` of other dtypes tile by tile, each tile centred on its own mean; and
Chan et al.'s merge of two sets of moments. Every function here works on one
flattened block ``(frames, pixels)`` and keeps no state between calls, except
the cached compiled-loops module (``JIT_STATE``).
"""

from __future__ import annotations

import os

import numpy as np

# tile geometry: frames x pixels per float64 work buffer (32 x 4096 x 8 B = 1 MiB)
TILE_FRAMES = 32
TILE_PIXELS = 4096
# frames per float32 partial sum of <=16-bit integers (256 * 65535 < 2**24: exact)
_SMALL_INT_FRAMES = 256
# frames per exact-integer group (k * S2 and S1**2 stay below 2**53 for 16-bit data)
_EXACT_GROUP = 1024


#: blocks with fewer values never use the compiled loops: loading numba (about
#: 0.2 s once per process) would cost more than it saves
JIT_MIN_VALUES = 2**20
#: integer dtypes the compiled loops handle (exact int64 sums of x and x**2)
_JIT_DTYPES = frozenset(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16))
#: dtypes whose sums of squares :mod:`._simd_moments` takes
_SIMD_DTYPES = frozenset(np.dtype(t) for t in (np.int16, np.uint16))
JIT_STATE = {}


def jit_loops(flat: np.ndarray):
    """The compiled loops module (:mod:`._jit`) for this block, or None.

    None when numba is not installed, when ``NAPARI_THUNDER_NO_JIT`` is set,
    for dtypes other than 8/16-bit integers and for small blocks. The
    compiled and the numpy paths give the same bits (exact integer sums).
    """
    if flat.dtype not in _JIT_DTYPES or flat.size < JIT_MIN_VALUES:
        return None
    return jit_module()


def jit_module():
    """:mod:`._jit` (imported once), or None without numba or with
    ``NAPARI_THUNDER_NO_JIT`` set."""
    if "module" not in JIT_STATE:
        module = None
        if not os.environ.get("NAPARI_THUNDER_NO_JIT"):
            try:
                from napari_thunder.kernels import _jit as module
            except Exception:  # numba missing or broken: numpy path
                module = None
        JIT_STATE["module"] = module
    return JIT_STATE["module"]


def simd_module():
    """:mod:`._simd_moments` when it runs here (numba, an x86-64 processor
    with AVX2, ``NAPARI_THUNDER_NO_SIMD`` unset), else None."""
    if "simd" not in JIT_STATE:
        module = None
        if jit_module() is not None and not os.environ.get("NAPARI_THUNDER_NO_SIMD"):
            try:
                from napari_thunder.kernels import _simd_moments as module

                if not module.available():
                    module = None
            except Exception:  # llvmlite without the pieces used: the _jit loop
                module = None
        JIT_STATE["simd"] = module
    return JIT_STATE["simd"]


def simd_squares(flat: np.ndarray):
    """:func:`simd_module` for a block whose sums of squares it can take
    (16-bit integers, at least 16 pixels, rows of contiguous values)."""
    if flat.dtype not in _SIMD_DTYPES or flat.shape[1] < 16 or flat.strides[1] != flat.itemsize:
        return None
    return simd_module()


def simd_sums(flat: np.ndarray):
    """:func:`simd_module` for a block whose plain sums it can take (8/16-bit
    integers, at least 32 pixels, rows of contiguous values)."""
    if flat.dtype not in _JIT_DTYPES or flat.shape[1] < 32 or flat.strides[1] != flat.itemsize:
        return None
    return simd_module()


def _small_integer_sums(flat: np.ndarray) -> np.ndarray:
    """Exact int64 ``flat.sum(axis=0)`` of <=16-bit integers or bools, numpy only.

    Tiles of ``_SMALL_INT_FRAMES`` frames are summed in float32 (every partial
    sum is an integer below 2**24, so exact, and float32 halves the work of a
    float64 conversion), then added to int64 totals.
    """
    k, p = flat.shape
    total = np.zeros(p, dtype=np.int64)
    tile_pixels = min(4 * TILE_PIXELS, p)
    buf = np.empty((min(_SMALL_INT_FRAMES, k), tile_pixels), dtype=np.float32)
    part = np.empty(tile_pixels, dtype=np.float32)
    for i0 in range(0, k, _SMALL_INT_FRAMES):
        i1 = min(i0 + _SMALL_INT_FRAMES, k)
        for j0 in range(0, p, tile_pixels):
            j1 = min(j0 + tile_pixels, p)
            tile = buf[: i1 - i0, : j1 - j0]
            np.copyto(tile, flat[i0:i1, j0:j1], casting="unsafe")
            out = part[: j1 - j0]
            np.add.reduce(tile, axis=0, out=out)
            np.add(total[j0:j1], out, out=total[j0:j1], casting="unsafe")
    return total


def _largest(dtype: np.dtype) -> int:
    """The largest ``|x|`` of an integer (or bool) dtype."""
    if dtype == np.bool_:
        return 1
    info = np.iinfo(dtype)
    return max(abs(int(info.min)), int(info.max))


def exact_group_limit(dtype: np.dtype) -> int:
    """Frames of one exact integer group: the int64 sum of squares ``S2``
    (at most ``n * max|x|**2``) stays below 2**63, and ``n < 2**31`` (the
    bound :func:`m2_numerator` needs). 2**31 - 1 frames for 16-bit data."""
    return max(1, min(2**31 - 1, (2**63 - 1) // _largest(dtype) ** 2))


def narrow_group_limit(dtype: np.dtype) -> int:
    """Frames whose ``n * S2`` and ``S1**2`` (at most ``n**2 * max|x|**2``)
    stay below 2**62, so ``n * S2 - S1**2`` is formed in int64 (32768 for
    16-bit data); past it :func:`m2_numerator` forms it in 32-bit limbs."""
    return max(1, int((2**31 - 1) // _largest(dtype)))


def partial_frame_limit(dtype: np.dtype) -> int:
    """Frames whose int32 sums cannot overflow: ``frames * max|x| < 2**31``
    (32768 for uint16, 65535 for int16)."""
    return int((2**31 - 1) // _largest(dtype))


#: stands for the sums of squares when the compiled loop is not asked for them
NO_SQUARES = np.zeros(0, dtype=np.int64)


def integer_block_sums(flat: np.ndarray, s1: np.ndarray, s2) -> None:
    """``s1 += flat.sum(0)`` and (``s2`` not None) ``s2 += (flat**2).sum(0)``,
    exactly, in int64, for <=16-bit integers or bools (as uint8), numpy only."""
    s1 += _small_integer_sums(flat)
    if s2 is None:
        return
    k, p = flat.shape
    buf = np.empty((min(TILE_FRAMES, k), min(TILE_PIXELS, p)), dtype=np.float64)
    part = np.empty(min(TILE_PIXELS, p), dtype=np.float64)
    # float64 sums of at most _EXACT_GROUP squares of 16-bit values are exact
    for g0 in range(0, k, _EXACT_GROUP):
        g1 = min(g0 + _EXACT_GROUP, k)
        for j0 in range(0, p, TILE_PIXELS):
            j1 = min(j0 + TILE_PIXELS, p)
            out = part[: j1 - j0]
            out.fill(0.0)
            for i0 in range(g0, g1, TILE_FRAMES):
                i1 = min(i0 + TILE_FRAMES, g1)
                tile = buf[: i1 - i0, : j1 - j0]
                np.copyto(tile, flat[i0:i1, j0:j1], casting="unsafe")
                out += np.einsum("ij,ij->j", tile, tile)
            s2[j0:j1] += out.astype(np.int64)


def m2_numerator(n: int, s1: np.ndarray, s2: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``n * S2 - S1**2`` of an exact integer group of ``n`` frames of
    ``dtype`` (int64 sums), as float64: the exact integer in int64 when ``n``
    is within :func:`narrow_group_limit` (rounded once); else exactly in
    base-2**32 limbs (up to 2**94: ``n < 2**31``, ``S2 < 2**63``) and then
    rounded, within 2 ulp of the exact value."""
    if n <= narrow_group_limit(dtype):
        numerator = s2 * n
        numerator -= s1 * s1
        return numerator.astype(np.float64)
    low32 = np.int64(0xFFFFFFFF)
    # n * S2 = (n * h) * 2**32 + n * l, S2 = h * 2**32 + l (h < 2**31, l < 2**32)
    a1 = (s2 >> 32) * n
    a0 = (s2 & low32) * n
    # S1**2 = u**2 * 2**64 + 2uv * 2**32 + v**2, |S1| = u * 2**32 + v (u < 2**16)
    t = np.abs(s1).astype(np.uint64)
    u, v = t >> np.uint64(32), t & np.uint64(0xFFFFFFFF)
    vv = v * v  # below 2**64: uint64
    uv2 = (u * v * np.uint64(2)).astype(np.int64)  # below 2**49
    vv_low = (vv & np.uint64(0xFFFFFFFF)).astype(np.int64)
    vv_high = (vv >> np.uint64(32)).astype(np.int64)
    # limbs of the difference (each below 2**35 in magnitude), then carried
    d0 = (a0 & low32) - vv_low
    d1 = (a0 >> 32) + (a1 & low32) - vv_high - (uv2 & low32)
    d2 = (a1 >> 32) - (uv2 >> 32) - (u * u).astype(np.int64)
    d1 += d0 >> 32  # arithmetic shifts: floor division by 2**32
    d0 &= low32
    d2 += d1 >> 32
    d1 &= low32
    return ((d2 << 32) + d1).astype(np.float64) * 2.0**32 + d0


def group_moments(n: int, s1: np.ndarray, s2: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Float64 mean and M2 of an exact integer group: ``M2 = (n*S2 - S1**2) / n``
    from the exact :func:`m2_numerator`."""
    return s1 / n, m2_numerator(n, s1, s2, dtype) / n


def numpy_result_dtype(dtype: np.dtype, stat: str) -> np.dtype:
    """dtype numpy gives for ``<stat>(axis=0)`` of an array of ``dtype``."""
    probe = np.zeros((1, 1), dtype=dtype)
    return getattr(probe, stat)(axis=0).dtype


def exact_integer_path(dtype: np.dtype) -> bool:
    """Integers of at most 16 bits and bools: exact tile sums of squares."""
    return dtype == np.bool_ or (np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2)


def chan_merge(n_a: int, mean_a: np.ndarray, m2_a, n_b: int, mean_b: np.ndarray, m2_b) -> None:
    """Merge moments ``(n_b, mean_b, m2_b)`` into ``(n_a, mean_a, m2_a)`` in place.

    ``m2_a``/``m2_b`` may be None (mean only). ``n_a`` must be > 0.
    """
    if m2_a is not None and mean_a.size >= JIT_MIN_VALUES // 4 and mean_a.ndim == 1:
        jit = jit_module()
        if jit is not None:
            jit.chan_merge(n_a, mean_a, m2_a, n_b, mean_b, m2_b)
            return
    n = n_a + n_b
    delta = np.subtract(mean_b, mean_a)
    if m2_a is not None:
        m2_a += m2_b
        # delta**2 * n_a * n_b / n, reusing the temporary
        scaled = delta * delta
        scaled *= n_a * n_b / n
        m2_a += scaled
    delta *= n_b / n
    mean_a += delta


def centered(source: np.ndarray, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(source - mean, mean)`` over axis 0, in float64, written into ``buf``."""
    if source.dtype == np.float64:
        mean = np.einsum("ij->j", source)
        mean /= source.shape[0]
        np.subtract(source, mean, out=buf)
    else:
        np.copyto(buf, source, casting="unsafe")
        mean = np.einsum("ij->j", buf)
        mean /= source.shape[0]
        buf -= mean
    return buf, mean


def tile_moments(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and M2 over axis 0 of ``flat`` (k, p) of floats (or >16-bit
    integers), tile by tile, float64.

    Groups of ``TILE_FRAMES`` frames; each tile of a group centred on its
    own mean (two passes), the groups merged with Chan's formulas. Bounded
    memory: one float64 buffer of ``TILE_FRAMES x TILE_PIXELS`` plus arrays
    of ``p``.
    """
    k, p = flat.shape
    buf = np.empty((min(TILE_FRAMES, k), min(TILE_PIXELS, p)), dtype=np.float64)
    count = 0
    # one allocation for both (numpy asks for transparent huge pages from
    # 4 MiB on: far fewer page faults than two separate 2 MiB arrays)
    mean, m2 = np.zeros((2, p), dtype=np.float64)
    g_mean = np.empty(p, dtype=np.float64)
    g_m2 = np.empty(p, dtype=np.float64)
    for g0 in range(0, k, TILE_FRAMES):
        g1 = min(g0 + TILE_FRAMES, k)
        g = g1 - g0
        for j0 in range(0, p, TILE_PIXELS):
            j1 = min(j0 + TILE_PIXELS, p)
            tile, t_mean = centered(flat[g0:g1, j0:j1], buf[:g, : j1 - j0])
            g_mean[j0:j1] = t_mean
            g_m2[j0:j1] = np.einsum("ij,ij->j", tile, tile)
        if count == 0:
            mean[:] = g_mean
            m2[:] = g_m2
        else:
            chan_merge(count, mean, m2, g, g_mean, g_m2)
        count += g
    return mean, m2
