"""The installed console script and ``python -m napari_thunder.cli``; the
command imports no napari, Qt or numpy until it needs them."""

import shutil
import subprocess
import sys

import numpy as np
from scipy import ndimage

import napari_thunder


def test_subprocess_entry_point(tmp_path, mouse, read_tif_dir):
    """The installed console script (or ``python -m``) end to end, once."""
    exe = shutil.which("napari-thunder")
    base = [exe] if exe else [sys.executable, "-m", "napari_thunder.cli"]
    out = tmp_path / "out"
    done = subprocess.run(
        base + ["run", "example:mouse", "-p", "uniform_filter:size=3", "-p", "max", "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    reference = np.array([ndimage.uniform_filter(f, 3) for f in mouse]).max(axis=0)
    np.testing.assert_array_equal(read_tif_dir(out)[0], reference)
    assert "wrote" in done.stdout
    bad = subprocess.run(base + ["run", str(tmp_path / "missing"), "-o", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("napari-thunder: error:") and "Traceback" not in bad.stderr


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "napari_thunder.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"napari-thunder {napari_thunder.__version__}"
    bad = subprocess.run([sys.executable, "-m", "napari_thunder.cli", "info", str(tmp_path / "nothere")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_no_heavy_imports():
    """Importing the command is cheap, and running ``info`` and ``run`` never
    imports napari or Qt (only ``napari_thunder.plugin`` does)."""
    code = (
        "import sys, tempfile, os\n"
        "import napari_thunder.cli as cli\n"
        "heavy = ('numpy', 'dask', 'pyspark', 'napari', 'qtpy', 'PyQt5')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in heavy], 'heavy import at import time'\n"
        "assert cli.main(['info', 'example:mouse']) == 0\n"
        "out = os.path.join(tempfile.mkdtemp(), 'o')\n"
        "assert cli.main(['run', 'example:mouse', '-p', 'mean', '-o', out]) == 0\n"
        "gui = [m for m in sys.modules if m.split('.')[0] in ('napari', 'qtpy', 'PyQt5')]\n"
        "assert not gui, gui\n"
        "assert not [m for m in sys.modules if m.startswith('napari_thunder.plugin')]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_help_and_version(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0 and "run" in out and "info" in out and "gui" in out
    code, out, _ = run_cli("--version")
    assert code == 0 and out == f"napari-thunder {napari_thunder.__version__}\n"
    code, out, _ = run_cli("run", "--help")
    assert code == 0 and "gaussian_filter" in out and "spark:local[2]" in out


def test_importing_main_module_runs_nothing(capsys):
    """``pkgutil.walk_packages`` imports ``cli.__main__``: that must not start the command."""
    import importlib

    importlib.import_module("napari_thunder.cli.__main__")
    assert capsys.readouterr() == ("", "")
