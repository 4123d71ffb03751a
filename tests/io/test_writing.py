"""Atomic output directories and frame writers."""

import json
import os
import pickle

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_thunder.io.binary import BinarySource, resolve_binary_args
from napari_thunder.io.png import PngSource
from napari_thunder.io.tif import TifSource
from napari_thunder.io.writing import (
    BlockWriter,
    OutputExistsError,
    atomic_output_dir,
    bytescale,
    check_export_ndim,
    frame_filename,
    write_binary_conf,
    write_binary_frame,
    write_png_frame,
    write_tif_frame,
)


def listing(directory):
    return sorted(os.listdir(directory))


# -- atomic_output_dir -----------------------------------------------------------------------------
def test_new_directory_appears_only_on_success(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(str(out)) as temp:
        assert not out.exists()
        assert os.path.dirname(temp) == str(tmp_path)
        assert os.path.basename(temp).startswith(".")
        (tmp_path / os.path.basename(temp) / "a.txt").write_text("new")
    assert listing(out) == ["a.txt"]
    assert listing(tmp_path) == ["out"]


def test_existing_directory_is_refused_without_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(OutputExistsError) as info:
        with atomic_output_dir(out):
            pytest.fail("the body must not run")
    assert str(info.value) == f"Directory {out} already exists, and overwrite is false"
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, ValueError)
    assert listing(out) == ["keep.txt"] and listing(tmp_path) == ["out"]


def test_existing_file_is_refused_even_with_overwrite(tmp_path):
    path = tmp_path / "afile"
    path.write_text("data")
    for overwrite in (False, True):
        with pytest.raises(ValueError, match=r"afile is a file: it must be a directory"):
            with atomic_output_dir(path, overwrite=overwrite):
                pytest.fail("the body must not run")
    assert path.read_text() == "data" and listing(tmp_path) == ["afile"]


def test_missing_parent_is_builtin_file_not_found(tmp_path):
    parent = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=str(parent)) as info:
        with atomic_output_dir(parent / "out"):
            pytest.fail("the body must not run")
    assert type(info.value) is FileNotFoundError
    assert listing(tmp_path) == []


def test_overwrite_replaces_the_old_directory(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_output_dir(out, overwrite=True) as temp:
        assert (out / "old.txt").exists()  # old data kept while the new output is written
        open(os.path.join(temp, "new.txt"), "w").close()
    assert listing(out) == ["new.txt"]
    assert listing(tmp_path) == ["out"]


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_mid_write_keeps_the_old_directory_and_no_temp(tmp_path, error):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(type(error)):
        with atomic_output_dir(out, overwrite=True) as temp:
            (tmp_path / os.path.basename(temp) / "half.txt").write_text("partial")
            raise error
    assert listing(out) == ["old.txt"] and (out / "old.txt").read_text() == "old"
    assert listing(tmp_path) == ["out"]


def test_failure_on_new_path_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output_dir(tmp_path / "out") as temp:
            open(os.path.join(temp, "half.bin"), "wb").close()
            raise RuntimeError("stop")
    assert listing(tmp_path) == []


def test_directory_created_by_someone_else_during_write_is_not_clobbered(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputExistsError):
        with atomic_output_dir(out) as temp:
            open(os.path.join(temp, "mine.txt"), "w").close()
            out.mkdir()
            (out / "theirs.txt").write_text("x")
    assert listing(out) == ["theirs.txt"] and listing(tmp_path) == ["out"]


def test_file_scheme_and_trailing_slash(tmp_path):
    with atomic_output_dir("file://" + str(tmp_path / "out") + "/") as temp:
        open(os.path.join(temp, "a"), "w").close()
    assert listing(tmp_path / "out") == ["a"]


# -- names and checks ------------------------------------------------------------------------------
def test_frame_filename():
    assert frame_filename("image", 0, "tif") == "image-00000.tif"
    assert frame_filename("img", 123456, "bin") == "img-123456.bin"


@pytest.mark.parametrize("fmt", ["tif", "png"])
@pytest.mark.parametrize("value_shape", [(5,), (2, 3, 4, 5)])
def test_check_export_ndim_rejects_1d_and_4d(fmt, value_shape):
    message = f"Only 2D or 3D images can be exported to {fmt}, images are {len(value_shape)}-dimensional."
    with pytest.raises(ValueError) as info:
        check_export_ndim(value_shape, fmt)
    assert str(info.value) == message


def test_check_export_ndim_accepts_2d_3d():
    check_export_ndim((4, 5), "tif")
    check_export_ndim((2, 4, 5), "tif")
    check_export_ndim((4, 5, 3), "png")
    with pytest.raises(ValueError, match="RGB"):
        check_export_ndim((2, 4, 5), "png")


# -- frame writers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(6, 7), (3, 6, 7), (6, 7, 3)])
def test_tif_frame_round_trips_exactly(tmp_path, dtype, shape):
    frame = (np.random.default_rng(6).random(shape) * 200 - 50).astype(dtype)
    path = str(tmp_path / "f.tif")
    write_tif_frame(frame, path)
    np.testing.assert_array_equal(tifffile.imread(path), frame)
    src = TifSource([path])
    assert src.dtype == dtype
    np.testing.assert_array_equal(src.read(0, 1)[0], frame)


def test_binary_frame_and_conf_round_trip(tmp_path):
    frames = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) / 7
    for i, f in enumerate(frames):
        write_binary_frame(f.T.copy().T, str(tmp_path / frame_filename("image", i, "bin")))  # F-ordered input
    write_binary_conf(str(tmp_path), (3, 4), np.float32)
    assert listing(tmp_path) == ["SUCCESS", "conf.json", "image-00000.bin", "image-00001.bin"]
    assert (tmp_path / "SUCCESS").read_bytes() == b""
    assert json.loads((tmp_path / "conf.json").read_text()) == {"shape": [3, 4], "dtype": "float32"}
    assert (tmp_path / "conf.json").read_text() == json.dumps({"shape": [3, 4], "dtype": "float32"}, indent=2)
    assert (tmp_path / "image-00001.bin").read_bytes() == frames[1].tobytes()
    shape, dtype = resolve_binary_args(str(tmp_path))
    src = BinarySource([str(tmp_path / "image-00000.bin"), str(tmp_path / "image-00001.bin")], shape, dtype)
    np.testing.assert_array_equal(src.read(0, 2), frames)


