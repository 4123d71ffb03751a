"""The npe2 manifest: valid, importable, menu ids napari knows, widgets open from napari."""

import subprocess
import sys
from importlib import metadata, resources
from pathlib import Path

import yaml

PLUGIN = "napari-thunder"


def _manifest():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    return pm.get_manifest(PLUGIN)


def test_npe2_validate_with_imports():
    result = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", PLUGIN, "--imports"],
        capture_output=True, text=True, timeout=300,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "valid" in out.lower()


def test_manifest_is_the_packaged_file():
    """napari finds the manifest as package data of ``napari_thunder``, through
    the ``napari.manifest`` entry point (no copy or link outside the package)."""
    from npe2 import PluginManifest

    import napari_thunder

    packaged = resources.files("napari_thunder") / "napari.yaml"
    assert packaged.is_file()
    assert Path(str(packaged)).parent == Path(napari_thunder.__file__).parent
    assert yaml.safe_load(packaged.read_text())["name"] == PLUGIN
    entry_points = [ep for ep in metadata.distribution(PLUGIN).entry_points if ep.group == "napari.manifest"]
    assert [ep.value for ep in entry_points] == ["napari_thunder:napari.yaml"]
    from_file = PluginManifest.from_file(Path(str(packaged)))
    assert PluginManifest.from_distribution(PLUGIN).contributions == from_file.contributions
    assert _manifest().contributions == from_file.contributions


def test_every_menu_id_exists_in_napari():
    """npe2 does not check menu ids and napari drops unknown ones silently."""
    from napari._app_model.constants import MenuId

    known = {m.value for m in MenuId}
    contributions = _manifest().contributions
    ours = {s.id for s in contributions.submenus}
    for menu_id, items in contributions.menus.items():
        if menu_id.startswith("napari/"):
            assert menu_id in known, f"unknown napari menu id {menu_id!r}"
        else:
            assert menu_id in ours, f"menu {menu_id!r} is not one of our submenus"
        for item in items:
            submenu = getattr(item, "submenu", None)
            if submenu is not None:
                assert submenu in ours
    # every operation widget is reachable from a Layers menu
    commands_in_menus = {
        item.command for items in contributions.menus.values() for item in items
        if getattr(item, "command", None)
    }
    from napari_thunder.plugin.widgets import OPERATION_WIDGETS

    assert {f"{PLUGIN}.{op}" for op in OPERATION_WIDGETS} <= commands_in_menus


def test_menus_are_registered_in_napari(make_napari_viewer_proxy):
    from app_model.types import SubmenuItem
    from napari._app_model import get_app_model

    make_napari_viewer_proxy()
    app = get_app_model()
    filter_items = app.menus.get_menu("napari/layers/filter")
    labels = [item.submenu for item in filter_items if isinstance(item, SubmenuItem)]
    assert "napari-thunder/filter" in labels
    ours = [getattr(item, "command", None) for item in app.menus.get_menu("napari-thunder/filter")]
    assert any(c is not None and c.id == f"{PLUGIN}.gaussian_filter" for c in ours)


def test_every_widget_opens_as_dock_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    for widget in _manifest().contributions.widgets:
        dock, inner = viewer.window.add_plugin_dock_widget(PLUGIN, widget.display_name)
        assert inner is not None and dock is not None

    names = {w.display_name for w in _manifest().contributions.widgets}
    assert len(names) == 20  # + the two series widgets and the three calcium-imaging widgets


def test_widget_from_dock_runs(make_napari_viewer, qtbot):
    import numpy as np

    viewer = make_napari_viewer()
    data = np.random.default_rng(0).random((6, 8, 8))
    viewer.add_image(data, name="d")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Maximum over images (time)")
    assert widget.image.value is viewer.layers["d"]   # the picker sees existing layers
    job = widget.run()
    qtbot.waitUntil(lambda: not job.running, timeout=30000)
    np.testing.assert_array_equal(viewer.layers["d max"].data, data.max(axis=0))
    viewer.add_image(data[:2], name="later")
    assert [c for c in widget.image.choices][-1] is viewer.layers["later"]


def test_layers_menu_entries_open_the_widgets(make_napari_viewer):
    """What clicking Layers > Filters/Projections/... > Thunder ... does."""
    from app_model.types import MenuItem
    from napari._app_model import get_app_model

    viewer = make_napari_viewer()
    app = get_app_model()
    opened = 0
    for submenu in ("napari-thunder/filter", "napari-thunder/project", "napari-thunder/project-inside",
                    "napari-thunder/measure", "napari-thunder/transform"):
        for item in app.menus.get_menu(submenu):
            assert isinstance(item, MenuItem)
            app.commands.execute_command(item.command.id).result()
            opened += 1
    assert opened == 16  # measure: + summary images, ROI traces
    docked = list(viewer.window.dock_widgets)
    assert len(docked) == 16 and all(name.endswith("(Thunder)") for name in docked)
