"""Writing frames as an OME-Zarr image or a plain Zarr array, atomically and in parallel.

:func:`write_zarr` creates the store in a hidden sibling folder
(``.NAME.writing-XXXX``), lets the engine's workers write the chunks of the
blocks they hold (:class:`ZarrBlockWriter`, run where the frames are: dask
threads, Spark executors), writes the OME ``multiscales`` attributes last and
only then renames the folder to ``path``: an interrupted write (an
exception, a kill) leaves nothing under ``path``, and the hidden folder has
no image metadata until every chunk is written.

Chunks and parallel writers
---------------------------
Every level is chunked along the image axis (axis 0) the same way. A worker
writes the chunks its block covers whole; the frames of a chunk split
between two blocks are sent back to the calling process, which writes that
chunk once both parts have arrived (blocks arrive in frame order), so two
workers never write one chunk. With the default chunking (one frame per
chunk unless frames are small) nothing is sent back.

Pyramids
--------
``levels > 1`` adds levels halving the ``y`` and ``x`` axes (and only
them), computed from each block in the same pass
(:mod:`napari_thunder.kernels.pyramid`): level ``k`` has scale ``s * 2**k``
on those axes and, for ``'mean'``, a translation of ``(2**k - 1) / 2`` pixels
of level 0 (the centre of the averaged box).
"""

from __future__ import annotations

import math
import os

import numpy as np

from napari_thunder import validation
from napari_thunder.io.ome_zarr import OME_VERSIONS, check_ome_axes, multiscales_attrs, ngff_axis_order
from napari_thunder.io.zarr import THUNDER_KEY, UNFINISHED, is_url
from napari_thunder.kernels.pyramid import METHODS, level_shape, pyramid_blocks

__all__ = ["ZarrBlockWriter", "default_chunks", "write_zarr"]

#: bytes of one chunk the default chunking aims at
CHUNK_BYTES = 2**20
#: above this many bytes per frame the default chunking splits frames spatially
MAX_FRAME_CHUNK_BYTES = 8 * 2**20


