"""napari writers: an image layer to one multipage TIF, a directory of PNGs, or
a flat-binary directory with ``conf.json``.

Rules, the same as the ``images`` writers: nothing is overwritten (an
existing output raises, before anything is written), and an output appears
only once complete (written to a hidden sibling, then renamed). The layer's
data is turned into ``Images`` (axis 0 = images; a 2-D layer is one image)
and written chunk by chunk, so a lazy layer is never loaded whole.

* ``write_tif(path, data, meta)``: one file, one page per 2-D image (a stack
  ``(n, y, x)`` gives ``n`` pages; volumes ``(n, z, y, x)`` give ``n * z``
  pages with tifffile's shape metadata, which this plugin's reader uses to
  give back ``(n, z, y, x)``).
* ``write_png_dir(path, data, meta)``: ``Images.topng`` - ``image-00000.png``...
  (uint8 as is, other dtypes rescaled per image to 0..255).
* ``write_binary_dir(path, data, meta)``: ``Images.tobinary`` - ``image-00000.bin``...
  plus ``conf.json`` and ``SUCCESS``; ``images.frombinary(path)`` reads it back.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np


class LayerWriteError(RuntimeError):
    """A layer could not be written (bad shape, unwritable path...).

    napari treats a ``ValueError`` raised by a writer as "no writer found" and
    only warns, so the writers here re-raise ``ValueError`` as this error (and
    an existing output as a plain ``FileExistsError``) to reach the user.
    """


def _reraise_for_napari(func):
    import functools

    @functools.wraps(func)
    def wrapper(path, data, meta=None):
        try:
            return func(path, data, meta)
        except FileExistsError as exc:
            raise FileExistsError(str(exc)) from exc
        except ValueError as exc:
            raise LayerWriteError(f"napari-thunder could not write {path}: {exc}") from exc

    return wrapper


def _as_images(data):
    from napari_thunder import images

    if isinstance(data, (list, tuple)):  # multiscale: full resolution
        data = data[0]
    return images.fromarray(data)


def _check_new_file(path) -> str:
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise ValueError(f"Output path {path} is a directory; write_tif writes one .tif file")
    if os.path.lexists(path):
        raise FileExistsError(f"File {path} already exists, and napari-thunder does not overwrite files")
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Parent directory {parent} of output {path} does not exist")
    return path


def _pages(imgs):
    """2-D pages of ``imgs`` in order, computed chunk by chunk."""
    for _, _, block in imgs.iter_chunks():
        block = np.asarray(block)
        for frame in block:
            if frame.ndim == 2:
                yield frame
            else:
                yield from frame.reshape((-1,) + frame.shape[-2:])


@_reraise_for_napari
def write_tif(path, data, meta=None) -> list[str]:
    """Write an image layer as one multipage TIF file (never overwrites).

    Parameters
    ----------
    path : str
        Output ``.tif`` / ``.tiff`` file; must not exist.
    data : array-like
        Layer data (ndarray or dask array), axis 0 = images.
    meta : dict, optional
        Layer metadata (unused).

    Returns
    -------
    list of str
        ``[path]``.

    Raises
    ------
    FileExistsError
        ``path`` exists.
    FileNotFoundError
        The parent directory does not exist.
    LayerWriteError
        ``path`` is a directory, or an image is not 2-D or 3-D.
    """
    import tifffile

    from napari_thunder.io.writing import check_export_ndim

    path = _check_new_file(path)
    imgs = _as_images(data)
    check_export_ndim(imgs.shape[1:], "tif")
    shape = tuple(int(s) for s in imgs.shape)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".writing.tif", dir=os.path.dirname(path))
    os.close(fd)
    try:
        tifffile.imwrite(tmp, _pages(imgs), shape=shape, dtype=imgs.dtype, photometric="minisblack")
        # link() refuses to replace an existing file: atomic and no-overwrite
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return [path]


@_reraise_for_napari
def write_png_dir(path, data, meta=None) -> list[str]:
    """Write an image layer as a directory of PNGs (``Images.topng``).

    Raises ``FileExistsError`` when ``path`` exists, ``LayerWriteError`` when
    an image is not 2-D or 3-D.
    """
    _as_images(data).topng(os.fspath(path), overwrite=False)
    return [os.fspath(path)]


@_reraise_for_napari
def write_binary_dir(path, data, meta=None) -> list[str]:
    """Write an image layer as a flat-binary directory with ``conf.json``
    (``Images.tobinary``). Raises ``FileExistsError`` when ``path`` exists."""
    _as_images(data).tobinary(os.fspath(path), overwrite=False)
    return [os.fspath(path)]
