"""The plugin on PyQt6 and PySide6, not just on the tested default PyQt5.

The plugin imports Qt only through ``qtpy``; this test runs napari with the
plugin on each other binding in a subprocess (``QT_API=pyqt6`` / ``pyside6``,
the binding from the folder ``.ci/run`` installs it into, ``NT_PYQT6_PATH`` /
``NT_PYSIDE6_PATH``): the launch layout, a filter widget run in the
background, its result equal to scipy, a failing job reported in exactly one
notification, a screenshot that is not blank. Without the folder's variable
(pytest run by hand) the binding is skipped.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(r"""
    import json
    import numpy as np
    import scipy.ndimage as ndi
    from qtpy import API_NAME
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication, QTabBar

    from napari_thunder.plugin import app
    from napari_thunder.plugin import widgets as W

    out = {"api": API_NAME}
    viewer = app.launch("mouse", show=True)
    for _ in range(20):
        QApplication.processEvents()
    bars = [b for b in viewer.window._qt_window.findChildren(QTabBar) if b.count() >= 2]
    out["tab_bars"] = len(bars)
    out["elide_none"] = all(b.elideMode() == Qt.TextElideMode.ElideNone for b in bars)
    stack = np.random.default_rng(3).normal(size=(12, 24, 20))
    layer = viewer.add_image(stack, name="movie")
    widget = W.GaussianFilterWidget(viewer)
    widget.image.value = layer
    widget.sigma.value = "1.5"
    widget.run_button.clicked()
    job = widget.job
    import time
    deadline = time.monotonic() + 120
    while job.running and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        QApplication.processEvents()
    out["status"] = job.status
    result = np.asarray(viewer.layers["movie gaussian(sigma=1.5)"].data)
    reference = np.stack([ndi.gaussian_filter(f, 1.5) for f in stack])
    out["max_error"] = float(np.abs(result - reference).max())

    from napari.utils.notifications import notification_manager
    from napari_thunder.plugin import result_layers

    def broken_stream():
        raise MemoryError("no room for the test")
        yield

    before = len(notification_manager.records)
    failing = result_layers.start_estimate_job(viewer, broken_stream, "broken", total=3)
    failing.wait(60)
    for _ in range(20):
        QApplication.processEvents()
    out["failed_status"] = failing.status
    out["error_notifications"] = [str(n.message) for n in notification_manager.records[before:]]
    out["failed_layers"] = [layer.name for layer in viewer.layers if layer.name.startswith("broken")]
    shot = viewer.screenshot(canvas_only=False, flash=False)
    out["screenshot_shape"] = list(shot.shape)
    out["screenshot_levels"] = int(len(np.unique(shot[..., :3].reshape(-1, 3), axis=0)))
    viewer.close()
    print("RESULT " + json.dumps(out))
""")


BINDINGS = [
    # QT_API, module name, the variable naming the folder .ci/run installs it into
    ("pyqt6", "PyQt6", "NT_PYQT6_PATH"),
    ("pyside6", "PySide6", "NT_PYSIDE6_PATH"),
]


@pytest.mark.parametrize(("qt_api", "module", "folder_variable"), BINDINGS,
                         ids=[module for _, module, _ in BINDINGS])
def test_plugin_runs_on_other_binding(tmp_path, qt_api, module, folder_variable):
    folder = os.environ.get(folder_variable)
    if not folder:
        pytest.skip(f"{folder_variable} not set (.ci/run sets it)")
    env = dict(os.environ, QT_API=qt_api,
               PYTHONPATH=os.pathsep.join(p for p in (folder, os.environ.get("PYTHONPATH")) if p))
    env.pop("PYTEST_QT_API", None)
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Failed to disconnect" not in run.stderr  # PySide6's warning when a slot is not found
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["api"] == module
    assert out["tab_bars"] >= 1 and out["elide_none"]
    assert out["status"] == "done"
    assert out["max_error"] < 1e-12
    assert out["failed_status"] == "failed" and out["failed_layers"] == []
    notes = out["error_notifications"]
    assert len(notes) == 1 and "broken" in notes[0] and "memory" in notes[0].lower(), notes
    assert out["screenshot_shape"][0] >= 600 and out["screenshot_levels"] > 50
