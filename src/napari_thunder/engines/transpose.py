"""Swap the two axes of a frame sequence: frames become records and back.

``transpose(frames, value_shape)`` turns ``N`` frames of ``M`` values each
into ``M`` frames ("records") of ``value_shape`` (``prod(value_shape) == N``):
record ``j`` holds value ``j`` (C order) of every frame. ``Images.toseries``
is ``transpose(image_frames, (n,))``; ``Series.toimages`` is
``transpose(record_frames, baseshape)``.

Each engine does it where its data lives:

* local: frames held in memory (an ndarray) are transposed lazily as views of
  that array; each chunk of records is made by a worker thread with one
  cache-blocked copy (:mod:`napari_thunder.kernels.series_transpose`).
  Other local frames are first collected in
  parallel (the local engine's series are in memory, as Thunder's).
* distributed: dask's transpose and rechunk, run on the workers.
* Spark: frames are cut into column tiles in one shuffle (the engine's
  ``to_blocks``) and every tile is turned into its records on the executors.
"""

from __future__ import annotations

import math

import numpy as np

#: bytes of one column tile on Spark (values of all frames for a range of columns)
SPARK_TILE_BYTES = 32 * 2**20


def transpose(frames, value_shape):
    """Records of ``frames``: ``M`` frames of ``value_shape``.

    Parameters
    ----------
    frames : napari_thunder.engines.base.Frames
        ``N`` frames of any value shape (``M`` values each).
    value_shape : tuple of int
        Shape of each output frame; ``prod(value_shape)`` must equal ``N``.

    Returns
    -------
    napari_thunder.engines.base.Frames
        Same engine, shape ``(M,) + value_shape``.

    Raises
    ------
    ValueError
        ``value_shape`` does not hold ``N`` values.
    """
    value_shape = tuple(int(s) for s in value_shape)
    n = int(frames.shape[0])
    if math.prod(value_shape) != n:
        raise ValueError(f"value_shape {value_shape} must hold the {n} frames")
    if frames.mode == "local":
        return _local(frames, value_shape)
    if frames.mode == "distributed":
        return _distributed(frames, value_shape)
    if frames.mode == "spark":
        return _spark(frames, value_shape)
    raise TypeError(f"no transpose for frames of mode {frames.mode!r}")  # pragma: no cover


# -- local ------------------------------------------------------------------
class _TransposedView:
    """Array-like ``(M,) + value_shape`` over an ndarray ``(N, ...)`` (kept,
    not copied): a range of records is made on demand by a cache-blocked copy
    of the matching columns."""

    def __init__(self, array: np.ndarray, value_shape):
        n = array.shape[0]
        self.flat = array.reshape(n, -1)
        self.value_shape = tuple(value_shape)
        self.shape = (self.flat.shape[1],) + self.value_shape
        self.dtype = array.dtype
        self.ndim = len(self.shape)

    def read(self, start, stop):
        """Records ``[start, stop)``, a new C-contiguous array (cache-blocked copy)."""
        from napari_thunder.kernels.series_transpose import transposed_columns

        return transposed_columns(self.flat, start, stop).reshape((-1,) + self.value_shape)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        first = key[0] if key else slice(None)
        if isinstance(first, slice) and first.step in (None, 1):
            start, stop, _ = first.indices(self.shape[0])
            return self.read(start, max(start, stop))[(slice(None),) + tuple(key[1:])]
        rows = np.arange(self.shape[0])[first]
        picked = np.ascontiguousarray(self.flat[:, rows].T).reshape(rows.shape + self.value_shape)
        return picked[(slice(None),) * rows.ndim + tuple(key[1:])]


def _local(frames, value_shape):
    import uuid

    import dask.array as da

    from napari_thunder.engines import local

    array = _local_ndarray(frames)
    if array is None:
        array = frames.collect()
    view = _TransposedView(array, value_shape)
    m = view.shape[0]
    row_bytes = max(1, math.prod(value_shape) * array.dtype.itemsize)
    per = local.frames_per_chunk(row_bytes, m)
    chunks = (local._frame_chunks(m, per),) + tuple((s,) for s in value_shape)
    lazy = da.from_array(view, chunks=chunks, lock=False, asarray=False, name=f"records-{uuid.uuid4().hex}")
    return _local_records_class()(lazy, reader=view.read, view=view)


