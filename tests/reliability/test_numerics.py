"""Numerical edge cases with their documented results, on every engine,
against numpy/scipy: NaN and infinity propagate as in numpy, constant stacks
and one image give zero variance (localcorr: NaN where a series is
constant), one-pixel images, 10 000 frames of 65535 summed without overflow,
float16, bool, int64 extremes and big-endian input."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder import images

STATS = ["mean", "var", "std", "sum", "max", "min"]


def _nan_inf():
    data = np.ones((4, 3, 3))
    data[1, 0, 0] = np.nan
    data[2, 1, 1] = np.inf
    data[3, 2, 2] = -np.inf
    return data


CASES = {
    "nan and inf": _nan_inf(),
    "constant uint8": np.full((5, 3, 3), 7, np.uint8),
    "one image": np.arange(9, dtype=np.int16).reshape(1, 3, 3),
    "one pixel": np.arange(6, dtype=np.float32).reshape(6, 1, 1),
    "10000 x 65535": np.full((10000, 2, 2), 65535, np.uint16),
    "bool": (np.arange(48) % 3 == 0).reshape(3, 4, 4),
    "int64 extremes": np.array([[[np.iinfo(np.int64).max]], [[np.iinfo(np.int64).min]], [[0]]], np.int64),
    "big-endian >u2": (np.arange(24, dtype=">u2").reshape(2, 3, 4) * 1000).astype(">u2"),
}


@pytest.mark.parametrize("stat", STATS)
@pytest.mark.parametrize("case", list(CASES))
def test_statistics_equal_numpy(engine, case, stat):
    data = CASES[case]
    with np.errstate(invalid="ignore"):
        expected = np.squeeze(getattr(np, stat)(data, axis=0))
        got = getattr(images.fromarray(data, engine=engine), stat)().toarray()
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype.newbyteorder("=")
    if stat in ("var", "std"):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


def test_sum_of_10000_frames_of_65535_is_exact(engine):
    data = CASES["10000 x 65535"]
    got = images.fromarray(data, engine=engine).sum().toarray()
    assert got.dtype == np.uint64 and np.all(got == 65535 * 10000)


@pytest.mark.parametrize("stat", ["mean", "var", "std", "sum"])
def test_float16_statistics_are_computed_wider(engine, stat):
    """float16 input: accumulated in float64 and returned as float16 (numpy
    accumulates in float16 and can be an ulp off)."""
    data = (np.arange(48) / 7).astype(np.float16).reshape(3, 4, 4)
    expected = getattr(np, stat)(data.astype(np.float64), axis=0).astype(np.float16)
    got = getattr(images.fromarray(data, engine=engine), stat)().toarray()
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, expected)


def test_localcorr_of_constant_series_is_nan(engine):
    data = np.full((5, 6, 6), 3.0)
    data[:, :3] = np.random.default_rng(1).random((5, 3, 6))
    got = images.fromarray(data, engine=engine).localcorr(1)
    assert np.isnan(got[3:]).all() and np.isfinite(got[:2]).all()
    one = images.fromarray(data[:1], engine=engine).localcorr(1)
    assert np.isnan(one).all()


@pytest.mark.parametrize("case", ["bool", "big-endian >u2", "one pixel", "nan and inf"])
@pytest.mark.parametrize("op", ["gaussian_filter", "median_filter", "uniform_filter"])
def test_filters_equal_scipy(engine, case, op):
    data = CASES[case]
    native = data.astype(data.dtype.newbyteorder("="))
    arg = 1 if op == "gaussian_filter" else 2
    ref = getattr(ndi, op)
    expected = np.array([ref(frame, arg, mode="reflect") for frame in native])
    got = getattr(images.fromarray(data, engine=engine), op)(arg).toarray()
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_float16_gaussian_through_float32(engine):
    data = (np.arange(48) / 7).astype(np.float16).reshape(3, 4, 4)
    expected = np.array([ndi.gaussian_filter(f.astype(np.float32), 1) for f in data]).astype(np.float16)
    got = images.fromarray(data, engine=engine).gaussian_filter(1).toarray()
    np.testing.assert_array_equal(got, expected)
