"""Thunder 1.4.2 names and keywords of Images, against numpy on every engine."""

import operator

import numpy as np
import pytest

from napari_thunder import images

RNG = np.random.default_rng(7)
STACK = RNG.integers(0, 100, (4, 5, 6)).astype(np.int16)
OTHER = RNG.integers(1, 50, (4, 5, 6)).astype(np.int16)


# ---------------------------------------------------------------- description
def test_baseaxes_baseshape():
    imgs = images.fromarray(STACK)
    assert imgs.baseaxes == (0,)
    assert imgs.baseshape == (4,)
    assert imgs.value_shape == (5, 6)


def test_labels_set_kept_and_selected(engine):
    imgs = images.fromarray(STACK, engine=engine)
    assert imgs.labels is None
    imgs.labels = ["a", "b", "c", "d"]
    np.testing.assert_array_equal(imgs.labels, np.array(["a", "b", "c", "d"]))
    np.testing.assert_array_equal(imgs[1:3].labels, ["b", "c"])
    np.testing.assert_array_equal(imgs[[3, 0]].labels, ["d", "a"])
    np.testing.assert_array_equal(imgs.plus(1).labels, imgs.labels)
    np.testing.assert_array_equal(imgs.map(lambda x: x * 2).labels, imgs.labels)
    np.testing.assert_array_equal(imgs[:, 1:3].labels, imgs.labels)
    assert imgs.mean().labels is None
    np.testing.assert_array_equal(imgs.sample(2, seed=0).labels.shape, (2,))


def test_labels_shape_checked():
    imgs = images.fromarray(STACK)
    with pytest.raises(ValueError, match="labels"):
        imgs.labels = [1, 2, 3]
    imgs.labels = np.arange(4)
    imgs.labels = None
    assert imgs.labels is None


# ---------------------------------------------------------------- reshape
def test_reshape(engine):
    imgs = images.fromarray(STACK, engine=engine)
    out = imgs.reshape(4, 3, 10)
    assert out.shape == (4, 3, 10)
    np.testing.assert_array_equal(out.toarray(), STACK.reshape(4, 3, 10))
    np.testing.assert_array_equal(imgs.reshape((4, 5, 3, 2)).toarray(), STACK.reshape(4, 5, 3, 2))


def test_reshape_errors():
    imgs = images.fromarray(STACK)
    with pytest.raises(ValueError, match="number of elements"):
        imgs.reshape(4, 5, 5)
    with pytest.raises(ValueError, match="number of images"):
        imgs.reshape(2, 10, 6)
    with pytest.raises(ValueError, match="2d or 3d"):
        imgs.reshape(4, 30)


# ---------------------------------------------------------------- element-wise
@pytest.mark.parametrize("name, op", [("plus", operator.add), ("minus", operator.sub),
                                      ("dottimes", operator.mul), ("dotdivide", operator.truediv)])
def test_element_wise_family_local(name, op):
    imgs = images.fromarray(STACK)
    for other in (3, OTHER, images.fromarray(OTHER)):
        ref = op(STACK, other if not isinstance(other, images.Images) else OTHER)
        out = getattr(imgs, name)(other)
        assert out.dtype == ref.dtype
        np.testing.assert_array_equal(out.toarray(), ref)


def test_element_wise_engines(engine):
    imgs = images.fromarray(STACK, engine=engine)
    np.testing.assert_array_equal(imgs.element_wise(OTHER, np.maximum).toarray(), np.maximum(STACK, OTHER))
    other = images.fromarray(OTHER, engine=engine)
    np.testing.assert_array_equal(imgs.minus(other).toarray(), STACK - OTHER)
    np.testing.assert_allclose(imgs.dotdivide(2.5).toarray(), STACK / 2.5)


def test_element_wise_errors():
    imgs = images.fromarray(STACK)
    with pytest.raises(ValueError, match="other"):
        imgs.plus(OTHER[:2])
    with pytest.raises(ValueError, match="other"):
        imgs.plus(images.fromarray(OTHER[:, :2]))
    with pytest.raises(TypeError, match="op"):
        imgs.element_wise(1, "add")


def test_clip(engine):
    imgs = images.fromarray(STACK, engine=engine)
    np.testing.assert_array_equal(imgs.clip(10, 60).toarray(), np.clip(STACK, 10, 60))
    np.testing.assert_array_equal(imgs.clip(max=30).toarray(), np.clip(STACK, None, 30))
    lo = np.arange(6)[np.newaxis] * 10
    np.testing.assert_array_equal(imgs.clip(min=lo).toarray(), np.clip(STACK, lo, None))
    assert imgs.clip(1, 2).dtype == np.int16


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="min or max"):
        images.fromarray(STACK).clip()


# ---------------------------------------------------------------- Spark-only methods
@pytest.mark.parametrize("name, args", [("cache", ()), ("uncache", ()), ("iscached", ()),
                                        ("compute", ()), ("repartition", (2,)), ("coalesce", (1,))])
