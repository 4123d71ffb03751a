"""Open napari with the plugin's main widgets and a dataset loaded.

``napari-thunder gui [INPUT]`` (the CLI) and run.sh's main job call
:func:`launch`, then run the Qt event loop (``napari.run()``).
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
