"""Metadata are data: names, scale, translate, units and channels through every method."""

import numpy as np
import pytest

from napari_thunder import images
from napari_thunder.data.layers import images_to_layer_data
from napari_thunder.metadata import Axis, ImageMetadata

STACK = np.arange(6 * 4 * 10 * 12, dtype=np.float32).reshape(6, 4, 10, 12)   # (t, z, y, x)


def _with_scale(engine=None):
    imgs = images.fromarray(STACK, engine=engine)
    return imgs.with_metadata(scale=(2.0, 5.0, 0.4, 0.4), translate={"y": 10.0, "x": -3.0},
                              units=("second", "micrometer", "micrometer", "micrometer"))


def test_defaults():
    assert images.fromarray(np.zeros((2, 3, 4))).metadata.names == ("t", "y", "x")
    assert images.fromarray(STACK).metadata.names == ("t", "z", "y", "x")
    meta = images.fromarray(STACK).metadata
    assert meta.scale == (1.0,) * 4 and meta.translate == (0.0,) * 4 and meta.units == (None,) * 4
    assert meta.is_default()


def test_with_metadata_checks_values():
    imgs = images.fromarray(STACK)
    with pytest.raises(ValueError, match="scale must be positive"):
        imgs.with_metadata(scale=(1, 0, 1, 1))
    with pytest.raises(ValueError, match="one entry per axis"):
        imgs.with_metadata(scale=(1, 1))
    with pytest.raises(ValueError, match="no axis named 'q'"):
        imgs.with_metadata(scale={"q": 2})
    with pytest.raises(ValueError, match="unique"):
        imgs.with_metadata(names=("t", "y", "y", "x"))
    with pytest.raises(ValueError, match="channel names"):
        imgs.with_metadata(names=("t", "c", "y", "x"), channel_names=("a", "b"))


def test_per_frame_methods_keep_metadata(engine):
    imgs = _with_scale(engine)
    for result in (imgs.gaussian_filter(1), imgs.median_filter(2), imgs.uniform_filter(2),
                   imgs.subtract(1), imgs.astype(np.float64), imgs.map(lambda im: im * 2),
                   imgs.filter(lambda im: True), imgs.sample(3, seed=0), imgs.mean(), imgs.std(),
                   imgs.max()):
        assert result.metadata == imgs.metadata


def test_projection_drops_its_axis(engine):
    imgs = _with_scale(engine)
    out = imgs.max_projection(axis=0)        # along z
    assert out.metadata.names == ("t", "y", "x")
    assert out.metadata.scale == (2.0, 0.4, 0.4)
    assert out.metadata.translate == (0.0, 10.0, -3.0)
    assert imgs.max_min_projection(axis=2).metadata.names == ("t", "z", "y")


def test_subsample_multiplies_the_scale(engine):
    out = _with_scale(engine).subsample((1, 2, 3))
    assert out.shape == (6, 4, 5, 4)
    assert out.metadata.scale == (2.0, 5.0, 0.8, pytest.approx(1.2))
    assert out.metadata.translate == (0.0, 0.0, 10.0, -3.0)


def test_slicing_moves_the_origin_and_steps_scale(engine):
    imgs = _with_scale(engine)
    out = imgs[2:6:2, :, 3:, ::2]
    np.testing.assert_array_equal(out.toarray(), STACK[2:6:2, :, 3:, ::2])
    assert out.metadata.scale == (4.0, 5.0, 0.4, 0.8)
    assert out.metadata.translate == (4.0, 0.0, pytest.approx(11.2), -3.0)
    one = imgs[3]
    assert one.metadata.translate[0] == 6.0 and one.metadata.scale[0] == 2.0


def test_squeeze_drops_length_one_axes():
    imgs = images.fromarray(np.zeros((3, 1, 5, 6))).with_metadata(scale=(1, 7, 2, 3))
    out = imgs.squeeze()
    assert out.shape == (3, 5, 6) and out.metadata.names == ("t", "y", "x")
    assert out.metadata.scale == (1.0, 2.0, 3.0)


def test_map_changing_rank_falls_back_to_defaults_keeping_axis0():
    imgs = _with_scale()
    out = imgs.map(lambda im: im.max(axis=0))
    assert out.metadata.names == ("t", "y", "x")
    assert out.metadata.axes[0] == Axis("t", 2.0, 0.0, "second")


def test_channel_axis_is_never_mixed_by_filters(engine):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(3, 2, 9, 11)).astype(np.float64)       # (t, c, y, x)
    imgs = images.fromarray(data, engine=engine).with_metadata(names=("t", "c", "y", "x"),
                                                                 channel_names=("gcamp", "tdtom"))
    from scipy import ndimage as ndi

    out = imgs.gaussian_filter(1.5).toarray()
    ref = np.stack([[ndi.gaussian_filter(data[t, c], 1.5, mode="reflect") for c in range(2)]
                    for t in range(3)])
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    med = imgs.median_filter(3).toarray()
    ref = np.stack([[ndi.median_filter(data[t, c], 3, mode="reflect") for c in range(2)] for t in range(3)])
    np.testing.assert_array_equal(med, ref)
    # a value per spatial axis spreads over y and x only; one per image axis is taken as given
    out = imgs.gaussian_filter((0, 2)).toarray()
    ref = np.stack([[ndi.gaussian_filter(data[t, c], (0, 2), mode="reflect") for c in range(2)]
                    for t in range(3)])
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert imgs.subsample(2).shape == (3, 2, 5, 6)
    with pytest.raises(ValueError, match="spatial axis"):
        imgs.gaussian_filter((1, 2, 3, 4))
    assert imgs.max_projection(axis=0).metadata.channel_names is None


