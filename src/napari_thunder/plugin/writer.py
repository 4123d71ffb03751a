"""napari writers: an image layer to one multipage TIF, a directory of PNGs, or
a flat-binary directory with ``conf.json``.

Rules, the same as the ``images`` writers: nothing is overwritten from a
script (an existing output raises, before anything is written; napari's
*Save layers* dialog asks the user itself, and what they confirm there is
replaced, atomically), and an output appears only once complete (written to a
hidden sibling, then renamed). In the GUI the writing runs in a thread with a
napari progress bar, so the window stays responsive; files get the usual mode
(``0o666`` less the umask). The layer's
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
import sys
import tempfile
import threading

import numpy as np


class LayerWriteError(RuntimeError):
    """A layer could not be written (bad shape, unwritable path...).

    napari treats a ``ValueError`` raised by a writer as "no writer found" and
    only warns, so the writers here re-raise ``ValueError`` as this error (and
    an existing output as a plain ``FileExistsError``) to reach the user.
    """


#: the napari function that asks "replace?" before calling a writer
_SAVE_DIALOG = "_save_layers_dialog"


def confirmed_by_save_dialog() -> bool:
    """True when the writer runs under napari's *Save layers* dialog, whose
    file dialog has already asked the user whether to replace an existing
    file (so the writer does not refuse what the user just confirmed)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == _SAVE_DIALOG:
            return True
        frame = frame.f_back
    return False


def _exists_message(path) -> str:
    return (f"{os.path.basename(os.fspath(path).rstrip(os.sep)) or path} already exists, and "
            f"napari-thunder does not replace it from a script: choose another name, delete it "
            f"first, or save through File > Save Layers (which asks) ({path})")


def _reraise_for_napari(func):
    import functools

    @functools.wraps(func)
    def wrapper(path, data, meta=None):
        overwrite = confirmed_by_save_dialog()
        try:
            return func(path, data, meta, overwrite=overwrite)
        except FileExistsError as exc:
            raise FileExistsError(_exists_message(path)) from exc
        except ValueError as exc:
            raise LayerWriteError(f"napari-thunder could not write {path}: {exc}") from exc

    return wrapper


def _as_images(data):
    from napari_thunder import images

    if isinstance(data, (list, tuple)):  # multiscale: full resolution
        data = data[0]
    return images.fromarray(data)


def _check_file_target(path, overwrite=False) -> str:
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise ValueError(f"Output path {path} is a directory; write_tif writes one .tif file")
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(path)
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Parent directory {parent} of output {path} does not exist")
    return path


def _pages(imgs, counter=None):
    """2-D pages of ``imgs`` in order, computed chunk by chunk; ``counter[0]``
    counts the images written."""
    for _, _, block in imgs.iter_chunks():
        block = np.asarray(block)
        for frame in block:
            if frame.ndim == 2:
                yield frame
            else:
                yield from frame.reshape((-1,) + frame.shape[-2:])
            if counter is not None:
                counter[0] += 1


