"""TIFF layouts written the way other programs write them (ImageJ, OME, planar, several series,
pyramids, big-endian, BigTIFF): read exactly with their axes, or refused with the file named.

Every expected array comes from tifffile reading the same file (or from the array written)."""

import math
import warnings

import numpy as np
import pytest
import tifffile

from napari_thunder import images
from napari_thunder.io.tif import TifSource, read_tif_header, unit_name

RNG = np.random.default_rng(20261203)


def _u16(shape):
    return RNG.integers(0, 65535, shape, dtype=np.uint16)


def _values(imgs):
    """All values with the image axis kept (``toarray`` squeezes a single image, as Thunder's)."""
    return np.asarray(imgs.toarray()).reshape(imgs.shape)


def _no_warnings(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


# -- ImageJ --------------------------------------------------------------------------------------------------
def test_imagej_hyperstack_tzcyx_axes_scale_units(tmp_path):
    data = _u16((3, 4, 2, 8, 9))
    path = str(tmp_path / "hyper.tif")
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.4, 1 / 0.4),
                     metadata={"axes": "TZCYX", "spacing": 2.5, "unit": "um", "finterval": 0.5})
    imgs = _no_warnings(images.fromtif, path)
    assert imgs.shape == (3, 4, 2, 8, 9) and imgs.dtype == np.uint16
    np.testing.assert_array_equal(_values(imgs), tifffile.imread(path))
    np.testing.assert_array_equal(_values(imgs), data)
    meta = imgs.metadata
    assert meta.names == ("t", "z", "c", "y", "x")
    np.testing.assert_allclose(meta.scale, (0.5, 2.5, 1.0, 0.4, 0.4))
    assert meta.units == ("second", "micrometer", None, "micrometer", "micrometer")
    assert meta.channel_axis == 2 and not meta.rgb
    # frames are time points: a range in the middle
    np.testing.assert_array_equal(_values(imgs[1:3]), data[1:3])


def test_imagej_movie_is_frames_everywhere(tmp_path):
    movie = _u16((12, 6, 7))
    path = str(tmp_path / "movie.tif")
    tifffile.imwrite(path, movie, imagej=True, metadata={"axes": "TYX", "fps": 4.0})
    imgs = images.fromtif(path)
    assert imgs.shape == (12, 6, 7)
    assert imgs.metadata.names == ("t", "y", "x")
    assert imgs.metadata.scale[0] == pytest.approx(0.25)
    np.testing.assert_allclose(_values(imgs.mean())[0], movie.mean(axis=0))


def test_imagej_over_4gb_layout_one_ifd_reads_every_plane(tmp_path):
    # ImageJ writes stacks over 4 GB with ONE IFD and all planes after it; truncate=True writes that layout
    data = _u16((6, 3, 10, 12))
    path = str(tmp_path / "big_ij.tif")
    tifffile.imwrite(path, data, imagej=True, truncate=True, metadata={"axes": "TZYX"})
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1
    imgs = images.fromtif(path)
    assert imgs.shape == (6, 3, 10, 12)
    np.testing.assert_array_equal(_values(imgs), data)
    np.testing.assert_array_equal(_values(imgs[4])[0], data[4])


def test_imagej_rgb_stack(tmp_path):
    data = RNG.integers(0, 255, (4, 6, 7, 3), dtype=np.uint8)
    path = str(tmp_path / "rgb_ij.tif")
    tifffile.imwrite(path, data, imagej=True, photometric="rgb", metadata={"axes": "TYXS"})
    imgs = images.fromtif(path)
    assert imgs.shape == (4, 6, 7, 3)
    assert imgs.metadata.rgb and imgs.metadata.names == ("t", "y", "x", "c")
    np.testing.assert_array_equal(_values(imgs), tifffile.imread(path))


