"""Engine choice (settings page + dock widget), Spark runs, launch(), core stays napari-free."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.plugin import settings
from napari_thunder.plugin import widgets as W


def test_set_engine_validates_arguments():
    with pytest.raises(ValueError, match="backend"):
        settings.set_engine("gpu")
    with pytest.raises(ValueError, match="spark_master"):
        settings.set_engine("spark", spark_master="  ")
    with pytest.raises(ValueError, match="npartitions"):
        settings.set_engine("spark", npartitions=-1)
    assert settings.get_engine().backend == "local"  # unchanged


def test_engine_choice_is_napari_plugin_setting():
    from napari.settings import get_plugin_settings

    choice = settings.set_engine("spark", spark_master="local[3]", npartitions=5)
    assert (choice.engine, choice.npartitions_arg) == ("spark:local[3]", 5)
    stored = get_plugin_settings("napari-thunder").engine
    assert (stored.backend, stored.spark_master, stored.npartitions) == ("spark", "local[3]", 5)
    stored.backend = "local"  # as the Preferences page would
    assert settings.get_engine().engine == "local"
    assert settings.get_engine().npartitions_arg is None
    settings.set_engine("local", spark_master="local[2]", npartitions=0)


def test_engine_widget_applies_choice(make_napari_viewer_proxy, monkeypatch):
    import napari.utils.notifications as notifications

    messages = []
    monkeypatch.setattr(notifications, "show_error", lambda msg: messages.append(msg))
    viewer = make_napari_viewer_proxy()
    widget = settings.EngineWidget(viewer)
    assert widget.backend.value == "local" and not widget.spark_master.enabled
    widget.backend.value = "spark"
    assert widget.spark_master.enabled
    widget.spark_master.value = "spark://127.0.0.1:7077"
    widget.npartitions.value = 8
    widget.apply_button.clicked()
    assert settings.get_engine() == settings.EngineChoice("spark", "spark://127.0.0.1:7077", 8)
    assert "spark://127.0.0.1:7077" in widget.status.value
    widget.spark_master.value = ""
    widget.apply()
    assert messages and "spark_master" in messages[-1]
    assert settings.get_engine().spark_master == "spark://127.0.0.1:7077"  # kept


@pytest.mark.spark
def test_widgets_run_on_spark_with_same_results(make_napari_viewer_proxy, qtbot, spark_context,
                                                monkeypatch):
    master = spark_context.master
    settings.set_engine("spark", spark_master=master, npartitions=3)
    modes = []
    original = W.GaussianFilterWidget.apply

    def spy(self, imgs, **params):
        modes.append((imgs.mode, imgs.npartitions()))
        return original(self, imgs, **params)

    monkeypatch.setattr(W.GaussianFilterWidget, "apply", spy)
    viewer = make_napari_viewer_proxy()
    data = np.random.default_rng(5).normal(size=(9, 12, 10))
    layer = viewer.add_image(data, name="s")
    widget = W.GaussianFilterWidget(viewer)
    widget.image.value = layer
    widget.sigma.value = "1"
    job = widget.run()
    qtbot.waitUntil(lambda: not job.running, timeout=120000)
    assert job.status == "done", job.error
    assert modes == [("spark", 3)]
    assert job.partial_updates == 3  # one chunk per partition
    ref = np.stack([ndi.gaussian_filter(f, 1.0) for f in data])
    np.testing.assert_allclose(viewer.layers["s gaussian(sigma=1)"].data, ref, atol=1e-12)

    mean = W.MeanWidget(viewer)
    mean.image.value = layer
    job = mean.run()
    qtbot.waitUntil(lambda: not job.running, timeout=120000)
    assert job.status == "done", job.error
    np.testing.assert_allclose(viewer.layers["s mean"].data, data.mean(axis=0), rtol=1e-12)


@pytest.mark.spark
def test_cancel_on_spark_leaves_context_usable(make_napari_viewer_proxy, qtbot, spark_context):
    from qtpy.QtCore import QThreadPool

    settings.set_engine("spark", spark_master=spark_context.master, npartitions=16)
    viewer = make_napari_viewer_proxy()
    data = np.random.default_rng(6).normal(size=(32, 96, 96)).astype(np.float32)
    layer = viewer.add_image(data, name="big")
    widget = W.MedianFilterWidget(viewer)
    widget.image.value = layer
    widget.size.value = "7"
    job = widget.run()
    assert job.cancel_hooks  # cancelling also cancels the Spark job group at once
    qtbot.waitUntil(lambda: job.partial_updates >= 1, timeout=120000)
    widget.cancel()
    qtbot.waitUntil(lambda: not job.running, timeout=120000)
    assert job.status == "cancelled"
    assert job.done < 32
    assert QThreadPool.globalInstance().waitForDone(30000)
    assert spark_context.parallelize(range(10), 2).sum() == 45  # Spark still works


def test_core_modules_do_not_import_napari_or_qt():
    code = r"""
