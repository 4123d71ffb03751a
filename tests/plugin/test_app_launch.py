"""`napari-thunder gui` as a user starts it: layout, bad input, no display, samples' looks."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from napari_thunder.plugin import app


def _cli(args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "napari_thunder.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_gui_without_display_exits_2_with_one_line():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = _cli(["gui"], env=env)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])  # not -6 (SIGABRT)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs a display" in lines[0] and "xvfb-run" in lines[0], lines


def test_check_display_rules(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(app.NoDisplayError, match="DISPLAY"):
        app.check_display()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    app.check_display()
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    app.check_display()


def test_gui_on_a_file_it_cannot_read_exits_2_before_any_window(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# not an image\n")
    t0 = time.monotonic()
    result = _cli(["gui", str(readme)])
    assert result.returncode == 2, result.stderr[-2000:]
    assert "not something napari-thunder opens" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert time.monotonic() - t0 < 60
    with pytest.raises(ValueError, match="TIF or PNG"):
        app.launch(str(readme), show=False)


def test_samples_have_percentile_contrast(make_napari_viewer_proxy):
    viewer = make_napari_viewer_proxy()
    fish = viewer.open_sample("napari-thunder", "fish")[0]
    data = np.asarray(fish.data)
    low, high = fish.contrast_limits
    assert high < 255                                        # not the uint8 range: not dim
    sample = np.stack([data[0], data[10], data[19]])
    assert high == pytest.approx(np.percentile(sample, 99.5))
    assert low == pytest.approx(np.percentile(sample, 0.5))


def test_widgets_opened_later_get_whole_tab_names(make_napari_viewer, qtbot):
    from qtpy.QtWidgets import QApplication, QTabBar

    viewer = make_napari_viewer(show=True)
    for k, name in enumerate(["Gaussian filter", "Median filter", "Uniform filter",
                              "Mean over images (time)", "Subsample", "Subtract"]):
        viewer.window.add_plugin_dock_widget("napari-thunder", name, tabify=k > 0)
    for _ in range(10):
        QApplication.processEvents()
    bars = [b for b in viewer.window._qt_window.findChildren(QTabBar) if b.count() >= 2]
    from qtpy.QtCore import Qt

    none = Qt.TextElideMode.ElideNone  # an enum on PyQt6, an int on PyQt5
    assert bars and all(b.elideMode() == none and b.usesScrollButtons() for b in bars)


def test_gui_launcher_logs_the_pyqt5_notice_instead_of_a_toast(monkeypatch, caplog):
    """`napari-thunder gui` (run_gui) turns napari's "PyQt5 backend is
    deprecated" toast into one log line; nothing else changes napari's flag."""
    import logging

    import napari
    from napari._qt import qt_main_window

    monkeypatch.setattr(qt_main_window, "SHOW_QT_WARNING", True)
    seen = {}
    monkeypatch.setattr(app, "launch",
                        lambda path, show: seen.setdefault("flag", qt_main_window.SHOW_QT_WARNING))
    monkeypatch.setattr(napari, "run", lambda: None)
    assert qt_main_window.SHOW_QT_WARNING is True  # importing the plugin leaves it alone
    with caplog.at_level(logging.INFO, logger="napari_thunder"):
        app.run_gui("mouse")
        app.run_gui("mouse")
    assert seen["flag"] is False  # already off when the window opens
    notes = [r.getMessage() for r in caplog.records if "PyQt5 backend is deprecated" in r.getMessage()]
    assert len(notes) == 1
