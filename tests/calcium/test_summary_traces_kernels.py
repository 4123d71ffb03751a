"""Summary-image accumulators and trace kernels against direct numpy/scipy."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.kernels import summary, traces


def _direct_corr_image(movie, neighbours):
    n, *shape = movie.shape
    out = np.full(shape, np.nan)
    offs = summary.neighbour_offsets(len(shape), neighbours)
    offs = offs + [tuple(-o for o in off) for off in offs]
    for p in np.ndindex(*shape):
        rs = []
        for o in offs:
            q = tuple(a + b for a, b in zip(p, o))
            if all(0 <= c < s for c, s in zip(q, shape)):
                a, b = movie[(slice(None),) + p], movie[(slice(None),) + q]
                if a.std() > 0 and b.std() > 0:
                    rs.append(np.corrcoef(a, b)[0, 1])
        if rs:
            out[p] = np.mean(rs)
    return out


def _fold(acc, movie, bounds, order=None):
    parts = [acc.empty().add(movie[a:b], a) for a, b in bounds]
    order = order or range(len(parts))
    total = acc.empty()
    for k in order:
        total = total.merge(parts[k])
    return total


@pytest.mark.parametrize("neighbours", [4, 8])
def test_correlation_image_equals_direct_any_chunking(neighbours):
    rng = np.random.default_rng(0)
    movie = ndi.gaussian_filter(rng.normal(size=(30, 9, 11)), (0, 1, 1)) + 1000
    movie[:, 2, 3] = 5.0  # a constant pixel
    expected = _direct_corr_image(movie, neighbours)
    acc = summary.CorrelationImageAccumulator(movie.shape[1:], neighbours)
    one = acc.empty().add(movie).finalize()
    np.testing.assert_allclose(one, expected, atol=1e-10)
    assert np.isnan(one[2, 3])
    chunked = _fold(acc, movie, [(0, 7), (7, 8), (8, 20), (20, 30)], order=[2, 0, 3, 1]).finalize()
    np.testing.assert_allclose(chunked, expected, atol=1e-10)


def test_correlation_image_volumes():
    rng = np.random.default_rng(1)
    movie = ndi.gaussian_filter(rng.normal(size=(20, 4, 5, 6)), (0, 1, 1, 1)).astype(np.float32)
    for neighbours in (6, 26):
        acc = summary.CorrelationImageAccumulator(movie.shape[1:], neighbours)
        got = _fold(acc, movie, [(0, 9), (9, 20)]).finalize()
        np.testing.assert_allclose(got, _direct_corr_image(movie.astype(float), neighbours), atol=1e-6)
    with pytest.raises(ValueError, match="neighbours"):
        summary.CorrelationImageAccumulator((4, 5), 6)


def test_pnr_equals_direct_any_chunking():
    rng = np.random.default_rng(2)
    movie = rng.normal(size=(40, 6, 7)) * 3 + 50
    movie[17:20, 2, 2] += 40
    x = movie
    noise = np.diff(x, axis=0).std(axis=0) / np.sqrt(2)
    expected = (x.max(0) - x.mean(0)) / noise
    acc = summary.PeakNoiseAccumulator(movie.shape[1:])
    for bounds, order in (([(0, 40)], None), ([(0, 5), (5, 6), (6, 30), (30, 40)], [3, 1, 0, 2])):
        got = _fold(acc, movie, bounds, order)
        np.testing.assert_allclose(got.noise(), noise, rtol=1e-10)
        np.testing.assert_allclose(got.finalize(), expected, rtol=1e-10)
        assert list(got.heads) == [0] and list(got.tails) == [40]  # the movie's own ends
    smoothed = ndi.gaussian_filter(movie, (0, 1, 1))
    got = summary.PeakNoiseAccumulator(movie.shape[1:], sigma=1).add(movie).finalize()
    np.testing.assert_allclose(got, (smoothed.max(0) - smoothed.mean(0))
                               / (np.diff(smoothed, axis=0).std(0) / np.sqrt(2)), rtol=1e-10)


def test_enhanced_mean_range_and_definition():
    rng = np.random.default_rng(3)
    image = ndi.gaussian_filter(rng.normal(size=(40, 50)), 2)
    out = summary.enhanced_mean(image, sigma=4)
    assert out.shape == image.shape and out.min() == 0 and out.max() == 1
    high = image - ndi.gaussian_filter(image, 4)
    ratio = high / np.sqrt(ndi.gaussian_filter(high**2, 4))
    lo, hi = np.percentile(ratio, (1, 99))
    np.testing.assert_allclose(out, (np.clip(ratio, lo, hi) - lo) / (hi - lo))


def test_traces_equal_ndimage_mean_frame_by_frame():
    rng = np.random.default_rng(4)
    movie = rng.integers(0, 1000, size=(12, 20, 24)).astype(np.uint16)
    labels = np.zeros((20, 24), np.int32)
    labels[2:6, 3:8] = 1
    labels[10:15, 10:12] = 7
    labels[16:19, 1:23] = 3
    w = traces.roi_weights(labels)
    np.testing.assert_array_equal(w.ids, [1, 3, 7])
    got = traces.traces_block(movie, w)
    expected = np.array([ndi.mean(f, labels, [1, 3, 7]) for f in movie])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    sub = traces.traces_block(movie, traces.roi_weights(labels, ids=[7, 1]))
    np.testing.assert_allclose(sub, expected[:, [2, 0]], rtol=1e-12)
    with pytest.raises(ValueError, match="ids"):
        traces.roi_weights(labels, ids=[2])
    with pytest.raises(TypeError, match="labels"):
        traces.roi_weights(labels.astype(float))


def test_neuropil_ring_hand_made():
    labels = np.zeros((9, 9), np.int32)
    labels[4, 4] = 1
    labels[4, 5] = 2  # a neighbouring ROI: never neuropil
    frame = np.arange(81.0).reshape(9, 9)
    w = traces.roi_weights(labels, ids=[1], neuropil=(0, 1.5))
    # ring of ROI 1: its 8 neighbours at distance 1 or sqrt(2), minus the pixel of ROI 2
    ring = [(3, 3), (3, 4), (3, 5), (4, 3), (5, 3), (5, 4), (5, 5)]
    assert w.ring_sizes.tolist() == [7]
    got = traces.traces_block(frame[None], w)[0]
    np.testing.assert_allclose(got, [frame[4, 4], np.mean([frame[p] for p in ring])])
    # an inner radius of 1 keeps the diagonal neighbours only
    w = traces.roi_weights(labels, ids=[1], neuropil=(1, 1.5))
    got = traces.traces_block(frame[None], w)[0]
    np.testing.assert_allclose(got[1], np.mean([frame[p] for p in [(3, 3), (3, 5), (5, 3), (5, 5)]]))
    with pytest.raises(ValueError, match="neuropil"):
        traces.roi_weights(labels, neuropil=(2, 1))


def test_delta_f_over_f_percentile_and_maximin():
    rng = np.random.default_rng(5)
    f = rng.uniform(50, 100, size=(3, 40))
    window, pct = 9, 20
    rank = int(window * pct / 100)
    padded = np.pad(f, ((0, 0), (window // 2, window // 2)), mode="edge")
    f0 = np.array([[np.sort(padded[r, t:t + window])[rank] for t in range(40)] for r in range(3)])
    np.testing.assert_allclose(traces.delta_f_over_f(f, window, pct), (f - f0) / f0)
    whole = traces.delta_f_over_f(f, percentile=0)
    np.testing.assert_allclose(whole, (f - f.min(1, keepdims=True)) / f.min(1, keepdims=True))
    mins = np.array([[padded[r, t:t + window].min() for t in range(40)] for r in range(3)])
    pm = np.pad(mins, ((0, 0), (window // 2, window // 2)), mode="edge")
    mm = np.array([[pm[r, t:t + window].max() for t in range(40)] for r in range(3)])
    np.testing.assert_allclose(traces.delta_f_over_f(f, window, baseline="maximin"), (f - mm) / mm)
    np.testing.assert_allclose(traces.delta_f_over_f(f.T, window, pct, axis=0), (f - f0).T / f0.T)
    for bad in (dict(window=0), dict(percentile=120), dict(baseline="median")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            traces.delta_f_over_f(f, **bad)
