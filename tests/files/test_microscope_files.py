"""Microscope files written by other programs, end to end: the API, the napari reader (through npe2,
built into real ``napari.layers.Image`` layers) and the command line see the same array, axes,
channels and physical scale. Values are checked against tifffile reading the same file."""

import os
import shutil
import subprocess

import numpy as np
import pytest
import tifffile

from napari_thunder import cli, images

PLUGIN = "napari-thunder"
RNG = np.random.default_rng(9)
TIFFCP = shutil.which("tiffcp")
needs_tiffcp = pytest.mark.skipif(TIFFCP is None, reason="tiffcp (Debian libtiff-tools) is not installed")


def _values(imgs):
    return np.asarray(imgs.toarray()).reshape(imgs.shape)


@pytest.fixture(scope="module")
def viewer():
    """A napari ViewerModel (no window) whose File > Open goes through npe2 to our reader."""
    pytest.importorskip("napari")
    import npe2
    from napari.components import ViewerModel

    # npe2's manager discovers the installed plugins; napari's own initialisation (the app's
    # actions) is left to the viewers of the GUI tests, which would find it done twice
    manager = npe2.PluginManager.instance()
    if PLUGIN not in {m.name for m in manager.iter_manifests()}:
        manager.discover()
    model = ViewerModel()
    yield model
    model.layers.clear()


def _open(viewer, path):
    viewer.layers.clear()
    return list(viewer.open(path, plugin=PLUGIN))


def _units(layer):
    return tuple(str(u) for u in layer.units)


@pytest.fixture
def run_cli(capsys):
    def run(*argv):
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


# -- ImageJ hyperstack: channels, scale, units ---------------------------------------------------------------
@pytest.fixture
def hyperstack(tmp_path):
    data = RNG.integers(0, 4000, (5, 3, 2, 12, 10), dtype=np.uint16)    # T Z C Y X
    path = str(tmp_path / "fiji.tif")
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.4, 1 / 0.4),
                     metadata={"axes": "TZCYX", "spacing": 5.0, "unit": "micron", "finterval": 2.0})
    return path, data


def test_hyperstack_api(hyperstack):
    path, data = hyperstack
    imgs = images.fromtif(path)
    np.testing.assert_array_equal(_values(imgs), tifffile.imread(path))
    assert imgs.metadata.names == ("t", "z", "c", "y", "x")
    np.testing.assert_allclose(imgs.metadata.scale, (2.0, 5.0, 1.0, 0.4, 0.4))
    # a projection drops z, the rest of the metadata stays
    projected = imgs.max_projection(axis=0)
    assert projected.metadata.names == ("t", "c", "y", "x")
    np.testing.assert_array_equal(_values(projected), data.max(axis=1))


def test_hyperstack_napari_one_layer_per_channel_with_scale(viewer, hyperstack):
    path, data = hyperstack
    layers = _open(viewer, path)
    assert len(layers) == 2
    for c, layer in enumerate(layers):
        assert type(layer).__name__ == "Image"
        assert layer.data.shape == (5, 3, 12, 10)
        np.testing.assert_array_equal(np.asarray(layer.data), data[:, :, c])
        np.testing.assert_allclose(layer.scale, (2.0, 5.0, 0.4, 0.4))
        assert tuple(layer.axis_labels) == ("t", "z", "y", "x")
        assert _units(layer) == ("second", "micrometer", "micrometer", "micrometer")
        assert not layer.rgb


def test_hyperstack_cli_agrees(hyperstack, run_cli, tmp_path):
    path, data = hyperstack
    code, out, err = run_cli("info", path)
    assert code == 0, err
    assert "count   5" in out and "(5, 3, 2, 12, 10)" in out
    out_dir = tmp_path / "mean"
    code, out, err = run_cli("run", path, "-p", "mean", "-o", out_dir, "--to", "binary", "--no-progress")
    assert code == 0, err
    (name,) = [f for f in os.listdir(out_dir) if f.endswith(".bin")]
    written = np.fromfile(str(out_dir / name), dtype=np.float64)
    np.testing.assert_allclose(written.reshape(data.shape[1:]), data.mean(axis=0))


# -- a movie: frames everywhere ------------------------------------------------------------------------------
def test_imagej_movie_same_frames_in_api_napari_cli(viewer, tmp_path, run_cli):
    movie = RNG.integers(0, 255, (30, 8, 9), dtype=np.uint8)
    path = str(tmp_path / "movie.tif")
    tifffile.imwrite(path, movie, imagej=True, metadata={"axes": "TYX", "finterval": 0.1})
    assert images.fromtif(path).shape == (30, 8, 9)
    (layer,) = _open(viewer, path)
    assert layer.data.shape == (30, 8, 9)
    np.testing.assert_array_equal(np.asarray(layer.data[17]), movie[17])
    assert layer.scale[0] == pytest.approx(0.1)
    code, out, _ = run_cli("info", path)
    assert code == 0 and "count   30" in out


# -- OME-TIFF ------------------------------------------------------------------------------------------------
def test_ome_tiff_channel_names_to_layer_names(viewer, tmp_path):
    data = RNG.integers(0, 60000, (2, 3, 4, 8, 9), dtype=np.uint16)    # T C Z Y X
    path = str(tmp_path / "scope.ome.tif")
    tifffile.imwrite(path, data, ome=True, compression="zlib", metadata={
        "axes": "TCZYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2, "PhysicalSizeZ": 1.5,
        "Channel": {"Name": ["DAPI", "GFP", "RFP"]}})
    layers = _open(viewer, path)
    assert [layer.name for layer in layers] == ["scope.ome [DAPI]", "scope.ome [GFP]", "scope.ome [RFP]"]
    for c, layer in enumerate(layers):
        np.testing.assert_array_equal(np.asarray(layer.data), data[:, c])
        np.testing.assert_allclose(layer.scale, (1.0, 1.5, 0.2, 0.2))
        assert tuple(layer.axis_labels) == ("t", "z", "y", "x")


