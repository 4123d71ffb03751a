"""Flat binary files: conf.json precedence and BinarySource."""

import json
import pickle

import numpy as np
import pytest

from napari_thunder.io.binary import BinarySource, read_conf, resolve_binary_args


def write_raw(path, array):
    path.write_bytes(np.ascontiguousarray(array).tobytes())
    return str(path)


# -- conf.json -----------------------------------------------------------------------------------------------
def test_read_conf_from_directory_and_from_file_dirname(tmp_path):
    (tmp_path / "conf.json").write_text(json.dumps({"shape": [2, 3], "dtype": "uint8"}))
    write_raw(tmp_path / "a.bin", np.zeros(6, np.uint8))
    assert read_conf(tmp_path) == {"shape": [2, 3], "dtype": "uint8"}
    assert read_conf(str(tmp_path / "a.bin")) == {"shape": [2, 3], "dtype": "uint8"}
    assert read_conf(str(tmp_path / "*.bin")) == {"shape": [2, 3], "dtype": "uint8"}


def test_read_conf_missing_is_empty_and_custom_name(tmp_path):
    assert read_conf(tmp_path) == {}
    (tmp_path / "other.json").write_text('{"dims": [4]}')
    assert read_conf(tmp_path, conf="other.json") == {"dims": [4]}


def test_read_conf_invalid_json_names_the_file(tmp_path):
    (tmp_path / "conf.json").write_text("{'shape': [2, 3],")
    with pytest.raises(ValueError, match="conf.json"):
        read_conf(tmp_path)