# -- OME-TIFF ------------------------------------------------------------------------------------------------
def test_ome_tczyx_physical_sizes_time_increment_channel_names(tmp_path):
    data = _u16((3, 2, 4, 8, 9))
    path = str(tmp_path / "img.ome.tif")
    tifffile.imwrite(path, data, ome=True, metadata={
        "axes": "TCZYX", "PhysicalSizeX": 0.4, "PhysicalSizeY": 0.3, "PhysicalSizeZ": 5.0,
        "PhysicalSizeZUnit": "nm", "TimeIncrement": 2.0, "TimeIncrementUnit": "ms",
        "Channel": {"Name": ["GFP", "RFP"]}})
    imgs = _no_warnings(images.fromtif, path)
    np.testing.assert_array_equal(_values(imgs), data)
    meta = imgs.metadata
    assert meta.names == ("t", "c", "z", "y", "x")
    np.testing.assert_allclose(meta.scale, (2.0, 1.0, 5.0, 0.3, 0.4))
    assert meta.units == ("millisecond", None, "nanometer", "micrometer", "micrometer")
    assert meta.channel_names == ("GFP", "RFP")


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_ome_time_not_first_is_moved_to_axis_zero(tmp_path, compression):
    data = RNG.integers(0, 255, (2, 3, 4, 8, 9), dtype=np.uint8)   # Z, T, C, Y, X in the file
    path = str(tmp_path / "ztc.ome.tif")
    tifffile.imwrite(path, data, ome=True, compression=compression, metadata={"axes": "ZTCYX"})
    src = TifSource([path])
    assert (src.contiguous[0] is None) == (compression is not None)
    assert src.shape == (3, 2, 4, 8, 9)
    assert src.metadata.names == ("t", "z", "c", "y", "x")
    expected = tifffile.imread(path).transpose(1, 0, 2, 3, 4)
    np.testing.assert_array_equal(src.read(0, 3), expected)
    np.testing.assert_array_equal(src.read(1, 2), expected[1:2])


def test_ome_multi_series_series_zero_with_warning_and_series_argument(tmp_path):
    first = RNG.integers(0, 255, (4, 8, 9), dtype=np.uint8)
    second = RNG.random((6, 7)).astype(np.float32) - 0.5
    path = str(tmp_path / "two.ome.tif")
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(first, metadata={"axes": "ZYX"})
        tif.write(second, metadata={"axes": "YX"})
    with pytest.warns(UserWarning, match=r"two\.ome\.tif holds 2 series.*series=k"):
        imgs = images.fromtif(path)
    assert imgs.shape == (1, 4, 8, 9)
    np.testing.assert_array_equal(_values(imgs)[0], tifffile.imread(path, series=0))
    other = _no_warnings(images.fromtif, path, series=1)
    assert other.shape == (1, 6, 7) and other.dtype == np.float32
    np.testing.assert_array_equal(_values(other)[0], second)
    with pytest.raises(ValueError, match=r"two\.ome\.tif.*series=2 is out of range.*2 series"):
        images.fromtif(path, series=2)
    with pytest.raises(TypeError, match="series must be an integer"):
        images.fromtif(path, series="1")


# -- pages of two dtypes or shapes (several series), pyramids ------------------------------------------------
def test_pages_of_two_dtypes_never_cast(tmp_path):
    ints = _u16((8, 9))
    floats = np.full((8, 9), -45.35, np.float32)
    path = str(tmp_path / "mixed.tif")
    with tifffile.TiffWriter(path) as tif:
        tif.write(ints, photometric="minisblack")
        tif.write(floats, photometric="minisblack")
    with pytest.warns(UserWarning, match="2 series"):
        imgs = images.fromtif(path)
    assert imgs.shape == (1, 8, 9) and imgs.dtype == np.uint16
    np.testing.assert_array_equal(_values(imgs)[0], ints)
    second = images.fromtif(path, series=1)
    assert second.dtype == np.float32
    np.testing.assert_array_equal(_values(second)[0], floats)
    # nplanes counts the pages of the series, not of the file: no cast either
    with pytest.warns(UserWarning, match="2 series"):
        assert images.fromtif(path, nplanes=1).shape == (1, 8, 9)


