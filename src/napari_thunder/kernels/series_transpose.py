"""Cache-blocked transpose of a frames x values matrix into records."""

from __future__ import annotations

import numpy as np

#: frames per tile of the blocked copy (rows of the source)
TILE_ROWS = 64
#: values per tile of the blocked copy (columns of the source)
TILE_COLUMNS = 1024


def transposed_columns(flat: np.ndarray, start: int, stop: int, out=None) -> np.ndarray:
    """``flat[:, start:stop].T`` as a new C-contiguous array.

    The copy walks the source in tiles of ``TILE_ROWS`` x ``TILE_COLUMNS`` so
    that the pages read stay in the caches and TLB (a plain strided copy of
    a large stack touches a new page for almost every value).

    Parameters
    ----------
    flat : ndarray
        2-D, ``(N, M)``; rows are frames.
    start, stop : int
        Column range.
    out : ndarray, optional
        C-contiguous ``(stop - start, N)`` destination of ``flat``'s dtype.

    Returns
    -------
    ndarray
        ``(stop - start, N)``.
    """
    n = flat.shape[0]
    width = max(0, stop - start)
    if out is None:
        out = np.empty((width, n), flat.dtype)
    for c0 in range(0, width, TILE_COLUMNS):
        c1 = min(width, c0 + TILE_COLUMNS)
        for r0 in range(0, n, TILE_ROWS):
            r1 = min(n, r0 + TILE_ROWS)
            out[c0:c1, r0:r1] = flat[r0:r1, start + c0:start + c1].T
    return out