_RECORDS_CLASS = {}


def _local_records_class():
    """``LocalRecords``: local frames that are the transposed view of an
    ndarray; ``collect`` transposes straight into its result (one copy)."""
    if "cls" in _RECORDS_CLASS:
        return _RECORDS_CLASS["cls"]
    from concurrent.futures import ThreadPoolExecutor

    from napari_thunder.engines import local
    from napari_thunder.kernels.series_transpose import transposed_columns

    class LocalRecords(local.LocalFrames):
        def __init__(self, array, reader=None, view=None):
            super().__init__(array, reader=reader)
            self.view = view

        def collect(self):
            out = np.empty(self.shape, self.dtype)
            flat_out = out.reshape(self.shape[0], -1)
            bounds = self.chunk_bounds()
            if self.shape[0] == 0:
                return out
            with ThreadPoolExecutor(max_workers=local.worker_count()) as pool:
                flat = self.view.flat
                jobs = [pool.submit(transposed_columns, flat, a, b, flat_out[a:b]) for a, b in bounds]
                for job in jobs:
                    job.result()
            return out

    _RECORDS_CLASS["cls"] = LocalRecords
    return LocalRecords


def _local_ndarray(frames):
    """The ndarray holding ``frames`` untransformed, or None."""
    from napari_thunder.engines import local

    reader = frames.reader
    owner = getattr(reader, "__self__", None)
    if isinstance(owner, local._ArrayView) and tuple(owner.shape) == frames.shape:
        return owner.array
    if isinstance(owner, _TransposedView) and tuple(owner.shape) == frames.shape:
        return owner.flat.T.reshape(frames.shape)  # records of an ndarray: a view again
    return None


# -- distributed -------------------------------------------------------------
def _distributed(frames, value_shape):
    n = frames.shape[0]
    flat = frames.array.reshape(n, -1)
    out = flat.T.reshape((flat.shape[1],) + value_shape)
    return type(frames).from_array(out, frames.client)


# -- Spark -------------------------------------------------------------------
class _Flatten:
    def __call__(self, block, start):
        return block.reshape(len(block), -1)


class _TileRecords:
    """Partition function: column tiles ``(t, (N, c))`` -> records ``((j,), row)``."""

    def __init__(self, columns, value_shape):
        self.columns = int(columns)
        self.value_shape = tuple(value_shape)

    def __call__(self, tiles):
        for t, tile in tiles:
            rows = np.ascontiguousarray(tile.T).reshape((-1,) + self.value_shape)
            base = t * self.columns
            for j, row in enumerate(rows):
                yield (base + j,), row


def _spark(frames, value_shape):
    from napari_thunder.engines.spark.errors import _Guard
    from napari_thunder.engines.spark.records import _even_bounds

    n = frames.shape[0]
    m = math.prod(frames.value_shape)
    flat = frames.map(_Flatten(), (m,), frames.dtype)
    column_bytes = max(1, n * frames.dtype.itemsize)
    columns = max(1, min(m, SPARK_TILE_BYTES // column_bytes))
    parts = max(1, frames.npartitions() or 1)
    # at least one tile per partition when there are enough columns
    columns = max(1, min(columns, math.ceil(m / parts)))
    store = flat.to_blocks((columns,))
    ntiles = math.ceil(m / columns) if m else 0
    tile_parts = max(1, min(frames.npartitions(), ntiles))
    bounds = [min(m, b * columns) for b in _even_bounds(ntiles, tile_parts)]
    rdd = store.rdd.mapPartitions(_Guard(_TileRecords(columns, value_shape)), preservesPartitioning=True)
    return type(frames)(rdd, (m,) + value_shape, frames.dtype, bounds)