def test_pages_of_two_shapes_read_series_by_series(tmp_path):
    a = RNG.integers(0, 255, (3, 8, 9), dtype=np.uint8)
    b = RNG.integers(0, 255, (2, 5, 4), dtype=np.uint8)
    path = str(tmp_path / "merged.tif")
    with tifffile.TiffWriter(path) as tif:
        for page in a:
            tif.write(page, photometric="minisblack", metadata=None)
        for page in b:
            tif.write(page, photometric="minisblack", metadata=None)
    with pytest.warns(UserWarning, match="2 series"):
        imgs = images.fromtif(path)
    np.testing.assert_array_equal(_values(imgs)[0], a)
    np.testing.assert_array_equal(_values(images.fromtif(path, series=1))[0], b)
    # every frame readable (no failure on frame 2)
    with pytest.warns(UserWarning):
        frames = images.fromtif(path, nplanes=1)
    assert frames.shape == (3, 8, 9)
    np.testing.assert_array_equal(_values(frames), a)


@pytest.mark.parametrize("kind", ["subifds", "reduced"])
def test_pyramid_reads_full_resolution(tmp_path, kind):
    full = RNG.integers(0, 255, (64, 48), dtype=np.uint8)
    half = full[::2, ::2].copy()
    path = str(tmp_path / f"pyr_{kind}.tif")
    with tifffile.TiffWriter(path) as tif:
        if kind == "subifds":
            tif.write(full, subifds=1, tile=(16, 16), photometric="minisblack")
            tif.write(half, subfiletype=1, tile=(16, 16), photometric="minisblack")
        else:
            tif.write(full, photometric="minisblack")
            tif.write(half, subfiletype=1, photometric="minisblack")
    imgs = images.fromtif(path)
    assert imgs.shape == (1, 64, 48)
    np.testing.assert_array_equal(_values(imgs)[0], full)
    np.testing.assert_array_equal(_values(imgs)[0], tifffile.imread(path))


# -- colour --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_rgb_planar_and_interleaved_read_alike(tmp_path, dtype):
    rgb = (RNG.random((2, 6, 7, 3)) * 200).astype(dtype)
    contig, planar = str(tmp_path / "contig.tif"), str(tmp_path / "planar.tif")
    tifffile.imwrite(contig, rgb, photometric="rgb", planarconfig="contig")
    tifffile.imwrite(planar, np.moveaxis(rgb, -1, 1), photometric="rgb", planarconfig="separate")
    with tifffile.TiffFile(planar) as tif:
        assert tif.pages[0].planarconfig == 2
    a, b = images.fromtif(contig), images.fromtif(planar)
    assert a.shape == b.shape == (1, 2, 6, 7, 3)
    assert a.metadata.rgb and b.metadata.rgb and b.metadata.names == ("t", "z", "y", "x", "c")
    np.testing.assert_array_equal(_values(a)[0], rgb)
    np.testing.assert_array_equal(_values(b)[0], rgb)
    by_page = images.fromtif(planar, nplanes=1)
    assert by_page.shape == (2, 6, 7, 3) and by_page.metadata.rgb
    np.testing.assert_array_equal(_values(by_page), rgb)


def test_planar_rgb_compressed_single_page(tmp_path):
    rgb = RNG.integers(0, 65535, (9, 11, 3), dtype=np.uint16)
    path = str(tmp_path / "planar_lzw.tif")
    tifffile.imwrite(path, np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate",
                     compression="lzw")
    src = TifSource([path])
    assert src.shape == (1, 9, 11, 3) and src.contiguous == [None]
    np.testing.assert_array_equal(src.read(0, 1)[0], rgb)
    assert read_tif_header(path) == (1, (9, 11, 3), np.dtype(np.uint16))


