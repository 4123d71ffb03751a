"""Loaders of series data (Thunder's ``thunder.series`` readers).

``fromarray``, ``fromlist``, ``fromrandom``, ``frombinary``, ``fromtext``,
``fromexample`` and ``fromrdd`` return a :class:`~napari_thunder.data.series.Series`
on the engine ``engine=`` names (None: local; a SparkContext or master URL:
Spark; a ``distributed.Client`` or scheduler address: dask.distributed), as
the images loaders do.
"""

from __future__ import annotations

import math

import numpy as np

from napari_thunder.data.series import Series
from napari_thunder.engines import resolve_engine

__all__ = ["frombinary", "fromarray", "fromexample", "fromlist", "fromrandom", "fromrdd", "fromtext"]


def _check_index(index, length):
    if index is not None and np.asarray(index).shape[0] != length:
        raise ValueError(f"Index length {np.asarray(index).shape[0]} not equal to record length {length}")


def fromarray(values, index=None, labels=None, npartitions=None, engine=None, cls=Series) -> Series:
    """Series from an array: all axes but the last index records.

    Parameters
    ----------
    values : array-like
        E.g. ``(2, 3, 4)`` is 2 x 3 records of length 4; a 1-D array is one record.
    index : array-like, optional
        One label per record value (default ``arange(n)``).
    labels : array-like, optional
        One label per record, shape ``values.shape[:-1]``.
    npartitions : int, optional
        Partitions (Spark, distributed).
    engine : object, optional
        Where the records live (see the module docstring).

    Returns
    -------
    Series

    Raises
    ------
    ValueError
        ``index`` or ``labels`` do not fit, or ``values`` is not numeric.
    """
    if isinstance(values, Series):
        values = values.frames.collect().reshape(values.shape)
    values = np.asarray(values)
    if values.dtype == object:
        raise ValueError("values must be a numeric array (ragged or object arrays are not series)")
    if values.ndim < 2:
        values = values.reshape(1, -1)
    _check_index(index, values.shape[-1])
    baseshape = values.shape[:-1]
    records = values.reshape(math.prod(baseshape), values.shape[-1])
    frames = resolve_engine(engine).frames_from_array(records, npartitions)
    return cls(frames, baseshape, index=index, labels=labels)


def fromlist(items, accessor=None, index=None, labels=None, dtype=None, npartitions=None,
             engine=None) -> Series:
    """Series with one record per item (``accessor(item)`` when given).

    On Spark and dask.distributed ``accessor`` runs on the workers.

    Parameters
    ----------
    items : sequence
        The records (1-D arrays), or what ``accessor`` turns into them.
    accessor : callable, optional
        ``accessor(item) -> 1-D ndarray``.
    index : array-like, optional
        One label per record value (default ``arange(n)``).
    labels : array-like, optional
        One label per record.
    dtype : dtype-like, optional
        The records' dtype (default: that of the first record).
    npartitions : int, optional
        Partitions (Spark, distributed).
    engine : object, optional
        Where the records live: ``None``/``'local'`` (embedded dask), a SparkContext or Spark
        master, a dask.distributed Client or scheduler address.

    Returns
    -------
    Series

    Raises
    ------
    ValueError
        Records of different lengths or dtypes, or no items.
    """
    items = list(items)
    if not items:
        raise ValueError("items is empty: no records")
    eng = resolve_engine(engine)
    if eng.kind == "local":
        values = [np.asarray(accessor(i) if accessor else i) for i in items]
        return fromarray(_stack(values, dtype), index=index, labels=labels)
    first = np.asarray(accessor(items[0]) if accessor else items[0])
    if first.ndim != 1:
        raise ValueError(f"each record must be 1-D, got shape {first.shape} for item 0")
    frames = eng.frames_from_items(list(enumerate(items)), _Accessor(accessor, dtype), npartitions)
    _check_index(index, frames.shape[1])
    return Series(frames, (len(items),), index=index, labels=labels)


