"""Reader, writers and sample data through napari, compared with the images API."""

import json
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_thunder import images
from napari_thunder.plugin import reader as reader_mod

PLUGIN = "napari-thunder"

# page sums from /work/shared/data/README.md
SINGLE_SUMS = [1233881, 1212169, 1191300]
MULTI_SUMS = [1140006, 1119161, 1098917]


# -- get_reader: cheap, None for paths not ours, never raises ---------------------
def test_get_reader_returns_none_for_paths_not_ours(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "lonely.bin").write_bytes(b"\0" * 8)  # no conf.json beside it
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in [str(tmp_path / "notes.txt"), str(tmp_path / "missing.tif"), str(empty),
                 str(tmp_path / "lonely.bin"), [str(tmp_path / "a.tif"), str(tmp_path / "b.tif")],
                 [str(tmp_path / "notes.txt"), str(tmp_path / "notes.txt")],
                 None, 42, ""]:
        assert reader_mod.get_reader(path) is None


def test_get_reader_accepts_our_paths(data_dir):
    for path in [data_dir / "singlelayer_tif" / "dot1_grey_lzw.tif", data_dir / "singlelayer_tif",
                 data_dir / "singlelayer_png", data_dir / "singlelayer_png" / "dot1_grey.png",
                 [str(data_dir / "multilayer_tif" / "dotdotdot_lzw.tif")]]:
        assert callable(reader_mod.get_reader(path if isinstance(path, list) else str(path)))


# -- reading through napari ------------------------------------------------------------
def test_open_single_page_tif(make_napari_viewer_proxy, data_dir):
    viewer = make_napari_viewer_proxy()
    path = str(data_dir / "singlelayer_tif" / "dot1_grey_lzw.tif")
    layers = viewer.open(path, plugin=PLUGIN)
    assert len(layers) == 1
    layer = layers[0]
    assert layer.name == "dot1_grey_lzw"
    assert layer.data.shape == (70, 75) and layer.data.dtype == np.uint8
    assert int(np.asarray(layer.data).sum()) == SINGLE_SUMS[0]
    assert tuple(layer.contrast_limits) == (0, 255)
    np.testing.assert_array_equal(np.asarray(layer.data), images.fromtif(path).toarray())


def test_open_multipage_tif_is_lazy_stack(make_napari_viewer_proxy, data_dir):
    import dask.array as da

    viewer = make_napari_viewer_proxy()
    path = str(data_dir / "multilayer_tif" / "dotdotdot_lzw.tif")
    layer = viewer.open(path, plugin=PLUGIN)[0]
    assert isinstance(layer.data, da.Array)          # lazy
    assert layer.data.shape == (3, 70, 75)           # pages are the slider axis
    sums = [int(s) for s in np.asarray(layer.data).sum(axis=(1, 2))]
    assert sums == MULTI_SUMS
    np.testing.assert_array_equal(np.asarray(layer.data), tifffile.imread(path))


def test_open_signed_tif_has_explicit_contrast_limits(make_napari_viewer_proxy, data_dir):
    viewer = make_napari_viewer_proxy()
    path = str(data_dir / "multilayer_tif" / "test_signed.tif")
    layer = viewer.open(path, plugin=PLUGIN)[0]
    ref = tifffile.imread(path)
    assert layer.data.shape == (2, 120, 120) and layer.data.dtype == np.int16
    assert tuple(layer.contrast_limits) == (ref.min(), ref.max())  # 2 frames: all sampled
    assert ref.min() == -74


def test_open_folders_of_tif_and_png(make_napari_viewer_proxy, data_dir):
    viewer = make_napari_viewer_proxy()
    tif_layer = viewer.open(str(data_dir / "singlelayer_tif"), plugin=PLUGIN)[0]
    png_layer = viewer.open(str(data_dir / "singlelayer_png"), plugin=PLUGIN)[0]
    assert tif_layer.data.shape == png_layer.data.shape == (3, 70, 75)
    assert [int(s) for s in np.asarray(tif_layer.data).sum(axis=(1, 2))] == SINGLE_SUMS
    np.testing.assert_array_equal(np.asarray(png_layer.data), np.asarray(tif_layer.data))
    png = np.asarray(Image.open(data_dir / "singlelayer_png" / "dot2_grey.png"))
    np.testing.assert_array_equal(np.asarray(png_layer.data)[1], png)