def test_grey_alpha_is_a_channel_axis_not_rgb(tmp_path):
    ga = RNG.integers(0, 255, (8, 9, 2), dtype=np.uint8)
    path = str(tmp_path / "ga.tif")
    tifffile.imwrite(path, ga, photometric="minisblack", extrasamples=["unassalpha"], planarconfig="contig")
    imgs = images.fromtif(path)
    assert imgs.shape == (1, 8, 9, 2) and not imgs.metadata.rgb
    assert imgs.metadata.names == ("t", "y", "x", "c")
    np.testing.assert_array_equal(_values(imgs)[0], ga)


def test_cmyk_is_refused_naming_the_file(tmp_path):
    path = str(tmp_path / "inks.tif")
    tifffile.imwrite(path, np.zeros((8, 9, 4), np.uint8), photometric="separated")
    with pytest.raises(ValueError, match=r"inks\.tif.*CMYK"):
        images.fromtif(path)


# -- byte order, BigTIFF, bit depths -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [">u2", ">i4", ">f4", ">f8", "<f2"])
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_byte_orders_and_dtypes_exact(tmp_path, dtype, compression):
    data = (RNG.random((3, 5, 6)) * 1000 - 300).astype(dtype)
    path = str(tmp_path / "o.tif")
    tifffile.imwrite(path, data, byteorder=np.dtype(dtype).byteorder.replace("=", "<"),
                     photometric="minisblack", compression=compression)
    imgs = images.fromtif(path, nplanes=1)
    assert imgs.dtype == np.dtype(dtype).newbyteorder("=")
    out = _values(imgs)
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, data)


def test_bigtiff_with_tifffile_axes(tmp_path):
    data = _u16((5, 6, 7))
    path = str(tmp_path / "big.tif")
    tifffile.imwrite(path, data, bigtiff=True, photometric="minisblack", metadata={"axes": "TYX"})
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff and tif.series[0].axes == "TYX"
    np.testing.assert_array_equal(_values(images.fromtif(path, nplanes=1)), data)
    imgs = images.fromtif(path)   # tifffile's own axes metadata: T is time
    assert imgs.shape == (5, 6, 7) and imgs.metadata.names == ("t", "y", "x")
    np.testing.assert_array_equal(_values(imgs), data)


@pytest.mark.parametrize("bits", [12, 1])
def test_packed_bit_depths_as_tifffile_decodes_them(tmp_path, bits):
    # 12-bit packed and 1-bit pages are decoded by tifffile/imagecodecs to uint16/bool-like uint8
    data = RNG.integers(0, 2 ** bits, (2, 8, 10)).astype(np.uint16 if bits > 8 else np.uint8)
    path = str(tmp_path / f"b{bits}.tif")
    if bits == 1:
        tifffile.imwrite(path, data.astype(bool), photometric="minisblack")
    else:
        tifffile.imwrite(path, data, bitspersample=bits, photometric="minisblack")
    reference = tifffile.imread(path)
    imgs = images.fromtif(path, nplanes=1)
    np.testing.assert_array_equal(_values(imgs), reference)
    assert imgs.dtype == reference.dtype


# -- files of a folder ---------------------------------------------------------------------------------------
def test_folder_of_imagej_movies_concatenates_time(tmp_path):
    movies = [_u16((4, 5, 6)), _u16((3, 5, 6))]
    for i, movie in enumerate(movies):
        tifffile.imwrite(str(tmp_path / f"m{i}.tif"), movie, imagej=True, metadata={"axes": "TYX"})
    imgs = images.fromtif(str(tmp_path))
    assert imgs.shape == (7, 5, 6)
    np.testing.assert_array_equal(_values(imgs), np.concatenate(movies))


def test_folder_of_volumes_of_different_depths_names_the_file(tmp_path):
    tifffile.imwrite(str(tmp_path / "a.tif"), _u16((3, 5, 6)), photometric="minisblack")
    tifffile.imwrite(str(tmp_path / "b.tif"), _u16((4, 5, 6)), photometric="minisblack")
    with pytest.raises(ValueError, match=r"b\.tif has 4 pages"):
        images.fromtif(str(tmp_path))


