"""napari reader: TIF / PNG files and folders, flat-binary folders (conf.json).

``get_reader(path)`` decides cheaply from names (and, for folders, a listing)
whether a path is ours and returns a reader function, or None. It never
raises. The reader function loads with the ``images`` API on the local
engine, so data stay lazy (a dask array: napari reads the frames it shows)
and contrast limits are explicit (see :mod:`napari_thunder.plugin.convert`).

What is read how:

=====================================  ==========================================
path                                   loaded as
=====================================  ==========================================
``x.tif`` / ``x.tiff``                 ``fromtif`` (its own layout, as the API and
                                       the CLI read it): ``(h, w)``, a volume
                                       ``(pages, h, w)``, ImageJ/OME hyperstacks
                                       ``(t, z, c, h, w)`` with one layer per
                                       channel, colour ``(h, w, 3)``, and the
                                       file's pixel sizes and units as ``scale``
                                       and ``units``
``x.png``                              ``frompng`` -> ``(h, w)`` (RGB(A) kept)
``x.bin`` with ``conf.json`` beside    ``frombinary`` -> its planes
folder with ``conf.json``              ``frombinary(folder)``
folder of ``*.tif`` / ``*.tiff``       ``fromtif(folder)``: one image per file
                                       (multipage files are volumes); the files
                                       of one multi-file OME-TIFF set
                                       (Micro-Manager, bfconvert) are one series
folder of ``*.png``                    ``frompng(folder)``
=====================================  ==========================================

Several files of one kind (napari's "open as stack") become one stack, one
image per file, in sorted order.

A file that turns out to be unreadable (corrupt TIF, bad conf.json...) shows a
napari error notification naming the file, and adds no layer.
"""

from __future__ import annotations

import os

from napari_thunder.io.formats import (
    BINARY_EXTENSIONS,
    PNG_EXTENSIONS,
    TIF_EXTENSIONS,
    classify_path,
)


def _single_path(path):
    """``path`` as one str, or None (lists of several paths are not ours)."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    try:
        return os.fspath(path)
    except TypeError:
        return None


_STACKABLE = {"tif": "fromtif", "png": "frompng", "binary": "frombinary"}


def _stack_kind(paths):
    """The common file kind of a list of files napari asks to stack, or None."""
    try:
        kinds = {classify_path(os.fspath(p)) for p in paths}
    except TypeError:
        return None
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    return kind if kind in _STACKABLE else None


def get_reader(path):
    """npe2 reader command: a reader function for ``path``, or None.

    Parameters
    ----------
    path : str or list of str
        What napari asks about. A list of several files of one kind (all TIF,
        all PNG, or all ``.bin`` with ``conf.json``) is read as one stack.

    Returns
    -------
    callable or None
        ``read(path, **kwargs) -> list of LayerDataTuple``; None when the path
        is not ours. Never raises.
    """
    try:
        if isinstance(path, (list, tuple)) and len(path) > 1:
            return read_path if _stack_kind(path) is not None else None
        single = _single_path(path)
        if single is None or classify_path(single) is None:
            return None
    except Exception:
        return None
    return read_path


def load_images(path, engine=None, npartitions=None):
    """Load ``path`` with the ``images`` API the way the reader does.

    Parameters
    ----------
    path : str
        A file or folder (see the module notes).
    engine : None, SparkContext or str
        ``None`` (local, lazy) by default.
    npartitions : int, optional

    Returns
    -------
    napari_thunder.Images

    Raises
    ------
    ValueError
        ``path`` is not a kind of input this plugin reads (the message names
        it), or the loader's own errors.
    """
    from napari_thunder import images

    kind = classify_path(path)
    opts = {"engine": engine, "npartitions": npartitions}
    if kind == "tif":
        return images.fromtif(path, **opts)
    if kind == "tif_dir":
        return images.fromtif(path, **opts)
    if kind in ("png", "png_dir"):
        return images.frompng(path, **opts)
    if kind in ("binary", "binary_dir"):
        return images.frombinary(path, **opts)
    raise ValueError(f"path {path!r} is not a TIF/PNG file or folder, nor flat-binary data with conf.json")


def layer_name_for(path) -> str:
    """Layer name from a path: the file or folder name without its extension."""
    base = os.path.basename(os.path.normpath(path))
    stem, ext = os.path.splitext(base)
    return stem if ext.lower() in TIF_EXTENSIONS + PNG_EXTENSIONS + BINARY_EXTENSIONS else base


def read_path(path, **kwargs):
    """Reader function: ``[(data, add_kwargs, 'image')]`` for ``path``.

    Errors (corrupt or inconsistent files) are shown as a napari notification
    naming the path, and no layer is added (``[(None,)]``).
    """
    several = isinstance(path, (list, tuple)) and len(path) > 1
    shown = f"{len(path)} files ({os.fspath(path[0])}, ...)" if several else _single_path(path)
    try:
        from napari_thunder.data.layers import images_to_layer_data

        if several:
            imgs, name = load_stack(path)
        else:
            imgs, name = load_images(shown), layer_name_for(shown)
        return [images_to_layer_data(imgs, name=name)]
    except Exception as exc:
        from napari.utils.notifications import show_error

        show_error(f"napari-thunder could not read {shown}: {type(exc).__name__}: {exc}")
        return [(None,)]


def load_stack(paths, engine=None, npartitions=None):
    """Several files of one kind (napari's "open as stack") as one ``Images``:
    one image per file, files sorted by path (the loaders' rule).

    Returns
    -------
    tuple
        ``(imgs, layer_name)``.

    Raises
    ------
    ValueError
        The files are not all TIF, all PNG or all flat-binary with conf.json.
    """
    from napari_thunder import images

    paths = [os.fspath(p) for p in paths]
    kind = _stack_kind(paths)
    if kind is None:
        raise ValueError(f"paths must all be TIF, all PNG or all flat-binary files, got {paths!r}")
    imgs = getattr(images, _STACKABLE[kind])(paths, engine=engine, npartitions=npartitions)
    folder = os.path.basename(os.path.dirname(os.path.abspath(sorted(paths)[0])))
    return imgs, f"{folder or layer_name_for(paths[0])}_stack"
