"""Loaders: shapes, dtypes and values against files written by other tools."""

import json
import os
import shutil

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_thunder import images
from napari_thunder.engines import engine_kind

DATA = os.path.join(os.path.dirname(__file__), "data")
SINGLE_TIF = os.path.join(DATA, "singlelayer_tif")
MULTI_TIF = os.path.join(DATA, "multilayer_tif")
SINGLE_PNG = os.path.join(DATA, "singlelayer_png")


# ---------------------------------------------------------------- fromarray
def test_fromarray_3d_keeps_values_and_dtype(engine):
    a = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    imgs = images.fromarray(a, engine=engine)
    assert imgs.shape == (2, 3, 4)
    assert imgs.dtype == np.int16
    assert imgs.count() == 2
    np.testing.assert_array_equal(imgs.toarray(), a)
    np.testing.assert_array_equal(imgs.first(), a[0])
    assert imgs.mode == engine_kind(engine)


def test_fromarray_2d_is_one_image(engine):
    a = np.arange(12.0).reshape(3, 4)
    imgs = images.fromarray(a, engine=engine)
    assert imgs.shape == (1, 3, 4)
    np.testing.assert_array_equal(imgs.toarray(), a)


def test_fromarray_volumes(engine):
    a = np.random.default_rng(0).random((3, 4, 5, 6)).astype(np.float32)
    imgs = images.fromarray(a, engine=engine)
    assert imgs.shape == (3, 4, 5, 6)
    assert imgs.dtype == np.float32
    np.testing.assert_array_equal(imgs.toarray(), a)


def test_fromarray_list_of_arrays(engine):
    frames = [np.full((2, 3), i, dtype=np.uint8) for i in range(4)]
    imgs = images.fromarray(frames, engine=engine)
    assert imgs.shape == (4, 2, 3)
    np.testing.assert_array_equal(imgs.toarray()[:, 0, 0], [0, 1, 2, 3])


def test_fromarray_rejects_1d():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        images.fromarray(np.arange(5))


def test_fromarray_rejects_mixed_shapes_and_dtypes():
    with pytest.raises(ValueError, match="same shape"):
        images.fromarray([np.zeros((2, 2)), np.zeros((3, 2))])
    with pytest.raises(ValueError, match="same data type"):
        images.fromarray([np.zeros((2, 2)), np.zeros((2, 2), np.int8)])


def test_fromarray_npartitions_validated():
    with pytest.raises(ValueError, match="npartitions"):
        images.fromarray(np.zeros((2, 2, 2)), npartitions=0)


@pytest.mark.spark
def test_fromarray_npartitions_honoured(spark_context):
    imgs = images.fromarray(np.zeros((6, 2, 2)), npartitions=3, engine=spark_context)
    assert imgs.npartitions() == 3


def test_local_npartitions_is_none_with_warning():
    imgs = images.fromarray(np.zeros((2, 2, 2)))
    with pytest.warns(UserWarning, match="not supported in 'local' mode"):
        assert imgs.npartitions() is None


# ---------------------------------------------------------------- fromlist
def test_fromlist_with_accessor(engine):
    imgs = images.fromlist([1, 2, 3], accessor=lambda k: np.full((2, 2), k, np.int32),
                           engine=engine)
    assert imgs.shape == (3, 2, 2)
    assert imgs.dtype == np.int32
    np.testing.assert_array_equal(imgs.toarray()[:, 1, 1], [1, 2, 3])


# ---------------------------------------------------------------- fromrandom
def test_fromrandom_matches_thunder_seeding(engine):
    imgs = images.fromrandom(shape=(3, 4, 5), seed=7, engine=engine)
    assert imgs.shape == (3, 4, 5) and imgs.dtype == np.float64
    expected = np.stack([np.random.RandomState(7 + i).randn(4, 5) for i in range(3)])
    np.testing.assert_array_equal(imgs.toarray(), expected)


def test_fromrandom_default_shape():
    assert images.fromrandom().shape == (10, 50, 50)


# ---------------------------------------------------------------- frombinary
def _write_bin(folder, arrays, conf=None, order="C"):
    os.makedirs(folder, exist_ok=True)
    for i, a in enumerate(arrays):
        with open(os.path.join(folder, f"img-{i:03d}.bin"), "wb") as f:
            f.write(a.tobytes(order=order))
    if conf is not None:
        with open(os.path.join(folder, "conf.json"), "w") as f:
            json.dump(conf, f)