def test_shaped_four_axes_file_is_n_images(tmp_path):
    data = _u16((3, 2, 5, 6))
    path = str(tmp_path / "shaped.tif")
    tifffile.imwrite(path, data, photometric="minisblack")
    imgs = images.fromtif(path)
    assert imgs.shape == (3, 2, 5, 6)
    np.testing.assert_array_equal(_values(imgs), data)


# -- resolution tags, units ----------------------------------------------------------------------------------
def test_resolution_tags_in_centimetres_give_micrometres(tmp_path):
    path = str(tmp_path / "res.tif")
    tifffile.imwrite(path, _u16((6, 7)), resolution=(25000.0, 20000.0), resolutionunit="CENTIMETER")
    meta = images.fromtif(path).metadata
    np.testing.assert_allclose(meta.scale[1:], (0.5, 0.4))
    assert meta.units[1:] == ("micrometer", "micrometer")


def test_inch_resolution_is_not_a_pixel_size(tmp_path):
    path = str(tmp_path / "dpi.tif")
    tifffile.imwrite(path, _u16((6, 7)), resolution=(72.0, 72.0), resolutionunit="INCH")
    assert images.fromtif(path).metadata.is_default()


@pytest.mark.parametrize("text, name", [("um", "micrometer"), ("\\u00B5m", "micrometer"),
                                        ("micron", "micrometer"), ("µm", "micrometer"),
                                        ("nm", "nanometer"), ("sec", "second"), ("pixel", None),
                                        ("", None), ("parsec", "parsec")])
def test_unit_names(text, name):
    assert unit_name(text) == name


# -- ScanImage-like description ------------------------------------------------------------------------------
@pytest.mark.parametrize("description, period", [
    ("state.configName='x'\nstate.acq.frameRate=7.8125\nstate.acq.numberOfChannelsSave=2", 1 / 7.8125),
    ("frameNumbers = 1\nSI.hRoiManager.scanFramePeriod = 0.0333\nSI.hChannels.channelSave = [1;2]", 0.0333),
])
def test_scanimage_like_pages_are_frames_with_interleaved_channels(tmp_path, description, period):
    path = str(tmp_path / "si.tif")
    movie = RNG.integers(-100, 3000, (6, 5, 7)).astype(np.int16)   # 3 frames x 2 channels, interleaved
    with tifffile.TiffWriter(path) as tif:
        for frame in movie:   # the first IFD differs from the others (tifffile's software tag)
            tif.write(frame, photometric="minisblack", description=description, metadata=None)
    imgs = images.fromtif(path)
    assert imgs.shape == (3, 2, 5, 7)
    np.testing.assert_array_equal(_values(imgs), movie.reshape(3, 2, 5, 7))
    meta = imgs.metadata
    assert meta.names == ("t", "c", "y", "x") and meta.units[0] == "second"
    assert math.isclose(meta.scale[0], period)
    # nplanes: every page (all 6, none dropped) in file order
    np.testing.assert_array_equal(_values(images.fromtif(path, nplanes=1)), movie)


# -- folders: the layout of a file is reused for files of the same structure ---------------------------
def test_layout_reused_only_for_byte_identical_structure(tmp_path, monkeypatch):
    import napari_thunder.io.tif as tif_module

    frames = _u16((5, 6, 7))
    for i, frame in enumerate(frames):
        tifffile.imwrite(str(tmp_path / f"f{i}.tif"), frame, photometric="minisblack")
    # same size, same pixel offset, but another dtype tag (int16): must not reuse the uint16 layout
    tifffile.imwrite(str(tmp_path / "f5.tif"), frames[0].view(np.int16), photometric="minisblack")
    parsed = []
    real = tif_module.read_tif_layout
    monkeypatch.setattr(tif_module, "read_tif_layout",
                        lambda p, series=None: parsed.append(p) or real(p, series))
    files = sorted(str(p) for p in tmp_path.glob("f[0-4].tif"))
    src = TifSource(files)
    assert len(parsed) == 1                       # files 1..4 matched file 0's structure
    np.testing.assert_array_equal(src.read(0, 5), frames)
    with pytest.raises(ValueError, match=r"f5\.tif has pages of shape \(6, 7\) and dtype int16"):
        TifSource(files + [str(tmp_path / "f5.tif")])


