"""Bad arguments to every Images method and loader, on every engine: the same
exception type everywhere, raised before any work, its message naming the
argument; values the policy accepts (numpy scalars, integral floats, sizes
bigger than the data) give the exact result of the independent reference."""

import os

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile

from napari_thunder import images, validation

NAN, INF = float("nan"), float("inf")
DATA = (np.arange(3 * 6 * 7, dtype=np.uint16).reshape(3, 6, 7) * 37) % 1000

# (method, args, expected exception, word of the message)
BAD_INTEGER = [True, np.bool_(False), "2", b"2", None, 2.5, NAN, INF, -INF, object(), 1 + 1j, np.array(2),
               {"a": 1}]


def _bad_integer_cases(method, name, extra=()):
    cases = []
    for value in BAD_INTEGER + list(extra):
        if value is None and method in ("sample",):
            expected = TypeError
        elif isinstance(value, float) or isinstance(value, np.floating):
            expected = ValueError
        else:
            expected = TypeError
        cases.append((method, (value,), expected, name))
    return cases


CASES = (
    _bad_integer_cases("max_projection", "axis")
    + [("max_projection", (v,), ValueError, "axis") for v in (2, -3, 10 ** 30, np.int64(5), 2.0)]
    + _bad_integer_cases("max_min_projection", "axis")
    + [("max_min_projection", (v,), ValueError, "axis") for v in (2, -3, 10 ** 30)]
    + _bad_integer_cases("subsample", "factor")
    + [("subsample", (v,), ValueError, "factor") for v in (0, -1, [2], [1, 2, 3], np.float64(-2.0))]
    + _bad_integer_cases("uniform_filter", "size")
    + [("uniform_filter", (v,), ValueError, "size")
       for v in (-1, 10 ** 30, validation.MAX_FILTER_WIDTH + 1, [2], (1, 2, 3), 1e300)]
    + _bad_integer_cases("median_filter", "size")
    + [("median_filter", (v,), ValueError, "size")
       for v in (0, -1, 10 ** 6, 1025, [3], (3, 0), 10 ** 30, 1e300)]
    # (None is localcorr's default: neighborhood 2, or Thunder's size= when given)
    + [case for case in _bad_integer_cases("localcorr", "neighborhood") if case[1] != (None,)]
    + [("localcorr", (v,), ValueError, "neighborhood")
       for v in (-1, 10 ** 12, validation.MAX_NEIGHBORHOOD + 1, 1e300)]
    + _bad_integer_cases("sample", "nsamples")
    + [("sample", (v,), ValueError, "nsamples") for v in (0, -1, -10 ** 30, np.int8(0))]
    + [("gaussian_filter", (v,), TypeError, "sigma")
       for v in (True, np.bool_(True), "1", None, object(), 1 + 1j, {"a": 1}, [None, 1])]
    + [("gaussian_filter", (v,), ValueError, "sigma")
       for v in (NAN, INF, -INF, -1, -1e-9, 1e300, validation.MAX_SIGMA * 2, [1], [1, 2, 3],
                 np.float32(NAN))]
    + [("gaussian_filter", (1, v), TypeError, "order") for v in (True, "1", None, object())]
    + [("gaussian_filter", (1, v), ValueError, "order") for v in (4, -1, 1.5, NAN, 10 ** 30, [1], (0, 4))]
    + [("subtract", (v,), TypeError, "val") for v in (None, "a", object(), np.array(["a"]), [[None]])]
    + [("subtract", (v,), ValueError, "dimensions") for v in (np.zeros((6, 8)), np.zeros(7 * 6), [[1, 2]])]
)


def _case_id(case):
    method, args, expected, _ = case
    return f"{method}-{'-'.join(repr(a)[:24] for a in args)}-{expected.__name__}"


_IMAGES = {}


def _images(engine):
    key = id(engine)
    if key not in _IMAGES:
        _IMAGES[key] = images.fromarray(DATA, engine=engine)
    return _IMAGES[key]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_method_argument(engine, case):
    method, args, expected, word = case
    imgs = _images(engine)
    with pytest.raises(expected) as info:
        getattr(imgs, method)(*args)
    assert type(info.value) is expected, repr(info.value)
    assert word in str(info.value), str(info.value)