def test_frombinary_with_conf(tmp_path, engine):
    arrays = [np.arange(12, dtype=np.uint16).reshape(3, 4) + 100 * i for i in range(5)]
    _write_bin(tmp_path, arrays, conf={"shape": [3, 4], "dtype": "uint16"})
    imgs = images.frombinary(str(tmp_path), engine=engine)
    assert imgs.shape == (5, 3, 4) and imgs.dtype == np.uint16
    np.testing.assert_array_equal(imgs.toarray(), np.stack(arrays))


def test_frombinary_fortran_order_and_default_dtype(tmp_path, engine):
    arrays = [np.arange(12, dtype=np.int16).reshape(3, 4) * (i + 1) for i in range(2)]
    _write_bin(tmp_path, arrays, order="F")
    imgs = images.frombinary(str(tmp_path), shape=(3, 4), order="F", engine=engine)
    assert imgs.dtype == np.int16  # Thunder's default dtype
    np.testing.assert_array_equal(imgs.toarray(), np.stack(arrays))


def test_frombinary_nplanes_and_start_stop(tmp_path, engine):
    arrays = [np.arange(24, dtype=np.float32).reshape(2, 3, 4) + 100 * i for i in range(3)]
    _write_bin(tmp_path, arrays, conf={"dims": [2, 3, 4], "dtype": "float32"})
    two = images.frombinary(str(tmp_path), nplanes=2, engine=engine)
    assert two.shape == (6, 2, 3, 2)
    np.testing.assert_array_equal(two.toarray()[1], arrays[0][..., 2:4])
    one = images.frombinary(str(tmp_path), nplanes=1, start=1, stop=3, engine=engine)
    assert one.shape == (8, 2, 3)
    np.testing.assert_array_equal(one.toarray()[5], arrays[2][..., 1])


def test_frombinary_errors(tmp_path):
    _write_bin(tmp_path, [np.zeros(6, np.int16)])
    with pytest.raises(ValueError, match="shape must be specified"):
        images.frombinary(str(tmp_path))
    with pytest.raises(ValueError, match="nplanes must be positive"):
        images.frombinary(str(tmp_path), shape=(2, 3), nplanes=0)
    with pytest.raises(ValueError, match="divisible by nplanes"):
        images.frombinary(str(tmp_path), shape=(2, 3), nplanes=2)
    with pytest.raises(ValueError, match="img-000.bin"):  # file too small for the shape
        images.frombinary(str(tmp_path), shape=(4, 4))
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        images.frombinary(str(tmp_path / "nothing-here"), shape=(2, 3))


# ---------------------------------------------------------------- fromtif
def test_fromtif_single_pages(engine):
    imgs = images.fromtif(SINGLE_TIF, engine=engine)
    assert imgs.shape == (3, 70, 75) and imgs.dtype == np.uint8
    sums = imgs.toarray().reshape(3, -1).sum(axis=1)
    np.testing.assert_array_equal(sums, [1233881, 1212169, 1191300])


def test_fromtif_one_file(engine):
    imgs = images.fromtif(os.path.join(SINGLE_TIF, "dot1_grey_lzw.tif"), engine=engine)
    assert imgs.shape == (1, 70, 75)
    a = imgs.toarray()
    assert (a.min(), a.max(), a.sum()) == (1, 239, 1233881)


def test_fromtif_multipage_volume_pages_first(engine):
    path = os.path.join(MULTI_TIF, "dotdotdot_lzw.tif")
    imgs = images.fromtif(path, engine=engine)
    assert imgs.shape == (1, 3, 70, 75)
    np.testing.assert_array_equal(imgs.first().reshape(3, -1).sum(axis=1),
                                  [1140006, 1119161, 1098917])
    f32 = images.fromtif(os.path.join(MULTI_TIF, "dotdotdot_float32.tif"), engine=engine)
    assert f32.shape == (1, 3, 70, 75) and f32.dtype == np.float32


def test_fromtif_nplanes(engine):
    path = os.path.join(MULTI_TIF, "dotdotdot_lzw.tif")
    assert images.fromtif(path, nplanes=1, engine=engine).shape == (3, 70, 75)
    assert images.fromtif(path, nplanes=3, engine=engine).shape == (1, 3, 70, 75)
    with pytest.raises(ValueError, match="nplanes"):
        images.fromtif(path, nplanes=2, engine=engine)
    with pytest.raises(ValueError, match="nplanes must be positive"):
        images.fromtif(path, nplanes=0, engine=engine)


