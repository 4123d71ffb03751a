"""PNG files (one image per file), decoded with Pillow."""

from __future__ import annotations

import os

import numpy as np

from .source import FrameSource

# Pillow mode -> (mode to convert to or None, numpy dtype, samples per pixel or 0 for a 2-D image)
_MODES = {
    "L": (None, np.uint8, 0),
    "1": ("L", np.uint8, 0),
    "I;16": (None, np.uint16, 0),
    "I;16L": (None, np.uint16, 0),
    "I;16B": (None, np.uint16, 0),
    "I": (None, np.int32, 0),
    "F": (None, np.float32, 0),
    "LA": (None, np.uint8, 2),
    "RGB": (None, np.uint8, 3),
    "RGBA": (None, np.uint8, 4),
}


def _target_mode(image):
    """Mode an image is decoded to: palettes become RGB, or RGBA if transparent."""
    mode = image.mode
    if mode in ("P", "PA"):
        return "RGBA" if (mode == "PA" or "transparency" in image.info) else "RGB"
    if mode not in _MODES:
        raise ValueError(f"unsupported PNG mode {mode!r}")
    return _MODES[mode][0] or mode


def read_png_header(path):
    """Shape and dtype of the array a PNG file decodes to, from its header.

    Returns
    -------
    tuple
        ``(shape, dtype)``: ``(h, w)`` for grey, ``(h, w, 3)`` RGB,
        ``(h, w, 4)`` RGBA (palette images decode to RGB or RGBA).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a readable image file (message names the file).
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            mode = _target_mode(image)
            width, height = image.size
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"Cannot read PNG file {path}: {err}") from err
    _, dtype, samples = _MODES[mode]
    shape = (height, width) + ((samples,) if samples else ())
    return shape, np.dtype(dtype)


def decode_png(path, shape=None, dtype=None):
    """Decode one PNG file to an ndarray (see :func:`read_png_header`).

    ``shape``/``dtype``, when given, are checked against the decoded array.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            mode = _target_mode(image)
            if mode != image.mode:
                image = image.convert(mode)
            data = np.asarray(image)
            _, want, _ = _MODES[mode]
            if data.dtype != want:
                data = data.astype(np.dtype(want).newbyteorder("="))
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"Cannot read PNG file {path}: {err}") from err
    if shape is not None and tuple(data.shape) != tuple(shape):
        raise ValueError(f"PNG file {path} decodes to shape {data.shape}, expected {tuple(shape)}")
    if dtype is not None and data.dtype != dtype:
        raise ValueError(f"PNG file {path} decodes to dtype {data.dtype}, expected {dtype}")
    return data


class PngSource(FrameSource):
    """Frames stored as PNG files, one per file.

    Parameters
    ----------
    files : sequence of str
        Files in frame order.

    Raises
    ------
    ValueError
        A file that is not a readable image, or whose size or mode differs
        from the first file's (message names the file).
    FileNotFoundError
        A file does not exist.
    """

    def __init__(self, files):
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        self.files = [os.fspath(f) for f in files]
        if not self.files:
            raise ValueError("files must hold at least one file")
        value_shape = dtype = None
        for path in self.files:
            shape, dt = read_png_header(path)
            if value_shape is None:
                value_shape, dtype = shape, dt
            elif shape != value_shape or dt != dtype:
                raise ValueError(
                    f"PNG file {path} decodes to shape {shape} and dtype {dt}, but {self.files[0]} "
                    f"to {value_shape} and {dtype}: all files must agree"
                )
        self.shape = (len(self.files),) + value_shape
        self.dtype = dtype

    def read(self, start, stop):
        """Frames ``[start, stop)`` as a new ndarray; only their files are decoded."""
        n = len(self)
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= n:
            raise IndexError(f"frame range [{start}, {stop}) outside [0, {n})")
        out = np.empty((stop - start,) + self.value_shape, self.dtype)
        for k, i in enumerate(range(start, stop)):
            out[k] = decode_png(self.files[i], self.value_shape, self.dtype)
        return out
