"""Fixtures of the command-line tests: running ``main``, the example data read
straight from the files, readers of written directories."""

import json
import os

import numpy as np
import pytest
import tifffile

from napari_thunder import cli, sample_data


def _read_tif_dir(path):
    files = sorted(f for f in os.listdir(path) if f.endswith(".tif"))
    return np.array([tifffile.imread(os.path.join(path, f)) for f in files])


def _read_binary_dir(path):
    conf = json.load(open(os.path.join(path, "conf.json")))
    files = sorted(f for f in os.listdir(path) if f.endswith(".bin"))
    return np.array(
        [np.fromfile(os.path.join(path, f), dtype=conf["dtype"]).reshape(conf["shape"]) for f in files]
    )


@pytest.fixture(scope="session")
def mouse():
    """The 'mouse' example, (20, 64, 64) int16, from its Fortran-order bytes (no loader)."""
    folder = sample_data.path("mouse")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".bin"))
    return np.array(
        [np.fromfile(os.path.join(folder, f), dtype=np.int16).reshape((64, 64), order="F") for f in files]
    )


@pytest.fixture(scope="session")
def fish():
    """The 'fish' example, (20, 2, 76, 87) uint8, read with tifffile."""
    return _read_tif_dir(sample_data.path("fish"))


@pytest.fixture
def read_tif_dir():
    return _read_tif_dir


@pytest.fixture
def read_binary_dir():
    return _read_binary_dir


@pytest.fixture
def run_cli(capsys):
    """``run_cli(*argv) -> (exit code, stdout, stderr)`` of ``cli.main``."""
    def run(*argv):
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def assert_bad_input():
    """``assert_bad_input(code, err, *words)``: exit code 2 and exactly one
    ``napari-thunder: error: ...`` line holding every word, no traceback."""
    def check(code, err, *words):
        assert code == 2
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert lines[0].startswith("napari-thunder: error: ")
        assert "Traceback" not in err
        for word in words:
            assert word in lines[0]

    return check
