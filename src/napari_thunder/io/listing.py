"""Turn a path, a wildcard pattern or a list of them into a sorted file list.

Follows Thunder's listing rules, with case-insensitive extensions and
hidden entries skipped; see :func:`list_files`.
"""

from __future__ import annotations

import glob
import operator
import os
import re

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")

#: Extensions that stand for each other (``ext='tif'`` also lists ``*.tiff``).
_EXTENSION_ALIASES = {"tif": ("tif", "tiff"), "tiff": ("tif", "tiff")}


def strip_file_scheme(path) -> str:
    """Return ``path`` as a local path string.

    ``file://`` is removed; any other URI scheme (``s3://``, ``gs://``,
    ``hdfs://``, ``http://``...) raises ``NotImplementedError`` naming it.

    Parameters
    ----------
    path : str or os.PathLike
        Local path or ``file://`` URI.

    Returns
    -------
    str
        The local path, ``~`` expanded.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    match = _SCHEME.match(path)
    if match:
        scheme = match.group(1).lower()
        if scheme != "file":
            raise NotImplementedError(
                f'Reading from "{scheme}://" paths is not supported (path {path}); '
                "only local paths and file:// are"
            )
        path = path[len(match.group(0)):]
        if not path:
            path = "/"
    return os.path.expanduser(path)


def _normalise_ext(ext):
    if ext is None:
        return None
    if not isinstance(ext, str) or not ext.strip(". "):
        raise ValueError(f"ext must be a non-empty string or None, got {ext!r}")
    return ext.strip().lstrip(".")


def _matches_ext(name: str, ext: str | None) -> bool:
    if ext is None:
        return True
    suffixes = _EXTENSION_ALIASES.get(ext.lower(), (ext,))
    lowered = name.lower()
    return any(lowered.endswith("." + s.lower()) for s in suffixes)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _list_directory(directory: str, ext: str | None) -> list[str]:
    names = [
        entry.path
        for entry in os.scandir(directory)
        if not _is_hidden(entry.name) and not entry.is_dir() and _matches_ext(entry.name, ext)
    ]
    return names


def _list_recursive(directory: str, ext: str | None) -> list[str]:
    found = []
    for root, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
        for name in filenames:
            if not _is_hidden(name) and _matches_ext(name, ext):
                found.append(os.path.join(root, name))
    return found


def _as_index(name, value):
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer or None, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer or None, got {value!r}") from None


def _list_one(path, ext, recursive) -> list[str]:
    local = strip_file_scheme(path)
    if os.path.isdir(local):
        found = _list_recursive(local, ext) if recursive else _list_directory(local, ext)
    elif os.path.isfile(local):
        found = [local]
    else:
        found = [p for p in glob.glob(local) if not os.path.isdir(p)]
    if not found:
        shown = ext if ext is not None else "*"
        raise FileNotFoundError(f'Cannot find files of type "{shown}" in {local}')
    return [os.path.abspath(p) for p in found]


def list_files(path, ext=None, start=None, stop=None, recursive=False) -> list[str]:
    """List the files a loader reads, sorted by full path.

    Parameters
    ----------
    path : str, os.PathLike, or list/tuple of them
        A directory, a file, or a glob pattern (``'dir/*.tif'``). A
        ``file://`` prefix is accepted; other URI schemes (``s3://``,
        ``gs://``, ``hdfs://``, ``http://``...) raise ``NotImplementedError``.
        A list or tuple lists each entry and merges the results (sorted,
        duplicates removed).
    ext : str, optional
        Extension without the dot. For a directory only files ``*.ext`` are
        listed (all files when None). ``'tif'`` and ``'tiff'`` each match both
        ``.tif`` and ``.tiff``. Matching ignores case, so ``.TIF`` files are
        listed too (a small extension of Thunder, whose glob was
        case-sensitive on Linux). ``ext`` is NOT applied to an explicit file or
        a glob pattern (Thunder's rule).
    start, stop : int, optional
        Slice of the sorted list, taken as Thunder does:
        ``files[start or 0 : stop or len(files)]`` when either is truthy.
    recursive : bool
        For a directory, walk its subdirectories too (``os.walk``).

    Returns
    -------
    list of str
        Absolute paths, sorted lexicographically. Subdirectories and hidden
        entries (names starting with ``.``, e.g. the temporary directories of
        an unfinished write) are never listed from a directory.

    Raises
    ------
    FileNotFoundError
        Nothing found (missing path, empty directory, no ``*.ext`` file); the
        message names the path and the extension looked for.
    ValueError
        ``start``/``stop`` select no file, an empty list of paths, or an empty
        path (``''``, which would otherwise mean the working directory).
    NotImplementedError
        A remote URI scheme.
    """
    ext = _normalise_ext(ext)
    for entry in path if isinstance(path, (list, tuple)) else [path]:
        if isinstance(entry, (str, os.PathLike)) and os.fspath(entry) == "":
            raise ValueError("path is empty: give a file, a directory or a glob pattern")
    if isinstance(path, (list, tuple)):
        if len(path) == 0:
            raise ValueError("path is an empty list: give at least one file or directory")
        found = set()
        for p in path:
            found.update(_list_one(p, ext, recursive))
        files = sorted(found)
    else:
        files = sorted(_list_one(path, ext, recursive))

    start = _as_index("start", start)
    stop = _as_index("stop", stop)
    if start or stop:
        total = len(files)
        files = files[start or 0: stop or total]
        if not files:
            raise ValueError(
                f"start={start!r}, stop={stop!r} select no file out of the {total} found in {path}"
            )
    return files