def test_bytescale_spec_example():
    np.testing.assert_array_equal(
        bytescale(np.arange(0, 80, 10, dtype=np.int16)), [0, 36, 73, 109, 146, 182, 219, 255])


def test_png_bytescale_spec_example(tmp_path):
    frame = np.arange(0, 80, 10, dtype=np.int16).reshape(2, 4)
    path = str(tmp_path / "s.png")
    write_png_frame(frame, path)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), [[0, 36, 73, 109], [146, 182, 219, 255]])


def test_png_uint8_written_as_is_and_constant_gives_zeros(tmp_path):
    frame = np.array([[3, 4], [200, 17]], np.uint8)
    write_png_frame(frame, str(tmp_path / "u.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "u.png")), frame)
    write_png_frame(np.full((2, 2), 7.5), str(tmp_path / "c.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "c.png")), np.zeros((2, 2), np.uint8))


def test_png_float_rescaled_per_image(tmp_path):
    frame = np.array([[-1.0, 0.0], [1.0, 3.0]])
    write_png_frame(frame, str(tmp_path / "f.png"))
    expected = np.floor((frame + 1) * 255 / 4 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "f.png")), expected)


@pytest.mark.parametrize("channels, mode", [(3, "RGB"), (4, "RGBA")])
def test_png_colour(tmp_path, channels, mode):
    frame = np.random.default_rng(7).integers(0, 255, (5, 6, channels), dtype=np.uint8)
    path = str(tmp_path / "c.png")
    write_png_frame(frame, path)
    assert Image.open(path).mode == mode
    np.testing.assert_array_equal(PngSource([path]).read(0, 1)[0], frame)


def test_png_other_3d_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        write_png_frame(np.zeros((2, 5, 6), np.uint8), str(tmp_path / "x.png"))
    assert listing(tmp_path) == []


# -- BlockWriter -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["bin", "tif", "png"])
def test_block_writer_names_frames_from_start(tmp_path, fmt):
    block = np.random.default_rng(8).integers(0, 255, (3, 4, 5), dtype=np.uint8)
    writer = pickle.loads(pickle.dumps(BlockWriter(str(tmp_path), fmt, prefix="img")))
    assert writer(block, 10) == 3
    names = [f"img-{i:05d}.{fmt}" for i in (10, 11, 12)]
    assert listing(tmp_path) == names
    files = [str(tmp_path / n) for n in names]
    if fmt == "bin":
        back = BinarySource(files, (4, 5), np.uint8).read(0, 3)
    elif fmt == "tif":
        back = TifSource(files).read(0, 3)
    else:
        back = PngSource(files).read(0, 3)
    np.testing.assert_array_equal(back, block)


def test_block_writer_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        BlockWriter(str(tmp_path), "jpg")