def _default_file_mode() -> int:
    """``0o666`` less the process's umask: the mode ``open()`` gives new files."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def run_with_progress(work, total: int, desc: str):
    """Run ``work(counter)`` in a thread while the GUI stays responsive.

    Without a running Qt application the work runs directly. Otherwise the
    calling (GUI) thread processes Qt events and shows a napari progress bar
    of ``counter[0]`` out of ``total`` until the work ends.

    Parameters
    ----------
    work : callable
        ``work(counter)``; increments ``counter[0]`` as it goes.
    total : int
    desc : str
        Progress bar label.

    Returns
    -------
    object
        What ``work`` returns; its exception is raised here.
    """
    counter = [0]
    try:
        from qtpy.QtWidgets import QApplication
    except ImportError:  # pragma: no cover - no Qt binding
        return work(counter)
    app = QApplication.instance()
    if app is None or threading.current_thread() is not threading.main_thread():
        return work(counter)
    from napari.utils import progress as napari_progress

    outcome = {}

    def target():
        try:
            outcome["value"] = work(counter)
        except BaseException as exc:  # handed to the GUI thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="napari-thunder-writer", daemon=True)
    with napari_progress(total=max(total, 1), desc=desc) as bar:
        thread.start()
        shown = 0
        while thread.is_alive():
            app.processEvents()
            thread.join(0.02)
            if counter[0] != shown:
                bar.update(counter[0] - shown)
                shown = counter[0]
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@_reraise_for_napari
def write_tif(path, data, meta=None, overwrite=False) -> list[str]:
    """Write an image layer as one multipage TIF file.

    The file appears only once complete (written to a hidden sibling, then
    linked or renamed), with the usual file mode (``0o666`` less the umask).
    In the GUI the work runs in a thread with a progress bar, so the window
    stays responsive. An existing file is replaced only when napari's *Save
    layers* dialog already asked the user (``overwrite``); from a script it
    is refused.

    Parameters
    ----------
    path : str
        Output ``.tif`` / ``.tiff`` file.
    data : array-like
        Layer data (ndarray or dask array), axis 0 = images.
    meta : dict, optional
        Layer metadata (unused).
    overwrite : bool
        Replace an existing file (set by the wrapper when the save dialog
        confirmed it).

    Returns
    -------
    list of str
        ``[path]``.

    Raises
    ------
    FileExistsError
        ``path`` exists (and was not confirmed).
    FileNotFoundError
        The parent directory does not exist.
    LayerWriteError
        ``path`` is a directory, or an image is not 2-D or 3-D.
    """
    import tifffile

    from napari_thunder.io.writing import check_export_ndim

    path = _check_file_target(path, overwrite)
    imgs = _as_images(data)
    check_export_ndim(imgs.shape[1:], "tif")
    shape = tuple(int(s) for s in imgs.shape)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".writing.tif", dir=os.path.dirname(path))
    os.close(fd)
    os.chmod(tmp, _default_file_mode())  # mkstemp makes 0600 files

    def work(counter):
        tifffile.imwrite(tmp, _pages(imgs, counter), shape=shape, dtype=imgs.dtype,
                         photometric="minisblack")

    try:
        run_with_progress(work, shape[0], f"saving {os.path.basename(path)}")
        if overwrite:
            os.replace(tmp, path)  # atomic: the old file stays whole until here
        else:
            # link() refuses to replace an existing file: atomic and no-overwrite
            os.link(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return [path]


def _save_with_progress(imgs, method, path, overwrite, **options) -> list[str]:
    """``imgs.<method>(path, overwrite=, progress=, **options)`` under
    :func:`run_with_progress` (one step per image written); returns ``[path]``."""
    target = os.fspath(path)

    def work(counter):
        def progress(done, _total):
            counter[0] = int(done)

        getattr(imgs, method)(target, overwrite=bool(overwrite), progress=progress, **options)

    run_with_progress(work, int(imgs.shape[0]), f"saving {os.path.basename(target.rstrip(os.sep))}")
    return [target]


def _write_dir(method, path, data, overwrite):
    return _save_with_progress(_as_images(data), method, path, overwrite)


@_reraise_for_napari
def write_png_dir(path, data, meta=None, overwrite=False) -> list[str]:
    """Write an image layer as a directory of PNGs (``Images.topng``), with a
    progress bar and a responsive GUI.

    Raises ``FileExistsError`` when ``path`` exists (unless napari's save
    dialog confirmed replacing it), ``LayerWriteError`` when an image is not
    2-D or 3-D.
    """
    return _write_dir("topng", path, data, overwrite)


@_reraise_for_napari
def write_binary_dir(path, data, meta=None, overwrite=False) -> list[str]:
    """Write an image layer as a flat-binary directory with ``conf.json``
    (``Images.tobinary``), with a progress bar and a responsive GUI. Raises
    ``FileExistsError`` when ``path`` exists (unless napari's save dialog
    confirmed replacing it)."""
    return _write_dir("tobinary", path, data, overwrite)
