"""Series, TimeSeries, Blocks, map_as_series and engine conversions."""

import numpy as np
import pytest

from napari_thunder import Blocks, Series, TimeSeries, images

STACK = np.random.default_rng(3).integers(0, 100, (6, 8, 10)).astype(np.uint16)
VOLS = np.random.default_rng(4).random((5, 4, 6, 3))


@pytest.mark.parametrize("size", ["150", "1", "auto", (3, 4)])
def test_toseries_round_trip(size, engine):
    imgs = images.fromarray(STACK, engine=engine)
    series = imgs.toseries(size)
    assert isinstance(series, Series)
    assert series.shape == (8, 10, 6)
    np.testing.assert_array_equal(series.index, np.arange(6))
    np.testing.assert_array_equal(series.toarray(), STACK.transpose(1, 2, 0))
    back = series.toimages()
    assert back.shape == STACK.shape and back.dtype == STACK.dtype
    np.testing.assert_array_equal(back.toarray(), STACK)


def test_totimeseries(engine):
    ts = images.fromarray(VOLS, engine=engine).totimeseries()
    assert isinstance(ts, TimeSeries)
    assert ts.shape == (4, 6, 3, 5)
    np.testing.assert_array_equal(ts.toarray(), np.moveaxis(VOLS, 0, -1))
    np.testing.assert_array_equal(ts.toimages().toarray(), VOLS)


def test_series_map(engine):
    series = images.fromarray(STACK, engine=engine).toseries((4, 5))
    out = series.map(lambda s: np.array([s.min(), s.max()]))
    assert out.shape == (8, 10, 2)
    expected = np.stack([STACK.min(axis=0), STACK.max(axis=0)], axis=-1)
    np.testing.assert_array_equal(out.toarray(), expected)


def test_toblocks(engine):
    imgs = images.fromarray(VOLS, engine=engine)
    blocks = imgs.toblocks((2, 3, 3))
    assert isinstance(blocks, Blocks)
    assert blocks.shape == VOLS.shape
    assert blocks.blockshape == (5, 2, 3, 3)
    assert blocks.count() == 2 * 2 * 1
    tiles = blocks.collect_blocks()
    np.testing.assert_array_equal(tiles[0], VOLS[:, :2, :3, :3])
    np.testing.assert_array_equal(blocks.toarray(), VOLS)
    np.testing.assert_array_equal(blocks.toimages().toarray(), VOLS)
    doubled = blocks.map(lambda b: b * 2)
    np.testing.assert_array_equal(doubled.toimages().toarray(), VOLS * 2)


def test_toblocks_size_in_kilobytes():
    imgs = images.fromarray(STACK)
    # 6 images * 2 bytes = 12 bytes per pixel; 1 KB -> at most 85 pixels per tile
    blocks = imgs.toblocks("1")
    assert np.prod(blocks.blockshape[1:]) * 12 <= 1024
    np.testing.assert_array_equal(blocks.toarray(), STACK)
    with pytest.raises(ValueError, match="size"):
        imgs.toblocks("lots")


def test_map_as_series(engine):
    imgs = images.fromarray(STACK, engine=engine)
    out = imgs.map_as_series(lambda s: s - s.mean(), block_size=(4, 4))
    expected = np.apply_along_axis(lambda s: s - s.mean(), 0, STACK)
    assert out.shape == STACK.shape
    np.testing.assert_allclose(out.toarray(), expected)
    fft = imgs.map_as_series(lambda s: np.abs(np.fft.rfft(s)), value_size=4)
    assert fft.shape == (4, 8, 10)
    np.testing.assert_allclose(fft.toarray(), np.abs(np.fft.rfft(STACK, axis=0)))


def test_tolocal_keeps_shape_exactly(spark_context):
    a = np.arange(15.0).reshape(3, 1, 5)
    spark = images.fromarray(a, engine=spark_context)
    local = spark.tolocal()
    assert local.mode == "local" and local.shape == (3, 1, 5)
    np.testing.assert_array_equal(local.toarray(), a.squeeze())
    one = images.fromarray(np.zeros((1, 1, 5)), engine=spark_context).tolocal()
    assert one.shape == (1, 1, 5)


def test_tospark_keeps_shape_exactly(spark_context):
    local = images.fromarray(np.arange(5.0).reshape(1, 1, 5))
    spark = local.tospark(spark_context)
    assert spark.mode == "spark" and spark.shape == (1, 1, 5)
    np.testing.assert_array_equal(spark.toarray(), np.arange(5.0))


def test_tospark_needs_engine():
    with pytest.raises(ValueError, match="SparkContext"):
        images.fromarray(np.zeros((2, 2, 2))).tospark()


def test_tolocal_of_local_warns():
    imgs = images.fromarray(np.zeros((2, 2, 2)))
    with pytest.warns(UserWarning, match="local"):
        assert imgs.tolocal() is imgs


for _name in ("test_tolocal_keeps_shape_exactly", "test_tospark_keeps_shape_exactly"):
    globals()[_name] = pytest.mark.spark(globals()[_name])


@pytest.mark.spark
def test_tordd_records(spark_context):
    a = np.arange(12.0).reshape(3, 2, 2)
    rdd = images.fromarray(a, engine=spark_context).tordd()
    records = sorted(rdd.collect(), key=lambda kv: kv[0])
    assert [k for k, _ in records] == [(0,), (1,), (2,)]
    np.testing.assert_array_equal(records[2][1], a[2])
    np.testing.assert_array_equal(images.fromrdd(rdd).toarray(), a)


def test_tordd_needs_spark():
    with pytest.raises(ValueError, match="Spark"):
        images.fromarray(np.zeros((2, 2, 2))).tordd()


@pytest.mark.parametrize("method", ["toseries", "totimeseries"])
def test_series_of_no_images_is_one_clear_error_on_every_engine(method, engine):
    """A filter that keeps nothing, then toseries: the same ValueError everywhere (the local,
    Spark and distributed engines raised a reshape error, an index error and a ZeroDivisionError)."""
    empty = images.fromarray(np.zeros((3, 4, 4)), engine=engine).filter(lambda image: False)
    assert empty.count() == 0
    with pytest.raises(ValueError, match=r"^no images to turn into series \(count\(\) is 0\)"):
        getattr(empty, method)()
