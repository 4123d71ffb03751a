"""Writing image sequences to a directory, one file per frame.

:class:`BlockWriter` writes the frames of one block (it runs wherever the
frames are: a thread, a Spark executor, a dask worker) into the directory
that :func:`napari_thunder.io.output_dir.atomic_output_dir` yields, which
moves it into place only once every file is written; ``write_*_frame`` write
one frame as raw bytes, TIFF or PNG.
"""

from __future__ import annotations

import errno
import json
import os
import re

import numpy as np

from napari_thunder import validation

from .output_dir import OutputExistsError, atomic_output_dir, check_output_dir

__all__ = ["BlockWriter", "OutputExistsError", "atomic_output_dir", "bytescale", "check_export_ndim",
           "check_output_dir", "frame_filename", "tif_axes_written", "write_binary_conf",
           "write_binary_frame", "write_png_frame", "write_tif_frame"]


def frame_filename(prefix, index, ext) -> str:
    """File name of frame ``index``: ``f'{prefix}-{index:05d}.{ext}'``."""
    return f"{prefix}-{int(index):05d}.{ext}"


def tif_axes_written(options, ndim) -> bool:
    """True when the ``tifffile.imwrite`` keyword arguments ``options`` store an
    image of ``ndim`` axes as OME-TIFF with one axis letter per axis (so that it
    reads back with its shape, whatever its number of axes)."""
    if not options or not options.get("ome"):
        return False
    axes = (options.get("metadata") or {}).get("axes")
    return isinstance(axes, str) and len(axes) == ndim


def check_export_ndim(value_shape, fmt, tif_options=None) -> None:
    """Raise ValueError unless images of ``value_shape`` can be written as ``fmt``.

    2-D and 3-D images can always be written; TIFF images of more axes only as
    OME-TIFF naming every axis (``tif_options`` from
    :func:`napari_thunder.io.tif_write.tif_write_options`: images whose axes
    are named ``z``, ``c``, ``y``, ``x``).

    Parameters
    ----------
    value_shape : tuple of int
        Shape of one image.
    fmt : {'tif', 'png'}
        Output format.
    tif_options : dict, optional
        The ``tifffile.imwrite`` keyword arguments the TIFF files are written with.
    """
    ndim = len(tuple(value_shape))
    if fmt == "tif" and ndim > 3 and tif_axes_written(tif_options, ndim):
        return
    if ndim not in (2, 3):
        message = f"Only 2D or 3D images can be exported to {fmt}, images are {ndim}-dimensional."
        if fmt == "tif" and ndim > 3 and tif_options is not None:
            message += (" Images of more axes are written as OME-TIFF when their axes are named "
                        "(z, c, y, x; see Images.with_metadata) and their dtype is one OME-TIFF stores.")
        raise ValueError(message)
    if fmt == "png" and ndim == 3 and tuple(value_shape)[-1] not in (3, 4):
        raise ValueError(f"3D images can be exported to png only as RGB or RGBA (last axis 3 or 4), "
                         f"images have shape {tuple(value_shape)}")


def write_binary_frame(frame, filepath) -> None:
    """Write a frame's raw bytes (C order, its own dtype) to ``filepath``.

    Written through a Python file object, so a full disk raises ``OSError``
    with ``errno.ENOSPC`` (``ndarray.tofile`` gives no errno).
    """
    data = np.ascontiguousarray(frame)
    try:
        view = memoryview(data).cast("B")
    except (TypeError, ValueError):
        view = data.tobytes()
    with open(filepath, "wb") as handle:
        handle.write(view)


def write_tif_frame(frame, filepath, options=None) -> None:
    """Write a frame as a TIFF file with its exact dtype.

    A 3-D frame is written as a multipage file, pages along the first axis
    (``photometric='minisblack'``, so a last axis of 3 is not taken as RGB).
    ``options``, when given, are the ``tifffile.imwrite`` keyword arguments
    instead (:func:`napari_thunder.io.tif_write.tif_write_options`: metadata,
    colour); a frame of more than 3 axes is written only as OME-TIFF naming
    every axis (see :func:`check_export_ndim`).
    """
    import tifffile

    frame = np.asarray(frame)
    check_export_ndim(frame.shape, "tif", options)
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


_SHORT_WRITE = re.compile(r"^\d+ requested and \d+ written$")


def _naming_file(err: OSError, filepath: str) -> OSError:
    """``err`` if it names ``filepath``, else an error of the same errno that does.

    numpy's ``tofile`` (used by tifffile too) reports a full disk as a short
    write without an errno ('4096 requested and 1920 written'); that becomes
    ``ENOSPC``.
    """
    if err.filename is not None and os.fspath(err.filename) == filepath:
        return err
    if err.errno is not None:
        return OSError(err.errno, err.strerror or str(err), filepath)
    if _SHORT_WRITE.match(str(err)):
        return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (short write: {err})", filepath)
    return OSError(f"Cannot write {filepath}: {err}")


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
        prefix = validation.check_prefix(prefix)
        self.dirpath = os.fspath(dirpath)
        self.fmt = fmt
        self.prefix = prefix
        self.tif_options = tif_options

    def __call__(self, block, start):
        write, ext = _WRITERS[self.fmt]
        extra = (self.tif_options,) if self.fmt == "tif" and self.tif_options is not None else ()
        count = 0
        for k, frame in enumerate(block):
            filepath = os.path.join(self.dirpath, frame_filename(self.prefix, int(start) + k, ext))
            try:
                write(frame, filepath, *extra)
            except OSError as err:
                raise _naming_file(err, filepath) from err
            count += 1
        return count

    def __repr__(self):
        return f"BlockWriter({self.dirpath!r}, {self.fmt!r}, prefix={self.prefix!r})"