def test_layout_not_reused_when_descriptions_differ(tmp_path):
    a, b = _u16((6, 7)), _u16((6, 7))
    tifffile.imwrite(str(tmp_path / "a.tif"), a, photometric="minisblack", imagej=True,
                     resolution=(2.0, 2.0), metadata={"unit": "um"})
    tifffile.imwrite(str(tmp_path / "b.tif"), b, photometric="minisblack", imagej=True,
                     resolution=(4.0, 4.0), metadata={"unit": "um"})
    imgs = images.fromtif(str(tmp_path))
    np.testing.assert_array_equal(_values(imgs), np.stack([a, b]))
    assert imgs.metadata.scale[1:] == (0.5, 0.5)     # the first file's


# -- every engine reads the same layouts -------------------------------------------------------------------
def test_hyperstack_and_planar_rgb_on_every_engine(tmp_path, engine):
    data = _u16((4, 2, 3, 8, 9))
    path = str(tmp_path / "ij.tif")
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZCYX"})
    imgs = images.fromtif(path, engine=engine)
    assert imgs.metadata.names == ("t", "z", "c", "y", "x")
    np.testing.assert_array_equal(_values(imgs), data)
    np.testing.assert_allclose(_values(imgs.mean())[0], data.mean(axis=0))
    rgb = _u16((6, 7, 3))
    planar = str(tmp_path / "planar.tif")
    tifffile.imwrite(planar, np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate",
                     compression="zlib")
    np.testing.assert_array_equal(_values(images.fromtif(planar, engine=engine))[0], rgb)


# -- ImageJ files that do not hold what they say ------------------------------------------------------------
def test_truncated_big_imagej_file_names_the_file(tmp_path):
    data = _u16((6, 3, 10, 12))
    full = tmp_path / "full.tif"
    tifffile.imwrite(str(full), data, imagej=True, truncate=True, metadata={"axes": "TZYX"})
    cut = tmp_path / "cut.tif"
    cut.write_bytes(full.read_bytes()[:-1000])
    with pytest.raises(ValueError, match=r"cut\.tif"):
        images.fromtif(str(cut))


def test_imagej_description_claiming_more_planes_than_pages_is_refused(tmp_path):
    path = tmp_path / "claims.tif"
    tifffile.imwrite(str(path), _u16((6, 10, 12)), imagej=True, metadata={"axes": "ZYX"})
    raw = bytearray(path.read_bytes())
    for key in (b"images=6", b"slices=6"):
        at = raw.find(key)
        raw[at:at + len(key)] = key[:-1] + b"9"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"claims\.tif.*6 pages for its 9 planes"):
        images.fromtif(str(path))


