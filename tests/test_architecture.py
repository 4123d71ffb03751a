"""The architecture, checked by a machine on every test run.

* ``lint-imports`` keeps every import-linter contract of ``pyproject.toml``
  (the layers, only ``plugin/`` imports napari/Qt, only ``engines.spark``
  imports pyspark, engine modules used only through the factory, no cycles);
* the same check fails when the core imports the plugin again (shown on a
  copy of the package with one such import added);
* importing every core module loads none of the heavy optional packages
  (napari, Qt, pyspark, distributed, zarr): they are imported by the functions
  that need them.
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import napari_thunder

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(napari_thunder.__file__).resolve().parent
CONFIG = ROOT / "pyproject.toml"

LINT = (
    "import sys\n"
    "from importlinter.cli import lint_imports\n"
    "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))\n"
)

#: packages the core must not import at import time
HEAVY = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy",
         "pyspark", "py4j", "distributed", "zarr", "ome_zarr")


def _lint(pythonpath: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin", "HOME": str(pythonpath)}
    return subprocess.run([sys.executable, "-c", LINT, str(CONFIG)], capture_output=True,
                          text=True, env=env, cwd=str(pythonpath), timeout=300)


def test_every_import_contract_is_kept():
    result = _lint(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert "0 broken" in result.stdout


def test_a_core_import_of_the_plugin_breaks_the_layers_contract(tmp_path):
    copy = tmp_path / "napari_thunder"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.bin", "*.tif"))
    target = copy / "data" / "images.py"
    target.write_text(target.read_text() + "\n\ndef _bad():\n    from napari_thunder.plugin import convert\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "Layers" in result.stdout and "BROKEN" in result.stdout
    assert "napari_thunder.data.images -> napari_thunder.plugin.convert" in result.stdout


def _core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="napari_thunder."):
        if info.name.startswith(("napari_thunder.plugin", "napari_thunder.cli.gui")):
            continue
        names.append(info.name)
    return names


def test_importing_the_core_loads_no_heavy_package():
    modules = _core_modules()
    assert "napari_thunder.engines.factory" in modules and "napari_thunder.data.images" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"heavy packages imported at import time: {result.stdout}"
