"""Per-frame kernels vs scipy/numpy applied directly, frame by frame."""

import pickle

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.kernels import filters as f

DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]
SHAPES = [(4, 13, 11), (3, 9, 8, 5)]  # 2-D images and 3-D volumes


def make_block(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        low, high = max(info.min, -1000), min(info.max, 1000)
        return rng.integers(low, high, size=shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 100).astype(dtype)


def per_frame(block, func):
    return np.stack([func(frame) for frame in block])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_gaussian_matches_scipy(shape, dtype):
    block = make_block(shape, dtype)
    out = f.gaussian_block(block, 1.5)
    ref = per_frame(block, lambda x: ndi.gaussian_filter(x, 1.5))
    assert out.dtype == block.dtype and out.shape == block.shape
    np.testing.assert_array_equal(out, ref)


def test_gaussian_int_truncates_toward_zero():
    # a single -3 in zeros, blurred along one axis: values between -1 and 0 become 0,
    # the centre (-3 * weight < -1) stays negative and truncated toward zero
    block = np.zeros((1, 1, 9), np.int16)
    block[0, 0, 4] = -3
    out = f.gaussian_block(block, [0, 1])
    exact = ndi.gaussian_filter(block[0].astype(np.float64), [0, 1])
    np.testing.assert_array_equal(out[0], np.trunc(exact).astype(np.int16))
    assert out[0, 0, 4] == -1 and out[0, 0, 3] == 0


@pytest.mark.parametrize("shape", SHAPES)
def test_gaussian_per_axis_sigma_and_order(shape):
    block = make_block(shape, np.float64)
    ndim = len(shape) - 1
    sigma = [1.0, 0.0, 2.0][:ndim]
    order = [0, 1, 0][:ndim]
    out = f.gaussian_block(block, sigma, order)
    ref = per_frame(block, lambda x: ndi.gaussian_filter(x, sigma, order=order, mode="reflect", truncate=4.0))
    np.testing.assert_allclose(out, ref, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [2, 3])
def test_uniform_matches_scipy(shape, dtype, size):
    block = make_block(shape, dtype)
    out = f.uniform_block(block, size)
    ref = per_frame(block, lambda x: ndi.uniform_filter(x, size))
    assert out.dtype == block.dtype
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [2, 3])
def test_median_matches_scipy(shape, dtype, size):
    block = make_block(shape, dtype)
    out = f.median_block(block, size)
    ref = per_frame(block, lambda x: ndi.median_filter(x, size=size))
    assert out.dtype == block.dtype
    np.testing.assert_array_equal(out, ref)


def test_median_upper_median_for_even_window():
    block = np.array([[[1, 2, 3, 4]]], np.float64)  # one frame, 1x4
    out = f.median_block(block, [1, 2])
    # window of 2 covers pixel and lower neighbour (reflect at 0): [1,1],[1,2],[2,3],[3,4] -> upper
    np.testing.assert_array_equal(out[0, 0], [1, 2, 3, 4])


def test_uniform_known_values():
    block = np.arange(9, dtype=np.float64).reshape(1, 3, 3)
    out = f.uniform_block(block, 3)
    a = block[0]
    corner = (4 * a[0, 0] + 2 * a[0, 1] + 2 * a[1, 0] + a[1, 1]) / 9
    assert out[0, 0, 0] == pytest.approx(corner)
    assert out[0, 1, 1] == pytest.approx(a.mean())


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("which", ["uniform", "median"])
def test_volume_plane_by_plane(which, dtype):
    block = make_block((2, 7, 6, 4), dtype)
    kernel = f.uniform_block if which == "uniform" else f.median_block
    scipy_filter = (ndi.uniform_filter if which == "uniform"
                    else lambda x, s: ndi.median_filter(x, size=s))
    out = kernel(block, [3, 2, 0])
    ref = np.empty_like(block)
    for i in range(block.shape[0]):
        for z in range(block.shape[3]):
            ref[i, :, :, z] = scipy_filter(block[i, :, :, z], (3, 2))
    np.testing.assert_array_equal(out, ref)
    # and it differs from a cube filter
    assert not np.array_equal(out, kernel(block, 3))


def test_volume_cube_for_scalar():
    block = make_block((2, 6, 6, 5), np.float64)
    np.testing.assert_array_equal(f.uniform_block(block, 3), f.uniform_block(block, [3, 3, 3]))
    ref = per_frame(block, lambda x: ndi.uniform_filter(x, [3, 3, 3]))
    np.testing.assert_array_equal(f.uniform_block(block, 3), ref)