def default_chunks(shape, dtype, metadata=None) -> tuple[int, ...]:
    """The chunk shape :func:`write_zarr` uses when none is given.

    Small frames are grouped along the image axis up to about 1 MiB a chunk;
    frames above 8 MiB are split along their largest spatial axes (never the
    channel axis) until a chunk holds at most 8 MiB; otherwise one frame a
    chunk.

    Parameters
    ----------
    shape : tuple of int
        ``(n,) + value_shape``.
    dtype : numpy dtype
    metadata : ImageMetadata, optional
        Tells the channel axis.

    Returns
    -------
    tuple of int
    """
    shape = tuple(max(1, int(s)) for s in shape)
    itemsize = np.dtype(dtype).itemsize
    frame = math.prod(shape[1:]) * itemsize
    if frame < CHUNK_BYTES:
        return (max(1, min(shape[0], CHUNK_BYTES // max(1, frame))),) + shape[1:]
    chunks = [1] + list(shape[1:])
    skip = metadata.channel_axis if metadata is not None else None
    while math.prod(chunks) * itemsize > MAX_FRAME_CHUNK_BYTES:
        axes = [a for a in range(1, len(chunks)) if a != skip and chunks[a] > 1]
        if not axes:
            break
        a = max(axes, key=lambda k: chunks[k])
        chunks[a] = -(-chunks[a] // 2)
    return tuple(chunks)


def _check_chunks(chunks, shape, dtype, metadata) -> tuple[int, ...]:
    if chunks is None:
        return default_chunks(shape, dtype, metadata)
    if not isinstance(chunks, (list, tuple)):
        frames = validation.check_int(chunks, "chunks", minimum=1)
        return (min(frames, max(1, shape[0])),) + tuple(max(1, s) for s in shape[1:])
    if len(chunks) != len(shape):
        raise ValueError(f"chunks must have one entry per axis ({len(shape)}, image axis first), "
                         f"got {len(chunks)}: {chunks!r}")
    out = []
    for k, (c, s) in enumerate(zip(chunks, shape)):
        value = -1 if c is None else validation.check_int(c, f"chunks[{k}]", minimum=-1)
        if value == 0:
            raise ValueError(f"chunks[{k}] must be positive (or -1/None for the whole axis), got 0")
        out.append(max(1, s) if value == -1 else min(value, max(1, s)))
    return tuple(out)


def _halved_axes(metadata, ndim) -> tuple[int, ...]:
    """Axes (of the stack) a pyramid halves: those named ``y`` and ``x``,
    else the last two non-channel axes after the image axis."""
    names = metadata.names
    axes = tuple(k for k, n in enumerate(names) if n in ("y", "x") and k > 0)
    if axes:
        return axes
    spatial = [k for k in range(1, ndim) if names[k] != "c"]
    return tuple(spatial[-2:])


def _level_transforms(metadata, axes, nlevels, method):
    out = []
    for k in range(nlevels):
        factor = 2 ** k
        scale, translate = list(metadata.scale), list(metadata.translate)
        for a in axes:
            if method == "mean":
                translate[a] += (factor - 1) / 2 * scale[a]
            scale[a] *= factor
        out.append((scale, translate))
    return out


class ZarrBlockWriter:
    """Picklable ``func(block, start)`` writing a block of frames into every level.

    Writes the chunks the block covers whole (one call per level, zarr
    encoding them concurrently) and returns the parts of chunks it shares with
    a neighbouring block: ``[(lo, hi, [level0_part, level1_part, ...]), ...]``.

    Parameters
    ----------
    store : str
        The store folder being written.
    paths : list of str
        Array path of each level (``''`` for an array at the root).
    chunk_frames : int
        Chunk length along the image axis (the same for every level).
    nframes : int
        Frames of the whole array.
    axes : tuple of int
        Axes halved from level to level.
    method : {'mean', 'nearest'}
    """

    def __init__(self, store, paths, chunk_frames, nframes, axes, method="mean"):
        self.store = str(store)
        self.paths = list(paths)
        self.chunk_frames = int(chunk_frames)
        self.nframes = int(nframes)
        self.axes = tuple(axes)
        self.method = method
        self._arrays = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_arrays"] = None
        return state

    def arrays(self):
        """The zarr arrays of every level (opened once per process)."""
        if self._arrays is None:
            import zarr

            self._arrays = [zarr.open_array(store=self.store, path=p, mode="r+") for p in self.paths]
        return self._arrays

    def chunk_range(self, k) -> tuple[int, int]:
        """Frames ``[lo, hi)`` of chunk ``k`` along the image axis."""
        lo = k * self.chunk_frames
        return lo, min(lo + self.chunk_frames, self.nframes)

    def __call__(self, block, start):
        start = int(start)
        stop = start + len(block)
        if stop == start:
            return []
        # frame axis 0 is never halved: level axes are the stack's axes
        levels = pyramid_blocks(np.asarray(block), self.axes, len(self.paths), self.method)
        c = self.chunk_frames
        whole_lo = whole_hi = None
        shared = []
        for k in range(start // c, (stop - 1) // c + 1):
            lo, hi = self.chunk_range(k)
            if start <= lo and hi <= stop:
                whole_lo = lo if whole_lo is None else whole_lo
                whole_hi = hi
            else:
                a, b = max(lo, start), min(hi, stop)
                shared.append((a, b, [np.array(lv[a - start:b - start]) for lv in levels]))
        if whole_lo is not None:
            for arr, lv in zip(self.arrays(), levels):
                arr[whole_lo:whole_hi] = lv[whole_lo - start:whole_hi - start]
        return shared


class _SharedChunks:
    """Chunks split between blocks, assembled and written on the calling process."""

    def __init__(self, writer: ZarrBlockWriter, level_shapes, dtype):
        self.writer = writer
        self.level_shapes = level_shapes
        self.dtype = np.dtype(dtype)
        self.pending: dict[int, list] = {}

    def add(self, parts) -> None:
        for lo, hi, pieces in parts:
            k = lo // self.writer.chunk_frames
            self.pending.setdefault(k, []).append((lo, hi, pieces))
            c_lo, c_hi = self.writer.chunk_range(k)
            if sum(b - a for a, b, _ in self.pending[k]) == c_hi - c_lo:
                self._write(k, c_lo, c_hi, self.pending.pop(k))

    def _write(self, k, c_lo, c_hi, parts) -> None:
        for level, (arr, shape) in enumerate(zip(self.writer.arrays(), self.level_shapes)):
            out = np.empty((c_hi - c_lo,) + tuple(shape[1:]), self.dtype)
            for lo, hi, pieces in parts:
                out[lo - c_lo:hi - c_lo] = pieces[level]
            arr[c_lo:c_hi] = out

    def finish(self) -> None:
        if self.pending:
            missing = sorted(self.pending)
            raise RuntimeError(f"chunks {missing[:5]} of the Zarr store were not completed "
                               "by the blocks the engine returned")


class _TransposeImages:
    """Each image of a block with its axes in ``order`` (image axes, 0 =
    the first image axis), as a C-contiguous block: a picklable
    ``func(block, start)`` of ``Frames.map``."""

    def __init__(self, order):
        self.order = tuple(order)

    def __call__(self, block, start):
        return np.ascontiguousarray(np.transpose(block, (0,) + tuple(k + 1 for k in self.order)))


def _in_ngff_order(frames, metadata):
    """``frames`` and ``metadata`` with the image axes in NGFF order
    (:func:`~napari_thunder.io.ome_zarr.ngff_axis_order`), lazily; unchanged
    when they already are."""
    order = ngff_axis_order(metadata)
    if order == tuple(range(metadata.ndim)):
        return frames, metadata
    image_order = tuple(k - 1 for k in order[1:])
    value_shape = tuple(int(frames.shape[1:][k]) for k in image_order)
    return frames.map(_TransposeImages(image_order), value_shape, frames.dtype), metadata.transposed(order)


def _check_args(metadata, ome, version, levels, method, name):
    levels = validation.check_int(levels, "levels", minimum=1)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    version = str(version)
    if ome and version not in OME_VERSIONS:
        raise ValueError(f"version must be one of {', '.join(OME_VERSIONS)} (OME-NGFF), got {version!r}")
    if ome:
        check_ome_axes(metadata)
    elif levels > 1:
        raise ValueError("levels > 1 needs ome=True: a pyramid is an OME-Zarr multiscale image")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    return version, levels


def write_zarr(frames, metadata, path, *, chunks=None, levels=1, method="mean", ome=True,
               version="0.5", compressors="auto", name=None, overwrite=False, progress=None) -> str:
    """Write frames as an OME-Zarr image (or a plain Zarr array), atomically.

    Parameters
    ----------
    frames : napari_thunder.engines.base.Frames
        What to write; its engine runs the writes (``iter_chunks``).
    metadata : ImageMetadata
        Axes of the frames, written as NGFF axes, scale, translation and
        units (and, for every store, as this package's own attribute).
    path : str or os.PathLike
        Output folder (conventionally ``*.zarr``); a local path.
    chunks : int or tuple, optional
        Frames per chunk along the image axis (an int), or a chunk shape
        with one entry per axis (``None``/``-1`` = the whole axis); by
        default :func:`default_chunks`.
    levels : int
        Resolution levels, full resolution included (1: no pyramid).
    method : {'mean', 'nearest'}
        How pyramid levels are downsampled.
    ome : bool
        OME-Zarr image (a group with arrays ``0``, ``1``, ...; image axes
        stored in NGFF order ``[t,] [c,] [z,] y, x``) or, when false, one
        plain Zarr v3 array at ``path``.
    version : {'0.5', '0.4'}
        NGFF version: 0.5 writes Zarr v3, 0.4 Zarr v2.
    compressors : optional
        zarr-python's ``compressors`` argument (``'auto'``: zarr's default).
    name : str, optional
        Image name in the metadata (default: the folder name).
    overwrite : bool
        Replace an existing ``path`` (only once the new store is complete).
    progress : callable, optional
        ``progress(done, total)`` after each block is written.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false (before anything is written).
    ValueError
        Axes NGFF cannot describe (with ``ome=True``), ``levels > 1`` without
        ``ome``, a remote ``path``, bad ``chunks``, ``method`` or ``version``.
    TypeError
        Flags or integers of the wrong type.
    """
    from napari_thunder.io.output_dir import atomic_output_dir

    path = validation.check_path(path)
    overwrite = validation.check_bool(overwrite, "overwrite")
    if is_url(path):
        raise ValueError(f"path must be a local folder (an atomic write renames it), got {path!r}")
    ome = validation.check_bool(ome, "ome")
    if ome:  # OME-Zarr stores [t,] [c,] [z,] y, x: other image-axis orders are written in that one
        frames, metadata = _in_ngff_order(frames, metadata)
    version, levels = _check_args(metadata, ome, version, levels, method, name)
    shape = tuple(int(s) for s in frames.shape)
    dtype = np.dtype(frames.dtype)
    if dtype == np.bool_:
        method = "nearest"  # booleans are never averaged
    chunk_shape = _check_chunks(chunks, shape, dtype, metadata)
    axes = _halved_axes(metadata, len(shape))
    shapes = [level_shape(shape, axes, k) for k in range(levels)]
    zarr_format = 2 if ome and version == "0.4" else 3
    if name is None:
        name = os.path.splitext(os.path.basename(os.path.normpath(os.fspath(path))))[0]
    with atomic_output_dir(path, overwrite=overwrite) as tmp:
        paths = _create_arrays(tmp, metadata, shapes, chunk_shape, dtype, ome, zarr_format,
                               compressors)
        writer = ZarrBlockWriter(tmp, paths, chunk_shape[0], shape[0], axes, method)
        shared = _SharedChunks(writer, shapes, dtype)
        done = 0
        for start, stop, parts in frames.iter_chunks(writer):
            shared.add(parts)
            done += stop - start
            if progress is not None:
                progress(done, shape[0])
        shared.finish()
        _finish(tmp, paths, metadata, ome, zarr_format, version, name, method, axes, levels)
    return os.fspath(path)


def _finish(tmp, paths, metadata, ome, zarr_format, version, name, method, axes, levels):
    """Mark every array complete, then (last) write the image metadata."""
    import zarr

    ours = {THUNDER_KEY: {"metadata": metadata.to_dict()}}
    for p in paths:
        arr = zarr.open_array(store=tmp, path=p, mode="r+")
        arr.attrs.update(ours if not ome else {THUNDER_KEY: {}})
    if ome:  # the store is an image only once complete
        attrs = multiscales_attrs(metadata, paths, _level_transforms(metadata, axes, levels, method),
                                  version=version, name=name, method=method)
        attrs.update(ours)
        zarr.open_group(store=tmp, mode="r+", zarr_format=zarr_format).attrs.update(attrs)


def _create_arrays(tmp, metadata, shapes, chunk_shape, dtype, ome, zarr_format, compressors):
    import zarr

    names = list(metadata.names)
    # marked unfinished until _finish: fromzarr refuses the folder of an interrupted write
    options = {"dtype": dtype, "compressors": compressors, "fill_value": 0,
               "attributes": {THUNDER_KEY: dict(UNFINISHED)}}
    if zarr_format == 3:
        options["dimension_names"] = names
    else:
        options["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    if not ome:
        zarr.create_array(store=tmp, shape=shapes[0], chunks=chunk_shape, zarr_format=3,
                          overwrite=True, **options)
        return [""]
    group = zarr.open_group(store=tmp, mode="w", zarr_format=zarr_format,
                            attributes={THUNDER_KEY: dict(UNFINISHED)})
    paths = []
    for k, shape in enumerate(shapes):
        level_chunks = tuple(min(c, max(1, s)) for c, s in zip(chunk_shape, shape))
        group.create_array(str(k), shape=shape, chunks=level_chunks, **options)
        paths.append(str(k))
    return paths
