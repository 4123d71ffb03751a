"""PNG files (one image per file), decoded with imagecodecs (libpng), which keeps 16 bits.

The shape and dtype come from the file's header chunks (``IHDR``, ``tRNS``,
``acTL``) without decoding pixels:

==================  =================  ===========================================
colour type         bit depth          decoded to
==================  =================  ===========================================
grey                1, 2, 4, 8 / 16    ``(h, w)`` uint8 (low depths scaled to
                                       0..255, as libpng expands them) / uint16
grey + alpha        8 / 16             ``(h, w, 2)`` uint8 / uint16 (a channel
                                       axis, not colour)
RGB, RGBA           8 / 16             ``(h, w, 3|4)`` uint8 / uint16 (colour)
palette             1, 2, 4, 8         ``(h, w, 3)`` uint8 RGB, ``(h, w, 4)``
                                       with a transparency chunk
==================  =================  ===========================================

A transparency chunk (``tRNS``) on a grey or RGB image adds an alpha sample,
as libpng expands it. Animated PNGs of several frames are refused (only the
first frame would be read).
"""

from __future__ import annotations

import os
import struct

import numpy as np

from .source import FrameSource, file_paths

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: colour type -> samples per pixel (before a tRNS chunk adds alpha)
_SAMPLES = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
_COLOUR_NAMES = {0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _png_chunks(fh):
    """``(type, data)`` of the chunks before the first image data."""
    while True:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError("the file ends before any image data")
        length, kind = struct.unpack(">I4s", head)
        if kind in (b"IDAT", b"IEND"):
            return
        if length > 1 << 26:
            raise ValueError(f"chunk {kind!r} of {length} bytes is not plausible")
        data = fh.read(length)
        fh.seek(4, os.SEEK_CUR)  # CRC
        yield kind, data


def read_png_info(path):
    """The header of a PNG file.

    Returns
    -------
    dict
        ``width``, ``height``, ``bit_depth``, ``colour_type``, ``transparency``
        (a tRNS chunk), ``frames`` (1, or the frame count of an animated PNG),
        ``shape`` and ``dtype`` of the decoded array.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a PNG file, or a header that is not valid (message names the file).
    """
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != PNG_SIGNATURE:
                raise ValueError("not a PNG file (no PNG signature)")
            ihdr = None
            transparency = False
            frames = 1
            for kind, data in _png_chunks(fh):
                if kind == b"IHDR":
                    if len(data) != 13:
                        raise ValueError("IHDR chunk is not 13 bytes")
                    ihdr = struct.unpack(">IIBBBBB", data)
                elif kind == b"tRNS":
                    transparency = True
                elif kind == b"acTL" and len(data) >= 4:
                    frames = struct.unpack(">I", data[:4])[0]
    except FileNotFoundError:
        raise
    except (OSError, ValueError, struct.error) as err:
        raise ValueError(f"Cannot read PNG file {path}: {err}") from err
    if ihdr is None:
        raise ValueError(f"Cannot read PNG file {path}: no IHDR chunk")
    width, height, depth, colour, _, _, _ = ihdr
    if colour not in _SAMPLES or depth not in _DEPTHS[colour] or width == 0 or height == 0:
        raise ValueError(f"Cannot read PNG file {path}: invalid header (colour type {colour}, "
                         f"bit depth {depth}, size {width}x{height})")
    if frames > 1:
        raise ValueError(f"PNG file {path} is animated ({frames} frames): only single images are read")
    samples = _SAMPLES[colour]
    if transparency and colour in (0, 2, 3):
        samples += 1
    dtype = np.dtype(np.uint16 if depth == 16 else np.uint8)
    shape = (height, width) + ((samples,) if samples > 1 else ())
    return {"width": width, "height": height, "bit_depth": depth, "colour_type": colour,
            "transparency": transparency, "frames": frames, "shape": shape, "dtype": dtype}


def read_png_header(path):
    """Shape and dtype of the array a PNG file decodes to, from its header.

    Returns
    -------
    tuple
        ``(shape, dtype)``: ``(h, w)`` for grey, ``(h, w, 2)`` grey+alpha,
        ``(h, w, 3)`` RGB, ``(h, w, 4)`` RGBA (palette images decode to RGB or
        RGBA); uint8, or uint16 for 16-bit files.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a readable PNG file (message names the file).
    """
    info = read_png_info(path)
    return info["shape"], info["dtype"]


def decode_png(path, shape=None, dtype=None):
    """Decode one PNG file to an ndarray (see :func:`read_png_header`).

    ``shape``/``dtype``, when given, are checked against the decoded array.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file cannot be decoded, or decodes to another shape or dtype
        (message names the file).
    """
    import imagecodecs

    try:
        with open(path, "rb") as fh:
            data = imagecodecs.png_decode(fh.read())
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"Cannot read PNG file {path}: {err}") from err
    data = np.asarray(data)
    if not data.dtype.isnative:
        data = data.astype(data.dtype.newbyteorder("="))
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

    Attributes
    ----------
    metadata : napari_thunder.metadata.ImageMetadata
        Default names; RGB(A) files (colour and palette types) are colour
        pictures (``rgb=True``), grey+alpha a channel axis.

    Raises
    ------
    ValueError
        A file that is not a readable PNG, or whose size or pixel type
        differs from the first file's (message names the file).
    FileNotFoundError
        A file does not exist.
    """

    def __init__(self, files):
        from napari_thunder.metadata import ImageMetadata

        self.files = file_paths(files)
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
        if len(value_shape) == 3:   # samples last: colour, or grey+alpha channels
            rgb = value_shape[-1] in (3, 4)
            self.metadata = ImageMetadata.from_names(("t", "y", "x", "c"), rgb=rgb)
        else:
            self.metadata = ImageMetadata.default(len(self.shape))

    def read(self, start, stop):
        """Frames ``[start, stop)`` as a new ndarray; only their files are decoded."""
        start, stop, out = self._output(start, stop)
        for k, i in enumerate(range(start, stop)):
            out[k] = decode_png(self.files[i], self.value_shape, self.dtype)
        return out