def test_layer_kwargs_carry_scale_translate_units():
    imgs = _with_scale()
    _, kwargs, _ = images_to_layer_data(imgs)
    assert kwargs["scale"] == (2.0, 5.0, 0.4, 0.4)
    assert kwargs["translate"] == (0.0, 0.0, 10.0, -3.0)
    assert kwargs["units"] == ("second", "micrometer", "micrometer", "micrometer")
    assert kwargs["axis_labels"] == ("t", "z", "y", "x")
    _, kwargs, _ = images_to_layer_data(imgs.mean())           # one image: axis 0 dropped
    assert kwargs["scale"] == (5.0, 0.4, 0.4) and kwargs["axis_labels"] == ("z", "y", "x")


def test_layer_kwargs_for_channels_and_rgb():
    data = np.zeros((3, 2, 4, 5), np.uint16)
    imgs = images.fromarray(data).with_metadata(names=("t", "c", "y", "x"), scale=(1, 1, 0.5, 0.5),
                                                channel_names=("a", "b"))
    _, kwargs, _ = images_to_layer_data(imgs, name="m")
    assert kwargs["channel_axis"] == 1
    assert kwargs["scale"] == (1.0, 0.5, 0.5) and kwargs["axis_labels"] == ("t", "y", "x")
    assert kwargs["name"] == ["m [a]", "m [b]"] and len(kwargs["contrast_limits"]) == 2
    rgb = images.fromarray(np.zeros((2, 4, 5, 3), np.uint8))
    _, kwargs, _ = images_to_layer_data(rgb)
    assert kwargs["rgb"] is True and kwargs["axis_labels"] == ("t", "y", "x")
    assert rgb.metadata.rgb is False          # display guess only: the images stay plain


def test_json_round_trip():
    meta = ImageMetadata.from_names(("t", "c", "y", "x"), scale=(0.1, 1, 0.3, 0.3),
                                    units=("second", None, "micrometer", "micrometer"),
                                    channel_names=("g", "r"))
    assert ImageMetadata.from_dict(meta.to_dict()) == meta
    with pytest.raises(ValueError, match="axes"):
        ImageMetadata.from_dict({"axes": "x"})


# -- metadata from files and back to files -----------------------------------------------------------------
def _scaled_volume(dtype=np.uint16):
    data = (np.arange(4 * 3 * 6 * 5) % 251).astype(dtype).reshape(4, 3, 6, 5)
    return images.fromarray(data).with_metadata(
        scale=(0.25, 2.0, 0.4, 0.3), units=("second", "micrometer", "micrometer", "micrometer")), data


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.int64])
def test_totif_writes_metadata_fromtif_reads_it_back(tmp_path, dtype):
    import tifffile

    imgs, data = _scaled_volume(dtype)
    imgs.totif(str(tmp_path / "out"))
    back = images.fromtif(str(tmp_path / "out"))
    np.testing.assert_array_equal(back.toarray(), data)
    assert back.metadata.names == ("t", "z", "y", "x")
    expected_scale = (0.25, 2.0, 0.4, 0.3) if dtype != np.int64 else (1.0, 1.0, 0.4, 0.3)
    np.testing.assert_allclose(back.metadata.scale, expected_scale)
    assert back.metadata.units[2:] == ("micrometer", "micrometer")
    # what tifffile itself sees in one file
    with tifffile.TiffFile(str(tmp_path / "out" / "image-00000.tif")) as tif:
        assert tif.series[0].axes == "ZYX"
        assert tif.is_ome == (dtype != np.int64)
        np.testing.assert_array_equal(tif.asarray(), data[0])


def test_totif_channels_and_rgb(tmp_path):
    import tifffile

    data = np.arange(2 * 3 * 6 * 5, dtype=np.uint16).reshape(2, 3, 6, 5)
    imgs = images.fromarray(data).with_metadata(names=("t", "c", "y", "x"), channel_names=("a", "b", "c"))
    imgs.totif(str(tmp_path / "chan"))
    back = images.fromtif(str(tmp_path / "chan"))
    assert back.metadata.names == ("t", "c", "y", "x") and back.metadata.channel_names == ("a", "b", "c")
    np.testing.assert_array_equal(back.toarray(), data)
    rgb = np.arange(2 * 6 * 5 * 3, dtype=np.uint16).reshape(2, 6, 5, 3)
    images.fromarray(rgb).with_metadata(rgb=True, names=("t", "y", "x", "c")).totif(str(tmp_path / "rgb"))
    with tifffile.TiffFile(str(tmp_path / "rgb" / "image-00001.tif")) as tif:
        assert tif.pages[0].photometric == 2   # RGB
    back = images.fromtif(str(tmp_path / "rgb"))
    assert back.metadata.rgb
    np.testing.assert_array_equal(back.toarray(), rgb)


def test_tobinary_writes_metadata_frombinary_reads_it_back(tmp_path):
    import json

    imgs, data = _scaled_volume()
    imgs.tobinary(str(tmp_path / "bin"))
    conf = json.loads((tmp_path / "bin" / "conf.json").read_text())
    assert conf["shape"] == [3, 6, 5] and conf["dtype"] == "uint16"   # what Thunder reads
    back = images.frombinary(str(tmp_path / "bin"))
    assert back.metadata == imgs.metadata
    np.testing.assert_array_equal(back.toarray(), data)
    # with nplanes the stored metadata do not describe the images
    assert images.frombinary(str(tmp_path / "bin"), nplanes=1).metadata.is_default()
