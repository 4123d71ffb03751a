"""Open napari with the plugin's main widgets and a dataset loaded.

``napari-thunder gui [INPUT]`` (the CLI, through run.sh's main job too) calls
:func:`run_gui`: :func:`launch`, then the Qt event loop (``napari.run()``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys

LOG = logging.getLogger("napari_thunder")

PLUGIN_NAME = "napari-thunder"

#: dock widgets opened by :func:`launch` (display names from napari.yaml);
#: the first is docked on its own, the others as tabs next to it
MAIN_WIDGETS = ("Engine", "Gaussian filter", "Mean over images (time)", "Local correlation")


def open_input(viewer, path_or_example):
    """Open a bundled example (by name) or a file/folder with this plugin.

    Parameters
    ----------
    viewer : napari.Viewer
    path_or_example : str
        ``'mouse'``, ``'fish'`` (or ``'example:<name>'``), or a path the
        plugin reads (TIF/PNG file or folder, flat-binary folder).

    Returns
    -------
    list of napari layers

    Raises
    ------
    FileNotFoundError
        Neither an example name nor an existing path.
    """
    from napari_thunder.sample_data import EXAMPLES

    name = str(path_or_example).removeprefix("example:")
    if name in EXAMPLES:
        return viewer.open_sample(PLUGIN_NAME, name)
    path = os.fspath(path_or_example)
    if not os.path.exists(path):
        options = ", ".join(repr(k) for k in EXAMPLES)
        raise FileNotFoundError(
            f"path_or_example {path!r} is neither an example ({options}) nor an existing path"
        )
    return viewer.open(path, plugin=PLUGIN_NAME)


class NoDisplayError(RuntimeError):
    """There is no display to open the GUI on (Linux without ``DISPLAY`` or
    ``WAYLAND_DISPLAY``): Qt would abort the whole process."""


#: Qt platform plugins that need no display server
_HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def check_display() -> None:
    """Raise :class:`NoDisplayError` when a window cannot be shown.

    On Linux a display is ``DISPLAY`` (X11) or ``WAYLAND_DISPLAY``; a
    ``QT_QPA_PLATFORM`` naming a display-less platform (``offscreen``...)
    also counts. Other systems always have one.

    Raises
    ------
    NoDisplayError
        The message says how to get one (``xvfb-run -a``, ``ssh -X``).
    """
    if not sys.platform.startswith("linux"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in _HEADLESS_PLATFORMS:
        return
    raise NoDisplayError(
        "the GUI needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set: run it on a "
        "desktop, over 'ssh -X', or under a virtual display ('xvfb-run -a napari-thunder gui')"
    )


def check_input(path_or_example) -> None:
    """Raise before any window opens when ``path_or_example`` is not something
    the GUI can open.

    Parameters
    ----------
    path_or_example : str or None

    Raises
    ------
    FileNotFoundError
        Neither an example name nor an existing path.
    ValueError
        An existing path this plugin does not read (a text file, say).
    """
    if path_or_example is None:
        return
    from napari_thunder.sample_data import EXAMPLES

    name = str(path_or_example).removeprefix("example:")
    if name in EXAMPLES:
        return
    path = os.fspath(path_or_example)
    if not os.path.exists(path):
        options = ", ".join(repr(k) for k in EXAMPLES)
        raise FileNotFoundError(
            f"path_or_example {path_or_example!r} is neither an example ({options}) "
            "nor an existing path"
        )
    from napari_thunder.plugin.reader import get_reader

    if get_reader(path) is None:
        raise ValueError(
            f"path_or_example {path!r} is not something napari-thunder opens: give a TIF or PNG "
            "file or folder, or a flat-binary folder with conf.json"
        )


#: fraction of the screen's available area the launch window takes
WINDOW_FRACTION = 0.9
#: the launch window is at least this large when the screen allows it
MIN_WINDOW = (1280, 800)
#: width of the dock area at launch (pixels)
DOCK_WIDTH = 400


def _fit_window(viewer):
    """Size the window to most of the screen (not napari's cramped default),
    give the docks a fixed share and re-fit the view to the data."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication, QDockWidget

    window = viewer.window._qt_window
    screen = window.screen() if hasattr(window, "screen") else None
    screen = screen or QApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        width = min(area.width(), max(MIN_WINDOW[0], int(area.width() * WINDOW_FRACTION)))
        height = min(area.height(), max(MIN_WINDOW[1], int(area.height() * WINDOW_FRACTION)))
        window.resize(width, height)
        window.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)
    docks = [d for d in window.findChildren(QDockWidget)
             if window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea and d.isVisible()]
    if docks:
        window.resizeDocks(docks[:1], [DOCK_WIDTH], Qt.Orientation.Horizontal)
    tidy_dock_tabs(window)
    for _ in range(5):
        QApplication.processEvents()
    viewer.reset_view()


