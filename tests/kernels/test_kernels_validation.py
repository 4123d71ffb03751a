"""Argument checks: normalised values and the exact exception for bad input."""

import numpy as np
import pytest

from napari_thunder.kernels import validation as v


def test_sigma_scalar_broadcast_and_sequence():
    assert v.check_sigma(2, 2) == (2.0, 2.0)
    assert v.check_sigma(1.5, 3) == (1.5, 1.5, 1.5)
    assert v.check_sigma([1, 0, 2.5], 3) == (1.0, 0.0, 2.5)
    assert v.check_sigma(np.array([1.0, 2.0]), 2) == (1.0, 2.0)
    assert all(isinstance(s, float) for s in v.check_sigma(np.float32(2), 2))


@pytest.mark.parametrize("sigma", [-1, [1, -0.5], float("nan"), float("inf")])
def test_sigma_bad_value(sigma):
    with pytest.raises(ValueError, match="sigma"):
        v.check_sigma(sigma, 2)


@pytest.mark.parametrize("sigma", [[1, 2, 3], [1]])
def test_sigma_wrong_length(sigma):
    with pytest.raises(ValueError, match="sigma"):
        v.check_sigma(sigma, 2)


@pytest.mark.parametrize("sigma", ["2", None, [1, "a"], True, object()])
def test_sigma_not_numeric(sigma):
    with pytest.raises(TypeError, match="sigma"):
        v.check_sigma(sigma, 2)


def test_order():
    assert v.check_order(0, 3) == (0, 0, 0)
    assert v.check_order([0, 1], 2) == (0, 1)
    for bad in (-1, 4, 1.5, [0, 1, 2], True):
        with pytest.raises(ValueError, match="order"):
            v.check_order(bad, 2)


def test_filter_size_rules():
    assert v.check_filter_size(3, 2) == (3, 3)
    assert v.check_filter_size(3, 3) == (3, 3, 3)  # cube for volumes
    assert v.check_filter_size([3, 5, 0], 3) == (3, 5, 0)  # plane by plane
    assert v.check_filter_size([3, 5, 0], 3, kind="median") == (3, 5, 0)
    assert v.check_filter_size(0, 2) == (0, 0)  # uniform: identity
    assert v.check_filter_size(np.int64(2), 2) == (2, 2)
    assert v.check_filter_size(2.0, 2) == (2, 2)


@pytest.mark.parametrize("size", [-1, [3, -2], [3, 3, 3], 2.5, True, "3"])
def test_filter_size_bad(size):
    with pytest.raises(ValueError, match="size"):
        v.check_filter_size(size, 2)


def test_filter_size_name_in_message():
    with pytest.raises(ValueError, match="width"):
        v.check_filter_size(-1, 2, name="width")


@pytest.mark.parametrize("size,ndim", [(0, 2), ([0, 3], 2), ([3, 0, 3], 3), ([0, 3, 0], 3), (0, 3)])
def test_median_size_zero(size, ndim):
    with pytest.raises(ValueError, match="size of the median filter must be at least 1"):
        v.check_filter_size(size, ndim, kind="median")


def test_projection_axis():
    assert v.check_projection_axis(2, 3) == 2
    assert v.check_projection_axis(-1, 3) == 2
    assert v.check_projection_axis(-2, 2) == 0
    for bad in (3, -4, 2.5, "0"):
        with pytest.raises(ValueError, match="axis"):
            v.check_projection_axis(bad, 3)
    with pytest.raises(ValueError, match=r"axis for projection \(2\) exceeds image dimensions \(0-1\)"):
        v.check_projection_axis(2, 2)


def test_subsample_factor():
    assert v.check_subsample_factor(2, 3) == (2, 2, 2)
    assert v.check_subsample_factor([1, 3], 2) == (1, 3)
    assert v.check_subsample_factor(2.7, 2) == (2, 2)  # int() as Thunder
    for bad in (0, -1, [1, 0], [2, 2, 2], [2], "2", None):
        with pytest.raises(ValueError, match="factor"):
            v.check_subsample_factor(bad, 2)


def test_subtract_value():
    assert v.check_subtract_value(3, (2, 3)) == 3
    assert isinstance(v.check_subtract_value(3, (2, 3)), int)  # stays a weak Python scalar
    arr = np.ones((2, 3), np.float32)
    assert v.check_subtract_value(arr, (2, 3)) is arr
    out = v.check_subtract_value([1, 2, 3], (2, 3))  # broadcasts to value_shape
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    assert v.check_subtract_value(np.array(2.0), (2, 3)) == 2.0
    with pytest.raises(ValueError, match=r"Cannot subtract value with dimensions \(3, 2\)"):
        v.check_subtract_value(np.ones((3, 2)), (2, 3))
    with pytest.raises(ValueError, match="dimensions"):
        v.check_subtract_value(np.ones((2, 3, 1)), (2, 3))
    with pytest.raises(ValueError, match="dimensions"):
        v.check_subtract_value([[1, 2]], (2, 3))
    with pytest.raises(TypeError, match="value"):
        v.check_subtract_value("a", (2, 3))


def test_neighborhood():
    assert v.check_neighborhood(2) == 2
    assert v.check_neighborhood(np.int32(0)) == 0
    for bad in (-1, 1.5, 2.0, True, "2", None):
        with pytest.raises(ValueError, match="neighborhood"):
            v.check_neighborhood(bad)


def test_nsamples():
    assert v.check_nsamples(5) == 5
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="nsamples|Number of samples"):
            v.check_nsamples(bad)
    with pytest.raises(ValueError, match="nsamples=0"):
        v.check_nsamples(0)
