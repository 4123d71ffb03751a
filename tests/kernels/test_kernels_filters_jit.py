"""Compiled per-frame filters vs scipy.ndimage applied frame by frame: same bits."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.kernels import filters as f

pytest.importorskip("numba")

DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.float32, np.float64]
SHAPES = [(3, 13, 11), (2, 3, 4), (2, 1, 7), (2, 40, 33)]


@pytest.fixture(autouse=True)
def compiled_for_every_block(monkeypatch):
    """Route even tiny blocks through the compiled loops."""
    monkeypatch.setattr(f, "_JIT_MIN_VALUES", 0)
    monkeypatch.delenv("NAPARI_THUNDER_NO_JIT", raising=False)


def make_block(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape,
                            endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 100).astype(dtype)


def per_frame(block, func):
    return np.stack([func(frame) for frame in block])


def test_compiled_loops_are_used(monkeypatch):
    from napari_thunder.kernels import _jit

    calls = []
    real = _jit.correlate_frames

    def spy(*args):
        calls.append(args[0].shape)
        return real(*args)

    monkeypatch.setattr(_jit, "correlate_frames", spy)
    f.gaussian_block(make_block((2, 5, 6), np.uint16), 1.0)
    assert calls == [(2, 5, 6)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sigma,order", [(1.5, 0), (2, 0), ((1, 2), (1, 0)), ((0, 1), (0, 2)),
                                         (0.3, 3), ((2, 0), 0)])
def test_gaussian_same_bits_as_scipy(shape, dtype, sigma, order):
    block = make_block(shape, dtype)
    out = f.gaussian_block(block, sigma, order)
    ref = per_frame(block, lambda x: ndi.gaussian_filter(x, sigma, order=order, mode="reflect"))
    assert out.dtype == block.dtype
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [2, 3, 5, 8, (1, 4), (3, 1)])
def test_uniform_same_bits_as_scipy(shape, dtype, size):
    block = make_block(shape, dtype)
    out = f.uniform_block(block, size)
    ref = per_frame(block, lambda x: ndi.uniform_filter(x, size, mode="reflect"))
    assert out.dtype == block.dtype
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [2, 3])
def test_median_same_values_as_scipy(shape, dtype, size):
    block = make_block(shape, dtype, seed=4)
    out = f.median_block(block, size)
    ref = per_frame(block, lambda x: ndi.median_filter(x, size=size, mode="reflect"))
    assert out.dtype == block.dtype
    np.testing.assert_array_equal(out, ref)


def test_median_with_many_ties():
    block = np.random.default_rng(5).integers(0, 3, size=(3, 17, 19)).astype(np.uint8)
    for size in (2, 3):
        ref = per_frame(block, lambda x, s=size: ndi.median_filter(x, size=s))
        np.testing.assert_array_equal(f.median_block(block, size), ref)


def test_float_nan_and_inf_propagate_as_in_scipy():
    block = make_block((2, 9, 10), np.float64)
    block[0, 4, 5] = np.nan
    block[1, 0, 0] = np.inf
    for out, ref in (
        (f.gaussian_block(block, 1.0), per_frame(block, lambda x: ndi.gaussian_filter(x, 1.0))),
        (f.uniform_block(block, 3), per_frame(block, lambda x: ndi.uniform_filter(x, 3))),
    ):
        np.testing.assert_array_equal(out, ref)


def test_unsigned_derivative_wraps_as_scipy():
    # a derivative of uint16 frames is negative in places: scipy's cast wraps it
    block = make_block((2, 12, 14), np.uint16)
    out = f.gaussian_block(block, 1.0, (1, 0))
    ref = per_frame(block, lambda x: ndi.gaussian_filter(x, 1.0, order=(1, 0)))
    np.testing.assert_array_equal(out, ref)


def test_non_contiguous_block():
    base = make_block((4, 20, 30), np.uint16)
    block = base[::2, :, ::3]
    ref = per_frame(block, lambda x: ndi.uniform_filter(x, 3))
    np.testing.assert_array_equal(f.uniform_block(block, 3), ref)


def test_volumes_and_other_dtypes_use_scipy():
    block = make_block((2, 5, 6, 4), np.uint16)
    ref = per_frame(block, lambda x: ndi.median_filter(x, size=3))
    np.testing.assert_array_equal(f.median_block(block, 3), ref)
    block = make_block((2, 7, 8), np.float64)
    ref = per_frame(block, lambda x: ndi.median_filter(x, size=3))
    np.testing.assert_array_equal(f.median_block(block, 3), ref)
    block = make_block((2, 7, 8), np.int32)
    ref = per_frame(block, lambda x: ndi.gaussian_filter(x, 1.0))
    np.testing.assert_array_equal(f.gaussian_block(block, 1.0), ref)
