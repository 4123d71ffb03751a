"""Flat binary files: one raw array per file, described by arguments or conf.json.

:func:`read_conf` and :func:`resolve_binary_args` run on the driver;
:class:`BinarySource` describes the frames and reads only the bytes it needs.
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np

from napari_thunder.validation import check_memory_order, check_nplanes

from .listing import strip_file_scheme
from .source import FrameSource, file_paths


def _conf_location(path, conf):
    if isinstance(path, (list, tuple)):
        if not path:
            raise ValueError("path is an empty list: give at least one file or directory")
        path = path[0]
    local = strip_file_scheme(path)
    directory = local if os.path.isdir(local) else os.path.dirname(local)
    return os.path.join(directory, conf)


def read_conf(path, conf="conf.json") -> dict:
    """Read the JSON configuration next to binary files.

    Parameters
    ----------
    path : str or os.PathLike
        The loader's path: a directory (``path/conf`` is read) or a file or
        pattern (``dirname(path)/conf`` is read). For a list, its first entry.
    conf : str or None
        Name of the configuration file. None disables the lookup.

    Returns
    -------
    dict
        The parsed configuration; ``{}`` when the file does not exist.

    Raises
    ------
    ValueError
        The file is not valid JSON or does not hold a JSON object; the message
        names the file.
    """
    if conf is None:
        return {}
    location = _conf_location(path, conf)
    if not os.path.isfile(location):
        return {}
    try:
        with open(location, encoding="utf-8") as fh:
            parsed = json.load(fh)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:  # RecursionError: absurdly nested
        raise ValueError(f"Invalid JSON in configuration file {location}: {err}") from None
    if not isinstance(parsed, dict):
        raise ValueError(
            f"Configuration file {location} must hold a JSON object, got {type(parsed).__name__}"
        )
    return parsed


def _as_shape(shape, where):
    try:
        values = tuple(shape)
    except TypeError:
        values = (shape,)
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) <= 0:
            raise ValueError(f"{where} must be a sequence of positive integers, got {shape!r}")
        out.append(int(v))
    if not out:
        raise ValueError(f"{where} must not be empty")
    return tuple(out)


def _as_dtype(dtype, where):
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"{where} {dtype!r} is not a numpy data type") from err
    if dt.hasobject or dt.itemsize == 0 or dt.fields is not None:
        raise ValueError(f"{where} {dtype!r} is not a plain numeric data type")
    return dt


def resolve_binary_args(path, shape=None, dtype=None, conf="conf.json"):
    """Shape and dtype of binary images, with Thunder's precedence.

    conf ``'shape'`` beats conf ``'dims'`` beats the ``shape`` argument;
    conf ``'dtype'`` beats the ``dtype`` argument, which defaults to int16.

    Parameters
    ----------
    path : str or os.PathLike
        The loader's path (see :func:`read_conf`).
    shape : sequence of int, optional
        Shape of one file's array.
    dtype : dtype-like, optional
        Data type of the stored values.
    conf : str or None
        Name of the configuration file.

    Returns
    -------
    tuple
        ``(shape, dtype)`` with ``shape`` a tuple of ints and ``dtype`` a
        numpy dtype.

    Raises
    ------
    ValueError
        No shape anywhere ('Image shape must be specified as argument or in a
        conf.json file'), a bad shape or dtype, or an invalid conf file.
    """
    config = read_conf(path, conf)
    where_shape, where_dtype = "shape", "dtype"
    if config.get("dims") is not None:
        shape, where_shape = config["dims"], "conf 'dims'"
    if config.get("shape") is not None:
        shape, where_shape = config["shape"], "conf 'shape'"
    if config.get("dtype") is not None:
        dtype, where_dtype = config["dtype"], "conf 'dtype'"
    if shape is None:
        raise ValueError("Image shape must be specified as argument or in a conf.json file")
    if dtype is None:
        dtype = "int16"
    return _as_shape(shape, where_shape), _as_dtype(dtype, where_dtype)


#: file names Thunder's ``Series.tobinary`` writes (records of pixel time courses, not images)
_SERIES_FILE = re.compile(r"^series-\d+(-\d+)*\.bin$")


def check_not_series(files):
    """Raise ValueError when ``files`` are Thunder *Series* binary files.

    Thunder's ``Series.tobinary`` writes ``series-00000-00000.bin`` files (one
    key per image axis: ``series-00000.bin`` for records of 1-D data) that
    hold records (a pixel's time course each), not images; read as images
    they would give one image of the whole pixel x time matrix.

    Parameters
    ----------
    files : sequence of str
    """
    for path in files:
        if _SERIES_FILE.match(os.path.basename(path)):
            raise ValueError(
                f"{path} is a Thunder Series binary file (records of time courses, "
                f"named series-XXXXX[-XXXXX...].bin), not an image: images.frombinary reads image "
                f"files only; load the folder with a Series loader"
            )


def binary_metadata(path, conf, shape, nplanes=None):
    """The ``metadata`` that ``Images.tobinary`` stores in ``conf.json`` (a key
    Thunder ignores), when it describes images of ``shape``; else None.

    Parameters
    ----------
    path, conf : see :func:`read_conf`
    shape : tuple of int
        Shape of the loaded stack, axis 0 included.
    nplanes : int, optional
        With ``nplanes`` the stored metadata do not describe the images.

    Raises
    ------
    ValueError
        A ``metadata`` entry that is malformed (the message names the file).
    """
    from napari_thunder.metadata import ImageMetadata

    stored = read_conf(path, conf).get("metadata")
    if stored is None or nplanes is not None:
        return None
    try:
        meta = ImageMetadata.from_dict(stored)
    except ValueError as err:
        raise ValueError(f"Invalid 'metadata' in configuration file {_conf_location(path, conf)}: "
                         f"{err}") from err
    if meta.ndim != len(shape):
        return None
    return meta.check_shape(shape)


class BinarySource(FrameSource):
    """Frames stored as raw arrays, one file each (optionally cut in planes).

    Parameters
    ----------
    files : sequence of str
        Files in frame order (see :func:`~napari_thunder.io.listing.list_files`).
    shape : sequence of int
        Shape of the array stored in each file.
    dtype : dtype-like
        Data type of the stored values (native byte order unless the dtype
        says otherwise; frames are returned in native byte order).
    order : {'C', 'F'}
        Memory layout of each file's array (``'F'`` for MATLAB-written data).
    nplanes : int, optional
        Cut each file along its last axis into ``shape[-1] // nplanes`` frames
        ``arr[..., k*p:(k+1)*p]``; with ``nplanes == 1`` the last axis is
        dropped. Frames are ordered file-major, then plane group.

    Raises
    ------
    ValueError
        Bad ``nplanes`` or ``order``, or a file smaller than one array
        (message names the file, expected and actual bytes).
    FileNotFoundError
        A file does not exist.

    Notes
    -----
    A file larger than one array is accepted and its leading bytes are used
    (Thunder's behaviour).
    """

    def __init__(self, files, shape, dtype, order="C", nplanes=None):
        self.files = file_paths(files)
        self.file_shape = _as_shape(shape, "shape")
        stored = _as_dtype(dtype, "dtype")
        self.stored_dtype = stored
        self.dtype = stored.newbyteorder("=")
        self.order = check_memory_order(order)
        self.nplanes = check_nplanes(nplanes)
        last = self.file_shape[-1]
        if self.nplanes is not None and last % self.nplanes:
            raise ValueError(f"Last dimension '{last}' must be divisible by nplanes '{self.nplanes}'")

        # exact (Python int): an int64 product of huge dims wraps, and a tiny file would pass
        self.file_bytes = math.prod(self.file_shape) * stored.itemsize
        for f in self.files:
            size = os.stat(f).st_size
            if size < self.file_bytes:
                raise ValueError(
                    f"File {f}: buffer is smaller than requested size: expected {self.file_bytes} bytes "
                    f"for shape {self.file_shape} of {stored}, file has {size} bytes"
                )

        if self.nplanes is None:
            self.frames_per_file = 1
            value_shape = self.file_shape
        else:
            self.frames_per_file = last // self.nplanes
            value_shape = self.file_shape[:-1] + ((self.nplanes,) if self.nplanes > 1 else ())
        self.shape = (len(self.files) * self.frames_per_file,) + tuple(value_shape)

    def _plane_block(self, path, first, count):
        """Plane groups ``first .. first+count-1`` of one file, as a list-like
        array ``(count,) + value_shape``."""
        p = self.nplanes
        lead = self.file_shape[:-1]
        out = np.empty((count,) + lead + (p,), self.dtype)
        if self.order == "F":
            # the last axis varies slowest: consecutive plane groups are contiguous bytes
            plane_items = int(np.prod(lead, dtype=np.int64))
            offset = first * p * plane_items * self.stored_dtype.itemsize
            flat = np.fromfile(path, dtype=self.stored_dtype, count=count * p * plane_items, offset=offset)
            if flat.size < count * p * plane_items:
                raise ValueError(f"buffer is smaller than requested size: expected {self.file_bytes} bytes")
            part = flat.reshape(lead + (count * p,), order="F")
            for k in range(count):
                out[k] = part[..., k * p:(k + 1) * p]
        else:
            mapped = np.memmap(path, dtype=self.stored_dtype, mode="r", shape=self.file_shape, order="C")
            try:
                for k in range(count):
                    g = first + k
                    out[k] = mapped[..., g * p:(g + 1) * p]
            finally:
                del mapped
        if p == 1:
            out = out[..., 0]
        return out

    def read(self, start, stop):
        """Frames ``[start, stop)`` as a new C-contiguous ndarray.

        Only the needed files (and, with ``nplanes``, the needed planes) are
        read.
        """
        start, stop, out = self._output(start, stop)
        per_file = self.frames_per_file
        i = start
        while i < stop:
            file_index, first = divmod(i, per_file)
            count = min(per_file - first, stop - i)
            path = self.files[file_index]
            try:
                if self.nplanes is None:
                    flat = np.fromfile(path, dtype=self.stored_dtype, count=int(np.prod(self.file_shape)))
                    if flat.size * self.stored_dtype.itemsize < self.file_bytes:
                        raise ValueError(
                            f"buffer is smaller than requested size: expected {self.file_bytes} bytes"
                        )
                    out[i - start] = flat.reshape(self.file_shape, order=self.order)
                else:
                    out[i - start:i - start + count] = self._plane_block(path, first, count)
            except ValueError as err:
                raise ValueError(f"Cannot read binary file {path}: {err}") from err
            i += count
        return out


class BinaryStackSource(FrameSource):
    """Frames stored back to back in raw files, any number per file (a
    headerless movie such as suite2p's ``data.bin``: ``(n, Ly, Lx)`` int16).

    Parameters
    ----------
    files : sequence of str
        Files in frame order.
    shape : sequence of int
        Shape of ONE frame.
    dtype : dtype-like
        Data type of the stored values (frames are returned in native byte
        order).
    order : {'C', 'F'}
        Memory layout of each frame.

    Raises
    ------
    ValueError
        A file whose size is not a whole number of frames, or an empty file
        (message names the file, its size and the frame size).
    FileNotFoundError
        A file does not exist.
    """

    def __init__(self, files, shape, dtype, order="C"):
        self.files = file_paths(files)
        self.frame_shape = _as_shape(shape, "shape")
        self.stored_dtype = _as_dtype(dtype, "dtype")
        self.dtype = self.stored_dtype.newbyteorder("=")
        self.order = check_memory_order(order)
        self.image_bytes = math.prod(self.frame_shape) * self.stored_dtype.itemsize
        self.frames_per_file = []
        for f in self.files:
            size = os.stat(f).st_size
            count, extra = divmod(size, self.image_bytes)
            if extra or count == 0:
                raise ValueError(
                    f"File {f} has {size} bytes, not a whole number of frames of shape "
                    f"{self.frame_shape} and dtype {self.stored_dtype} ({self.image_bytes} bytes each)"
                )
            self.frames_per_file.append(count)
        self.file_starts = np.concatenate([[0], np.cumsum(self.frames_per_file)]).astype(np.int64)
        self.shape = (int(self.file_starts[-1]),) + self.frame_shape

    def read(self, start, stop):
        """Frames ``[start, stop)`` as a new C-contiguous ndarray (only their bytes are read)."""
        start, stop, out = self._output(start, stop)
        items = int(np.prod(self.frame_shape, dtype=np.int64))
        i = start
        while i < stop:
            file_index = int(np.searchsorted(self.file_starts, i, side="right")) - 1
            first = i - int(self.file_starts[file_index])
            count = min(self.frames_per_file[file_index] - first, stop - i)
            path = self.files[file_index]
            flat = np.fromfile(path, dtype=self.stored_dtype, count=count * items,
                               offset=first * self.image_bytes)
            if flat.size != count * items:
                raise ValueError(f"Cannot read binary file {path}: it ends before frame {first + count}")
            frames = flat.reshape((count,) + self.frame_shape[::-1]).transpose(
                (0,) + tuple(range(len(self.frame_shape), 0, -1))) if self.order == "F" \
                else flat.reshape((count,) + self.frame_shape)
            out[i - start:i - start + count] = frames
            i += count
        return out