def test_spark_only_methods_refuse_local_mode(name, args):
    imgs = images.fromarray(STACK)
    with pytest.raises(NotImplementedError, match=f"{name} is not supported in local mode"):
        getattr(imgs, name)(*args)


@pytest.mark.spark
def test_spark_cache_repartition_coalesce(spark_context):
    imgs = images.fromarray(STACK, engine=spark_context, npartitions=2)
    imgs.labels = np.arange(4) * 10
    assert not imgs.iscached()
    assert imgs.cache() is imgs
    assert imgs.iscached()
    imgs.compute()
    assert imgs.uncache() is imgs
    assert not imgs.iscached()
    more = imgs.repartition(4)
    assert more.npartitions() == 4
    np.testing.assert_array_equal(more.toarray(), STACK)
    np.testing.assert_array_equal(more.labels, imgs.labels)
    fewer = more.coalesce(1)
    assert fewer.npartitions() == 1
    np.testing.assert_array_equal(fewer.toarray(), STACK)
    with pytest.raises(ValueError, match="coalesce"):
        fewer.coalesce(3)


# ---------------------------------------------------------------- keywords
def test_map_thunder_keywords(engine):
    imgs = images.fromarray(STACK, engine=engine)
    out = imgs.map(lambda kv: kv[1][:2] * (kv[0][0] + 1), value_shape=(2, 6), dtype="float32",
                   with_keys=True)
    assert out.shape == (4, 2, 6) and out.dtype == np.float32
    ref = np.stack([STACK[i, :2] * (i + 1) for i in range(4)]).astype(np.float32)
    np.testing.assert_array_equal(out.toarray(), ref)


def test_map_older_spellings():
    imgs = images.fromarray(STACK)
    np.testing.assert_array_equal(imgs.map(lambda x: x.sum(0), dims=(6,)).toarray(), STACK.sum(1))
    keyed = imgs.map(lambda kv: kv[1] + kv[0][0], None, True)  # map(func, dims, with_keys)
    np.testing.assert_array_equal(keyed.toarray(), STACK + np.arange(4)[:, None, None])
    assert imgs.map(lambda x: x.sum(), value_shape=1, dtype=np.int64).shape == (4, 1)
    with pytest.raises(TypeError, match="value_shape or dims"):
        imgs.map(lambda x: x, value_shape=(5, 6), dims=(5, 6))


def test_map_as_series_keywords(engine):
    imgs = images.fromarray(STACK, engine=engine)
    out = imgs.map_as_series(lambda s: s[::-1] - s.mean(), value_size=4, dtype=np.float32, chunk_size=(2, 3))
    assert out.dtype == np.float32 and out.shape == (4, 5, 6)
    ref = (STACK[::-1] - STACK.mean(0)).astype(np.float32)
    np.testing.assert_allclose(out.toarray(), ref, rtol=1e-6)


def test_map_as_series_older_spellings():
    imgs = images.fromarray(STACK)
    ref = np.cumsum(STACK, axis=0)
    np.testing.assert_array_equal(imgs.map_as_series(np.cumsum, 4, "2").toarray(), ref)
    np.testing.assert_array_equal(imgs.map_as_series(np.cumsum, block_size=(5, 6)).toarray(), ref)
    np.testing.assert_array_equal(imgs.map_as_series(np.cumsum, chunk_size="auto").toarray(), ref)
    with pytest.raises(TypeError, match="chunk_size or block_size"):
        imgs.map_as_series(np.cumsum, chunk_size="2", block_size="2")


def test_astype_casting(engine):
    imgs = images.fromarray(STACK, engine=engine)
    np.testing.assert_array_equal(imgs.astype(np.int32, casting="safe").toarray(), STACK.astype(np.int32))
    with pytest.raises(TypeError, match="casting"):
        imgs.astype(np.uint8, casting="safe")
    assert imgs.astype(np.uint8).dtype == np.uint8
    with pytest.raises(ValueError, match="casting"):
        imgs.astype(np.int32, casting="sometimes")


def _reference_window_corr(stack, size):
    from scipy import ndimage as ndi

    blurred = ndi.uniform_filter(stack.astype(np.float64), size=(1,) + tuple(size), mode="reflect")
    x = stack.reshape(len(stack), -1).astype(np.float64)
    y = blurred.reshape(len(stack), -1)
    r = [np.corrcoef(x[:, j], y[:, j])[0, 1] for j in range(x.shape[1])]
    return np.array(r).reshape(stack.shape[1:])


VOLUMES = RNG.random((12, 6, 7, 4))


@pytest.mark.parametrize("size", [(3, 3, 1), (2, 2, 2), 3, 4])
def test_localcorr_size_local(size):
    widths = size if isinstance(size, tuple) else (size,) * 3
    out = images.fromarray(VOLUMES).localcorr(size=size)
    np.testing.assert_allclose(out, _reference_window_corr(VOLUMES, widths), rtol=1e-9, atol=1e-12)


