"""House style, checked by a machine on every test run.

* ``ruff check`` (configured in ``pyproject.toml``) finds nothing in ``src``,
  ``tests`` and ``bench``;
* every public loader and every public ``Images``, ``Series`` and ``Blocks``
  method has a numpydoc docstring with a ``Parameters`` section (when it takes
  arguments) and a ``Returns`` (or ``Yields``) section (unless it returns None);
* no docstring in ``src`` points at a document outside the repository
  ("spec 3.5", "decision 11"): docstrings state the rule itself.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import napari_thunder
import napari_thunder.images as image_loaders
from napari_thunder.data.blocks import Blocks
from napari_thunder.data.images import Images
from napari_thunder.data.series import Series

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(napari_thunder.__file__).resolve().parent


def test_ruff_finds_nothing():
    pytest.importorskip("ruff")
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "bench"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _public_functions(module):
    for name, func in inspect.getmembers(module, inspect.isfunction):
        if not name.startswith("_") and func.__module__ == module.__name__:
            yield f"{module.__name__.rsplit('.', 1)[-1]}.{name}", func


def _public_methods(cls):
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr):
            yield f"{cls.__name__}.{name}", attr


def _series_loaders():
    try:
        import napari_thunder.series as series_loaders
    except ImportError:
        return []
    return list(_public_functions(series_loaders))


PUBLIC = (list(_public_functions(image_loaders)) + _series_loaders()
          + [m for cls in (Images, Series, Blocks) for m in _public_methods(cls)])


def _returns_none(func) -> bool:
    annotation = inspect.signature(func).return_annotation
    return annotation is None or annotation == "None"


def _missing_sections(func) -> list[str]:
    doc = inspect.getdoc(func)
    if not doc:
        return ["a docstring"]
    missing = []
    takes = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    if takes and not re.search(r"^Parameters\n-{10}$", doc, re.M):
        missing.append("Parameters")
    if not _returns_none(func) and not re.search(r"^(Returns\n-{7}|Yields\n-{6})$", doc, re.M):
        missing.append("Returns")
    return missing


def test_the_public_api_is_listed():
    names = {name for name, _ in PUBLIC}
    assert {"images.fromtif", "images.fromarray", "Images.gaussian_filter", "Images.toseries",
            "Series.toarray", "Blocks.toimages"} <= names


@pytest.mark.parametrize("name,func", PUBLIC, ids=[name for name, _ in PUBLIC])
def test_public_api_has_numpydoc_sections(name, func):
    missing = _missing_sections(func)
    assert not missing, f"{name} ({inspect.getsourcefile(func)}) lacks {', '.join(missing)}"


def test_docstrings_do_not_cite_documents_outside_the_repository():
    pattern = re.compile(r"\b(spec|decision)s? \d+(\.\d+)*", re.I)
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