# -- damaged headers: tifffile's reading, or a ValueError; never anything else ------------------------------
@pytest.mark.parametrize("kind", ["imagej", "ome", "plain_lzw"])
def test_damaged_headers_read_like_tifffile_or_raise_value_error(tmp_path, kind):
    data = RNG.integers(0, 255, (4, 12, 10), dtype=np.uint8)
    good = tmp_path / "good.tif"
    if kind == "imagej":
        tifffile.imwrite(str(good), data, imagej=True, metadata={"axes": "TYX"})
    elif kind == "ome":
        tifffile.imwrite(str(good), data, ome=True, metadata={"axes": "TYX"})
    else:
        tifffile.imwrite(str(good), data, photometric="minisblack", compression="lzw")
    raw = good.read_bytes()
    with tifffile.TiffFile(str(good)) as tif:
        structure_end = min(tif.pages[0].dataoffsets)   # header and first IFD(s) before the pixels
    rng = np.random.default_rng(len(kind))
    for trial in range(8):
        damaged = bytearray(raw)
        for at in rng.integers(4, max(structure_end, 8), 3):
            damaged[at] ^= 1 << int(rng.integers(0, 8))
        path = tmp_path / f"damaged{trial}.tif"
        path.write_bytes(bytes(damaged))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imgs = images.fromtif(str(path))
                ours = _values(imgs)
        except ValueError as err:
            assert "damaged" in str(err)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = tifffile.imread(str(path))
        assert ours.size == reference.size
        if ours.squeeze().shape == reference.squeeze().shape:
            np.testing.assert_array_equal(ours.squeeze(), reference.squeeze())
        else:   # the same values, axes moved (colour samples last, time first)
            np.testing.assert_array_equal(np.sort(ours.ravel()), np.sort(reference.ravel()))


def _tag_value_offset(path, page_index, code):
    """File offset of the 4 value bytes of tag ``code`` in the IFD of page ``page_index``
    (classic little-endian TIFF)."""
    with tifffile.TiffFile(str(path)) as tif:
        tag = tif.pages[page_index].tags[code]
        return tag.valueoffset


@pytest.mark.parametrize("damage", ["first_page_compression", "later_page_rows_per_strip"])
def test_pages_that_would_decode_unlike_the_series_are_refused(tmp_path, damage):
    # tifffile decodes the other pages of a series with the FIRST page's tags; a damaged tag on either
    # side gave a silently wrong array: every page read is checked against the first one
    data = RNG.integers(0, 255, (4, 12, 10), dtype=np.uint8)
    path = tmp_path / "strips.tif"
    tifffile.imwrite(str(path), data, photometric="minisblack", compression="lzw")
    raw = bytearray(path.read_bytes())
    if damage == "first_page_compression":
        at = _tag_value_offset(path, 0, 259)
        raw[at:at + 2] = (1).to_bytes(2, "little")        # LZW -> none on page 0 only
    else:
        at = _tag_value_offset(path, 3, 278)
        raw[at:at + 4] = (1).to_bytes(4, "little")        # RowsPerStrip 12 -> 1 on page 3 (one strip kept)
    path.write_bytes(bytes(raw))
    if damage == "first_page_compression":   # tifffile: every page decoded as uncompressed bytes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert not np.array_equal(tifffile.imread(str(path)), data)
    with pytest.raises(ValueError, match=r"strips\.tif.*(unlike the first page|strips or tiles)"):
        _values(images.fromtif(str(path)))


def test_scanimage_like_volumes_time_z_channels(tmp_path):
    path = str(tmp_path / "si_vol.tif")
    pages = RNG.integers(0, 3000, (2 * 3 * 2, 5, 7)).astype(np.int16)   # T=2, Z=3, C=2, channels fastest
    description = ("frameNumbers = 1\nSI.hChannels.channelSave = [1;2]\nSI.hStackManager.numSlices = 3\n"
                   "SI.hStackManager.framesPerSlice = 1\nSI.hRoiManager.scanFramePeriod = 0.05")
    with tifffile.TiffWriter(path) as tif:
        for page in pages:
            tif.write(page, photometric="minisblack", description=description, metadata=None)
    imgs = images.fromtif(path)
    assert imgs.shape == (2, 3, 2, 5, 7) and imgs.metadata.names == ("t", "z", "c", "y", "x")
    np.testing.assert_array_equal(_values(imgs), pages.reshape(2, 3, 2, 5, 7))
    # several frames per slice: they stay frames (z not separated)
    path2 = str(tmp_path / "si_avg.tif")
    with tifffile.TiffWriter(path2) as tif:
        for page in pages:
            tif.write(page, photometric="minisblack", metadata=None,
                      description=description.replace("framesPerSlice = 1", "framesPerSlice = 2"))
    assert images.fromtif(path2).shape == (6, 2, 5, 7)
