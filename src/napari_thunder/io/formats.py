"""Telling image formats apart by file name and folder content.

Shared by the napari reader (which must answer "is this ours?" without
reading pixels) and the command line (which picks a loader for its input).
"""

from __future__ import annotations

import glob
import os

TIF_EXTENSIONS = (".tif", ".tiff")
PNG_EXTENSIONS = (".png",)
BINARY_EXTENSIONS = (".bin",)
CONF_NAME = "conf.json"
#: characters that make a path a wildcard pattern (``glob`` syntax)
WILDCARDS = "*?["


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


def is_pattern(path) -> bool:
    """True if ``path`` does not exist and holds a wildcard (``*``, ``?``, ``[``)."""
    return any(ch in path for ch in WILDCARDS) and not os.path.lexists(path)


def classify_path(path, patterns=False) -> str | None:
    """What kind of image data ``path`` holds, from its name and folder content.

    Parameters
    ----------
    path : str
        A file or folder (or, with ``patterns``, a wildcard pattern).
    patterns : bool
        Also classify a wildcard pattern (see :func:`is_pattern`) by the
        visible files it matches: their common kind (``'tif'``, ``'png'`` or
        ``'binary'``), None when they differ or nothing matches. Off by
        default: the napari reader is only given existing paths.

    Returns
    -------
    str or None
        ``'tif'``, ``'png'``, ``'binary'``, ``'tif_dir'``, ``'png_dir'``,
        ``'binary_dir'``, or None when the path is none of them (a
        ``.bin`` file or folder counts as binary only with ``conf.json``
        beside it, which gives the shape).
    """
    if patterns and is_pattern(path):
        kinds = {
            classify_path(match) for match in glob.glob(path)
            if os.path.isfile(match) and not os.path.basename(match).startswith(".")
        }
        return kinds.pop() if len(kinds) == 1 else None
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
