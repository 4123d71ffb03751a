"""LocalCorrAccumulator vs Thunder's algorithm (per-pixel corrcoef with a float64 blur)."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.kernels import correlation
from napari_thunder.kernels.correlation import LocalCorrAccumulator, neighborhood_mean


def make_stack(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    # spatially correlated signal + noise, so r spans a real range
    base = rng.standard_normal(shape)
    smooth = ndi.uniform_filter(base, size=(1,) + (3,) * (len(shape) - 1))
    data = 200 + 40 * smooth + 10 * base
    if np.issubdtype(dtype, np.integer):
        return np.clip(np.round(data), 0, np.iinfo(dtype).max).astype(dtype)
    return data.astype(dtype)


def reference_localcorr(stack, neighborhood):
    """Thunder's algorithm: blur every frame (float64, box 2n+1, reflect), then per pixel
    np.corrcoef(own series, blurred series)[0, 1]."""
    size = 2 * neighborhood + 1
    blurred = np.stack([ndi.uniform_filter(frame.astype(np.float64), size, mode="reflect")
                        for frame in stack])
    out = np.empty(stack.shape[1:])
    for index in np.ndindex(*stack.shape[1:]):
        series = stack[(slice(None),) + index].astype(np.float64)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[index] = np.corrcoef(series, blurred[(slice(None),) + index])[0, 1]
    return out


def accumulate(stack, neighborhood, bounds=None):
    acc = LocalCorrAccumulator(stack.shape[1:], neighborhood)
    if bounds is None:
        return acc.add(stack, 0)
    total = acc.empty()
    for a, b in zip(bounds[:-1], bounds[1:]):
        part = pickle.loads(pickle.dumps(acc.empty().add(stack[a:b], a)))
        total = total.merge(part)
    return total


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("shape,neighborhood", [((30, 12, 10), 1), ((30, 12, 10), 2), ((25, 7, 6, 5), 1)])
def test_matches_per_pixel_corrcoef(shape, neighborhood, dtype):
    stack = make_stack(shape, dtype)
    got = accumulate(stack, neighborhood).finalize()
    ref = reference_localcorr(stack, neighborhood)
    assert got.dtype == np.float64 and got.shape == shape[1:]
    assert np.isfinite(ref).all()
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    assert 0.2 < np.median(got) < 0.99  # a non-trivial range of values


@pytest.mark.parametrize("bounds", [[0, 1, 40], [0, 13, 14, 27, 40], list(range(41))])
def test_merge_of_partials_equals_one_pass(bounds):
    stack = make_stack((40, 9, 8), np.uint16, seed=2)
    whole = accumulate(stack, 1).finalize()
    merged = accumulate(stack, 1, bounds)
    assert merged.count == 40
    np.testing.assert_allclose(merged.finalize(), whole, rtol=1e-12, atol=1e-13)


def test_subblocks_inside_a_block(monkeypatch):
    # a budget of 3 frames per sub-block and 5-pixel tiles: many Chan merges inside one add
    stack = make_stack((20, 6, 7), np.float64, seed=4)
    monkeypatch.setattr(correlation, "_SUBBLOCK_BYTES", 3 * 8 * 42)
    monkeypatch.setattr(correlation, "_TILE_BYTES", 5 * 8 * 3)  # 5-pixel tiles of 3 frames
    got = accumulate(stack, 1).finalize()
    np.testing.assert_allclose(got, reference_localcorr(stack, 1), rtol=1e-10, atol=1e-12)


def test_float64_blur_not_truncated():
    # an integer stack where an integer-truncated blur would change r
    stack = make_stack((30, 8, 8), np.uint8, seed=7) // 50
    got = accumulate(stack, 1).finalize()
    ref = reference_localcorr(stack, 1)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    truncated = np.stack([ndi.uniform_filter(f, 3) for f in stack])  # Thunder-with-ints behaviour
    assert not np.array_equal(truncated, np.stack([neighborhood_mean(f, 1) for f in stack]))


def test_constant_pixel_gives_nan_without_warning():
    stack = make_stack((30, 8, 8), np.float64, seed=5)
    stack[:, 3, 4] = 0.1  # constant series whose float mean is not exact
    stack[:, 0, 0] = 250
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = accumulate(stack, 1, [0, 7, 30]).finalize()
    assert np.isnan(got[3, 4]) and np.isnan(got[0, 0])
    assert np.isfinite(np.delete(got.ravel(), [3 * 8 + 4, 0])).all()


def test_large_offset_small_variance():
    rng = np.random.default_rng(9)
    small = rng.standard_normal((60, 6, 6))
    got = accumulate(1e6 + small * 1e-3, 1, [0, 20, 60]).finalize()
    np.testing.assert_allclose(got, reference_localcorr(small, 1), rtol=1e-5, atol=1e-6)


def test_known_value_neighborhood_zero():
    # neighborhood 0: the blur is the pixel itself, r == 1 wherever it varies
    stack = make_stack((10, 4, 4), np.float64)
    np.testing.assert_allclose(accumulate(stack, 0).finalize(), 1.0, rtol=1e-12)


def test_neighborhood_mean_reflect_corner():
    frame = np.arange(16, dtype=np.uint8).reshape(4, 4)
    out = neighborhood_mean(frame, 1)
    a = frame.astype(float)
    assert out.dtype == np.float64
    assert out[0, 0] == pytest.approx((4 * a[0, 0] + 2 * a[0, 1] + 2 * a[1, 0] + a[1, 1]) / 9)


def test_errors():
    acc = LocalCorrAccumulator((4, 4), 1)
    with pytest.raises(ValueError, match="zero frames"):
        acc.finalize()
    with pytest.raises(ValueError, match="block must have shape"):
        acc.add(np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="different"):
        acc.merge(LocalCorrAccumulator((4, 4), 2))


def test_partial_accumulator_running_estimate():
    stack = make_stack((30, 6, 6), np.float32, seed=8)
    acc = LocalCorrAccumulator((6, 6), 1).add(stack[:10])
    np.testing.assert_allclose(acc.finalize(), reference_localcorr(stack[:10], 1), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 9, 8), (2, 3, 2), (2, 7, 1), (2, 5, 4, 2), (2, 1, 6, 3)])
@pytest.mark.parametrize("neighborhood", [0, 1, 2, 3])
def test_box_sum_equals_scaled_uniform_filter(shape, neighborhood):
    # includes axes shorter than the window (reflected more than once)
    rng = np.random.default_rng(11)
    frames = rng.standard_normal(shape)
    size = 2 * neighborhood + 1
    expected = (np.stack([ndi.uniform_filter(f, size, mode="reflect") for f in frames])
                * size ** (len(shape) - 1))
    got = correlation.box_sum(frames.copy(), neighborhood)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_box_work_dtype_exact_float32_only_when_safe():
    assert correlation._box_work_dtype(np.uint16, 1, 2) == np.float32  # 65535 * 9 < 2**24
    assert correlation._box_work_dtype(np.uint16, 3, 3) == np.float64  # 65535 * 343 > 2**24
    assert correlation._box_work_dtype(np.float32, 1, 2) == np.float64
    assert correlation._box_work_dtype(np.int32, 1, 2) == np.float64


def test_extreme_uint16_values_exact_path():
    rng = np.random.default_rng(12)
    stack = rng.integers(60000, 65536, size=(25, 6, 7), dtype=np.uint16)
    got = accumulate(stack, 2, [0, 11, 25]).finalize()
    np.testing.assert_allclose(got, reference_localcorr(stack, 2), rtol=1e-10, atol=1e-12)
