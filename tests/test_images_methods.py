"""Per-image methods, indexing and generic operations vs numpy/scipy."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_thunder import images

RNG = np.random.default_rng(12345)
STACK2D = RNG.integers(0, 1000, (5, 12, 14)).astype(np.int16)
STACK3D = RNG.random((4, 9, 10, 6)) * 100
DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]


def per_image(stack, func):
    return np.stack([func(im) for im in stack])


# ---------------------------------------------------------------- indexing, repr
def test_getitem_keeps_axes(engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    assert imgs[1].shape == (1, 12, 14)
    np.testing.assert_array_equal(imgs[1].toarray(), STACK2D[1])
    np.testing.assert_array_equal(imgs[-1].toarray(), STACK2D[-1])
    assert imgs[:, 0, 0].shape == (5, 1, 1)
    np.testing.assert_array_equal(imgs[:, 0, 0].toarray(), STACK2D[:, 0, 0])
    np.testing.assert_array_equal(imgs[:, 1:, ::2].toarray(), STACK2D[:, 1:, ::2])
    np.testing.assert_array_equal(imgs[[0, 2]].toarray(), STACK2D[[0, 2]])
    np.testing.assert_array_equal(imgs[1:4].toarray(), STACK2D[1:4])
    with pytest.raises(IndexError):
        imgs[5]
    with pytest.raises(IndexError):
        imgs[0, 0, 0, 0]


def test_repr():
    imgs = images.fromarray(np.zeros((2, 3, 4)))
    assert repr(imgs) == "Images\nmode: local\ndtype: float64\nshape: (2, 3, 4)"


def test_toarray_squeezes_every_singleton():
    assert images.fromarray(np.zeros((1, 3, 4))).toarray().shape == (3, 4)
    assert images.fromarray(np.zeros((3, 1, 5))).toarray().shape == (3, 5)
    assert images.fromarray(np.zeros((1, 1, 5))).toarray().shape == (5,)
    assert np.asarray(images.fromarray(np.zeros((2, 1, 5)))).shape == (2, 5)


# ---------------------------------------------------------------- map/filter/foreach/reduce
def test_map(engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    out = imgs.map(lambda x: x[::2] * 2)
    np.testing.assert_array_equal(out.toarray(), per_image(STACK2D, lambda x: x[::2] * 2))
    assert out.dtype == (STACK2D[0][::2] * 2).dtype


def test_map_scalar_and_keys(engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    sums = imgs.map(lambda x: x.sum())
    assert sums.shape == (5, 1)
    np.testing.assert_array_equal(sums.toarray(), STACK2D.reshape(5, -1).sum(axis=1))
    keyed = imgs.map(lambda kv: np.full((2, 2), kv[0][0]), with_keys=True)
    np.testing.assert_array_equal(keyed.toarray()[:, 0, 0], np.arange(5))


def test_map_with_hints_does_not_probe(engine):
    calls = []

    def f(x):
        calls.append(1)
        return x.astype(np.float32)

    imgs = images.fromarray(STACK2D, engine=engine)
    out = imgs.map(f, dims=(12, 14), dtype=np.float32)
    assert out.shape == (5, 12, 14) and out.dtype == np.float32
    if engine is None:
        assert calls == []  # lazy, and no probe with full hints
    np.testing.assert_array_equal(out.toarray(), STACK2D.astype(np.float32))


def test_filter_keeps_order(engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    means = STACK2D.reshape(5, -1).mean(axis=1)
    keep = means > np.median(means)
    out = imgs.filter(lambda x: x.mean() > np.median(means))
    np.testing.assert_array_equal(out.toarray(), STACK2D[keep])
    assert out.count() == keep.sum()


def test_foreach_sees_every_image():
    seen = {}
    images.fromarray(STACK2D).foreach(lambda kv: seen.__setitem__(kv[0], kv[1].sum()))
    assert seen == {i: STACK2D[i].sum() for i in range(5)}


def test_reduce(engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    out = imgs.reduce(lambda a, b: np.maximum(a, b))
    assert out.shape == (1, 12, 14)
    np.testing.assert_array_equal(out.toarray(), STACK2D.max(axis=0))
    np.testing.assert_array_equal(imgs.reduce(np.add).toarray(), STACK2D.sum(axis=0, dtype=np.int16))
    with pytest.raises(ValueError, match="valid dimensions"):
        imgs.reduce(lambda a, b: np.array([1.0]))


@pytest.mark.parametrize("shape,expected", [((2, 3, 1), (2, 3)), ((2, 1, 4, 1), (2, 4)),
                                            ((2, 1, 1), (2, 1))])
def test_squeeze(shape, expected, engine):
    a = np.arange(np.prod(shape)).reshape(shape)
    out = images.fromarray(a, engine=engine).squeeze()
    assert out.shape == expected
    np.testing.assert_array_equal(out.toarray(), a.reshape(expected).squeeze())


# ---------------------------------------------------------------- filters
@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_filter_dtypes(dtype, engine):
    stack = (STACK2D % 200).astype(dtype)
    out = images.fromarray(stack, engine=engine).gaussian_filter(sigma=1.5)
    expected = per_image(stack, lambda x: ndi.gaussian_filter(x, 1.5))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.toarray(), expected)


def test_gaussian_filter_volume_per_axis_and_order(engine):
    imgs = images.fromarray(STACK3D, engine=engine)
    out = imgs.gaussian_filter(sigma=(1, 2, 0), order=(0, 1, 0))
    expected = per_image(STACK3D, lambda x: ndi.gaussian_filter(x, (1, 2, 0), order=(0, 1, 0)))
    np.testing.assert_allclose(out.toarray(), expected, rtol=1e-12)


def test_gaussian_filter_bad_sigma():
    imgs = images.fromarray(STACK2D)
    with pytest.raises(ValueError, match="sigma"):
        imgs.gaussian_filter(sigma=-1)
    with pytest.raises(ValueError, match="sigma"):
        imgs.gaussian_filter(sigma=(1, 2, 3))
    with pytest.raises(TypeError, match="sigma"):
        imgs.gaussian_filter(sigma="wide")


@pytest.mark.parametrize("size", [2, 3, (3, 1)])
def test_uniform_and_median_2d(size, engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    np.testing.assert_array_equal(imgs.uniform_filter(size).toarray(),
                                  per_image(STACK2D, lambda x: ndi.uniform_filter(x, size)))
    np.testing.assert_array_equal(imgs.median_filter(size).toarray(),
                                  per_image(STACK2D, lambda x: ndi.median_filter(x, size)))


def test_filters_volume_cube_and_plane_by_plane(engine):
    imgs = images.fromarray(STACK3D, engine=engine)
    np.testing.assert_allclose(imgs.uniform_filter(3).toarray(),
                               per_image(STACK3D, lambda x: ndi.uniform_filter(x, 3)), rtol=1e-12)

    def planes(x):
        return np.stack([ndi.median_filter(x[:, :, z], (3, 2)) for z in range(x.shape[2])], axis=2)

    np.testing.assert_array_equal(imgs.median_filter((3, 2, 0)).toarray(), per_image(STACK3D, planes))


def test_filter_bad_size():
    imgs = images.fromarray(STACK2D)
    with pytest.raises(ValueError, match="size"):
        imgs.uniform_filter(-1)
    with pytest.raises(ValueError, match="size"):
        imgs.median_filter(0)


# ---------------------------------------------------------------- projections, subsample, subtract
def test_projections(engine):
    imgs = images.fromarray(STACK3D, engine=engine)
    np.testing.assert_array_equal(imgs.max_projection().toarray(), STACK3D.max(axis=3))
    np.testing.assert_array_equal(imgs.max_projection(axis=0).toarray(), STACK3D.max(axis=1))
    np.testing.assert_array_equal(imgs.max_min_projection(axis=1).toarray(),
                                  STACK3D.max(axis=2) + STACK3D.min(axis=2))
    flat = images.fromarray(STACK2D, engine=engine)
    assert flat.max_projection(axis=1).dtype == np.int16
    with pytest.raises(ValueError, match="axis"):
        flat.max_projection()  # axis 2 does not exist in 2-D images


def test_subsample(engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    np.testing.assert_array_equal(imgs.subsample(3).toarray(), STACK2D[:, ::3, ::3])
    assert imgs.subsample(5).shape == (5, 3, 3)  # ceil(12/5), ceil(14/5)
    np.testing.assert_array_equal(imgs.subsample((2, 1)).toarray(), STACK2D[:, ::2, :])
    with pytest.raises(ValueError, match="factor"):
        imgs.subsample(0)
    with pytest.raises(ValueError, match="factor"):
        imgs.subsample((2, 2, 2))


def test_subtract(engine):
    imgs = images.fromarray(STACK2D, engine=engine)
    out = imgs.subtract(1)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out.toarray(), STACK2D - np.int16(1))
    half = imgs.subtract(0.5)
    assert half.dtype == np.float64
    np.testing.assert_array_equal(half.toarray(), STACK2D - 0.5)
    bg = STACK2D.mean(axis=0)
    np.testing.assert_allclose(imgs.subtract(bg).toarray(), STACK2D - bg)
    np.testing.assert_allclose(imgs.subtract(imgs.mean()).toarray(), STACK2D - bg)
    with pytest.raises(ValueError, match="dimensions"):
        imgs.subtract(np.zeros((3, 3)))


# ---------------------------------------------------------------- sampling
def test_sample_without_replacement_reproducible(engine):
    a = np.arange(10)[:, None, None] * np.ones((10, 2, 2))
    imgs = images.fromarray(a, engine=engine)
    s1 = imgs.sample(4, seed=3).toarray()[:, 0, 0]
    s2 = imgs.sample(4, seed=3).toarray()[:, 0, 0]
    np.testing.assert_array_equal(s1, s2)
    assert len(set(s1)) == 4
    assert imgs.sample(100, seed=1).count() == 10
    with pytest.raises(ValueError, match="larger than 0"):
        imgs.sample(0)


@pytest.mark.spark
def test_sample_same_in_both_modes(spark_context):
    a = np.arange(20)[:, None, None] * np.ones((20, 2, 2))
    local = images.fromarray(a).sample(7, seed=11).toarray()
    spark = images.fromarray(a, engine=spark_context).sample(7, seed=11).toarray()
    np.testing.assert_array_equal(local, spark)


def test_astype(engine):
    out = images.fromarray(STACK2D, engine=engine).astype(np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.toarray(), STACK2D.astype(np.float32))
