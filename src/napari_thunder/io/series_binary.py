"""Thunder 1.4.2's series binary layout, read and written.

A directory of ``.bin`` files holding the records back to back, raw values in
native byte order, in key order (C order of the key shape; the files sorted
by name), plus ``conf.json`` (``{"shape": [...], "dtype": "..."}``, the whole
series shape with the record length last) and an empty ``SUCCESS`` marker.
Thunder names each file after the key of its first record,
``<prefix>-<k0>-<k1>....bin`` with every key component as ``%05g``, which
sorts in key order. ``skip`` values at the start of each record (stored but
not part of the series) are supported on reading, as in Thunder.
"""

from __future__ import annotations

import json
import os

import numpy as np

from napari_thunder.io.source import FrameSource


def read_conf(path, conf="conf.json", dtype=None, shape=None):
    """``(shape, dtype)`` from ``conf.json`` in ``path``, overridden by the arguments.

    Raises
    ------
    ValueError
        Neither the file nor the arguments give the shape or the dtype, or the
        file is not valid JSON.
    """
    params = {}
    conf_path = os.path.join(os.fspath(path), conf) if os.path.isdir(path) else \
        os.path.join(os.path.dirname(os.fspath(path)), conf)
    if os.path.isfile(conf_path):
        try:
            with open(conf_path, encoding="utf-8") as fh:
                params = json.load(fh)
        except (OSError, ValueError) as err:
            raise ValueError(f"{conf_path}: not a readable conf.json ({err})") from None
    if dtype is not None:
        params["dtype"] = dtype
    if shape is not None:
        params["shape"] = shape
    if "dtype" not in params:
        raise ValueError(f"dtype not specified either in {conf} or as argument (path {path})")
    if "shape" not in params:
        raise ValueError(f"shape not specified either in {conf} or as argument (path {path})")
    return tuple(int(s) for s in params["shape"]), np.dtype(params["dtype"])


class SeriesBinarySource(FrameSource):
    """Records of a series binary directory, read by range (picklable).

    Parameters
    ----------
    files : list of str
        The ``.bin`` files in key order.
    nvalues : int
        Record length (after ``skip``).
    dtype : numpy dtype
    skip : int
        Values to drop at the start of each stored record.
    """

    def __init__(self, files, nvalues, dtype, skip=0):
        self.files = [os.fspath(f) for f in files]
        self.dtype = np.dtype(dtype)
        self.skip = int(skip)
        self.nvalues = int(nvalues)
        self.record_bytes = (self.nvalues + self.skip) * self.dtype.itemsize
        counts = []
        for f in self.files:
            size = os.path.getsize(f)
            if size % self.record_bytes:
                raise ValueError(f"{f}: {size} bytes is not a whole number of records of "
                                 f"{self.record_bytes} bytes ({self.nvalues + self.skip} x {self.dtype})")
            counts.append(size // self.record_bytes)
        self.starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        self.shape = (int(self.starts[-1]), self.nvalues)

    def read(self, start, stop):
        out = np.empty((max(0, stop - start), self.nvalues), self.dtype)
        if stop <= start:
            return out
        first = int(np.searchsorted(self.starts, start, side="right") - 1)
        pos = start
        f = first
        while pos < stop:
            lo = pos - int(self.starts[f])
            hi = min(stop, int(self.starts[f + 1])) - int(self.starts[f])
            if hi > lo:
                try:
                    with open(self.files[f], "rb") as fh:
                        fh.seek(lo * self.record_bytes)
                        raw = fh.read((hi - lo) * self.record_bytes)
                except OSError as err:
                    raise OSError(f"{self.files[f]}: {err}") from err
                values = np.frombuffer(raw, self.dtype).reshape(hi - lo, self.nvalues + self.skip)
                out[pos - start: pos - start + hi - lo] = values[:, self.skip:]
                pos += hi - lo
            f += 1
        return out


def list_series_files(path, ext="bin"):
    """The ``.ext`` files of a directory (or one file), sorted by name.

    Raises
    ------
    FileNotFoundError
        Nothing matches.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No such file or directory: {path}")
    names = [f for f in os.listdir(path) if f.endswith("." + ext) and os.path.isfile(os.path.join(path, f))]
    if not names:
        raise FileNotFoundError(f"No .{ext} files in {path}")
    keys = [_key_of(f, ext) for f in names]
    if all(k is not None for k in keys) and len({len(k) for k in keys}) == 1:
        # numeric key order: '%05g' labels sort wrongly by name past 99999
        order = sorted(range(len(names)), key=lambda i: (keys[i], names[i]))
    else:
        order = sorted(range(len(names)), key=lambda i: names[i])
    return [os.path.join(path, names[i]) for i in order]


def _key_of(name, ext):
    """The key in a Thunder file label ``<prefix>-<k0>-<k1>.ext``, or None."""
    import re

    match = re.search(r"((?:-[0-9.e+]+)+)\." + re.escape(ext) + r"$", name)
    if not match:
        return None
    try:
        return tuple(float(p) for p in match.group(1).split("-")[1:])
    except ValueError:
        return None


def file_label(key) -> str:
    """Thunder's file label of a key: ``'%05g'`` per component, joined by ``-``."""
    return "-".join(f"{k:05g}" for k in key)


class _WriteRecords:
    """Picklable ``func(block, start)``: write a block of records to one file
    named after its first key."""

    def __init__(self, dirpath, prefix, baseshape):
        self.dirpath = dirpath
        self.prefix = prefix
        self.baseshape = tuple(baseshape)

    def __call__(self, block, start):
        if len(block) == 0:
            return 0
        key = np.unravel_index(int(start), self.baseshape)
        name = f"{self.prefix}-{file_label(key)}.bin"
        with open(os.path.join(self.dirpath, name), "wb") as fh:
            fh.write(np.ascontiguousarray(block).tobytes())
        return len(block)


def write_series(frames, shape, path, prefix="series", overwrite=False) -> None:
    """Write record frames ``(count, n)`` of a series of ``shape`` to ``path``.

    The engine's workers write one file per block of records; the directory
    appears only when complete.

    Raises
    ------
    ValueError, FileExistsError
        See :func:`napari_thunder.io.output_dir.atomic_output_dir`; or a bad prefix.
    """
    from napari_thunder.io.output_dir import atomic_output_dir

    if not isinstance(prefix, str) or not prefix or os.sep in prefix:
        raise ValueError(f"prefix must be a non-empty file name prefix, got {prefix!r}")
    with atomic_output_dir(path, overwrite=overwrite) as temp:
        frames.foreach_block(_WriteRecords(temp, prefix, tuple(shape[:-1])))
        conf = {"shape": [int(s) for s in shape], "dtype": str(np.dtype(frames.dtype))}
        with open(os.path.join(temp, "conf.json"), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(conf, indent=2))
        with open(os.path.join(temp, "SUCCESS"), "w", encoding="utf-8"):
            pass
