"""Telling image formats apart by file name and folder content.

Shared by the napari reader (which must answer "is this ours?" without
reading pixels) and the command line (which picks a loader for its input).
"""

from __future__ import annotations

import os

TIF_EXTENSIONS = (".tif", ".tiff")
PNG_EXTENSIONS = (".png",)
BINARY_EXTENSIONS = (".bin",)
CONF_NAME = "conf.json"


def has_files(folder, extensions) -> bool:
    """True if ``folder`` holds a visible file ending in one of ``extensions``."""
    try:
        with os.scandir(folder) as entries:
            return any(
                entry.is_file() and not entry.name.startswith(".")
                and entry.name.lower().endswith(extensions)
                for entry in entries
            )
    except OSError:
        return False


def classify_path(path) -> str | None:
    """What kind of image data ``path`` holds, from its name and folder content.

    Returns
    -------
    str or None
        ``'tif'``, ``'png'``, ``'binary'``, ``'tif_dir'``, ``'png_dir'``,
        ``'binary_dir'``, or None when the path is none of them (a
        ``.bin`` file or folder counts as binary only with ``conf.json``
        beside it, which gives the shape).
    """
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, CONF_NAME)) and has_files(path, BINARY_EXTENSIONS):
            return "binary_dir"
        if has_files(path, TIF_EXTENSIONS):
            return "tif_dir"
        if has_files(path, PNG_EXTENSIONS):
            return "png_dir"
        return None
    if not os.path.isfile(path):
        return None
    lower = path.lower()
    if lower.endswith(TIF_EXTENSIONS):
        return "tif"
    if lower.endswith(PNG_EXTENSIONS):
        return "png"
    if lower.endswith(BINARY_EXTENSIONS):
        conf = os.path.join(os.path.dirname(os.path.abspath(path)), CONF_NAME)
        return "binary" if os.path.isfile(conf) else None
    return None
