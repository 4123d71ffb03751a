"""The CLI options of real recordings: a headerless binary movie (``--shape``/``--dtype``, like
suite2p's ``data.bin``), the series of a multi-series TIFF (``--series``), and ``info`` printing
the axes with their physical scale and the channel names read from the file."""

import numpy as np
import pytest
import tifffile


@pytest.fixture
def raw_movie(tmp_path):
    """Two headerless int16 files of 3 and 2 images of (5, 6), back to back, C order."""
    movie = (np.arange(5 * 5 * 6, dtype=np.int16) * 37 - 500).reshape(5, 5, 6)
    folder = tmp_path / "raw"
    folder.mkdir()
    movie[:3].tofile(folder / "a.bin")
    movie[3:].tofile(folder / "b.bin")
    return folder, movie


def test_run_on_a_headerless_binary_movie(tmp_path, run_cli, raw_movie, read_tif_dir):
    folder, movie = raw_movie
    out = tmp_path / "out"
    code, stdout, err = run_cli("run", folder, "-f", "binary", "--shape", "5,6", "--dtype", "int16",
                                "-p", "sum", "-o", out, "--no-progress")
    assert code == 0, err
    assert "shape (5, 5, 6), dtype int16" in stdout
    np.testing.assert_array_equal(read_tif_dir(out)[0], movie.sum(axis=0))


def test_info_counts_the_images_of_a_headerless_movie(run_cli, raw_movie):
    folder, _ = raw_movie
    code, stdout, err = run_cli("info", folder, "-f", "binary", "--shape", "5x6", "--dtype", "int16")
    assert code == 0, err
    assert "count   5" in stdout and "value   (5, 6)" in stdout


@pytest.mark.parametrize("value", ["5", "5,x", "0,6", "-1,6"])
def test_bad_shape_is_one_line_exit_2(run_cli, raw_movie, assert_bad_input, value):
    folder, _ = raw_movie
    code, _, err = run_cli("info", folder, "-f", "binary", f"--shape={value}", "--dtype", "int16")
    assert_bad_input(code, err, "--shape", value)


def test_shape_on_a_tif_input_is_refused(tmp_path, run_cli, assert_bad_input):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((2, 4, 4), np.uint8))
    code, _, err = run_cli("info", path, "--shape", "4,4", "--dtype", "uint8")
    assert_bad_input(code, err, "--shape", "binary")


def test_series_picks_the_second_series_of_a_tiff(tmp_path, run_cli, read_tif_dir):
    path = tmp_path / "two.tif"
    first = np.full((3, 8, 8), 7, np.uint16)
    second = np.arange(2 * 5 * 4, dtype=np.uint16).reshape(2, 5, 4)
    with tifffile.TiffWriter(path) as tif:
        tif.write(first, photometric="minisblack")
        tif.write(second, photometric="minisblack")
    out = tmp_path / "out"
    code, stdout, err = run_cli("run", path, "--series", "1", "-o", out, "--no-progress")
    assert code == 0, err
    np.testing.assert_array_equal(read_tif_dir(out)[0], second)
    code, _, err = run_cli("info", path, "--series", "5")
    assert code == 2 and "series" in err and "two.tif" in err


def test_info_prints_axes_scale_and_channels_of_an_ome_tiff(tmp_path, run_cli):
    path = tmp_path / "cells.ome.tif"
    data = np.zeros((3, 2, 6, 5), np.uint16)  # t c y x
    tifffile.imwrite(path, data, ome=True, photometric="minisblack",
                     metadata={"axes": "TCYX", "PhysicalSizeX": 0.25, "PhysicalSizeXUnit": "µm",
                               "PhysicalSizeY": 0.25, "PhysicalSizeYUnit": "µm",
                               "Channel": {"Name": ["GCaMP", "tdTomato"]}})
    code, stdout, err = run_cli("info", path)
    assert code == 0, err
    axes = next(line for line in stdout.splitlines() if line.startswith("axes"))
    assert "y[0.25 micrometer]" in axes and "x[0.25 micrometer]" in axes and axes.split()[1] == "t"
    assert "channels GCaMP, tdTomato" in stdout


@pytest.mark.parametrize("options, word", [(["--series", "1"], "--series"), (["--shape", "4,4"], "--shape"),
                                           (["--dtype", "int16"], "--dtype"), (["--order", "C"], "--order")])
def test_file_options_on_an_example_input_are_refused(tmp_path, run_cli, assert_bad_input, options, word):
    """``example:mouse`` has its own loader: an option it would ignore is an error, not silence."""
    out = tmp_path / "out"
    code, _, err = run_cli("run", "example:mouse", *options, "-p", "mean", "-o", out, "--no-progress")
    assert_bad_input(code, err, word, "example")
    assert not out.exists()


def test_order_on_a_tif_input_is_refused(tmp_path, run_cli, assert_bad_input):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((2, 4, 4), np.uint8))
    code, _, err = run_cli("info", path, "--order", "F")
    assert_bad_input(code, err, "--order", "binary")


def test_order_f_reads_binary_files_in_fortran_order(tmp_path, run_cli, raw_movie, read_tif_dir):
    folder, movie = raw_movie
    out = tmp_path / "out"
    code, _, err = run_cli("run", folder, "-f", "binary", "--shape", "5,6", "--order", "F",
                           "-o", out, "--no-progress")
    assert code == 0, err
    flat = movie.reshape(5, -1)  # each image's 30 values as stored
    np.testing.assert_array_equal(read_tif_dir(out), np.array([f.reshape((5, 6), order="F") for f in flat]))
