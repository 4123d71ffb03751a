"""Fixtures of the adversarial reliability suite: the command line in this
process and in a child process, leftovers next to an output path, a tiny
tmpfs (disk full) when the machine allows mounting one."""

import os
import subprocess
import sys
import uuid

import pytest

import napari_thunder

#: the ``src`` folder this napari_thunder was imported from (children import the same code)
SRC = os.path.dirname(os.path.dirname(os.path.abspath(napari_thunder.__file__)))


def child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@pytest.fixture
def run_cli(capsys):
    """``run_cli(*argv) -> (exit code, stdout, stderr)`` of ``cli.main`` in this process."""
    from napari_thunder import cli

    def run(*argv):
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def one_error_line():
    """``one_error_line(code, err, *words)``: exit 2, exactly one
    ``napari-thunder: error: ...`` line holding every word, no traceback."""
    def check(code, err, *words):
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2, err
        assert len(lines) == 1, err
        assert lines[0].startswith("napari-thunder: error: "), err
        assert "Traceback" not in err
        for word in words:
            assert word in lines[0], (word, lines[0])
        return lines[0]

    return check


def hidden_leftovers(parent):
    """Names of hidden temporary siblings (``.<name>.writing-...`` and the like) in ``parent``."""
    return sorted(name for name in os.listdir(parent) if name.startswith("."))


@pytest.fixture
def leftovers():
    return hidden_leftovers


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs mounted on a new folder (skipped where mounting is not allowed)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    mount = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
