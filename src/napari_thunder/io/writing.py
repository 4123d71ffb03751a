"""Writing image sequences to a directory, atomically (spec 7, decisions 3 and 12).

:func:`atomic_output_dir` checks the output path before anything is written,
lets the caller write into a hidden temporary sibling directory and renames it
into place only when every file is written, so an interrupted write never
leaves a directory at the output path. :class:`BlockWriter` writes the frames
of one block (it runs wherever the frames are: a thread or a Spark executor).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil

import numpy as np

from .listing import strip_file_scheme


class OutputExistsError(FileExistsError, ValueError):
    """The output directory exists and ``overwrite`` is false.

    A ``FileExistsError`` and a ``ValueError`` (Thunder's exception type).
    """


def _make_hidden_sibling(parent, name, tag):
    """Create and return a new directory ``parent/.name.tag-XXXXXXXX``."""
    for _ in range(100):
        candidate = os.path.join(parent, f".{name}.{tag}-{secrets.token_hex(4)}")
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"Cannot create a temporary directory in {parent}")


def _unused_sibling(parent, name, tag):
    for _ in range(100):
        candidate = os.path.join(parent, f".{name}.{tag}-{secrets.token_hex(4)}")
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(f"Cannot find a free temporary name in {parent}")


def check_output_dir(path, overwrite=False) -> str:
    """Check an output directory path before anything is written.

    Parameters
    ----------
    path : str or os.PathLike
        The directory to create (``file://`` accepted).
    overwrite : bool
        Whether an existing directory may be replaced.

    Returns
    -------
    str
        The local path, without a trailing separator.

    Raises
    ------
    ValueError
        ``path`` is an existing file.
    OutputExistsError
        ``path`` is an existing directory and ``overwrite`` is false.
    FileNotFoundError
        The parent directory of ``path`` does not exist.
    """
    local = strip_file_scheme(path)
    stripped = local.rstrip(os.sep) or local
    if os.path.lexists(stripped) and not os.path.isdir(stripped):
        raise ValueError(f"Output path {stripped} is a file: it must be a directory (existing or to create)")
    if os.path.isdir(stripped) and not overwrite:
        raise OutputExistsError(f"Directory {stripped} already exists, and overwrite is false")
    parent = os.path.dirname(os.path.abspath(stripped))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Parent directory {parent} of output {stripped} does not exist")
    return stripped


@contextlib.contextmanager
def atomic_output_dir(path, overwrite=False):
    """Context manager for writing a directory atomically.

    Yields the path of a hidden temporary directory next to ``path``; when the
    block exits normally it is renamed to ``path``. With ``overwrite`` an
    existing ``path`` is moved aside, the new directory renamed into place and
    only then the old one deleted. When the block raises (including
    ``KeyboardInterrupt``) the temporary directory is removed and an existing
    ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        The output directory.
    overwrite : bool
        Whether an existing directory may be replaced.

    Yields
    ------
    str
        The temporary directory to write into.

    Raises
    ------
    ValueError, OutputExistsError, FileNotFoundError
        See :func:`check_output_dir`; raised before anything is written.
    """
    target = os.path.abspath(check_output_dir(path, overwrite))
    parent, name = os.path.split(target)
    temp = _make_hidden_sibling(parent, name, "writing")
    try:
        yield temp
        if os.path.lexists(target) and not os.path.isdir(target):
            raise ValueError(f"Output path {target} became a file during the write")
        if os.path.isdir(target):
            if not overwrite:
                raise OutputExistsError(f"Directory {target} already exists, and overwrite is false")
            aside = _unused_sibling(parent, name, "old")
            os.rename(target, aside)
            try:
                os.rename(temp, target)
            except BaseException:
                os.rename(aside, target)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def frame_filename(prefix, index, ext) -> str:
    """File name of frame ``index``: ``'%s-%05d.%s' % (prefix, index, ext)``."""
    return "%s-%05d.%s" % (prefix, index, ext)


def check_export_ndim(value_shape, fmt) -> None:
    """Raise ValueError unless images of ``value_shape`` can be written as ``fmt``.

    Parameters
    ----------
    value_shape : tuple of int
        Shape of one image.
    fmt : {'tif', 'png'}
        Output format.
    """
    ndim = len(tuple(value_shape))
    if ndim not in (2, 3):
        raise ValueError(
            "Only 2D or 3D images can be exported to %s, images are %d-dimensional." % (fmt, ndim)
        )
    if fmt == "png" and ndim == 3 and tuple(value_shape)[-1] not in (3, 4):
        raise ValueError(
            f"3D images can be exported to png only as RGB or RGBA (last axis 3 or 4), images have shape {tuple(value_shape)}"
        )


def write_binary_frame(frame, filepath) -> None:
    """Write a frame's raw bytes (C order, its own dtype) to ``filepath``."""
    np.ascontiguousarray(frame).tofile(filepath)


def write_tif_frame(frame, filepath, options=None) -> None:
    """Write a frame as a TIFF file with its exact dtype.

    A 3-D frame is written as a multipage file, pages along the first axis
    (``photometric='minisblack'``, so a last axis of 3 is not taken as RGB).
    ``options``, when given, are the ``tifffile.imwrite`` keyword arguments
    instead (:func:`napari_thunder.io.tif.tif_write_options`: metadata,
    colour).
    """
    import tifffile

    frame = np.asarray(frame)
    if frame.ndim not in (2, 3):
        raise ValueError(
            "Only 2D or 3D images can be exported to tif, images are %d-dimensional." % frame.ndim
        )
    kwargs = {"photometric": "minisblack"} if options is None else dict(options)
    tifffile.imwrite(filepath, frame, **kwargs)


def bytescale(frame) -> np.ndarray:
    """Rescale an image to uint8: ``round((x - min) * 255 / (max - min))``.

    uint8 images are returned as they are; a constant image gives zeros; NaN
    becomes 0.
    """
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return frame
    values = frame.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(frame.shape, np.uint8)
    low = values[finite].min()
    high = values[finite].max()
    if high == low:
        return np.zeros(frame.shape, np.uint8)
    scaled = (values - low) * (255.0 / (high - low))
    scaled = np.where(finite, scaled, 0.0)
    return np.floor(np.clip(scaled, 0, 255) + 0.5).astype(np.uint8)


def write_png_frame(frame, filepath) -> None:
    """Write a frame as a PNG file (Pillow).

    uint8 frames are written as they are, any other dtype is rescaled per
    image to 0..255 (:func:`bytescale`). 2-D frames are grey, 3-D frames with
    a last axis of 3 or 4 are RGB or RGBA; other shapes raise ValueError.
    """
    from PIL import Image

    frame = np.asarray(frame)
    check_export_ndim(frame.shape, "png")
    data = np.ascontiguousarray(bytescale(frame))
    mode = "L" if data.ndim == 2 else ("RGB" if data.shape[-1] == 3 else "RGBA")
    Image.fromarray(data, mode=mode).save(filepath, format="PNG")


def write_binary_conf(dirpath, value_shape, dtype, metadata=None) -> None:
    """Write ``conf.json`` (shape and dtype, plus ``metadata``, a dict, when
    given: a key Thunder ignores) and an empty ``SUCCESS`` file."""
    conf = {"shape": [int(s) for s in value_shape], "dtype": str(np.dtype(dtype))}
    if metadata is not None:
        conf["metadata"] = metadata
    with open(os.path.join(dirpath, "conf.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(conf, indent=2))
    with open(os.path.join(dirpath, "SUCCESS"), "w", encoding="utf-8"):
        pass


_WRITERS = {
    "bin": (write_binary_frame, "bin"),
    "tif": (write_tif_frame, "tif"),
    "png": (write_png_frame, "png"),
}


class BlockWriter:
    """Picklable ``func(block, start)`` writing each frame of a block to a file.

    Frame ``k`` of the block goes to ``dirpath/frame_filename(prefix,
    start + k, ext)``.

    Parameters
    ----------
    dirpath : str
        Directory to write into (usually the one :func:`atomic_output_dir`
        yields).
    fmt : {'bin', 'tif', 'png'}
        Output format.
    prefix : str
        File name prefix.
    tif_options : dict, optional
        ``tifffile.imwrite`` keyword arguments of every TIFF file (see
        :func:`write_tif_frame`).
    """

    def __init__(self, dirpath, fmt, prefix="image", tif_options=None):
        if fmt not in _WRITERS:
            raise ValueError(f"fmt must be one of {sorted(_WRITERS)}, got {fmt!r}")
        if not isinstance(prefix, str) or not prefix or os.sep in prefix:
            raise ValueError(f"prefix must be a non-empty file name prefix, got {prefix!r}")
        self.dirpath = os.fspath(dirpath)
        self.fmt = fmt
        self.prefix = prefix
        self.tif_options = tif_options

    def __call__(self, block, start):
        write, ext = _WRITERS[self.fmt]
        extra = (self.tif_options,) if self.fmt == "tif" and self.tif_options is not None else ()
        count = 0
        for k, frame in enumerate(block):
            write(frame, os.path.join(self.dirpath, frame_filename(self.prefix, int(start) + k, ext)), *extra)
            count += 1
        return count

    def __repr__(self):
        return f"BlockWriter({self.dirpath!r}, {self.fmt!r}, prefix={self.prefix!r})"
