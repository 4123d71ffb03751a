"""Open napari with the plugin's main widgets and a dataset loaded.

``napari-thunder gui [INPUT]`` (the CLI, through run.sh's main job too) calls
:func:`run_gui`: :func:`launch`, then the Qt event loop (``napari.run()``).
"""

from __future__ import annotations

import os

PLUGIN_NAME = "napari-thunder"

#: dock widgets opened by :func:`launch` (display names from napari.yaml);
#: the first is docked on its own, the others as tabs next to it
MAIN_WIDGETS = ("Engine", "Gaussian filter", "Mean", "Local correlation")


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

    name = str(path_or_example)
    if name.startswith("example:"):
        name = name[len("example:"):]
    if name in EXAMPLES:
        return viewer.open_sample(PLUGIN_NAME, name)
    path = os.fspath(path_or_example)
    if not os.path.exists(path):
        options = ", ".join(repr(k) for k in EXAMPLES)
        raise FileNotFoundError(
            f"path_or_example {path!r} is neither an example ({options}) nor an existing path"
        )
    return viewer.open(path, plugin=PLUGIN_NAME)


def launch(path_or_example="mouse", show=True, widgets=MAIN_WIDGETS):
    """Open a napari viewer with the plugin's main widgets and data loaded.

    Does not block: call ``napari.run()`` afterwards for the event loop.

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
        ``path_or_example`` is neither an example nor an existing path
        (checked before any window opens).
    """
    if path_or_example is not None:
        from napari_thunder.sample_data import EXAMPLES

        name = str(path_or_example)
        name = name[len("example:"):] if name.startswith("example:") else name
        if name not in EXAMPLES and not os.path.exists(os.fspath(path_or_example)):
            options = ", ".join(repr(k) for k in EXAMPLES)
            raise FileNotFoundError(
                f"path_or_example {path_or_example!r} is neither an example ({options}) "
                "nor an existing path"
            )
    import napari

    viewer = napari.Viewer(title="napari-thunder", show=show)
    if path_or_example is not None:
        open_input(viewer, path_or_example)
    for k, widget_name in enumerate(widgets):
        viewer.window.add_plugin_dock_widget(PLUGIN_NAME, widget_name, tabify=k > 0)
    return viewer


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
    FileNotFoundError
        ``path_or_example`` is neither an example nor an existing path.
    """
    import napari

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
        key, widget = _widget_by_display_name(viewer, widget_name)
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