def test_read_conf_non_object_json_is_rejected(tmp_path):
    (tmp_path / "conf.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="conf.json"):
        read_conf(tmp_path)


def test_precedence_conf_shape_beats_dims_beats_argument(tmp_path):
    conf = tmp_path / "conf.json"
    conf.write_text(json.dumps({"dims": [5, 6], "shape": [2, 3]}))
    assert resolve_binary_args(tmp_path, shape=(9, 9))[0] == (2, 3)
    conf.write_text(json.dumps({"dims": [5, 6]}))
    assert resolve_binary_args(tmp_path, shape=(9, 9))[0] == (5, 6)
    conf.write_text("{}")
    assert resolve_binary_args(tmp_path, shape=(9, 9))[0] == (9, 9)


def test_dtype_conf_beats_argument_default_int16(tmp_path):
    conf = tmp_path / "conf.json"
    conf.write_text(json.dumps({"dtype": "float32"}))
    assert resolve_binary_args(tmp_path, shape=(2, 2), dtype="uint8")[1] == np.float32
    conf.write_text("{}")
    assert resolve_binary_args(tmp_path, shape=(2, 2), dtype="uint8")[1] == np.uint8
    shape, dtype = resolve_binary_args(tmp_path, shape=[2, 2])
    assert shape == (2, 2) and dtype == np.dtype("int16")


def test_missing_shape_raises_spec_message(tmp_path):
    with pytest.raises(ValueError, match="Image shape must be specified as argument or in a conf.json file"):
        resolve_binary_args(tmp_path)


@pytest.mark.parametrize("shape", [(0, 3), (2, -1), (2.5, 3), ()])
def test_bad_shape_is_rejected(tmp_path, shape):
    with pytest.raises(ValueError, match="shape"):
        resolve_binary_args(tmp_path, shape=shape)


def test_bad_dtype_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        resolve_binary_args(tmp_path, shape=(2, 2), dtype="not-a-dtype")


# -- BinarySource --------------------------------------------------------------------------------------------
@pytest.fixture
def three_files(tmp_path):
    """three int16 files of shape (2, 3, 4), values distinct"""
    stack = np.arange(3 * 24, dtype=np.int16).reshape(3, 2, 3, 4) - 30
    files = [write_raw(tmp_path / f"f{i}.bin", stack[i]) for i in range(3)]
    return files, stack


def test_one_frame_per_file(three_files):
    files, stack = three_files
    src = BinarySource(files, (2, 3, 4), "int16")
    assert src.shape == (3, 2, 3, 4) and src.dtype == np.int16 and len(src) == 3
    np.testing.assert_array_equal(src.read(0, 3), stack)
    np.testing.assert_array_equal(src.read(1, 2), stack[1:2])
    assert src.read(2, 2).shape == (0, 2, 3, 4)


def test_fortran_order_reshape(tmp_path):
    flat = np.arange(12, dtype=np.uint8)
    path = write_raw(tmp_path / "f.bin", flat)
    src = BinarySource([path], (3, 4), np.uint8, order="F")
    out = src.read(0, 1)
    np.testing.assert_array_equal(out[0], flat.reshape((3, 4), order="F"))
    assert out.flags.c_contiguous


@pytest.mark.parametrize("order", ["C", "F"])
def test_nplanes_two_splits_last_axis_file_major(three_files, tmp_path, order):
    _, stack = three_files
    files = [write_raw(tmp_path / f"o{i}.bin", stack[i].ravel(order=order)) for i in range(3)]
    src = BinarySource(files, (2, 3, 4), np.int16, order=order, nplanes=2)
    assert src.shape == (6, 2, 3, 2)
    expected = np.stack([stack[f][..., k:k + 2] for f in range(3) for k in (0, 2)])
    np.testing.assert_array_equal(src.read(0, 6), expected)
    np.testing.assert_array_equal(src.read(3, 5), expected[3:5])


@pytest.mark.parametrize("order", ["C", "F"])
def test_nplanes_one_drops_last_axis(three_files, tmp_path, order):
    _, stack = three_files
    files = [write_raw(tmp_path / f"o{i}.bin", stack[i].ravel(order=order)) for i in range(3)]
    src = BinarySource(files, (2, 3, 4), np.int16, order=order, nplanes=1)
    assert src.shape == (12, 2, 3)
    expected = np.stack([stack[f][..., k] for f in range(3) for k in range(4)])
    np.testing.assert_array_equal(src.read(0, 12), expected)
    np.testing.assert_array_equal(src.read(5, 7), expected[5:7])


def test_larger_file_uses_leading_bytes(tmp_path):
    path = write_raw(tmp_path / "f.bin", np.arange(10, dtype=np.float32))
    src = BinarySource([path], (2, 3), np.float32)
    np.testing.assert_array_equal(src.read(0, 1)[0], np.arange(6, dtype=np.float32).reshape(2, 3))


def test_short_file_fails_eagerly_naming_file_and_sizes(tmp_path):
    good = write_raw(tmp_path / "good.bin", np.zeros(6, np.uint16))
    short = write_raw(tmp_path / "short.bin", np.zeros(5, np.uint16))
    with pytest.raises(ValueError,
                       match=r"short\.bin: buffer is smaller than requested size.*12 bytes.*10 bytes"):
        BinarySource([good, short], (2, 3), np.uint16)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.bin"):
        BinarySource([str(tmp_path / "absent.bin")], (2, 3), np.uint16)


def test_nplanes_errors(three_files):
    files, _ = three_files
    with pytest.raises(ValueError, match="nplanes must be positive if passed, got 0"):
        BinarySource(files, (2, 3, 4), np.int16, nplanes=0)
    with pytest.raises(ValueError, match="nplanes must be positive if passed, got -2"):
        BinarySource(files, (2, 3, 4), np.int16, nplanes=-2)
    with pytest.raises(ValueError, match="Last dimension '4' must be divisible by nplanes '3'"):
        BinarySource(files, (2, 3, 4), np.int16, nplanes=3)


def test_bad_order_is_rejected(three_files):
    with pytest.raises(ValueError, match="order"):
        BinarySource(three_files[0], (2, 3, 4), np.int16, order="X")


def test_big_endian_dtype_is_read_and_returned_native(tmp_path):
    values = np.array([[1, -2], [300, -400]], dtype=">i2")
    path = write_raw(tmp_path / "be.bin", values)
    src = BinarySource([path], (2, 2), ">i2")
    out = src.read(0, 1)
    assert out.dtype == np.dtype("int16") and out.dtype.isnative
    np.testing.assert_array_equal(out[0], values.astype(np.int16))


def test_pickle_round_trip(three_files):
    files, stack = three_files
    src = pickle.loads(pickle.dumps(BinarySource(files, (2, 3, 4), np.int16, nplanes=2)))
    assert src.shape == (6, 2, 3, 2)
    np.testing.assert_array_equal(src.read(0, 1)[0], stack[0][..., 0:2])


def test_read_out_of_range_raises(three_files):
    src = BinarySource(three_files[0], (2, 3, 4), np.int16)
    with pytest.raises(IndexError):
        src.read(2, 4)


def test_thunder_series_binary_folder_is_refused(tmp_path):
    from napari_thunder import images

    np.arange(12, dtype=np.int16).tofile(tmp_path / "series-00000-00000.bin")
    (tmp_path / "conf.json").write_text('{"shape": [2, 2, 3], "dtype": "int16"}')
    with pytest.raises(ValueError, match=r"series-00000-00000\.bin is a Thunder Series binary file"):
        images.frombinary(str(tmp_path))


def test_series_binary_of_one_dimensional_records_is_refused(tmp_path):
    from napari_thunder import images, series

    series.fromarray(np.arange(30 * 60, dtype=np.float64).reshape(30, 60)).tobinary(str(tmp_path / "d"))
    assert (tmp_path / "d" / "series-00000.bin").exists()
    with pytest.raises(ValueError, match=r"series-00000\.bin is a Thunder Series binary file"):
        images.frombinary(str(tmp_path / "d"))


def test_malformed_stored_metadata_names_the_conf(tmp_path):
    from napari_thunder import images

    np.zeros((2, 3), np.int16).tofile(tmp_path / "image-00000.bin")
    (tmp_path / "conf.json").write_text('{"shape": [2, 3], "dtype": "int16", "metadata": {"axes": 3}}')
    with pytest.raises(ValueError, match=r"Invalid 'metadata' in configuration file .*conf\.json"):
        images.frombinary(str(tmp_path))


def test_headerless_movie_suite2p_layout(tmp_path):
    from napari_thunder import images

    movie = np.random.default_rng(4).integers(-2000, 2000, (7, 5, 6)).astype(np.int16)   # (n, Ly, Lx)
    movie.tofile(tmp_path / "data.bin")
    imgs = images.frombinary(str(tmp_path / "data.bin"), shape=(5, 6), dtype="int16", stack=True)
    assert imgs.shape == (7, 5, 6) and imgs.dtype == np.int16
    np.testing.assert_array_equal(imgs.toarray(), movie)
    np.testing.assert_allclose(imgs.mean().toarray(), movie.mean(axis=0))
    with pytest.raises(ValueError, match=r"data\.bin has 420 bytes, not a whole number of frames"):
        images.frombinary(str(tmp_path / "data.bin"), shape=(4, 6), dtype="int16", stack=True)
    with pytest.raises(ValueError, match="nplanes does not apply"):
        images.frombinary(str(tmp_path / "data.bin"), shape=(5, 6), stack=True, nplanes=1)


def test_stack_files_of_different_lengths_fortran_order(tmp_path):
    from napari_thunder.io.binary import BinaryStackSource

    frames = np.random.default_rng(5).random((5, 3, 4)).astype(">f4")
    # (np.concatenate gives native byte order: big-endian again before writing)
    np.concatenate([f.ravel(order="F") for f in frames[:2]]).astype(">f4").tofile(tmp_path / "a.bin")
    np.concatenate([f.ravel(order="F") for f in frames[2:]]).astype(">f4").tofile(tmp_path / "b.bin")
    src = BinaryStackSource([str(tmp_path / "a.bin"), str(tmp_path / "b.bin")], (3, 4), ">f4", order="F")
    assert src.shape == (5, 3, 4) and src.dtype == np.float32
    np.testing.assert_array_equal(src.read(0, 5), frames)
    np.testing.assert_array_equal(src.read(1, 4), frames[1:4])   # across the two files


def test_cli_load_input_headerless_binary_and_tif_series(tmp_path):
    import tifffile

    from napari_thunder.cli.errors import CLIError
    from napari_thunder.cli.inputs import load_input

    movie = np.arange(4 * 3 * 5, dtype=np.int16).reshape(4, 3, 5)
    movie.tofile(tmp_path / "data.bin")
    imgs, how = load_input(str(tmp_path / "data.bin"), "binary", shape=(3, 5), dtype="int16")
    np.testing.assert_array_equal(imgs.toarray(), movie)
    assert "stack=True" in how
    with pytest.raises(CLIError, match="binary inputs only"):
        load_input(str(tmp_path / "data.bin"), "tif", shape=(3, 5))
    with tifffile.TiffWriter(str(tmp_path / "two.tif")) as tif:
        tif.write(np.zeros((4, 4), np.uint8), photometric="minisblack")
        tif.write(np.ones((2, 3), np.float32), photometric="minisblack")
    imgs, how = load_input(str(tmp_path / "two.tif"), series=1)
    assert imgs.shape == (1, 2, 3) and imgs.dtype == np.float32 and how == "fromtif(series=1)"
