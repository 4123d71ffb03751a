"""``napari-thunder gui``: the command hands the input to the plugin's
``run_gui`` (only the plugin imports napari)."""

import sys
import types

import numpy as np
import pytest


@pytest.mark.parametrize("argv, target", [([], "mouse"), (["gui"], "mouse"),
                                          (["gui", "example:fish"], "fish"),
                                          (["gui", "some/dir"], "some/dir")])
def test_gui_calls_plugin_run_gui(monkeypatch, run_cli, argv, target):
    calls = []
    app = types.ModuleType("napari_thunder.plugin.app")
    app.run_gui = lambda path_or_example="mouse": calls.append(("run_gui", path_or_example))
    monkeypatch.setitem(sys.modules, "napari_thunder.plugin.app", app)
    import napari_thunder.plugin

    monkeypatch.setattr(napari_thunder.plugin, "app", app, raising=False)
    code, _, err = run_cli(*argv)
    assert code == 0, err
    assert calls == [("run_gui", target)]


def test_gui_without_napari(monkeypatch, run_cli, assert_bad_input):
    monkeypatch.setitem(sys.modules, "napari", None)  # import napari -> ImportError
    code, _, err = run_cli("gui")
    assert_bad_input(code, err, "napari")


def test_other_import_errors_are_not_napari_missing(monkeypatch, run_cli):
    from napari_thunder.plugin import app

    def broken(path_or_example="mouse"):
        raise ModuleNotFoundError("No module named 'napari.nothing'", name="napari.nothing")

    monkeypatch.setattr(app, "run_gui", broken)
    code, _, err = run_cli("gui")
    assert code == 1 and "internal error" in err and "napari.nothing" in err


@pytest.fixture
def real_napari(monkeypatch, make_napari_viewer):
    """napari whose viewers are the test's and whose event loop only records the call."""
    napari = pytest.importorskip("napari")
    runs = []
    monkeypatch.setattr(napari, "Viewer", lambda *a, **k: make_napari_viewer(*a, **k))
    monkeypatch.setattr(napari, "run", lambda *a, **k: runs.append(a))
    return types.SimpleNamespace(current_viewer=napari.current_viewer, runs=runs)


@pytest.mark.gui
@pytest.mark.parametrize("argv, name, shape", [(["gui"], "mouse", (20, 64, 64)),
                                               (["gui", "example:fish"], "fish", (20, 2, 76, 87))])
def test_gui_in_real_napari(run_cli, real_napari, mouse, fish, argv, name, shape):
    """``napari-thunder gui [example:NAME]`` goes through ``plugin.app.launch``:
    the example is loaded and the plugin's main widgets are docked (the event
    loop is not entered in the test)."""
    from napari_thunder.plugin.app import MAIN_WIDGETS

    code, _, err = run_cli(*argv)
    viewer = real_napari.current_viewer()
    assert code == 0, err
    assert [layer.data.shape for layer in viewer.layers] == [shape]
    np.testing.assert_array_equal(np.asarray(viewer.layers[0].data), mouse if name == "mouse" else fish)
    assert len(viewer.window.dock_widgets) == len(MAIN_WIDGETS)
    assert real_napari.runs == [()]  # the event loop was entered once, after the launch


@pytest.mark.gui
def test_gui_missing_input_is_bad_input(tmp_path, run_cli, assert_bad_input, real_napari):
    missing = tmp_path / "nothing-here"
    code, _, err = run_cli("gui", missing)
    assert_bad_input(code, err, str(missing))
    assert real_napari.current_viewer() is None  # checked before any window opens