def test_open_png_file(make_napari_viewer_proxy, data_dir):
    viewer = make_napari_viewer_proxy()
    path = data_dir / "singlelayer_png" / "dot3_grey.png"
    layer = viewer.open(str(path), plugin=PLUGIN)[0]
    np.testing.assert_array_equal(np.asarray(layer.data), np.asarray(Image.open(path)))


def test_open_flat_binary_folder_and_file(make_napari_viewer_proxy, tmp_path):
    viewer = make_napari_viewer_proxy()
    ref = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) - 50
    folder = tmp_path / "stack"
    folder.mkdir()
    for i, frame in enumerate(ref):
        frame.tofile(folder / f"image-{i:05d}.bin")
    (folder / "conf.json").write_text(json.dumps({"shape": [5, 6], "dtype": "int16"}))
    layer = viewer.open(str(folder), plugin=PLUGIN)[0]
    np.testing.assert_array_equal(np.asarray(layer.data), ref)
    assert tuple(layer.contrast_limits) == (ref.min(), ref.max())
    one = viewer.open(str(folder / "image-00002.bin"), plugin=PLUGIN)[0]
    np.testing.assert_array_equal(np.asarray(one.data), ref[2])


def test_corrupt_tif_shows_notification_and_adds_no_layer(make_napari_viewer_proxy, tmp_path,
                                                          monkeypatch):
    import napari.utils.notifications as notifications

    messages = []
    monkeypatch.setattr(notifications, "show_error", lambda msg: messages.append(msg))
    viewer = make_napari_viewer_proxy()
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\0" + b"\xff" * 20)
    layers = viewer.open(str(bad), plugin=PLUGIN)
    assert layers == [] and len(viewer.layers) == 0
    assert len(messages) == 1 and str(bad) in messages[0]


# -- writers ---------------------------------------------------------------------------
def test_write_tif_round_trip_and_no_overwrite(make_napari_viewer_proxy, tmp_path):
    viewer = make_napari_viewer_proxy()
    ref = np.random.default_rng(1).integers(0, 4000, size=(5, 9, 11)).astype(np.uint16)
    viewer.add_image(ref, name="stack")
    out = tmp_path / "stack.tif"
    written = viewer.layers.save(str(out), selected=False, plugin=PLUGIN)
    assert written == [str(out)]
    np.testing.assert_array_equal(tifffile.imread(out), ref)
    assert [p for p in os.listdir(tmp_path) if p != "stack.tif"] == []  # no temp left
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        viewer.layers.save(str(out), selected=False, plugin=PLUGIN)
    assert out.read_bytes() == before
    back = viewer.open(str(out), plugin=PLUGIN)[0]
    np.testing.assert_array_equal(np.asarray(back.data), ref)


def test_write_tif_volumes_round_trip(make_napari_viewer_proxy, tmp_path):
    viewer = make_napari_viewer_proxy()
    ref = np.random.default_rng(2).random((3, 2, 6, 7)).astype(np.float32)
    viewer.add_image(ref, name="vol")
    out = tmp_path / "vol.tif"
    viewer.layers.save(str(out), selected=False, plugin=PLUGIN)
    assert len(tifffile.TiffFile(out).pages) == 6
    back = viewer.open(str(out), plugin=PLUGIN)[0]
    assert back.data.shape == (3, 2, 6, 7)
    np.testing.assert_array_equal(np.asarray(back.data), ref)


def test_write_png_dir_matches_api(make_napari_viewer_proxy, tmp_path):
    viewer = make_napari_viewer_proxy()
    ref = np.random.default_rng(3).integers(0, 256, size=(3, 8, 9)).astype(np.uint8)
    viewer.add_image(ref, name="pngs")
    out = tmp_path / "pngs"
    viewer.layers.save(str(out), selected=False, plugin=f"{PLUGIN}.write_png_dir")
    assert sorted(os.listdir(out)) == ["image-00000.png", "image-00001.png", "image-00002.png"]
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(Image.open(out / f"image-{i:05d}.png")), ref[i])
    np.testing.assert_array_equal(images.frompng(str(out)).toarray(), ref)
    with pytest.raises(FileExistsError, match="already exists"):
        viewer.layers.save(str(out), selected=False, plugin=f"{PLUGIN}.write_png_dir")


