"""Make the screenshots of docs/gui.md (needs a display; a virtual one is fine).

::

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots/make_screenshots.py

Each picture is the whole napari window (``viewer.screenshot(canvas_only=False)``)
as ``napari-thunder gui`` opens it: the window fitted to the screen, the
plugin's widgets docked as tabs, the bundled ``mouse`` movie (20 x 64 x 64).
"""

from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _settle(rounds=30):
    from qtpy.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()
        time.sleep(0.01)


def _dock_of(viewer, display_name):
    from qtpy.QtWidgets import QDockWidget

    for key, widget in viewer.window.dock_widgets.items():
        if key.startswith(display_name):
            native = widget.native if hasattr(widget, "native") else widget
            dock = native.parent()
            while dock is not None and not isinstance(dock, QDockWidget):
                dock = dock.parent()
            return widget, dock
    raise KeyError(display_name)


def _shoot(viewer, name):
    from napari_thunder.plugin.app import _close_notifications

    _close_notifications(viewer.window._qt_window)
    _settle()
    path = os.path.join(HERE, name)
    viewer.screenshot(path, canvas_only=False, flash=False)
    print("wrote", path)
    return path


def _run(widget, layer, **values):
    widget.image.value = layer
    for key, value in values.items():
        getattr(widget, key).value = value
    job = widget.run()
    assert job is not None, widget.status.value
    job.wait(120)
    assert job.status == "done", (job.status, job.error)
    return job


def launch_layout():
    """The window as it opens: Engine tab in front, the mouse movie."""
    from napari_thunder.plugin.app import launch

    viewer = launch("mouse", show=True)
    try:
        _settle()
        _shoot(viewer, "launch.png")
    finally:
        viewer.close()


def result_overlay():
    """A local correlation map (magma, additive) on top of its input, both
    placed with the input's scale and translate."""
    import numpy as np

    from napari_thunder.plugin.app import launch

    viewer = launch("mouse", show=True)
    try:
        movie = viewer.layers[0]
        movie.scale = (1, 0.5, 0.5)
        movie.translate = (0, 10, 20)
        movie.units = ("s", "µm", "µm") if hasattr(movie, "units") else None
        widget, dock = _dock_of(viewer, "Local correlation")
        dock.raise_()
        _run(widget, movie)
        result = viewer.layers[-1]
        result.blending = "translucent"
        result.opacity = 0.55
        values = np.asarray(movie.data)
        movie.contrast_limits = (float(values.min()), float(np.percentile(values, 99.5)))
        viewer.reset_view()
        _shoot(viewer, "result-overlay.png")
    finally:
        viewer.close()


def filter_running():
    """A Gaussian filter of a 200-frame movie half-way: the progress bar and
    the partial result layer (frames not computed yet are black)."""
    import numpy as np

    from napari_thunder.plugin.app import launch

    viewer = launch(None, show=True, widgets=("Engine", "Gaussian filter", "Median filter"))
    try:
        rng = np.random.default_rng(5)
        yy, xx = np.mgrid[:256, :256]
        blobs = sum(np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 12.0 ** 2))
                    for y, x in rng.uniform(20, 236, (25, 2)))
        movie = (blobs[None] * (1 + 0.3 * np.sin(np.arange(200) / 9.0))[:, None, None] * 600
                 + rng.normal(100, 30, (200, 256, 256))).astype(np.float32)
        layer = viewer.add_image(movie, name="movie", colormap="gray")
        widget, dock = _dock_of(viewer, "Median filter")
        dock.raise_()
        widget.image.value = layer
        widget.size.value = "9"
        job = widget.run()
        deadline = time.monotonic() + 120
        while job.running and job.done < 0.45 * job.total and time.monotonic() < deadline:
            _settle(1)
        viewer.dims.set_point(0, 20)
        viewer.reset_view()
        _settle(5)
        _shoot(viewer, "filter-running.png")
        job.cancel()
        job.wait(60)
    finally:
        viewer.close()


def error_wraps():
    """An unreachable Spark master entered in the Engine widget: checked on
    Apply (a few seconds), one wrapped sentence, the window keeping its width."""
    from napari_thunder.plugin import settings
    from napari_thunder.plugin.app import launch

    viewer = launch("mouse", show=True)
    try:
        window = viewer.window._qt_window
        width = window.width()
        widget, dock = _dock_of(viewer, "Engine")
        dock.raise_()
        widget.backend.value = "spark"
        widget.spark_master.value = "spark://127.0.0.1:7999"
        _settle(5)
        widget.apply()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "7999" not in str(widget.status.value):
            _settle(2)
        _settle(20)
        assert window.width() == width, (window.width(), width)
        _shoot(viewer, "engine-error.png")
    finally:
        settings.set_engine("local")
        viewer.close()


SHOTS = {"launch": launch_layout, "overlay": result_overlay, "running": filter_running,
         "error": error_wraps}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SHOTS):
        SHOTS[name]()