def test_fromtif_many_multipage_files(tmp_path, engine):
    for name in ("dotdot_lzw.tif", "dotdotdot_lzw.tif", "dotdotdot_lzw2.tif"):
        shutil.copy(os.path.join(MULTI_TIF, name), tmp_path)
    imgs = images.fromtif(str(tmp_path), nplanes=1, engine=engine)
    assert imgs.shape == (8, 70, 75)
    sums = imgs.toarray().reshape(8, -1).sum(axis=1)
    np.testing.assert_array_equal(sums[:2], [1140006, 1119161])


def test_fromtif_signed(engine):
    imgs = images.fromtif(os.path.join(MULTI_TIF, "test_signed.tif"), nplanes=1, engine=engine)
    assert imgs.shape == (2, 120, 120) and imgs.dtype == np.int16
    a = imgs.toarray()
    np.testing.assert_array_equal(a.reshape(2, -1).sum(axis=1), [1973201, 2254767])
    assert a.min() == -74


def test_fromtif_tiff_extension_and_volumes_written_by_tifffile(tmp_path, engine):
    vols = np.random.default_rng(1).integers(0, 60000, (4, 3, 5, 6), dtype=np.uint16)
    for i, v in enumerate(vols):
        tifffile.imwrite(tmp_path / f"v{i}.tiff", v, photometric="minisblack")
    imgs = images.fromtif(str(tmp_path), engine=engine)
    assert imgs.shape == (4, 3, 5, 6)
    np.testing.assert_array_equal(imgs.toarray(), vols)


def test_fromtif_missing_path():
    with pytest.raises(FileNotFoundError, match="tif"):
        images.fromtif("/no/such/folder")


# ---------------------------------------------------------------- frompng
def test_frompng_equals_tifs(engine):
    png = images.frompng(SINGLE_PNG, engine=engine)
    tif = images.fromtif(SINGLE_TIF)
    assert png.shape == (3, 70, 75) and png.dtype == np.uint8
    np.testing.assert_array_equal(png.toarray(), tif.toarray())


def test_frompng_rgb(tmp_path, engine):
    rgb = np.random.default_rng(2).integers(0, 255, (2, 5, 6, 3), dtype=np.uint8)
    for i, a in enumerate(rgb):
        Image.fromarray(a).save(tmp_path / f"c{i}.png")
    imgs = images.frompng(str(tmp_path), engine=engine)
    assert imgs.shape == (2, 5, 6, 3)
    np.testing.assert_array_equal(imgs.toarray(), rgb)


# ---------------------------------------------------------------- frompath
def _text_accessor(item):
    index, buf, filename = item
    values = np.array([float(v) for v in buf.decode().split()]).reshape(2, 2)
    yield (index,), values
    yield (index,), values * 10  # two images per file


def test_frompath_custom_accessor(tmp_path, engine):
    for i in range(3):
        (tmp_path / f"f{i}.txt").write_text(" ".join(str(i + k) for k in range(4)))
    imgs = images.frompath(str(tmp_path), accessor=_text_accessor, ext="txt", engine=engine)
    assert imgs.shape == (6, 2, 2)
    a = imgs.toarray()
    np.testing.assert_array_equal(a[:, 0, 0], [0, 0, 1, 10, 2, 20])


def test_frompath_needs_accessor(tmp_path):
    (tmp_path / "a.txt").write_text("1")
    with pytest.raises(ValueError, match="accessor"):
        images.frompath(str(tmp_path))


# ---------------------------------------------------------------- fromexample
def test_fromexample_shapes(engine):
    mouse = images.fromexample("mouse", engine=engine)
    assert mouse.shape == (20, 64, 64)
    fish = images.fromexample("fish", engine=engine)
    assert fish.shape == (20, 2, 76, 87)


def test_fromexample_lists_and_rejects(capsys):
    assert images.fromexample() is None
    out = capsys.readouterr().out
    assert "mouse" in out and "fish" in out
    with pytest.raises(ValueError, match="'mouse'"):
        images.fromexample("zebra")


def test_fromlayer_duck_typed():
    class Layer:
        data = np.arange(24).reshape(2, 3, 4)

    imgs = images.fromlayer(Layer())
    np.testing.assert_array_equal(imgs.toarray(), Layer.data)