def test_write_binary_dir_round_trip(make_napari_viewer_proxy, tmp_path):
    viewer = make_napari_viewer_proxy()
    ref = np.random.default_rng(4).normal(size=(4, 5, 6))
    viewer.add_image(ref, name="bin")
    out = tmp_path / "bin"
    viewer.layers.save(str(out), selected=False, plugin=f"{PLUGIN}.write_binary_dir")
    assert json.loads((out / "conf.json").read_text()) == {"shape": [5, 6], "dtype": "float64"}
    assert (out / "SUCCESS").exists()
    np.testing.assert_array_equal(np.fromfile(out / "image-00001.bin").reshape(5, 6), ref[1])
    np.testing.assert_array_equal(images.frombinary(str(out)).toarray(), ref)
    back = viewer.open(str(out), plugin=PLUGIN)[0]
    np.testing.assert_array_equal(np.asarray(back.data), ref)


# -- sample data ---------------------------------------------------------------------------
def test_every_bundled_example_is_a_sample(make_napari_viewer_proxy):
    from npe2 import PluginManager

    from napari_thunder.sample_data import EXAMPLES

    manifest = PluginManager.instance().get_manifest(PLUGIN)
    keys = {s.key for s in manifest.contributions.sample_data}
    # + the calcium movie made in code (tests/calcium/test_calcium_widgets.py::test_motion_sample)
    assert keys == set(EXAMPLES) | {"calcium_motion"}
    viewer = make_napari_viewer_proxy()
    for name in EXAMPLES:
        layers = viewer.open_sample(PLUGIN, name)
        assert len(layers) == 1 and layers[0].name == name
        ref = images.fromexample(name)
        assert layers[0].data.shape == ref.shape
        np.testing.assert_array_equal(np.asarray(layers[0].data), ref.toarray())
    assert viewer.layers["mouse"].data.shape == (20, 64, 64)
    assert viewer.layers["fish"].data.shape == (20, 2, 76, 87)


def test_writer_errors_reach_the_user(tmp_path):
    from napari_thunder.plugin.writer import LayerWriteError, write_png_dir, write_tif

    with pytest.raises(LayerWriteError, match="2D or 3D"):
        write_tif(str(tmp_path / "x.tif"), np.zeros((2, 2, 2, 2, 2)))
    assert not (tmp_path / "x.tif").exists()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_tif(str(tmp_path / "nodir" / "x.tif"), np.zeros((2, 3, 3)))
    with pytest.raises(LayerWriteError, match="directory"):
        write_tif(str(tmp_path), np.zeros((2, 3, 3)))
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="already exists") as info:
        write_png_dir(str(tmp_path / "taken"), np.zeros((2, 3, 3), np.uint8))
    assert not isinstance(info.value, ValueError)  # napari would swallow it
    assert os.listdir(tmp_path / "taken") == []


def test_open_several_files_as_stack(make_napari_viewer_proxy, data_dir):
    viewer = make_napari_viewer_proxy()
    files = sorted(str(p) for p in (data_dir / "singlelayer_tif").glob("*.tif"))
    layer = viewer.open(files[::-1], stack=True, plugin=PLUGIN)[0]
    assert layer.name == "singlelayer_tif_stack"
    assert layer.data.shape == (3, 70, 75)
    assert [int(s) for s in np.asarray(layer.data).sum(axis=(1, 2))] == SINGLE_SUMS  # sorted
    pngs = sorted(str(p) for p in (data_dir / "singlelayer_png").glob("*.png"))
    png_layer = viewer.open(pngs, stack=True, plugin=PLUGIN)[0]
    np.testing.assert_array_equal(np.asarray(png_layer.data), np.asarray(layer.data))
