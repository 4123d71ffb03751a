"""ROI traces and dF/F.

A label image (0 = background, ``k`` = ROI ``k``) becomes a sparse weight
matrix once; the traces of a block of frames are then one sparse product,
``(k, pixels) @ (pixels, rois)``: the mean of each ROI in each frame, and
optionally the mean of a neuropil ring around each ROI.

The neuropil ring of a ROI is the set of pixels whose distance to the ROI
(Euclidean, in pixels) is in ``(inner, outer]`` and that belong to no ROI;
rings of neighbouring ROIs may share pixels. The corrected trace is
``F - coefficient * F_neuropil``.

:func:`delta_f_over_f` divides traces by a running baseline.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RoiWeights", "delta_f_over_f", "roi_weights", "traces_block"]


class RoiWeights:
    """Sparse mean weights of the ROIs (and their neuropil rings).

    Attributes
    ----------
    ids : ndarray of int
        ROI labels, in the order of the trace rows.
    matrix : scipy.sparse.csr_matrix
        ``(pixels, nrois)`` (``2 * nrois`` with neuropil: ROI columns first),
        each column summing to 1.
    neuropil : bool
        Whether neuropil columns follow.
    ring_sizes : ndarray or None
        Pixels in each neuropil ring (0 = the ring is empty, its trace NaN).
    """

    def __init__(self, ids, matrix, neuropil, ring_sizes=None):
        self.ids = np.asarray(ids)
        self.matrix = matrix
        self.neuropil = bool(neuropil)
        self.ring_sizes = ring_sizes
        # the same weights as a gather + segment sums (faster than a sparse product):
        # pixels of column c are pixels[offsets[c]:offsets[c + 1]]
        csc = matrix.tocsc()
        csc.sort_indices()
        self.pixels = csc.indices.astype(np.intp)
        self.counts = np.diff(csc.indptr)
        self.offsets = csc.indptr[:-1].astype(np.intp)
        self.nonempty = np.flatnonzero(self.counts > 0)

    @property
    def nrois(self) -> int:
        return int(len(self.ids))


def _check_labels(labels):
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iub":
        raise TypeError(f"labels must be an integer label image, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be >= 0 (0 = background)")
    return labels.astype(np.int64, copy=False)


def roi_weights(labels, ids=None, neuropil=None) -> RoiWeights:
    """The weight matrix of the ROIs of a label image.

    Parameters
    ----------
    labels : ndarray of int
        Label image of one frame's shape; 0 = background.
    ids : sequence of int, optional
        ROIs to extract, in this order (default: every label present).
    neuropil : (float, float), optional
        ``(inner, outer)`` radii of the neuropil ring, in pixels.

    Returns
    -------
    RoiWeights

    Raises
    ------
    TypeError
        ``labels`` is not an integer array.
    ValueError
        Negative labels, an ``ids`` entry absent from ``labels``, or radii
        that are not ``0 <= inner < outer``.
    """
    import scipy.ndimage as ndi
    import scipy.sparse as sp

    labels = _check_labels(labels)
    flat = labels.reshape(-1)
    present = np.unique(flat)
    present = present[present > 0]
    if ids is None:
        ids = present
    else:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        missing = np.setdiff1d(ids, present)
        if missing.size:
            raise ValueError(f"ids: labels {missing.tolist()[:10]} are not in the label image")
    column = np.full(int(flat.max(initial=0)) + 1, -1, np.int64)
    column[ids] = np.arange(len(ids))
    pix = np.flatnonzero(flat > 0)
    cols = column[flat[pix]]
    keep = cols >= 0
    pix, cols = pix[keep], cols[keep]
    counts = np.bincount(cols, minlength=len(ids)).astype(np.float64)
    rows, colsall, vals = [pix], [cols], [1.0 / counts[cols]]
    ring_sizes = None
    if neuropil is not None:
        try:
            inner, outer = (float(v) for v in neuropil)
        except (TypeError, ValueError):
            raise ValueError(f"neuropil must be (inner, outer) radii, got {neuropil!r}") from None
        if not 0 <= inner < outer:
            raise ValueError(f"neuropil radii must satisfy 0 <= inner < outer, got {neuropil!r}")
        pad = int(np.ceil(outer)) + 1
        objects = ndi.find_objects(labels)
        background = labels == 0
        ring_sizes = np.zeros(len(ids), np.int64)
        for k, label in enumerate(ids):
            box = objects[label - 1]
            window = tuple(slice(max(0, s.start - pad), min(n, s.stop + pad))
                           for s, n in zip(box, labels.shape))
            dist = ndi.distance_transform_edt(labels[window] != label)
            ring = (dist > inner) & (dist <= outer) & background[window]
            local = np.nonzero(ring)
            if not local[0].size:
                continue
            coords = tuple(c + w.start for c, w in zip(local, window))
            idx = np.ravel_multi_index(coords, labels.shape)
            ring_sizes[k] = idx.size
            rows.append(idx)
            colsall.append(np.full(idx.size, len(ids) + k))
            vals.append(np.full(idx.size, 1.0 / idx.size))
    ncols = len(ids) * (2 if neuropil is not None else 1)
    matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(colsall))),
                           shape=(flat.size, ncols))
    return RoiWeights(ids, matrix, neuropil is not None, ring_sizes)


def traces_block(block, weights: RoiWeights) -> np.ndarray:
    """Mean of every ROI (then every neuropil ring) in every frame of a block.

    Parameters
    ----------
    block : ndarray
        ``(k,) + shape`` frames.
    weights : RoiWeights

    Returns
    -------
    ndarray of float64
        ``(k, ncols)``; NaN for empty neuropil rings.
    """
    block = np.asarray(block)
    flat = block.reshape(len(block), -1)
    ncols = len(weights.counts)
    out = np.full((len(block), ncols), np.nan)
    if len(block) == 0 or not weights.nonempty.size:
        return out
    # pixels as rows (contiguous segments), frames along each row
    gathered = np.ascontiguousarray(flat[:, weights.pixels].T)
    sums = np.add.reduceat(gathered, weights.offsets[weights.nonempty], axis=0, dtype=np.float64)
    out[:, weights.nonempty] = sums.T / weights.counts[weights.nonempty]
    return out


def delta_f_over_f(traces, window=None, percentile=8.0, baseline="percentile", sigma=0.0,
                   axis=-1) -> np.ndarray:
    """``(F - F0) / F0`` with a running baseline ``F0``.

    Parameters
    ----------
    traces : ndarray
        Traces, time along ``axis``.
    window : int, optional
        Baseline window in frames, centred (edges repeated). Default: one
        constant baseline per trace from all its frames (its percentile, or
        the minimum of the smoothed trace for ``'maximin'``).
    percentile : float
        ``'percentile'`` baseline: in each centred window, the value of rank
        ``floor(window * percentile / 100)`` of the sorted values
        (:func:`scipy.ndimage.percentile_filter`, edges repeated).
    baseline : {'percentile', 'maximin'}
        ``'maximin'``: the running maximum of the running minimum of the
        traces smoothed by a Gaussian of ``sigma`` frames (suite2p).
    sigma : float
        Gaussian smoothing (frames) before ``'maximin'``.
    axis : int
        Time axis.

    Returns
    -------
    ndarray of float64, ``traces.shape``; NaN/inf where ``F0`` is 0.

    Raises
    ------
    ValueError
        A window below 1, a percentile outside [0, 100] or an unknown
        baseline.
    """
    import scipy.ndimage as ndi

    f = np.moveaxis(np.asarray(traces, dtype=np.float64), axis, -1)
    n = f.shape[-1]
    if window is not None and (isinstance(window, bool) or int(window) != window or window < 1):
        raise ValueError(f"window must be a whole number of frames >= 1, got {window!r}")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {percentile!r}")
    if baseline not in ("percentile", "maximin"):
        raise ValueError(f"baseline must be 'percentile' or 'maximin', got {baseline!r}")
    if window is None:  # one baseline per trace, from all its frames
        if baseline == "percentile":
            rank = n - 1 if percentile == 100 else int(n * percentile / 100.0)
            f0 = np.sort(f, axis=-1)[..., rank:rank + 1]
        else:
            smooth = ndi.gaussian_filter1d(f, sigma, axis=-1, mode="nearest") if sigma > 0 else f
            f0 = smooth.min(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.moveaxis((f - f0) / f0, -1, axis)
    window = int(window)
    if baseline == "percentile":
        size = (1,) * (f.ndim - 1) + (window,)
        f0 = ndi.percentile_filter(f, percentile, size=size, mode="nearest")
    elif baseline == "maximin":
        smooth = ndi.gaussian_filter1d(f, sigma, axis=-1, mode="nearest") if sigma > 0 else f
        f0 = ndi.minimum_filter1d(smooth, window, axis=-1, mode="nearest")
        f0 = ndi.maximum_filter1d(f0, window, axis=-1, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (f - f0) / f0
    return np.moveaxis(out, -1, axis)
