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


@numba.njit(cache=True, nogil=True)
def int_sums(flat, s1):  # pragma: no cover - compiled
    """``s1 += flat.sum(axis=0)`` for integer ``flat`` (k, p), ``s1`` int64."""
    k, p = flat.shape
    for i in range(k):
        for j in range(p):
            s1[j] += np.int64(flat[i, j])


@numba.njit(cache=True, nogil=True)
def int_group_moments(flat, mean, m2):  # pragma: no cover - compiled
    """Mean and M2 over axis 0 of integer ``flat`` (k, p) into float64 arrays.

    Sums are exact in int64; ``M2 = (k*S2 - S1**2) / k`` is an exact integer
    divided once, so the caller must keep ``k * S2`` below 2**53 (k <= 1024
    frames of 16-bit data) for it to convert to float64 exactly.
    """
    k, p = flat.shape
    s1 = np.zeros(p, dtype=np.int64)
    s2 = np.zeros(p, dtype=np.int64)
    for i in range(k):
        for j in range(p):
            x = np.int64(flat[i, j])
            s1[j] += x
            s2[j] += x * x
    for j in range(p):
        mean[j] = s1[j] / k
        m2[j] = (s2[j] * k - s1[j] * s1[j]) / k
