"""TIFF frame sources on the real test files and on files written with tifffile."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_thunder.io.tif import TifSource, read_tif_header

DATA = Path(__file__).resolve().parent.parent / "data"
SINGLE = sorted(str(p) for p in (DATA / "singlelayer_tif").glob("*.tif"))
MULTI = DATA / "multilayer_tif"
SINGLE_SUMS = [1233881, 1212169, 1191300]
PAGE_SUMS = [1140006, 1119161, 1098917]


def sums(frames):
    return [int(s) for s in frames.reshape(len(frames), -1).sum(axis=1, dtype=np.int64)]


# -- real files (values from shared/data/README.md) ----------------------------------------------------------
def test_single_page_lzw_files():
    src = TifSource(SINGLE)
    assert src.shape == (3, 70, 75) and src.dtype == np.uint8
    frames = src.read(0, 3)
    assert sums(frames) == SINGLE_SUMS
    assert frames[0].min() == 1 and frames[0].max() == 239


def test_multipage_file_is_one_volume_pages_first():
    src = TifSource([str(MULTI / "dotdotdot_lzw.tif")])
    assert src.shape == (1, 3, 70, 75)
    assert sums(src.read(0, 1)[0]) == PAGE_SUMS


def test_multipage_float32_same_values():
    src = TifSource([str(MULTI / "dotdotdot_float32.tif")])
    assert src.shape == (1, 3, 70, 75) and src.dtype == np.float32
    np.testing.assert_array_equal(src.read(0, 1), TifSource([str(MULTI / "dotdotdot_lzw.tif")]).read(0, 1))


@pytest.mark.parametrize("nplanes, shape", [(1, (3, 70, 75)), (3, (1, 3, 70, 75))])
def test_nplanes_on_real_multipage(nplanes, shape):
    src = TifSource([str(MULTI / "dotdotdot_lzw.tif")], nplanes=nplanes)
    assert src.shape == shape
    assert sums(src.read(0, shape[0]).reshape((3, 70, 75))) == PAGE_SUMS


def test_nplanes_two_does_not_divide_three_pages():
    with pytest.raises(ValueError,
                       match=r"nplanes '2' does not evenly divide '3' pages in file .*dotdotdot_lzw\.tif"):
        TifSource([str(MULTI / "dotdotdot_lzw.tif")], nplanes=2)


def test_files_with_different_page_counts_and_nplanes_one_give_eight_images():
    files = sorted(str(p) for p in MULTI.glob("dotdot*_lzw*.tif"))
    assert [Path(f).name for f in files] == ["dotdot_lzw.tif", "dotdotdot_lzw.tif", "dotdotdot_lzw2.tif"]
    src = TifSource(files, nplanes=1)
    assert src.shape == (8, 70, 75)
    assert sums(src.read(0, 8)) == PAGE_SUMS[:2] + PAGE_SUMS + PAGE_SUMS
    # a range crossing file boundaries
    assert sums(src.read(1, 6)) == [PAGE_SUMS[1]] + PAGE_SUMS + [PAGE_SUMS[0]]


def test_different_page_counts_without_nplanes_are_rejected():
    with pytest.raises(ValueError, match=r"dotdotdot_lzw\.tif has 3 pages"):
        TifSource([str(MULTI / "dotdot_lzw.tif"), str(MULTI / "dotdotdot_lzw.tif")])


def test_signed_int16_uncompressed():
    src = TifSource([str(MULTI / "test_signed.tif")], nplanes=1)
    assert src.shape == (2, 120, 120) and src.dtype == np.int16
    frames = src.read(0, 2)
    assert sums(frames) == [1973201, 2254767]
    assert frames.min() == -74


def test_header_reader():
    assert read_tif_header(str(MULTI / "dotdot_lzw.tif")) == (2, (70, 75), np.dtype(np.uint8))


# -- files written with tifffile -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.int32, np.float64])
@pytest.mark.parametrize("compression", [None, "zlib", "lzw"])
def test_multipage_written_by_tifffile(tmp_path, dtype, compression):
    rng = np.random.default_rng(1)
    volumes = (rng.random((3, 4, 9, 11)) * 1000).astype(dtype)
    files = []
    for i, vol in enumerate(volumes):
        files.append(str(tmp_path / f"v{i}.tif"))
        tifffile.imwrite(files[-1], vol, photometric="minisblack", compression=compression)
    src = TifSource(files)
    assert src.shape == (3, 4, 9, 11) and src.dtype == dtype
    np.testing.assert_array_equal(src.read(0, 3), volumes)
    np.testing.assert_array_equal(src.read(2, 3), volumes[2:])
    by_two = TifSource(files, nplanes=2)
    assert by_two.shape == (6, 2, 9, 11)
    np.testing.assert_array_equal(by_two.read(0, 6), volumes.reshape(6, 2, 9, 11))


def test_rgb_single_page(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 255, (2, 8, 10, 3), dtype=np.uint8)
    files = []
    for i in range(2):
        files.append(str(tmp_path / f"c{i}.tif"))
        tifffile.imwrite(files[-1], rgb[i], photometric="rgb")
    src = TifSource(files)
    assert src.shape == (2, 8, 10, 3)
    np.testing.assert_array_equal(src.read(0, 2), rgb)


def test_volume_with_last_axis_three_is_not_rgb(tmp_path):
    vol = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    path = str(tmp_path / "v.tif")
    tifffile.imwrite(path, vol, photometric="minisblack")
    src = TifSource([path])
    assert src.shape == (1, 5, 7, 3)
    np.testing.assert_array_equal(src.read(0, 1)[0], vol)


def test_discard_extra_warns_and_drops_remainder(tmp_path):
    vol = np.arange(5 * 4 * 4, dtype=np.uint16).reshape(5, 4, 4)
    path = str(tmp_path / "five.tif")
    tifffile.imwrite(path, vol, photometric="minisblack")
    with pytest.warns(UserWarning, match=r"five\.tif"):
        src = TifSource([path], nplanes=2, discard_extra=True)
    assert src.shape == (2, 2, 4, 4)
    np.testing.assert_array_equal(src.read(0, 2), vol[:4].reshape(2, 2, 4, 4))
    with pytest.raises(ValueError, match=r"nplanes '2' does not evenly divide '5' pages in file .*five\.tif"):
        TifSource([path], nplanes=2)


def test_no_warning_when_nplanes_divides(tmp_path):
    path = str(tmp_path / "four.tif")
    tifffile.imwrite(path, np.zeros((4, 3, 3), np.uint8), photometric="minisblack")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert TifSource([path], nplanes=2, discard_extra=True).shape == (2, 2, 3, 3)


@pytest.mark.parametrize("nplanes", [0, -1])
def test_nplanes_must_be_positive(nplanes):
    with pytest.raises(ValueError, match=f"nplanes must be positive if passed, got {nplanes}"):
        TifSource(SINGLE, nplanes=nplanes)


def test_files_must_agree_on_page_shape_and_dtype(tmp_path):
    a, b, c = (str(tmp_path / n) for n in ("a.tif", "b.tif", "c.tif"))
    tifffile.imwrite(a, np.zeros((6, 6), np.uint8))
    tifffile.imwrite(b, np.zeros((6, 7), np.uint8))
    tifffile.imwrite(c, np.zeros((6, 6), np.uint16))
    with pytest.raises(ValueError, match=r"b\.tif"):
        TifSource([a, b])
    with pytest.raises(ValueError, match=r"c\.tif"):
        TifSource([a, c])


# -- bad files -----------------------------------------------------------------------------------------------
def test_not_a_tiff_names_the_file(tmp_path):
    path = tmp_path / "fake.tif"
    path.write_bytes(b"this is not a tiff file at all")
    with pytest.raises(ValueError, match=r"fake\.tif"):
        TifSource([str(path)])


def test_empty_file_names_the_file(tmp_path):
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.tif"):
        TifSource([str(path)])


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_truncated_file_names_the_file(tmp_path, compression):
    full = str(tmp_path / "full.tif")
    tifffile.imwrite(full, np.arange(4 * 64 * 64, dtype=np.uint16).reshape(4, 64, 64),
                     photometric="minisblack", compression=compression)
    data = Path(full).read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.tif"):
        TifSource([str(cut)]).read(0, 1)


def test_pixel_data_corrupted_after_construction_fails_in_read(tmp_path):
    path = tmp_path / "late.tif"
    tifffile.imwrite(str(path), np.arange(32 * 32, dtype=np.uint16).reshape(32, 32), compression="zlib")
    src = TifSource([str(path)])
    with tifffile.TiffFile(str(path)) as tif:
        offset = tif.pages[0].dataoffsets[0]  # start of the zlib stream
    data = bytearray(path.read_bytes())
    data[offset:offset + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"Cannot read pages 0\.\.0 of TIFF file .*late\.tif"):
        src.read(0, 1)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        TifSource([str(tmp_path / "absent.tif")])


def test_pickle_round_trip_reads_same_values():
    files = sorted(str(p) for p in MULTI.glob("dotdot*_lzw*.tif"))
    src = TifSource(files, nplanes=1)
    clone = pickle.loads(pickle.dumps(src))
    assert clone.shape == src.shape and clone.dtype == src.dtype
    np.testing.assert_array_equal(clone.read(2, 5), src.read(2, 5))


def test_read_out_of_range_raises():
    with pytest.raises(IndexError):
        TifSource(SINGLE).read(0, 4)


# -- uncompressed contiguous files: read with one seek -------------------------------------------------------
def test_contiguous_fast_path_matches_page_decoding(tmp_path):
    vol = np.random.default_rng(9).integers(0, 60000, (7, 12, 10), dtype=np.uint16)
    path = str(tmp_path / "flat.tif")
    tifffile.imwrite(path, vol, photometric="minisblack")
    fast = TifSource([path], nplanes=1)
    assert fast.contiguous[0] is not None
    slow = TifSource([path], nplanes=1)
    slow.contiguous = [None]
    for start, stop in [(0, 7), (3, 4), (2, 6)]:
        np.testing.assert_array_equal(fast.read(start, stop), vol[start:stop])
        np.testing.assert_array_equal(slow.read(start, stop), vol[start:stop])
    assert TifSource([str(MULTI / "dotdot_lzw.tif")]).contiguous == [None]  # compressed: decoded page by page


def test_big_endian_file_is_returned_native(tmp_path):
    vol = np.arange(3 * 5 * 6, dtype=">i4").reshape(3, 5, 6) - 40
    path = str(tmp_path / "be.tif")
    tifffile.imwrite(path, vol, byteorder=">", photometric="minisblack")
    src = TifSource([path], nplanes=1)
    out = src.read(0, 3)
    assert src.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, vol.astype(np.int32))


def test_contiguous_file_truncated_after_construction_fails_in_read(tmp_path):
    path = tmp_path / "shrunk.tif"
    tifffile.imwrite(str(path), np.ones((4, 16, 16), np.uint16), photometric="minisblack")
    src = TifSource([str(path)], nplanes=1)
    assert src.contiguous[0] is not None
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 600])
    np.testing.assert_array_equal(src.read(0, 1), np.ones((1, 16, 16), np.uint16))
    with pytest.raises(ValueError, match=r"shrunk\.tif"):
        src.read(3, 4)
