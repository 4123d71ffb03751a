"""Bad input: one ``napari-thunder: error: ...`` line, exit code 2, nothing
computed or written."""

import os

import pytest


def test_missing_input(tmp_path, run_cli, assert_bad_input):
    missing = tmp_path / "nothere"
    code, _, err = run_cli("run", missing, "-p", "mean", "-o", tmp_path / "out")
    assert_bad_input(code, err, str(missing))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["tif", "binary"])
def test_missing_input_with_explicit_format(tmp_path, run_cli, assert_bad_input, fmt):
    missing = tmp_path / "nothere"
    code, _, err = run_cli("info", missing, "--format", fmt)
    assert_bad_input(code, err, str(missing))


def test_pattern_matching_nothing(tmp_path, run_cli, assert_bad_input):
    pattern = tmp_path / "*.tif"
    code, _, err = run_cli("info", pattern)
    assert_bad_input(code, err, str(pattern))


def test_unknown_file_type(tmp_path, run_cli, assert_bad_input):
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    code, _, err = run_cli("info", notes)
    assert_bad_input(code, err, "notes.txt", "--format")


def test_bad_step_name(tmp_path, run_cli, assert_bad_input):
    code, _, err = run_cli("run", "example:mouse", "-p", "blur:sigma=2", "-o", tmp_path / "out")
    assert_bad_input(code, err, "blur")


def test_bad_argument_value_from_api(tmp_path, run_cli, assert_bad_input):
    code, _, err = run_cli("run", "example:mouse", "-p", "subsample:factor=0", "-o", tmp_path / "out")
    assert_bad_input(code, err, "factor")
    code, _, err = run_cli("run", "example:mouse", "-p", "max_projection:axis=5", "-o", tmp_path / "out")
    assert_bad_input(code, err, "axis")
    assert not (tmp_path / "out").exists()


def test_existing_output_without_overwrite_is_untouched(tmp_path, run_cli, assert_bad_input):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    code, _, err = run_cli("run", "example:mouse", "-p", "mean", "-o", out)
    assert_bad_input(code, err, "already exists", "--overwrite")
    assert os.listdir(out) == ["keep.txt"]


def test_output_is_a_file(tmp_path, run_cli, assert_bad_input):
    out = tmp_path / "file.tif"
    out.write_bytes(b"x")
    code, _, err = run_cli("run", "example:mouse", "-o", out)
    assert_bad_input(code, err, "is a file")


@pytest.mark.parametrize("make", ["dir", "file", "no-parent"])
def test_output_checked_before_loading(tmp_path, run_cli, assert_bad_input, monkeypatch, make):
    """The writers' own output check runs up front: the input is not even loaded."""
    from napari_thunder.cli import commands

    monkeypatch.setattr(commands, "load_input", lambda *a, **k: pytest.fail("input loaded"))
    out = tmp_path / "out"
    if make == "dir":
        out.mkdir()
    elif make == "file":
        out.write_bytes(b"")
    else:
        out = tmp_path / "missing" / "out"
    code, _, err = run_cli("run", "example:mouse", "-p", "mean", "-o", out)
    assert_bad_input(code, err, str(out))


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", "example:elephant", "-o", "{tmp}/o"], ["elephant", "mouse"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--engine", "nosuch"], ["--engine", "nosuch"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--engine", "7"], ["--engine", "'7'"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--to", "jpg"], ["--to", "jpg"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--npartitions", "x"], ["--npartitions"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--npartitions", "0"], ["--npartitions"]),
        (["run", "example:mouse"], ["--output"]),
        (["run", "example:mouse", "-o", "{tmp}/no/such/parent"], ["parent"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--nplanes", "2"], ["--nplanes", "example"]),
        (["frobnicate"], ["frobnicate"]),
        (["info", "{tmp}"], ["format"]),
    ],
)
def test_argument_errors(tmp_path, run_cli, assert_bad_input, argv, words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run_cli(*argv)
    assert_bad_input(code, err, *words)
    assert not (tmp_path / "o").exists()


def test_nplanes_refused_for_png(tmp_path, run_cli, assert_bad_input):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    code, _, err = run_cli("info", tmp_path, "--nplanes", "2")
    assert_bad_input(code, err, "--nplanes")


def test_corrupt_tif_names_file(tmp_path, run_cli, assert_bad_input):
    src = tmp_path / "bad"
    src.mkdir()
    (src / "broken.tif").write_bytes(b"II*\x00garbage")
    code, _, err = run_cli("run", src, "-p", "mean", "-o", tmp_path / "out")
    assert_bad_input(code, err, "broken.tif")


def test_debug_shows_the_traceback(tmp_path, run_cli):
    with pytest.raises(FileNotFoundError):
        run_cli("--debug", "info", tmp_path / "nothere")