def test_localcorr_size_engines(engine):
    imgs = images.fromarray(VOLUMES, engine=engine)
    np.testing.assert_allclose(imgs.localcorr(size=(3, 3, 1)), _reference_window_corr(VOLUMES, (3, 3, 1)),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(imgs.localcorr(size=3), imgs.localcorr(neighborhood=1), rtol=1e-12)


def test_localcorr_size_stream_and_errors():
    imgs = images.fromarray(VOLUMES)
    *_, (done, total, last) = imgs.stream_localcorr(size=(3, 3, 1))
    assert done == total == 12
    np.testing.assert_allclose(last, imgs.localcorr(size=(3, 3, 1)), rtol=1e-12)
    with pytest.raises(TypeError, match="not both"):
        imgs.localcorr(neighborhood=1, size=3)
    with pytest.raises(ValueError, match="size"):
        imgs.localcorr(size=(3, 3))
    with pytest.raises(ValueError, match="size"):
        imgs.localcorr(size=0)
    with pytest.raises(TypeError, match="size"):
        imgs.localcorr(size="3")


# ---------------------------------------------------------------- labels= on the loaders
def test_loaders_take_labels(tmp_path, engine):
    imgs = images.fromarray(STACK, engine=engine, labels=["w", "x", "y", "z"])
    np.testing.assert_array_equal(imgs.labels, ["w", "x", "y", "z"])
    listed = images.fromlist(list(STACK), engine=engine, labels=np.arange(4) + 1)
    np.testing.assert_array_equal(listed.labels, [1, 2, 3, 4])
    images.fromarray(STACK).tobinary(str(tmp_path / "bin"))
    back = images.frombinary(str(tmp_path / "bin"), engine=engine, labels=[5, 6, 7, 8])
    np.testing.assert_array_equal(back.labels, [5, 6, 7, 8])
    np.testing.assert_array_equal(back.toarray(), STACK)


def test_loader_labels_checked(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        images.fromarray(STACK, labels=[1, 2])
    images.fromarray(STACK).totif(str(tmp_path / "tif"))
    np.testing.assert_array_equal(images.fromtif(str(tmp_path / "tif"), labels=list("abcd")).labels,
                                  list("abcd"))


# ---------------------------------------------------------------- values
def test_values_is_the_ndarray_in_local_mode(tmp_path):
    import dask.array as da

    imgs = images.fromarray(STACK)
    assert isinstance(imgs.values, np.ndarray)
    np.testing.assert_array_equal(imgs.values, STACK)
    assert imgs[0].values.shape == (1, 5, 6)  # not squeezed
    lazy = images.fromarray(da.from_array(STACK, chunks=(1, 5, 6))).plus(1)
    assert isinstance(lazy.dask_array, da.Array)
    assert isinstance(lazy.values, np.ndarray)
    np.testing.assert_array_equal(lazy.values, STACK + 1)
    assert lazy.values is lazy.values  # computed once
    images.fromarray(STACK).tobinary(str(tmp_path / "b"))
    np.testing.assert_array_equal(images.frombinary(str(tmp_path / "b")).values, STACK)


@pytest.mark.spark
def test_values_and_dask_array_on_spark(spark_context):
    imgs = images.fromarray(STACK, engine=spark_context)
    assert imgs.values.context is spark_context
    with pytest.raises(ValueError, match="dask_array"):
        _ = imgs.dask_array


# ---------------------------------------------------------------- a Thunder script, unchanged
def _thunder_script(imgs):
    """Thunder 1.4.2 style: as thunder-registration and the Thunder tutorials write it."""
    imgs.labels = [f"frame{i}" for i in range(imgs.shape[0])]
    shifted = imgs.map(lambda kv: kv[1] + kv[0][0], value_shape=imgs.value_shape, dtype="float64",
                       with_keys=True)
    series = shifted.toseries(chunk_size="64").normalize().zscore()
    return shifted.labels, series.toimages().toarray()


def test_thunder_script_runs_unchanged(engine):
    stack = RNG.random((8, 5, 6)) * 100 + 10
    labels, out = _thunder_script(images.fromarray(stack, engine=engine))
    assert list(labels) == [f"frame{i}" for i in range(8)]
    shifted = stack + np.arange(8)[:, None, None]
    x = np.moveaxis(shifted, 0, -1)  # pixels x time
    baseline = np.percentile(x, 20, axis=-1, keepdims=True)
    dff = (x - baseline) / (baseline + 0.1)
    z = (dff - dff.mean(-1, keepdims=True)) / dff.std(-1, keepdims=True)
    np.testing.assert_allclose(out, np.moveaxis(z, -1, 0), rtol=1e-9, atol=1e-12)
