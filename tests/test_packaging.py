"""Packaging: one version source, packages found under src/, data shipped as package data."""

import re
from pathlib import Path

import tomllib

import napari_thunder

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_is_dynamic_from_the_package():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, name = attr.rpartition(".")
    assert module == "napari_thunder" and getattr(napari_thunder, name) == napari_thunder.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", napari_thunder.__version__)


def test_version_written_once_in_the_sources():
    version = napari_thunder.__version__
    copies = [
        path for path in [ROOT / "pyproject.toml", ROOT / "README.md", *(ROOT / "src").rglob("*.py")]
        if f'"{version}"' in path.read_text() or f"'{version}'" in path.read_text()
    ]
    assert copies == [ROOT / "src" / "napari_thunder" / "__init__.py"]


def test_packages_are_found_under_src():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["where"] == ["src"]
    assert "package-dir" not in setuptools  # nothing outside src/ is mapped into the package



def test_no_top_level_copies_of_package_files():
    assert not (ROOT / "sample_data").exists()
    assert not (ROOT / "napari.yaml").exists() and not (ROOT / "napari.yaml").is_symlink()
    assert (ROOT / "tools" / "make_samples.py").is_file()
