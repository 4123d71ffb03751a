"""The command line under bad input and interruption: every bad invocation
exits 2 with exactly one ``napari-thunder: error: ...`` line naming what is
wrong, nothing is written, and Ctrl-C (SIGINT) at any point of a run leaves
neither the output directory nor a hidden temporary folder."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile

from .conftest import child_env, hidden_leftovers


@pytest.fixture(scope="module")
def tifs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-in")
    data = np.arange(4 * 8 * 9, dtype=np.uint16).reshape(4, 8, 9)
    for i, frame in enumerate(data):
        tifffile.imwrite(root / f"image-{i:05d}.tif", frame)
    return root


BAD = [
    # (argv after `run INPUT`, words of the message)
    (["-o", ""], ["path", "empty"]),
    (["-o", "", "--overwrite"], ["path", "empty"]),
    (["-o", " ", "--overwrite"], ["path", "empty"]),
    (["-o", ".", "--overwrite"], ["working directory"]),
    (["-o", "..", "--overwrite"], ["working directory"]),
    (["-o", "/", "--overwrite"], ["root directory"]),
    (["-o", "OUT", "-p", "gaussian_filter:sigma=nan"], ["sigma"]),
    (["-o", "OUT", "-p", "gaussian_filter:sigma=-1"], ["sigma"]),
    (["-o", "OUT", "-p", "gaussian_filter:sigma=1e300"], ["sigma"]),
    (["-o", "OUT", "-p", "gaussian_filter:sigma=abc"], ["sigma"]),
    (["-o", "OUT", "-p", "gaussian_filter:order=7"], ["order"]),
    (["-o", "OUT", "-p", "median_filter:size=1000000"], ["size"]),
    (["-o", "OUT", "-p", "median_filter:size=0"], ["size"]),
    (["-o", "OUT", "-p", "uniform_filter:size=-3"], ["size"]),
    (["-o", "OUT", "-p", "uniform_filter:size=2.5"], ["size"]),
    (["-o", "OUT", "-p", "subsample:factor=0"], ["factor"]),
    (["-o", "OUT", "-p", "max_projection:axis=5"], ["axis"]),
    (["-o", "OUT", "-p", "localcorr:neighborhood=-1"], ["neighborhood"]),
    (["-o", "OUT", "-p", "localcorr:neighborhood=99999999"], ["neighborhood"]),
    (["-o", "OUT", "-p", "subtract:val=xyz"], ["val"]),
    (["-o", "OUT", "-p", "nonsense"], ["nonsense"]),
    (["-o", "OUT", "-p", "mean:sigma=2"], ["sigma"]),
    (["-o", "OUT", "--npartitions", "0"], ["npartitions"]),
    (["-o", "OUT", "--npartitions", "x"], ["npartitions"]),
    (["-o", "OUT", "--nplanes", "0"], ["nplanes"]),
    (["-o", "OUT", "--nplanes", "-2"], ["nplanes"]),
    (["-o", "OUT", "--nplanes", "3"], ["nplanes"]),
    (["-o", "OUT", "--to", "jpg"], ["jpg"]),
    (["-o", "OUT", "--format", "gif"], ["gif"]),
    (["-o", "OUT", "--order", "X"], ["order"]),
    (["-o", "OUT", "--engine", "5"], ["engine"]),
    (["-o", "OUT", "--engine", "True"], ["engine"]),
    (["-o", "OUT", "--engine", ""], ["engine"]),
    (["-o", "OUT", "--level", "-1"], ["level"]),
    (["-o", "OUT", "--bogus"], ["--bogus"]),
    ([], ["-o"]),
]


@pytest.mark.parametrize("argv, words", BAD, ids=[" ".join(a) or "no-output" for a, _ in BAD])
def test_bad_run_arguments(tmp_path, monkeypatch, tifs, run_cli, one_error_line, argv, words):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    monkeypatch.chdir(work)
    argv = [str(work / "OUT") if a == "OUT" else a for a in argv]
    code, _, err = run_cli("run", str(tifs), "--no-progress", *argv)
    one_error_line(code, err, *words)
    assert os.listdir(work) == ["keep.txt"]


def test_bad_localcorr_argument_with_progress_bars(tmp_path, tifs, run_cli, one_error_line):
    code, _, err = run_cli("run", str(tifs), "-o", str(tmp_path / "out"), "-p", "localcorr:neighborhood=-1")
    one_error_line(code, err, "neighborhood")


BAD_INPUTS = [
    ("missing", lambda root: str(root / "nothing-here")),
    ("empty folder", lambda root: (root / "empty").mkdir() or str(root / "empty")),
    ("garbage tif", lambda root: (root / "g.tif").write_bytes(b"II*\0garbage") and str(root / "g.tif")),
    ("empty tif", lambda root: (root / "e.tif").write_bytes(b"") == 0 and str(root / "e.tif")),
    ("text file", lambda root: (root / "notes.txt").write_text("hello") and str(root / "notes.txt")),
    ("bad example", lambda root: "example:nonsense"),
    ("pattern matching nothing", lambda root: str(root / "*.tif")),
    ("malformed conf.json", lambda root: _binary_dir(root, "{not json")),
    ("nested conf.json", lambda root: _binary_dir(root, '{"shape": ' + "[" * 50 + "]" * 50 + "}")),
    ("negative dims", lambda root: _binary_dir(root, '{"shape": [-4, 4], "dtype": "uint8"}')),
    ("huge dims", lambda root: _binary_dir(root, '{"shape": [65536, 65536], "dtype": "uint8"}')),
    ("bad dtype", lambda root: _binary_dir(root, '{"shape": [4, 4], "dtype": "nonsense"}')),
]


def _binary_dir(root, conf):
    folder = root / "bin"
    folder.mkdir()
    (folder / "conf.json").write_text(conf)
    (folder / "image-00000.bin").write_bytes(b"\0" * 16)
    return str(folder)


@pytest.mark.parametrize("name, make", BAD_INPUTS, ids=[n for n, _ in BAD_INPUTS])
@pytest.mark.parametrize("command", ["run", "info"])
def test_bad_inputs(tmp_path, run_cli, one_error_line, name, make, command):
    spec = make(tmp_path)
    argv = [command, spec] + (["-o", str(tmp_path / "out")] if command == "run" else [])
    code, _, err = run_cli(*argv)
    one_error_line(code, err)
    assert not (tmp_path / "out").exists() and hidden_leftovers(tmp_path) == []


# -- SIGINT ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_tifs(tmp_path_factory):
    """Enough frames for a run of a few seconds on two cores (median 11x11)."""
    root = tmp_path_factory.mktemp("cli-big")
    rng = np.random.default_rng(3)
    for i, frame in enumerate(rng.integers(0, 4000, (200, 128, 128), dtype=np.uint16)):
        tifffile.imwrite(root / f"image-{i:05d}.tif", frame)
    return root


def _run_and_interrupt(tmp_path, src, when):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "napari_thunder.cli", "run", str(src), "-p", "median_filter:size=11",
           "-o", str(out), "--no-progress"]
    child = subprocess.Popen(cmd, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=tmp_path)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if when(tmp_path):
                break
            time.sleep(0.01)
        assert child.poll() is None, child.communicate()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return out, child.returncode, stdout, stderr


def _writing(root):
    temps = [n for n in os.listdir(root) if n.startswith(".out.writing-")]
    return bool(temps) and len(os.listdir(root / temps[0])) >= 2


def _started(root):
    return True


@pytest.mark.parametrize("when", [_started, _writing], ids=["at start", "mid-write"])
def test_sigint_during_a_run_leaves_no_partial_output(tmp_path, big_tifs, when):
    if when is _started:
        time.sleep(0)  # interrupt while the interpreter is still importing / loading
    out, code, _, stderr = _run_and_interrupt(tmp_path, big_tifs, when)
    time.sleep(0.3)
    assert code in (130, -signal.SIGINT), stderr
    assert "Traceback" not in stderr, stderr
    assert not out.exists()
    assert hidden_leftovers(tmp_path) == []


def test_cli_refuses_replacing_the_working_directory_in_a_child(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    done = subprocess.run([sys.executable, "-m", "napari_thunder.cli", "run", "example:mouse", "-o", "",
                           "--overwrite"], env=child_env(), capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "empty" in done.stderr
    assert os.listdir(tmp_path) == ["keep.txt"]