import pkgutil, sys, importlib
import napari_thunder
from napari_thunder import images
core = []
for info in pkgutil.walk_packages(napari_thunder.__path__, 'napari_thunder.'):
    if info.name.startswith('napari_thunder.plugin'):
        continue
    importlib.import_module(info.name)
    core.append(info.name)
imgs = images.fromarray(__import__('numpy').zeros((2, 3, 3)))
imgs.mean().toarray()
bad = sorted(m for m in sys.modules
             if m.split('.')[0] in {'napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6',
                                   'magicgui', 'superqt', 'vispy'})
assert len(core) >= 10, core
print('BAD', bad)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "BAD []" in result.stdout, result.stdout


def test_plugin_uses_qt_only_through_qtpy():
    from pathlib import Path

    import napari_thunder.plugin as plugin

    for path in Path(plugin.__file__).parent.glob("*.py"):
        text = path.read_text()
        for binding in ("PyQt5", "PyQt6", "PySide2", "PySide6"):
            assert f"import {binding}" not in text and f"from {binding}" not in text, path


def test_launch_opens_sample_and_widgets(qtbot):
    from napari_thunder.plugin.app import MAIN_WIDGETS, launch

    viewer = launch("mouse", show=False)
    try:
        assert [layer.name for layer in viewer.layers] == ["mouse"]
        assert viewer.layers["mouse"].data.shape == (20, 64, 64)
        docked = set(viewer.window.dock_widgets)  # names of the dock widgets
        for name in MAIN_WIDGETS:
            assert any(name in key for key in docked), (name, docked)
    finally:
        viewer.close()


def test_launch_opens_a_path(qtbot, data_dir):
    from napari_thunder.plugin.app import launch

    viewer = launch(str(data_dir / "singlelayer_tif"), show=False, widgets=())
    try:
        assert viewer.layers[0].data.shape == (3, 70, 75)
    finally:
        viewer.close()


def test_launch_layout_fills_the_screen_and_shows_whole_tab_names(qtbot):
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication, QTabBar

    from napari_thunder.plugin import app

    # (next to the other launch() tests: a viewer napari.Viewer() makes outside the
    # make_napari_viewer fixture, after fixture viewers, re-registers the plugin)
    viewer = app.launch("mouse", show=True)
    try:
        window = viewer.window._qt_window
        for _ in range(20):
            QApplication.processEvents()
        area = window.screen().availableGeometry()
        expected_w = min(area.width(), max(app.MIN_WINDOW[0], int(area.width() * app.WINDOW_FRACTION)))
        expected_h = min(area.height(), max(app.MIN_WINDOW[1], int(area.height() * app.WINDOW_FRACTION)))
        assert abs(window.width() - expected_w) <= 2 and abs(window.height() - expected_h) <= 40
        canvas = viewer.window._qt_viewer.canvas.native
        assert canvas.width() >= window.width() // 3          # not squeezed to a sliver
        bars = [b for b in window.findChildren(QTabBar) if b.count() >= 2]
        assert bars
        for bar in bars:
            # "Gaussian filter", never "G..."
            assert bar.elideMode() == Qt.TextElideMode.ElideNone
        # the whole mouse is in view: its corners map inside the canvas
        layer = viewer.layers["mouse"]
        assert layer.contrast_limits[1] < float(np.asarray(layer.data[0]).max())  # percentile
    finally:
        viewer.close()


def test_launch_bad_input_raises_before_any_window(tmp_path):
    from napari_thunder.plugin.app import launch

    with pytest.raises(FileNotFoundError, match="nope"):
        launch(str(tmp_path / "nope"), show=False)