def test_uniform_size_zero_is_identity():
    # uniform size 0/1 is the identity (scipy skips those axes)
    block = make_block((2, 5, 5), np.int16)
    np.testing.assert_array_equal(f.uniform_block(block, 0), block)


def test_float16_and_bool_keep_dtype():
    block = make_block((2, 6, 5), np.float32).astype(np.float16)
    out = f.gaussian_block(block, 1)
    assert out.dtype == np.float16
    ref = per_frame(block, lambda x: ndi.gaussian_filter(x.astype(np.float32), 1).astype(np.float16))
    np.testing.assert_array_equal(out, ref)
    mask = make_block((2, 6, 5), np.uint8) > 128
    assert f.median_block(mask, 3).dtype == np.bool_


@pytest.mark.parametrize("dtype", DTYPES)
def test_projections(dtype):
    block = make_block((3, 5, 6, 4), dtype)
    for axis in (0, 1, 2, -1):
        np.testing.assert_array_equal(f.max_projection_block(block, axis), block.max(axis=axis % 3 + 1))
        expected = np.add(block.max(axis=axis % 3 + 1), block.min(axis=axis % 3 + 1), dtype=dtype)
        got = f.max_min_projection_block(block, axis)
        assert got.dtype == block.dtype
        np.testing.assert_array_equal(got, expected)
    assert f.projection_shape((5, 6, 4), 1) == (5, 4)
    assert f.projection_shape((5, 6, 4), -1) == (5, 6)


def test_max_min_projection_wraps_in_input_dtype():
    block = np.array([[[200, 100]]], dtype=np.uint8)  # one frame 1x2
    out = f.max_min_projection_block(block, 1)
    assert out.dtype == np.uint8 and out[0, 0] == (200 + 100) % 256


@pytest.mark.parametrize("shape", SHAPES)
def test_subsample(shape):
    block = make_block(shape, np.int16)
    ndim = len(shape) - 1
    for factors in (2, 3, [1, 2, 3][:ndim]):
        per_axis = [factors] * ndim if np.isscalar(factors) else factors
        index = (slice(None),) + tuple(slice(0, None, s) for s in per_axis)
        out = f.subsample_block(block, factors)
        np.testing.assert_array_equal(out, block[index])
        assert out.flags.c_contiguous
        assert out.shape[1:] == f.subsample_shape(shape[1:], factors)
    assert f.subsample_shape((5, 7), 2) == (3, 4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [1, 0.5, "array"])
def test_subtract(dtype, value):
    block = make_block((3, 4, 5), dtype)
    if value == "array":
        value = make_block((4, 5), np.float32, seed=1)
    out = f.subtract_block(block, value)
    ref = np.stack([frame - value for frame in block])
    assert out.dtype == ref.dtype == f.subtract_dtype(dtype, value)
    np.testing.assert_array_equal(out, ref)


def test_subtract_dtype_rules():
    assert f.subtract_dtype(np.int16, 1) == np.int16
    assert f.subtract_dtype(np.int16, 0.5) == np.float64
    assert f.subtract_dtype(np.uint8, np.ones((2, 2), np.int16)) == np.int16
    assert f.subtract_dtype(np.float32, 2.0) == np.float32


@pytest.mark.parametrize(
    "value_shape,removed",
    [((3, 1), (1,)), ((1, 4, 1), (0, 2)), ((1, 1), (1,)), ((4, 5), ()), ((1, 1, 1), (1, 2)), ((1,), ())],
)
def test_squeeze_axes(value_shape, removed):
    assert f.squeeze_axes(value_shape) == removed
    # Thunder's rule applied to an Images of 2 frames
    stack = np.zeros((2,) + value_shape)
    expected_shape = {(3, 1): (2, 3), (1, 4, 1): (2, 4), (1, 1): (2, 1), (4, 5): (2, 4, 5),
                      (1, 1, 1): (2, 1), (1,): (2, 1)}[value_shape]
    assert np.squeeze(stack, axis=tuple(a + 1 for a in removed)).shape == expected_shape


def test_kernels_are_picklable():
    import functools

    for func in (f.gaussian_block, f.uniform_block, f.median_block, f.max_projection_block,
                 f.subsample_block, f.subtract_block):
        partial = pickle.loads(pickle.dumps(functools.partial(func)))
        assert partial.func is func