def tidy_dock_tabs(window) -> None:
    """Dock tabs show whole names (no eliding to "G...", "M..."): the tab bars
    of ``window`` scroll instead when the names do not fit."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)
        bar.setExpanding(False)


def launch(path_or_example="mouse", show=True, widgets=MAIN_WIDGETS):
    """Open a napari viewer with the plugin's main widgets and data loaded.

    The window takes most of the screen, the widgets share one dock as tabs
    with their full names, and the view is fitted to the data. Does not
    block: call ``napari.run()`` afterwards for the event loop.

    Parameters
    ----------
    path_or_example : str or None
        Example name (``'mouse'``, ``'fish'``) or a path; None opens no data.
    show : bool
        Show the window (False for tests and screenshots off screen).
    widgets : sequence of str
        Dock widgets to open, by their display name in ``napari.yaml``.

    Returns
    -------
    napari.Viewer

    Raises
    ------
    FileNotFoundError
        ``path_or_example`` is neither an example nor an existing path.
    ValueError
        ``path_or_example`` is a path this plugin does not open (both
        checked before any window opens).
    """
    check_input(path_or_example)
    import napari

    viewer = napari.Viewer(title="napari-thunder", show=show)
    if path_or_example is not None:
        open_input(viewer, path_or_example)
    docks = [viewer.window.add_plugin_dock_widget(PLUGIN_NAME, widget_name, tabify=k > 0)[0]
             for k, widget_name in enumerate(widgets)]
    _fit_window(viewer)
    if docks:
        docks[0].raise_()  # the Engine tab in front
    return viewer


def _quiet_qt5_notice() -> None:
    """napari 0.9 shows "PyQt5 backend is deprecated" on every launch; log it
    once instead of showing it to every user of ``napari-thunder gui``."""
    try:
        from napari._qt import qt_main_window
    except ImportError:  # pragma: no cover - napari internals moved
        return
    if getattr(qt_main_window, "SHOW_QT_WARNING", False):
        qt_main_window.SHOW_QT_WARNING = False
        LOG.info("napari: support for the PyQt5 backend is deprecated (install PyQt6 to move on)")


def prefer_qt6() -> str | None:
    """Make qtpy use PyQt6 (or PySide6) when installed and nothing chose a
    binding yet (``QT_API`` unset, no binding imported); returns the binding
    chosen or None."""
    if os.environ.get("QT_API") or any(m in sys.modules for m in ("PyQt5", "PyQt6", "PySide2",
                                                                   "PySide6", "qtpy")):
        return None
    for name, api in (("PyQt6", "pyqt6"), ("PySide6", "pyside6")):
        if importlib.util.find_spec(name) is not None:
            os.environ["QT_API"] = api
            return api
    return None


def run_gui(path_or_example="mouse"):
    """Open the GUI (:func:`launch`, shown) and run napari's event loop until
    the window is closed.

    Parameters
    ----------
    path_or_example : str or None
        Example name (``'mouse'``, ``'fish'``) or a path; None opens no data.

    Raises
    ------
    ImportError
        napari is not installed (the exception's ``name`` is ``'napari'``).
    NoDisplayError
        No display to show the window on (instead of Qt aborting).
    FileNotFoundError
        ``path_or_example`` is neither an example nor an existing path.
    ValueError
        ``path_or_example`` is a path this plugin does not open.
    """
    check_display()
    check_input(path_or_example)
    prefer_qt6()
    import napari

    # Only here, in our own launcher: `napari-thunder gui` picks PyQt6/PySide6
    # itself when one is installed (prefer_qt6), so napari's toast telling every
    # user that PyQt5 is deprecated says nothing they can act on in this window;
    # it goes to the log instead. napari started any other way keeps its notice.
    _quiet_qt5_notice()
    launch(path_or_example, show=True)
    napari.run()


def _widget_by_display_name(viewer, display_name):
    for key, widget in viewer.window.dock_widgets.items():
        if key.startswith(display_name):
            return key, widget
    raise KeyError(display_name)


def save_screenshot(path, path_or_example="mouse", widget_name="Local correlation",
                    timeout=120.0, size=(1440, 900)):
    """Save a screenshot of the GUI: :func:`launch`, run one docked widget, shoot.

    Needs a display; under a virtual one::

        xvfb-run -a -s "-screen 0 1600x1200x24" python -c \
          "from napari_thunder.plugin.app import save_screenshot; save_screenshot('docs/screenshot.png')"

    Parameters
    ----------
    path : str
        PNG file to write.
    path_or_example : str
        Data to open (see :func:`launch`).
    widget_name : str
        Display name of one of :data:`MAIN_WIDGETS`, run on the first layer.
    timeout : float
        Seconds to wait for the operation.
    size : tuple of int
        Window size in pixels.

    Returns
    -------
    str
        ``path``.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication, QDockWidget

    viewer = launch(path_or_example, show=True)
    try:
        window = viewer.window._qt_window
        window.resize(*size)
        for _ in range(10):
            QApplication.processEvents()
        _key, widget = _widget_by_display_name(viewer, widget_name)
        dock = widget.native.parent() if hasattr(widget, "native") else widget.parent()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parent()
        if dock is not None:
            dock.raise_()
            window.resizeDocks([dock], [420], Qt.Horizontal)
        widget.image.value = viewer.layers[0]
        job = widget.run()
        if job is not None:
            job.wait(timeout)
        viewer.layers[0].visible = False
        _close_notifications(window)
        for _ in range(10):
            QApplication.processEvents()
        viewer.reset_view()
        for _ in range(30):
            QApplication.processEvents()
        viewer.screenshot(path, canvas_only=False, flash=False)
    finally:
        viewer.close()
    return path


def _close_notifications(window):
    """Close napari's notification toasts (they would cover the canvas)."""
    try:
        from napari._qt.dialogs.qt_notification import NapariQtNotification
    except ImportError:  # pragma: no cover - napari internals moved
        return
    for toast in window.findChildren(NapariQtNotification):
        toast.close()
