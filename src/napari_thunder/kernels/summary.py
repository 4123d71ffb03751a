"""Summary images of calcium-imaging movies, as mergeable accumulators.

* :class:`CorrelationImageAccumulator` - the correlation image: for every
  pixel, the mean of the Pearson correlations of its time series with those
  of its 4 or 8 neighbours (6 or 26 in volumes). Per pixel it keeps the
  count, mean and centred sum of squares, and per neighbour offset the
  centred co-moment with that neighbour, merged with Chan's formulas, so one
  streaming pass in any chunking gives the same image.
* :class:`PeakNoiseAccumulator` - the peak-to-noise ratio image: the largest
  excursion above the pixel's mean divided by its noise, the noise being the
  standard deviation of successive-frame differences over ``sqrt(2)`` (white
  noise estimate insensitive to slow changes). Differences across chunk
  boundaries are included: partial accumulators keep the frames at their
  open edges until the neighbouring chunk is merged.
* :func:`enhanced_mean` - the mean image high-pass filtered and normalised by
  its local contrast, as suite2p makes it.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["CorrelationImageAccumulator", "PeakNoiseAccumulator", "enhanced_mean", "neighbour_offsets"]

_SUBBLOCK_BYTES = 16 * 2**20


def neighbour_offsets(ndim: int, neighbours: int) -> list[tuple[int, ...]]:
    """Half of the neighbour offsets (one of each ``o, -o`` pair).

    Parameters
    ----------
    ndim : int
        2 or 3.
    neighbours : int
        4 or 8 for images, 6 or 26 for volumes.

    Returns
    -------
    list of tuple

    Raises
    ------
    ValueError
        A ``neighbours`` count that does not fit ``ndim``.
    """
    allowed = {2: (4, 8), 3: (6, 26)}.get(ndim, ())
    if neighbours not in allowed:
        raise ValueError(f"neighbours must be one of {allowed} for {ndim}-D images, got {neighbours!r}")
    out = []
    for o in itertools.product((-1, 0, 1), repeat=ndim):
        nonzero = [v for v in o if v]
        if not nonzero or nonzero[0] < 0:
            continue
        if neighbours in (4, 6) and len(nonzero) != 1:
            continue
        out.append(tuple(o))
    return out


def _pair_slices(shape, offset):
    """``(src, dst)``: pixels ``p`` whose neighbour ``p + offset`` is inside,
    and those neighbours."""
    src = tuple(slice(max(0, -o), n - max(0, o)) for n, o in zip(shape, offset))
    dst = tuple(slice(max(0, o), n + min(0, o)) for n, o in zip(shape, offset))
    return src, dst


def _sub_blocks(block):
    per = max(1, _SUBBLOCK_BYTES // max(1, int(np.prod(block.shape[1:])) * 8))
    for start in range(0, len(block), per):
        yield block[start:start + per]


class CorrelationImageAccumulator:
    """Streaming correlation image (mean correlation with the neighbours).

    Parameters
    ----------
    value_shape : tuple of int
        Frame shape (2-D or 3-D).
    neighbours : int
        4 or 8 (images), 6 or 26 (volumes).
    """

    def __init__(self, value_shape, neighbours=8):
        self.value_shape = tuple(int(s) for s in value_shape)
        self.neighbours = int(neighbours)
        self.offsets = neighbour_offsets(len(self.value_shape), self.neighbours)
        self.n = 0
        self.mean = np.zeros(self.value_shape)
        self.m2 = np.zeros(self.value_shape)
        self.co = [np.zeros(self._src_shape(o)) for o in self.offsets]

    def _src_shape(self, offset):
        src, _ = _pair_slices(self.value_shape, offset)
        return tuple(s.stop - s.start for s in src)

    def empty(self):
        return CorrelationImageAccumulator(self.value_shape, self.neighbours)

    def _fold(self, n, mean, m2, co):
        if n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.m2, self.co = n, mean, m2, co
            return
        total = self.n + n
        delta = mean - self.mean
        factor = self.n * n / total
        self.m2 = self.m2 + m2 + delta * delta * factor
        for k, offset in enumerate(self.offsets):
            src, dst = _pair_slices(self.value_shape, offset)
            self.co[k] = self.co[k] + co[k] + delta[src] * delta[dst] * factor
        self.mean = self.mean + delta * (n / total)
        self.n = total

    def add(self, block, start=0):
        block = np.asarray(block)
        for part in _sub_blocks(block):
            x = part.astype(np.float64)
            mean = x.mean(axis=0)
            x -= mean
            m2 = np.einsum("t...,t...->...", x, x) if x.ndim > 1 else (x * x).sum(0)
            co = []
            for offset in self.offsets:
                src, dst = _pair_slices(self.value_shape, offset)
                a = x[(slice(None),) + src]
                b = x[(slice(None),) + dst]
                co.append(np.einsum("t...,t...->...", a, b))
            self._fold(len(x), mean, m2, co)
        return self

    def merge(self, other):
        self._fold(other.n, other.mean, other.m2, other.co)
        return self

    def finalize(self) -> np.ndarray:
        """The correlation image, float64 of ``value_shape``.

        A pair with a constant series has no correlation and is left out of
        the pixel's mean; a pixel with no defined pair (e.g. constant) is NaN.
        """
        total = np.zeros(self.value_shape)
        count = np.zeros(self.value_shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            for k, offset in enumerate(self.offsets):
                src, dst = _pair_slices(self.value_shape, offset)
                denom = np.sqrt(self.m2[src] * self.m2[dst])
                r = np.where(denom > 0, self.co[k] / np.where(denom > 0, denom, 1), np.nan)
                ok = np.isfinite(r)
                r = np.where(ok, r, 0.0)
                total[src] += r
                total[dst] += r
                count[src] += ok
                count[dst] += ok
            return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


class PeakNoiseAccumulator:
    """Streaming peak-to-noise ratio image.

    ``pnr = (max_t x - mean_t x) / noise`` with ``noise = std(x[t+1] - x[t]) /
    sqrt(2)``, per pixel, after an optional per-frame Gaussian smoothing of
    ``sigma`` pixels (``0`` = none), as one-photon pipelines smooth first.

    Parameters
    ----------
    value_shape : tuple of int
    sigma : float
    """

    def __init__(self, value_shape, sigma=0.0):
        self.value_shape = tuple(int(s) for s in value_shape)
        self.sigma = float(sigma)
        self.n = 0
        self.mean = np.zeros(self.value_shape)
        self.max = np.full(self.value_shape, -np.inf)
        self.dn = 0
        self.dmean = np.zeros(self.value_shape)
        self.dm2 = np.zeros(self.value_shape)
        #: frame ``t`` at an open chunk start, and frame ``t - 1`` at an open chunk end, keyed by ``t``
        self.heads = {}
        self.tails = {}

    def empty(self):
        return PeakNoiseAccumulator(self.value_shape, self.sigma)

    def _smooth(self, block):
        x = block.astype(np.float64)
        if self.sigma > 0:
            import scipy.ndimage as ndi

            x = ndi.gaussian_filter(x, (0,) + (self.sigma,) * (x.ndim - 1), mode="reflect")
        return x

    def _fold_diffs(self, n, mean, m2):
        if n == 0:
            return
        total = self.dn + n
        delta = mean - self.dmean
        self.dm2 = self.dm2 + m2 + delta * delta * (self.dn * n / total)
        self.dmean = self.dmean + delta * (n / total)
        self.dn = total

    def _fold_values(self, n, mean, peak):
        if n == 0:
            return
        total = self.n + n
        self.mean = self.mean + (mean - self.mean) * (n / total)
        self.max = np.maximum(self.max, peak)
        self.n = total

    def _match_edges(self):
        for t in sorted(set(self.heads) & set(self.tails)):
            d = (self.heads.pop(t) - self.tails.pop(t))[np.newaxis]
            self._fold_diffs(1, d[0], np.zeros(self.value_shape))

    def add(self, block, start=0):
        block = np.asarray(block)
        if len(block) == 0:
            return self
        x = self._smooth(block)
        self._fold_values(len(x), x.mean(axis=0), x.max(axis=0))
        if len(x) > 1:
            d = np.diff(x, axis=0)
            dm = d.mean(axis=0)
            self._fold_diffs(len(d), dm, ((d - dm) ** 2).sum(axis=0))
        self.heads[int(start)] = x[0].copy()
        self.tails[int(start) + len(x)] = x[-1].copy()
        self._match_edges()
        return self

    def merge(self, other):
        self._fold_values(other.n, other.mean, other.max)
        self._fold_diffs(other.dn, other.dmean, other.dm2)
        self.heads.update(other.heads)
        self.tails.update(other.tails)
        self._match_edges()
        return self

    def noise(self) -> np.ndarray:
        """Noise standard deviation per pixel (NaN with fewer than 2 differences)."""
        if self.dn < 2:
            return np.full(self.value_shape, np.nan)
        return np.sqrt(self.dm2 / self.dn / 2.0)

    def finalize(self) -> np.ndarray:
        """The PNR image, float64; NaN where the noise is 0 or undefined."""
        noise = self.noise()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(noise > 0, (self.max - self.mean) / np.where(noise > 0, noise, 1), np.nan)


def enhanced_mean(mean_image, sigma=5.0, clip=(1.0, 99.0)) -> np.ndarray:
    """A contrast-enhanced mean image (suite2p's idea of ``meanImgE``).

    The mean image minus its Gaussian blur (``sigma`` pixels), divided by
    the square root of the blurred square of that difference (local
    contrast), clipped at the ``clip`` percentiles and scaled to ``[0, 1]``.

    Parameters
    ----------
    mean_image : ndarray
        2-D or 3-D mean image.
    sigma : float
        Spatial scale (pixels), about a cell's radius.
    clip : (float, float)
        Lower and upper percentiles.

    Returns
    -------
    ndarray of float64, ``mean_image.shape``.
    """
    import scipy.ndimage as ndi

    image = np.asarray(mean_image, dtype=np.float64)
    high = image - ndi.gaussian_filter(image, sigma, mode="reflect")
    local = np.sqrt(ndi.gaussian_filter(high * high, sigma, mode="reflect"))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(local > 0, high / np.where(local > 0, local, 1), 0.0)
    low, top = np.percentile(out, clip)
    if top <= low:
        return np.zeros_like(out)
    return (np.clip(out, low, top) - low) / (top - low)