# -- colour --------------------------------------------------------------------------------------------------
def test_planar_uint16_rgb_is_colour_in_napari(viewer, tmp_path):
    rgb = RNG.integers(0, 65535, (10, 12, 3), dtype=np.uint16)
    path = str(tmp_path / "planar.tif")
    tifffile.imwrite(path, np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate")
    (layer,) = _open(viewer, path)
    assert layer.rgb and layer.data.shape == (10, 12, 3)
    np.testing.assert_array_equal(np.asarray(layer.data), rgb)
    np.testing.assert_array_equal(_values(images.fromtif(path))[0], tifffile.imread(path).transpose(1, 2, 0))


def test_sixteen_bit_png_keeps_sixteen_bits_in_napari(viewer, tmp_path):
    import imagecodecs

    rgb = RNG.integers(0, 65535, (6, 7, 3), dtype=np.uint16)
    path = tmp_path / "deep.png"
    path.write_bytes(imagecodecs.png_encode(rgb))
    (layer,) = _open(viewer, str(path))
    assert layer.rgb and layer.data.dtype == np.uint16
    np.testing.assert_array_equal(np.asarray(layer.data), rgb)


# -- bad files: a clear error, everywhere --------------------------------------------------------------------
def test_cmyk_refused_by_api_and_cli(tmp_path, run_cli):
    path = str(tmp_path / "print.tif")
    tifffile.imwrite(path, np.zeros((8, 9, 4), np.uint8), photometric="separated")
    with pytest.raises(ValueError, match=r"print\.tif.*CMYK"):
        images.fromtif(path)
    code, _, err = run_cli("info", path)
    assert code == 2 and "print.tif" in err and "CMYK" in err


# -- files made by libtiff's tiffcp --------------------------------------------------------------------------
def _tiffcp(*args):
    subprocess.run([TIFFCP, *map(str, args)], check=True, capture_output=True)


@needs_tiffcp
@pytest.mark.parametrize("options", [["-c", "lzw"], ["-c", "zip"], ["-t"], ["-B"], ["-8"],
                                     ["-p", "separate"], ["-c", "lzw:2"], ["-c", "jpeg"]])
def test_tiffcp_rewrites_read_like_tifffile(tmp_path, options):
    rgb = RNG.integers(0, 255, (3, 40, 36, 3), dtype=np.uint8)
    source = str(tmp_path / "src.tif")
    tifffile.imwrite(source, rgb, photometric="rgb")
    out = str(tmp_path / "out.tif")
    _tiffcp(*options, source, out)
    reference = tifffile.imread(out)
    if options == ["-p", "separate"]:
        reference = np.moveaxis(reference, -3, -1)
    imgs = images.fromtif(out, nplanes=1)
    assert imgs.shape == (3, 40, 36, 3) and imgs.metadata.rgb
    np.testing.assert_array_equal(_values(imgs), reference)
    if options != ["-c", "jpeg"]:   # lossy: equal to tifffile's decoding only
        np.testing.assert_array_equal(_values(imgs), rgb)


@needs_tiffcp
def test_tiffcp_merge_of_two_sizes_reads_series_zero_and_warns(tmp_path, viewer):
    a = RNG.integers(0, 60000, (2, 20, 16), dtype=np.uint16)
    b = RNG.random((3, 8, 8)).astype(np.float32)
    tifffile.imwrite(str(tmp_path / "a.tif"), a, photometric="minisblack")
    tifffile.imwrite(str(tmp_path / "b.tif"), b, photometric="minisblack")
    merged = str(tmp_path / "merged.tif")
    _tiffcp(tmp_path / "a.tif", tmp_path / "b.tif", merged)
    with pytest.warns(UserWarning, match="2 series"):
        imgs = images.fromtif(merged)
    np.testing.assert_array_equal(_values(imgs)[0], tifffile.imread(merged, series=0))
    np.testing.assert_array_equal(_values(imgs)[0], a)
    second = images.fromtif(merged, series=1)
    assert second.dtype == np.float32
    np.testing.assert_array_equal(_values(second)[0], b)
    layers = _open(viewer, merged)
    assert len(layers) == 1 and layers[0].data.shape == (2, 20, 16)
    np.testing.assert_array_equal(np.asarray(layers[0].data[1]), a[1])


@needs_tiffcp
def test_tiffcp_merge_grey_then_rgb(tmp_path):
    grey = RNG.integers(0, 255, (12, 10), dtype=np.uint8)
    rgb = RNG.integers(0, 255, (12, 10, 3), dtype=np.uint8)
    tifffile.imwrite(str(tmp_path / "g.tif"), grey, photometric="minisblack")
    tifffile.imwrite(str(tmp_path / "c.tif"), rgb, photometric="rgb")
    merged = str(tmp_path / "grey_rgb.tif")
    _tiffcp(tmp_path / "g.tif", tmp_path / "c.tif", merged)
    with pytest.warns(UserWarning, match="2 series"):
        first = images.fromtif(merged)
    assert first.shape == (1, 12, 10) and not first.metadata.rgb
    np.testing.assert_array_equal(_values(first)[0], grey)
    second = images.fromtif(merged, series=1)
    assert second.shape == (1, 12, 10, 3) and second.metadata.rgb
    np.testing.assert_array_equal(_values(second)[0], rgb)
