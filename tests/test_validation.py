"""Argument checks: normalised values and the exact exception for bad input."""

import numpy as np
import pytest

from napari_thunder import validation as v


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


# --------------------------------------------------------------------------
# the one integer policy, the same for every integer argument
# --------------------------------------------------------------------------
INTEGER_CHECKS = {
    "order": lambda x: v.check_order(x, 2),
    "size": lambda x: v.check_filter_size(x, 2),
    "axis": lambda x: v.check_projection_axis(x, 3),
    "factor": lambda x: v.check_subsample_factor(x, 2),
    "neighborhood": v.check_neighborhood,
    "nsamples": v.check_nsamples,
    "npartitions": v.check_npartitions,
    "nplanes": v.check_nplanes,
}


@pytest.mark.parametrize("name", sorted(INTEGER_CHECKS))
@pytest.mark.parametrize("value", [1, np.int64(1), np.uint8(1), 1.0, np.float32(1.0)])
def test_integers_and_integral_floats_accepted_everywhere(name, value):
    out = INTEGER_CHECKS[name](value)
    items = out if isinstance(out, tuple) else (out,)
    assert all(type(item) is int and item == 1 for item in items)


@pytest.mark.parametrize("name", sorted(INTEGER_CHECKS))
@pytest.mark.parametrize("value", [1.5, float("nan"), float("inf"), np.float64(2.25)])
def test_fractional_or_non_finite_floats_are_value_errors_everywhere(name, value):
    with pytest.raises(ValueError, match=name):
        INTEGER_CHECKS[name](value)


@pytest.mark.parametrize("name", sorted(INTEGER_CHECKS))
@pytest.mark.parametrize("value", [True, np.bool_(False), "1", b"1", object()])
def test_bools_strings_and_objects_are_type_errors_everywhere(name, value):
    with pytest.raises(TypeError, match=name):
        INTEGER_CHECKS[name](value)


@pytest.mark.parametrize("name", ["npartitions", "nplanes"])
def test_optional_integers_accept_none(name):
    assert INTEGER_CHECKS[name](None) is None


@pytest.mark.parametrize("name", ["order", "size", "axis", "factor", "neighborhood", "nsamples"])
def test_required_integers_refuse_none(name):
    with pytest.raises(TypeError, match=name):
        INTEGER_CHECKS[name](None)


def test_check_int_bounds_name_the_argument():
    assert v.check_int(3, "k", minimum=0, maximum=3) == 3
    with pytest.raises(ValueError, match="k must be at least 0"):
        v.check_int(-1, "k", minimum=0)
    with pytest.raises(ValueError, match="k must be at most 3"):
        v.check_int(4.0, "k", maximum=3)


def test_check_bool_only_true_or_false():
    assert v.check_bool(True, "overwrite") is True
    assert v.check_bool(np.bool_(False), "overwrite") is False
    for bad in ("no", "yes", 0, 1, None):
        with pytest.raises(TypeError, match="overwrite"):
            v.check_bool(bad, "overwrite")


def test_order():
    assert v.check_order(0, 3) == (0, 0, 0)
    assert v.check_order([0, 1], 2) == (0, 1)
    for bad in (-1, 4, [0, 1, 2]):
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


@pytest.mark.parametrize("size", [-1, [3, -2], [3, 3, 3], 2.5])
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
    assert v.check_projection_axis(1.0, 2) == 1
    for bad in (3, -4, 2.5):
        with pytest.raises(ValueError, match="axis"):
            v.check_projection_axis(bad, 3)
    with pytest.raises(ValueError, match=r"axis for projection \(2\) exceeds image dimensions \(0-1\)"):
        v.check_projection_axis(2, 2)


def test_subsample_factor():
    assert v.check_subsample_factor(2, 3) == (2, 2, 2)
    assert v.check_subsample_factor([1, 3], 2) == (1, 3)
    assert v.check_subsample_factor(2.0, 2) == (2, 2)
    for bad in (0, -1, [1, 0], [2, 2, 2], [2], 2.7):  # 2.7: the one integer policy, no truncation
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


def test_subtract_value_none_and_nested_objects_are_type_errors():
    with pytest.raises(TypeError, match="value"):
        v.check_subtract_value(None, (2, 3))
    nested = []
    for _ in range(10000):
        nested = [nested]
    with pytest.raises(TypeError, match="value"):
        v.check_subtract_value(nested, (2, 3))


def test_neighborhood():
    assert v.check_neighborhood(2) == 2
    assert v.check_neighborhood(np.int32(0)) == 0
    assert v.check_neighborhood(2.0) == 2
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="neighborhood"):
            v.check_neighborhood(bad)


def test_nsamples():
    assert v.check_nsamples(5) == 5
    for bad in (0, -3, 1.5):
        with pytest.raises(ValueError, match="nsamples|Number of samples"):
            v.check_nsamples(bad)
    with pytest.raises(ValueError, match="nsamples=0"):
        v.check_nsamples(0)


def test_nplanes_message():
    with pytest.raises(ValueError, match="nplanes must be positive if passed, got 0"):
        v.check_nplanes(0)