def _stack(values, dtype):
    shapes = {v.shape for v in values}
    if len(shapes) > 1:
        first, other = sorted(shapes)[:2]
        raise ValueError(f"Records must all be of same shape; got {first} and {other}")
    out = np.stack(values)
    return out if dtype is None else out.astype(dtype)


class _Accessor:
    """``func(item) -> [(key, record)]`` for the engines' ``frames_from_items``."""

    def __init__(self, accessor, dtype):
        self.accessor = accessor
        self.dtype = None if dtype is None else np.dtype(dtype)

    def __call__(self, item):
        k, value = item
        record = np.asarray(self.accessor(value) if self.accessor else value)
        if self.dtype is not None:
            record = record.astype(self.dtype)
        return [((k,), record.reshape(-1))]


class _RandomRecord:
    def __init__(self, seed, length):
        self.seed = seed
        self.length = length

    def __call__(self, v):
        return np.random.default_rng([self.seed, int(v)]).standard_normal(self.length)


def fromrandom(shape=(100, 10), npartitions=1, seed=42, engine=None) -> Series:
    """Gaussian random records, shape ``(records, length)``; the same values on every engine.

    Parameters
    ----------
    shape : tuple of int
        ``(records, length)``.
    npartitions : int
        Partitions (Spark, distributed).
    seed : int
        Record ``i`` is drawn from a generator seeded by ``seed`` and ``i``.
    engine : object, optional
        Where the records live: ``None``/``'local'`` (embedded dask), a SparkContext or Spark
        master, a dask.distributed Client or scheduler address.

    Returns
    -------
    Series

    Raises
    ------
    ValueError
        ``shape`` is not two positive ints.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be two positive ints (records, length), got {shape}")
    return fromlist(list(range(shape[0])), accessor=_RandomRecord(int(seed), shape[1]),
                    npartitions=npartitions, engine=engine)


def frombinary(path, ext="bin", conf="conf.json", dtype=None, shape=None, skip=0, index=None,
               labels=None, engine=None, credentials=None, npartitions=None) -> Series:
    """Series from Thunder's series binary layout (``Series.tobinary``).

    Parameters
    ----------
    path : str
        Directory (or one file) of ``.bin`` files.
    ext : str
    conf : str
        Name of the JSON file with ``shape`` and ``dtype``.
    dtype, shape : optional
        Override (or replace a missing) ``conf.json``.
    skip : int
        Values to drop at the start of every stored record.
    index, labels : optional
        As in :func:`fromarray`.
    engine : object, optional
        Where the records live: ``None``/``'local'`` (embedded dask), a SparkContext or Spark
        master, a dask.distributed Client or scheduler address.
    credentials : optional
        Accepted for compatibility (remote stores are not supported).
    npartitions : int, optional
        Partitions (Spark, distributed).

    Returns
    -------
    Series
        Of shape ``shape`` (records ``shape[:-1]``, values ``shape[-1] - skip``).

    Raises
    ------
    ValueError
        Shape or dtype unknown, or the files do not hold ``prod(shape[:-1])`` records.
    FileNotFoundError
        No ``.bin`` file.
    """
    from napari_thunder.io.series_binary import SeriesBinarySource, list_series_files, read_conf

    shape, dtype = read_conf(path, conf, dtype, shape)
    files = list_series_files(path, ext)
    source = SeriesBinarySource(files, shape[-1], dtype, skip=int(skip))
    expected = math.prod(shape[:-1])
    if len(source) != expected:
        raise ValueError(f"Unexpected shape, got {len(source)} records but expected {expected} in {path}")
    frames = resolve_engine(engine).frames_from_source(source, npartitions)
    return Series(frames, shape[:-1], index=index, labels=labels)


def fromtext(path, ext="txt", dtype="float64", skip=0, shape=None, index=None, labels=None,
             npartitions=None, engine=None, credentials=None) -> Series:
    """Series from text files: one record per line, values separated by spaces.

    Parameters
    ----------
    path : str
        Directory, file or pattern of text files (read in sorted order).
    ext : str
        Extension of the files in a directory.
    dtype : dtype-like
        dtype of the values.
    skip : int
        Values to drop at the start of every line.
    shape : tuple of int, optional
        Reshape the records (``shape[-1]`` = values per record).
    index, labels : optional
        As in :func:`fromarray`.
    npartitions : int, optional
        Partitions (Spark, distributed).
    engine : object, optional
        Where the records live: ``None``/``'local'`` (embedded dask), a SparkContext or Spark
        master, a dask.distributed Client or scheduler address.
    credentials : optional
        Accepted for compatibility (remote stores are not supported).

    Returns
    -------
    Series

    Raises
    ------
    ValueError
        Lines of different lengths.
    FileNotFoundError
        No file matches.
    """
    from napari_thunder.io.series_binary import list_series_files

    rows = []
    for f in list_series_files(path, ext):
        with open(f, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(np.array(line.split(), dtype=np.float64))
                    except ValueError as err:
                        raise ValueError(f"{f}:{n}: {err}") from None
    lengths = {r.size for r in rows}
    if len(lengths) > 1:
        raise ValueError(f"lines of different lengths {sorted(lengths)[:2]} in {path}")
    values = np.asarray(rows, dtype=dtype)
    if skip > 0:
        values = values[:, int(skip):]
    if shape:
        values = values.reshape(shape)
    return fromarray(values, index=index, labels=labels, npartitions=npartitions, engine=engine)


def fromrdd(rdd, nrecords=None, shape=None, index=None, labels=None, dtype=None, ordered=False) -> Series:
    """Series from a Spark RDD of ``(key, record)`` (int or tuple keys in
    increasing C order, 1-D ndarray records).

    Parameters
    ----------
    rdd : pyspark.RDD
        The records; the Series runs on its SparkContext.
    nrecords : int, optional
        Number of records (counted if not given).
    shape : tuple of int, optional
        ``baseshape + (length,)``; tuple keys are flattened in C order over ``baseshape``.
    index, labels : optional
        As in :func:`fromarray`.
    dtype : dtype-like, optional
        The records' dtype (probed from the first record if not given).
    ordered : bool
        Accepted for compatibility: records are always ordered by key.

    Returns
    -------
    Series
    """
    from napari_thunder.engines.factory import SparkEngine

    if nrecords is None and shape is not None:
        nrecords = math.prod(shape[:-1])
    dims = None if shape is None else (shape[-1],)
    frames = SparkEngine(rdd.context).frames_from_rdd(rdd.map(_FlatKey(shape)), dims=dims,
                                                      nrecords=nrecords, dtype=dtype)
    baseshape = tuple(shape[:-1]) if shape is not None else (frames.shape[0],)
    return Series(frames, baseshape, index=index, labels=labels)


class _FlatKey:
    def __init__(self, shape):
        self.base = None if shape is None else tuple(int(s) for s in shape[:-1])

    def __call__(self, record):
        key, value = record
        key = (key,) if isinstance(key, (int, np.integer)) else tuple(key)
        if len(key) > 1:
            key = (int(np.ravel_multi_index(key, self.base)),)
        return key, np.asarray(value)


def fromexample(name=None, engine=None):
    """Thunder's example series ('iris', 'mouse', 'fish') are downloaded from
    S3 by Thunder; they are not bundled here.

    Parameters
    ----------
    name : str, optional
        ``None`` prints the names.
    engine : object, optional
        Where the records live: ``None``/``'local'`` (embedded dask), a SparkContext or Spark
        master, a dask.distributed Client or scheduler address.

    Returns
    -------
    None
        With ``name=None``; any name raises.

    Raises
    ------
    ValueError
        Always for a name (``None`` prints the names, as Thunder).
    """
    datasets = ["iris", "mouse", "fish"]
    if name is None:
        print("Available example series datasets")
        for d in datasets:
            print("- " + d)
        return None
    raise ValueError(f"example series {name!r} is not available offline (Thunder downloads "
                     f"{datasets} from S3); use series.fromrandom or images.fromexample(...).toseries()")
