"""``Series`` and ``TimeSeries``: a collection of 1-D records (Thunder's series API).

A ``Series`` of shape ``baseshape + (n,)`` holds ``prod(baseshape)`` records
of length ``n`` (for ``Images.toseries``: one per pixel, time last). The
records live in an engine's frames (``napari_thunder.engines.base``), one
frame per record in C order of ``baseshape``, so the same code runs on the
local, Spark and dask.distributed engines: per-record work is a block
function over a whole block of records (``kernels/series_ops.py``, numpy on
the block's records x values matrix) and statistics across records are an
accumulator folded over the blocks.

This module holds the class: construction, index, labels, the description of
the records, engines and conversions. The methods are grouped by job in mixins
that ``Series`` inherits (one module each): user functions
(``series_functional``), indexing and selection (``series_indexing``),
statistics across and per record (``series_statistics``), arithmetic
(``series_arithmetic``), per-record transformations (``series_transforms``),
the methods driven by index values (``series_by_index``) and Thunder's Spark
methods (``_spark_methods``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from napari_thunder.data._shared import checked_labels
from napari_thunder.data._spark_methods import SparkMethods
from napari_thunder.data.series_arithmetic import SeriesArithmeticMethods
from napari_thunder.data.series_by_index import SeriesByIndexMethods
from napari_thunder.data.series_functional import SeriesFunctionalMethods
from napari_thunder.data.series_indexing import SeriesIndexingMethods
from napari_thunder.data.series_statistics import SeriesStatisticsMethods
from napari_thunder.data.series_transforms import SeriesTransformMethods
from napari_thunder.kernels import series_ops as ops


def default_time_axis(metadata):
    """``metadata`` with axis 0 (the images/time axis) at unit scale, origin 0, no unit."""
    from dataclasses import replace

    from napari_thunder.metadata import Axis

    return replace(metadata, axes=(Axis(metadata.axes[0].name),) + tuple(metadata.axes[1:]))


class Series(SeriesFunctionalMethods, SeriesIndexingMethods, SeriesStatisticsMethods, SeriesArithmeticMethods,
             SeriesTransformMethods, SeriesByIndexMethods, SparkMethods):
    """Indexed 1-D records: shape ``baseshape + (n,)``.

    Parameters
    ----------
    frames : napari_thunder.engines.base.Frames
        The records, shape ``(prod(baseshape), n)``.
    baseshape : tuple of int, optional
        Shape of the record keys (default ``(nrecords,)``).
    index : array-like, optional
        One label per value of a record (default ``arange(n)``).
    labels : array-like, optional
        One label per record, shape ``baseshape``.
    image_metadata : napari_thunder.metadata.ImageMetadata, optional
        The metadata of the images these records are the pixels of
        (``Images.toseries`` sets it); :meth:`toimages` gives them back (see
        :meth:`_new` for when they are kept).
    """

    def __init__(self, frames, baseshape=None, index=None, labels=None, image_metadata=None):
        if len(frames.shape) != 2:
            raise ValueError(f"series frames must be 2-D (records, values), got shape {frames.shape}")
        self.frames = frames
        nrecords = int(frames.shape[0])
        if baseshape is None:
            baseshape = (nrecords,)
        baseshape = tuple(int(b) for b in baseshape)
        if math.prod(baseshape) != nrecords:
            raise ValueError(f"baseshape {baseshape} does not hold the {nrecords} records")
        self._baseshape = baseshape
        self._index = None
        if index is not None:
            self.index = index
        self._labels = None
        self.labels = labels
        self._image_metadata = None
        if image_metadata is not None and len(image_metadata.axes) == len(baseshape) + 1:
            self._image_metadata = image_metadata

    # ------------------------------------------------------------------
    # description
    # ------------------------------------------------------------------
    @property
    def _constructor(self):
        return type(self)

    def _new(self, frames, baseshape=None, index=None, labels=None):
        """Records on ``frames``; the image metadata are kept for the same
        pixels (``baseshape`` unchanged), with the time axis (axis 0) reset to
        the defaults when the record length changes (``select``,
        ``subsample``, ``series_mean``...: its frame interval no longer holds)."""
        baseshape = self._baseshape if baseshape is None else tuple(int(b) for b in baseshape)
        metadata = None
        if self._image_metadata is not None and baseshape == self._baseshape:
            metadata = self._image_metadata
            if int(frames.shape[1]) != self.shape[-1]:
                metadata = default_time_axis(metadata)
        return self._constructor(frames, baseshape, index=index, labels=labels, image_metadata=metadata)

    @property
    def shape(self) -> tuple[int, ...]:
        """``baseshape + (n,)``."""
        return self._baseshape + (int(self.frames.shape[1]),)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.frames.dtype)

    @property
    def mode(self) -> str:
        """``'local'``, ``'spark'`` or ``'distributed'``."""
        return self.frames.mode

    @property
    def baseaxes(self) -> tuple[int, ...]:
        """Axes of the record keys: all but the last."""
        return tuple(range(len(self._baseshape)))

    @property
    def baseshape(self) -> tuple[int, ...]:
        return self._baseshape

    @property
    def value_shape(self) -> tuple[int, ...]:
        return (int(self.frames.shape[1]),)

    @property
    def length(self) -> int:
        """Length of every record (``len(index)``)."""
        return len(self.index)

    @property
    def index(self):
        """One label per record value; ``arange(n)`` unless set.

        Raises
        ------
        TypeError
            When set to something without a length.
        ValueError
            When set to a sequence of another length than the records.
        """
        if self._index is None:
            self._index = np.arange(self.shape[-1])
        return self._index

    @index.setter
    def index(self, value):
        if isinstance(value, str):
            value = [value]
        try:
            value[0]
        except (TypeError, IndexError, KeyError):
            value = [value]
        try:
            length = len(value)
        except TypeError:
            raise TypeError("index must be an object with a length") from None
        if length != self.shape[-1]:
            raise ValueError(f"Length of new index {length} must match length of original index "
                             f"{self.shape[-1]}")
        self._index = np.asarray(value) if not isinstance(value, np.ndarray) else value

    @property
    def labels(self):
        """One label per record (an ndarray of ``baseshape``), or None.

        Raises
        ------
        ValueError
            When set to an array of another shape than ``baseshape``.
        """
        return self._labels

    @labels.setter
    def labels(self, value):
        self._labels = checked_labels(value, self._baseshape, "Labels shape {shape} must be the same as "
                                      "the leading dimensions of the Series {baseshape}")

    @property
    def values(self):
        """The records: an ndarray ``shape`` in local mode, else the engine's frames."""
        if self.mode == "local":
            return self.frames.collect().reshape(self.shape)
        return self.frames

    def count(self) -> int:
        """Number of records.

        Returns
        -------
        int
            ``prod(baseshape)``, the number of records (not of values).
        """
        return int(math.prod(self._baseshape))

    def first(self) -> np.ndarray:
        """The first record (length ``n``).

        Returns
        -------
        ndarray
            1-D array of shape ``(n,)`` and this dtype: the record at key
            ``(0, ..., 0)``.

        Raises
        ------
        ValueError
            No records.
        """
        if self.count() == 0:
            raise ValueError("no records: first() of an empty Series")
        return np.asarray(self.frames.first()).reshape(-1)

    def toarray(self) -> np.ndarray:
        """All records as one ndarray ``baseshape + (n,)``, squeezed (Thunder).

        Returns
        -------
        ndarray
            The records of shape ``baseshape + (n,)`` with every axis of length 1
            removed, of this dtype, collected from the engine.
        """
        return self.frames.collect().reshape(self.shape).squeeze()

    def __array__(self, dtype=None, copy=None):
        out = self.toarray()
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        index = str(self.index)
        if len(index) > 50:
            index = index[:50].strip() + f" ... ] (length: {len(self.index)})"
        return (f"{type(self).__name__}\nmode: {self.mode}\ndtype: {self.dtype}\nshape: {self.shape}"
                f"\nindex: {index}")

    # ------------------------------------------------------------------
    # engines
    # ------------------------------------------------------------------
    def tolocal(self) -> Series:
        """These records in local mode.

        Returns
        -------
        Series
            The same records, index, labels and image metadata, of the same
            class, held as a numpy array in this process (collected from the
            engine).
        """
        return self._collected_on(None)

    def tospark(self, engine=None) -> Series:
        """These records on Spark (``engine``: a SparkContext or master URL).

        Parameters
        ----------
        engine : pyspark.SparkContext or str
            The Spark context (or a master URL) to distribute the records to;
            required despite the default.

        Returns
        -------
        Series
            The same records, index, labels and image metadata, of the same
            class, in Spark mode.

        Raises
        ------
        ValueError
            ``engine`` is None.
        """
        if engine is None:
            raise ValueError("Must provide SparkContext")
        return self._collected_on(engine)

    def _collected_on(self, engine) -> Series:
        """These records collected to this process and loaded again on
        ``engine`` (None: local), with index, labels, class and image metadata."""
        from napari_thunder import series as loaders

        out = loaders.fromarray(self.frames.collect().reshape(self.shape), index=self.index,
                                labels=self.labels, engine=engine, cls=self._constructor)
        out._image_metadata = self._image_metadata
        return out

    def tordd(self):
        """The Spark RDD of ``(key, record)`` pairs (keys: tuples of ``baseshape``).

        Returns
        -------
        pyspark.RDD
            One ``(key, record)`` pair per record: ``key`` a tuple of ints, the
            record's position in ``baseshape``, and ``record`` a 1-D ndarray of
            length ``n``.

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        if self.mode != "spark":
            raise NotImplementedError(f"Cannot return RDD for {self.mode} data")
        return self.frames.tordd().map(_Rekey(self._baseshape))

    def npartitions(self) -> int:
        """Number of Spark partitions (Spark only).

        Returns
        -------
        int
            How many partitions the records' RDD has.

        Raises
        ------
        NotImplementedError
            Not in Spark mode.
        """
        self._spark_only("npartitions")
        return self.frames.npartitions()

    def _with_frames(self, frames) -> Series:
        return self._new(frames, index=self.index, labels=self.labels)

    # ------------------------------------------------------------------
    # helpers of the mixins
    # ------------------------------------------------------------------
    def _map_kernel(self, op: ops.RecordOp, length: int, dtype, index=None) -> Series:
        """Apply a vectorised kernel; the index is ``index``, else kept when the
        length is unchanged, else ``arange``."""
        frames = self.frames.map(op, (int(length),), np.dtype(dtype))
        if index is None and int(length) == self.shape[-1]:
            index = self.index
        return self._new(frames, index=index, labels=self.labels)

    def _probe(self, op: ops.RecordOp):
        """Output length and dtype of ``op`` on two records of zeros."""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = op(np.ones((1, self.shape[-1]), self.dtype), 0)
        return out.shape[1], out.dtype

    def _kernel(self, kernel, *args, index=None, length=None, dtype=None, with_start=False) -> Series:
        op = ops.RecordOp(kernel, *args, with_start=with_start)
        plen, pdtype = self._probe(op)
        length = plen if length is None else length
        dtype = pdtype if dtype is None else dtype
        op.dtype = np.dtype(dtype)
        return self._map_kernel(op, length, dtype, index=index)

    def _small(self, values, index=None, labels=None) -> Series:
        """A Series holding a small 2-D ndarray on the same engine."""
        values = np.asarray(values)
        values = values.reshape(-1, values.shape[-1])
        return self._constructor(self.frames.with_array(values), (values.shape[0],), index=index,
                                 labels=labels)

    # ------------------------------------------------------------------
    # conversions and output
    # ------------------------------------------------------------------
    def toimages(self, chunk_size="auto"):
        """Back to ``Images``: ``n`` images of ``baseshape``.

        ``chunk_size`` is accepted for Thunder's scripts; the layout is
        chosen by the engine.

        Parameters
        ----------
        chunk_size : str or int, default 'auto'
            Ignored.

        Returns
        -------
        Images
            ``n`` images of shape ``baseshape`` (image ``t`` holds value ``t`` of
            every record), this dtype, on the same engine.

        Raises
        ------
        ValueError
            No records (``count() == 0``).
        """
        from napari_thunder.data.images import Images
        from napari_thunder.engines.transpose import transpose

        if self.count() == 0:
            raise ValueError("no records to turn into images (count() is 0): every image would be empty; "
                             "check the filter that removed them")
        return Images(transpose(self.frames, self._baseshape), self._image_metadata)

    def totimeseries(self) -> TimeSeries:
        """The same records as a ``TimeSeries``.

        Returns
        -------
        TimeSeries
            Sharing these frames, with the same shape, index and labels.
        """
        return TimeSeries(self.frames, self._baseshape, index=self.index, labels=self.labels,
                          image_metadata=self._image_metadata)

    def toseries(self) -> Series:
        """The same records as a plain ``Series``.

        Returns
        -------
        Series
            Sharing these frames, with the same shape, index and labels.
        """
        return Series(self.frames, self._baseshape, index=self.index, labels=self.labels,
                      image_metadata=self._image_metadata)

    def tobinary(self, path, prefix="series", overwrite=False, credentials=None) -> None:
        """Write Thunder 1.4.2's series binary layout into the directory ``path``.

        Records are written raw in key order (C order), one file per block
        (``<prefix>-<first key>.bin``), with a ``conf.json`` (shape, dtype)
        and a ``SUCCESS`` marker; ``series.frombinary(path)`` reads them back.

        Parameters
        ----------
        path : str or os.PathLike
            Output directory; it appears only once every file is written.
        prefix : str, default 'series'
            Start of every block file's name; non-empty, without a path separator.
        overwrite : bool, default False
            Replace an existing ``path``.
        credentials : optional
            Accepted for Thunder's scripts; unused.

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is false.
        ValueError
            ``path`` is empty or names a file, or ``prefix`` is empty or holds a path separator.
        """
        from napari_thunder.io.series_binary import write_series

        write_series(self.frames, self.shape, path, prefix=prefix, overwrite=overwrite)


class TimeSeries(Series):
    """``Series`` whose index is time (``Images.totimeseries``)."""


class _Rekey:
    def __init__(self, baseshape):
        self.baseshape = baseshape

    def __call__(self, record):
        key, value = record
        return tuple(int(i) for i in np.unravel_index(key[0], self.baseshape)), value
