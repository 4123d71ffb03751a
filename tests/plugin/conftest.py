"""Fixtures for the napari plugin tests (run under Xvfb, see the README).

Every test in this folder is marked ``gui``. Run them with::

    xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest tests/plugin -q
"""

from pathlib import Path

import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

DATA = Path(__file__).resolve().parents[1] / "data"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def data_dir():
    """tests/data (copies of /work/shared/data used by the plugin tests)."""
    if not DATA.is_dir():
        pytest.skip("tests/data is missing")
    return DATA


@pytest.fixture(autouse=True)
def _local_engine_settings():
    """Every test starts (and ends) on the local engine."""
    from napari_thunder.plugin import settings

    settings.set_engine("local")
    yield
    settings.set_engine("local")