def test_path_and_prefix():
    assert v.check_path("a/b") == "a/b"
    for bad in ("", "  "):
        with pytest.raises(ValueError, match="path must not be empty"):
            v.check_path(bad)
    with pytest.raises(TypeError, match="path"):
        v.check_path(3)
    assert v.check_prefix("image") == "image"
    for bad in ("", ".", "..", "../x", "a/b", "a\0b"):
        with pytest.raises(ValueError, match="prefix"):
            v.check_prefix(bad)
    with pytest.raises(TypeError, match="prefix"):
        v.check_prefix(None)


# --------------------------------------------------------------------------
# the policy as users meet it: the same exception on every engine, before any work
# --------------------------------------------------------------------------
BAD_CALLS = [
    ("order=1.5", lambda im: im.gaussian_filter(1, order=1.5), ValueError),
    ("order=True", lambda im: im.gaussian_filter(1, order=True), TypeError),
    ("axis=1.5", lambda im: im.max_projection(axis=1.5), ValueError),
    ("axis='0'", lambda im: im.max_projection(axis="0"), TypeError),
    ("factor=2.5", lambda im: im.subsample(2.5), ValueError),
    ("size=True", lambda im: im.median_filter(True), TypeError),
    ("neighborhood=0.5", lambda im: im.localcorr(0.5), ValueError),
    ("nsamples=3.5", lambda im: im.sample(3.5), ValueError),
    ("nsamples=None", lambda im: im.sample(None), TypeError),
    ("subtract(None)", lambda im: im.subtract(None), TypeError),
]
GOOD_CALLS = [
    ("order=1.0", lambda im: im.gaussian_filter(1, order=1.0), lambda im: im.gaussian_filter(1, order=1)),
    ("axis=1.0", lambda im: im.max_projection(axis=1.0), lambda im: im.max_projection(axis=1)),
    ("factor=2.0", lambda im: im.subsample(2.0), lambda im: im.subsample(2)),
    ("neighborhood=1.0", lambda im: im.localcorr(1.0), lambda im: im.localcorr(1)),
    ("nsamples=3.0", lambda im: im.sample(3.0, seed=1), lambda im: im.sample(3, seed=1)),
]


@pytest.mark.parametrize("label,call,exc", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_raise_the_same_type_on_every_engine(engine, label, call, exc):
    from napari_thunder import images

    imgs = images.fromarray(np.arange(5 * 6 * 7, dtype=np.float64).reshape(5, 6, 7), engine=engine)
    with pytest.raises(exc):
        call(imgs)


@pytest.mark.parametrize("label,call,same", GOOD_CALLS, ids=[c[0] for c in GOOD_CALLS])
def test_integral_floats_give_the_integer_result(engine, label, call, same):
    from napari_thunder import images

    imgs = images.fromarray(np.arange(5 * 6 * 7, dtype=np.float64).reshape(5, 6, 7), engine=engine)
    got, want = call(imgs), same(imgs)
    got = got if isinstance(got, np.ndarray) else got.toarray()
    want = want if isinstance(want, np.ndarray) else want.toarray()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kwargs,exc", [({"npartitions": 2.0}, None), ({"npartitions": 2.5}, ValueError),
                                        ({"npartitions": True}, TypeError)])
def test_loader_npartitions_policy(kwargs, exc):
    from napari_thunder import images

    if exc is None:
        assert images.fromarray(np.zeros((2, 3, 3)), **kwargs).shape == (2, 3, 3)
    else:
        with pytest.raises(exc, match="npartitions"):
            images.fromarray(np.zeros((2, 3, 3)), **kwargs)


# -- bounds on sizes that cost memory or time ------------------------------------------------------
def test_sizes_are_bounded_with_the_argument_named():
    from napari_thunder import validation as v

    assert v.check_filter_size(v.MAX_FILTER_WIDTH, 2) == (v.MAX_FILTER_WIDTH,) * 2
    with pytest.raises(ValueError, match="size must be at most 65536"):
        v.check_filter_size(v.MAX_FILTER_WIDTH + 1, 2)
    assert v.check_filter_size(1024, 2, kind="median") == (1024, 1024)  # 2**20 pixels
    with pytest.raises(ValueError, match=r"size of the median filter: a window of 1050625 pixels"):
        v.check_filter_size(1025, 2, kind="median")
    assert v.check_filter_size((2 ** 16, 16, 0), 3, kind="median") == (2 ** 16, 16, 0)  # planes: 2**20
    assert v.check_sigma(v.MAX_SIGMA, 2) == (v.MAX_SIGMA,) * 2
    for sigma in (v.MAX_SIGMA * 2, 1e300):
        with pytest.raises(ValueError, match="sigma must be at most 16384"):
            v.check_sigma(sigma, 2)
    assert v.check_neighborhood(v.MAX_NEIGHBORHOOD) == v.MAX_NEIGHBORHOOD
    with pytest.raises(ValueError, match="neighborhood must be at most 32768"):
        v.check_neighborhood(10 ** 12)
    with pytest.raises(ValueError, match="x must be at most 2.5"):
        v.check_real(3, "x", maximum=2.5)
