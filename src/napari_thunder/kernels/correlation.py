"""Local correlation as a mergeable accumulator (spec section 4, decision 1).

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

from .validation import check_neighborhood

__all__ = ["LocalCorrAccumulator", "neighborhood_mean"]

# float64 budget for the blurred frames of one sub-block
_SUBBLOCK_BYTES = 8 * 2**20
# pixels per tile when forming the co-moments (cache-sized work buffers)
_TILE_PIXELS = 4096


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
        self.neighborhood = check_neighborhood(neighborhood)
        self.count = 0
        self.mean_x = None
        self.mean_y = None
        self.cxx = None
        self.cyy = None
        self.cxy = None

    def empty(self) -> "LocalCorrAccumulator":
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

    def add(self, block, start=0) -> "LocalCorrAccumulator":
        """Fold a block of frames ``(k,) + value_shape`` in; returns self."""
        block = np.asarray(block)
        if block.shape[1:] != self.value_shape:
            raise ValueError(
                f"block must have shape (k,) + {self.value_shape}, got {block.shape}"
            )
        k = block.shape[0]
        if k == 0:
            return self
        p = int(np.prod(self.value_shape))
        sub = max(1, min(k, _SUBBLOCK_BYTES // max(8 * p, 1)))
        blurred = np.empty((sub,) + self.value_shape, dtype=np.float64)
        flat_blurred = blurred.reshape(sub, p)
        flat = block.reshape(k, p)
        tile_pixels = min(_TILE_PIXELS, p)
        xbuf = np.empty((sub, tile_pixels), dtype=np.float64)
        mx = np.empty(p)
        my = np.empty(p)
        cxx = np.empty(p)
        cyy = np.empty(p)
        cxy = np.empty(p)
        for i0 in range(0, k, sub):
            i1 = min(i0 + sub, k)
            m = i1 - i0
            for i in range(m):
                neighborhood_mean(block[i0 + i], self.neighborhood, out=blurred[i])
            for j0 in range(0, p, tile_pixels):
                j1 = min(j0 + tile_pixels, p)
                x = xbuf[:m, : j1 - j0]
                np.copyto(x, flat[i0:i1, j0:j1], casting="unsafe")
                y = flat_blurred[:m, j0:j1]
                tx = np.add.reduce(x, axis=0)
                tx /= m
                ty = np.add.reduce(y, axis=0)
                ty /= m
                x -= tx
                y -= ty
                mx[j0:j1] = tx
                my[j0:j1] = ty
                cxx[j0:j1] = np.einsum("ij,ij->j", x, x)
                cyy[j0:j1] = np.einsum("ij,ij->j", y, y)
                cxy[j0:j1] = np.einsum("ij,ij->j", x, y)
            self._merge_moments(m, mx, my, cxx, cyy, cxy)
        return self

    def merge(self, other: "LocalCorrAccumulator") -> "LocalCorrAccumulator":
        """Combine ``other`` (frames disjoint from ours) into self; returns self."""
        if not isinstance(other, LocalCorrAccumulator):
            raise TypeError(f"can only merge a LocalCorrAccumulator, got {type(other).__name__}")
        if (other.value_shape, other.neighborhood) != (self.value_shape, self.neighborhood):
            raise ValueError("cannot merge accumulators of different value_shape or neighborhood")
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