def test_volume_sizes(engine):
    vol = images.fromarray(np.zeros((2, 4, 5, 6), np.float32), engine=engine)
    with pytest.raises(ValueError, match="size"):
        vol.median_filter((2 ** 11, 2 ** 11, 0))  # 4 Mi-pixel planes
    with pytest.raises(ValueError, match="size"):
        vol.median_filter(102)  # a 102**3 cube
    with pytest.raises(ValueError, match="axis"):
        vol.max_projection(3)
    with pytest.raises(ValueError, match="sigma"):
        vol.gaussian_filter((1, 1))


# -- accepted values, against the reference --------------------------------------------------------
def test_numpy_scalars_and_integral_floats_are_the_plain_values(engine):
    imgs = _images(engine)
    floats = images.fromarray(DATA.astype(np.float64), engine=engine)
    ref = np.array([ndi.gaussian_filter(f.astype(np.float64), 1.5, order=(1, 0), mode="reflect")
                    for f in DATA])
    for sigma, order in ((np.float32(1.5), (np.int64(1), 0)), (1.5, [1.0, np.uint8(0)])):
        np.testing.assert_allclose(floats.gaussian_filter(sigma, order=order).toarray(), ref,
                                   rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(imgs.uniform_filter(np.float64(3.0)).toarray(),
                                  np.array([ndi.uniform_filter(f, 3, mode="reflect") for f in DATA]))
    np.testing.assert_array_equal(imgs.median_filter(np.int32(3)).toarray(),
                                  np.array([ndi.median_filter(f, 3, mode="reflect") for f in DATA]))
    np.testing.assert_array_equal(imgs.subsample(np.uint64(2)).toarray(), DATA[:, ::2, ::2])
    np.testing.assert_array_equal(imgs.max_projection(np.int8(0)).toarray(), DATA.max(axis=1))
    np.testing.assert_array_equal(imgs.subtract(np.uint16(5)).toarray(), DATA - np.uint16(5))


def test_sizes_bigger_than_the_data(engine):
    imgs = _images(engine)
    np.testing.assert_array_equal(imgs.sample(10 ** 30, seed=1).toarray(), DATA)
    small = imgs.subsample(10 ** 30)
    assert small.shape == (3, 1, 1)
    np.testing.assert_array_equal(small.toarray(), DATA[:, 0, 0])  # toarray squeezes, as Thunder
    np.testing.assert_array_equal(imgs.median_filter(15).toarray(),
                                  np.array([ndi.median_filter(f, 15, mode="reflect") for f in DATA]))
    np.testing.assert_array_equal(imgs.uniform_filter(500).toarray(),
                                  np.array([ndi.uniform_filter(f, 500, mode="reflect") for f in DATA]))
    np.testing.assert_array_equal(images.fromarray(DATA, npartitions=10 ** 30, engine=engine).toarray(), DATA)


# -- loaders ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("loaders")
    (root / "bin").mkdir()
    for i, frame in enumerate(DATA):
        frame.tofile(root / "bin" / f"image-{i:05d}.bin")
    (root / "tif").mkdir()
    for i, frame in enumerate(DATA):
        tifffile.imwrite(root / "tif" / f"image-{i:05d}.tif", frame)
    return root


LOADER_CASES = (
    [("fromarray", {"npartitions": v}, TypeError, "npartitions") for v in (True, "2", object(), 1 + 1j)]
    + [("fromarray", {"npartitions": v}, ValueError, "npartitions") for v in (0, -1, 2.5, NAN, INF)]
    + [("frombinary", {"nplanes": v}, TypeError, "nplanes") for v in (True, "2", object())]
    + [("frombinary", {"nplanes": v}, ValueError, "nplanes") for v in (0, -1, 2.5, NAN, 10 ** 30, 4)]
    + [("frombinary", {"order": v}, ValueError, "order") for v in ("X", "c", None, True)]
    + [("frombinary", {"recursive": v}, TypeError, "recursive") for v in ("yes", 1, None)]
    + [("frombinary", {"shape": v}, ValueError, "shape") for v in ((0, 7), (-6, 7), (6.5, 7), (True, 7))]
    + [("frombinary", {"shape": (6, 7), "dtype": v}, ValueError, "dtype") for v in ("nonsense", "O", "V0")]
    + [("fromtif", {"nplanes": v}, TypeError, "nplanes") for v in (True, "2")]
    + [("fromtif", {"nplanes": v}, ValueError, "nplanes") for v in (0, -1, 2.5, 10 ** 30)]
    + [("fromtif", {"npartitions": v}, ValueError, "npartitions") for v in (0, -1)]
    + [("fromtif", {"recursive": v}, TypeError, "recursive") for v in ("no", 0)]
)


def _loader_id(case):
    loader, kwargs, expected, _ = case
    return f"{loader}-{'-'.join(f'{k}={repr(v)[:16]}' for k, v in kwargs.items())}-{expected.__name__}"


@pytest.mark.parametrize("case", LOADER_CASES, ids=[_loader_id(c) for c in LOADER_CASES])
def test_bad_loader_argument(engine, files, case):
    loader, kwargs, expected, word = case
    kwargs = dict(kwargs)
    if loader == "fromarray":
        call = lambda: images.fromarray(DATA, engine=engine, **kwargs)  # noqa: E731
    elif loader == "frombinary":
        kwargs.setdefault("shape", (6, 7))
        kwargs.setdefault("dtype", "uint16")
        call = lambda: images.frombinary(str(files / "bin"), engine=engine, **kwargs)  # noqa: E731
    else:
        call = lambda: images.fromtif(str(files / "tif"), engine=engine, **kwargs)  # noqa: E731
    with pytest.raises(expected) as info:
        call().count()
    assert type(info.value) is expected, repr(info.value)
    assert word in str(info.value), str(info.value)


def test_loaders_accept_numpy_and_integral_values(engine, files):
    got = images.frombinary(str(files / "bin"), shape=(np.int64(6), np.uint8(7)), dtype=np.uint16,
                            nplanes=np.int32(7), npartitions=np.int8(2), engine=engine).toarray()
    np.testing.assert_array_equal(got, DATA)
    tifs = images.fromtif(str(files / "tif"), npartitions=2.0, engine=engine)
    np.testing.assert_array_equal(tifs.toarray(), DATA)


# -- engine and writer arguments (no engine involved) ----------------------------------------------
@pytest.mark.parametrize("engine_arg, expected", [(5, TypeError), (True, TypeError), (5.0, TypeError),
                                                  ([], TypeError), (object(), TypeError),
                                                  ("nonsense", ValueError), ("", ValueError)])
def test_bad_engine(engine_arg, expected):
    with pytest.raises(expected, match="engine"):
        images.fromarray(DATA, engine=engine_arg)


@pytest.mark.parametrize("kwargs, expected, word", [
    ({"path": None}, TypeError, "path"), ({"path": 5}, TypeError, "path"), ({"path": ""}, ValueError, "path"),
    ({"prefix": "../x"}, ValueError, "prefix"), ({"prefix": ""}, ValueError, "prefix"),
    ({"prefix": ".."}, ValueError, "prefix"), ({"prefix": "a/b"}, ValueError, "prefix"),
    ({"prefix": "a\0b"}, ValueError, "prefix"), ({"prefix": 5}, TypeError, "prefix"),
    ({"prefix": None}, TypeError, "prefix"), ({"overwrite": "no"}, TypeError, "overwrite"),
    ({"overwrite": 1}, TypeError, "overwrite"), ({"overwrite": None}, TypeError, "overwrite"),
])
@pytest.mark.parametrize("writer", ["totif", "topng", "tobinary"])
def test_bad_writer_argument(engine, tmp_path, writer, kwargs, expected, word):
    kwargs = dict(kwargs)
    path = kwargs.pop("path", str(tmp_path / "out"))
    with pytest.raises(expected) as info:
        getattr(_images(engine), writer)(path, **kwargs)
    assert type(info.value) is expected and word in str(info.value), repr(info.value)
    assert os.listdir(tmp_path) == []

