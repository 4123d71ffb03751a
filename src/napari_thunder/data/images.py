"""``Images``: a sequence of images or volumes, written once for every engine.

Every method is a composition of the engine primitives in
:mod:`napari_thunder.engines.base` (map, take, filter, aggregate, iter_chunks)
and the numeric kernels in :mod:`napari_thunder.kernels`. Arguments are
checked here, on the driver, before any work starts, so the local and the
Spark engine raise the same exceptions.

This module holds the class: construction, metadata, labels and the
description of the stack. The methods are grouped by job in mixins that
``Images`` inherits (one module each): indexing and reshaping
(``images_indexing``), user functions (``images_functional``), pixel-by-pixel
arithmetic (``images_arithmetic``), filters and projections (``images_filters``),
statistics and streams (``images_statistics``), conversions to blocks, series
and other engines (``images_conversions``), writers and layers
(``images_output``), calcium imaging (``images_calcium``) and Thunder's Spark
methods (``_spark_methods``).
"""

from __future__ import annotations

import warnings

import numpy as np

from napari_thunder.data._block_functions import BlockOp
from napari_thunder.data._shared import checked_labels
from napari_thunder.data._spark_methods import SparkMethods
from napari_thunder.data.images_arithmetic import ImageArithmeticMethods
from napari_thunder.data.images_calcium import CalciumImagingMethods
from napari_thunder.data.images_conversions import ImageConversionMethods
from napari_thunder.data.images_filters import ImageFilterMethods
from napari_thunder.data.images_functional import ImageFunctionalMethods
from napari_thunder.data.images_indexing import ImageIndexingMethods
from napari_thunder.data.images_output import ImageOutputMethods
from napari_thunder.data.images_statistics import ImageStatisticsMethods
from napari_thunder.metadata import ImageMetadata

_SAME = object()  # "these images' labels" (default of Images._new)


class Images(ImageIndexingMethods, ImageFunctionalMethods, ImageArithmeticMethods, ImageFilterMethods,
             ImageStatisticsMethods, ImageConversionMethods, ImageOutputMethods, CalciumImagingMethods,
             SparkMethods):
    """A sequence of ``n`` images (2-D) or volumes (3-D) of one shape.

    Axis 0 indexes the images; ``shape = (n,) + value_shape``. Build one with
    the loaders in :mod:`napari_thunder.images` (``fromarray``, ``fromtif``,
    ...), not directly.

    Parameters
    ----------
    frames : napari_thunder.engines.base.Frames
        Where the frames live (local dask array or Spark RDD).
    metadata : napari_thunder.metadata.ImageMetadata, optional
        Axis names, scale, translate, units and channels of the stack; the
        defaults (``('t', 'y', 'x')``, unit scale) when not given. Every
        method carries them to its result (see :mod:`napari_thunder.metadata`).
    labels : array-like, optional
        One label per image (shape ``(n,)``), as Thunder's ``labels``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_thunder import images
    >>> imgs = images.fromarray(np.arange(24.0).reshape(2, 3, 4))
    >>> imgs.shape
    (2, 3, 4)
    >>> imgs.mean().toarray()[0]
    array([6., 7., 8., 9.])
    """

    def __init__(self, frames, metadata=None, labels=None):
        self.frames = frames
        shape = tuple(frames.shape)
        if metadata is None:
            metadata = ImageMetadata.default(len(shape))
        elif not isinstance(metadata, ImageMetadata):
            raise TypeError(f"metadata must be an ImageMetadata, got {type(metadata).__name__}")
        self._metadata = metadata.check_shape(shape)
        self._labels = None
        self.labels = labels
        self._values = None

    def _new(self, frames, metadata=None, labels=_SAME) -> Images:
        """Images on ``frames`` with ``metadata``; by default these images'
        metadata when the rank is kept (channel names dropped if the channel
        axis changed length), else the defaults with axis 0 kept. The labels
        are kept by default when the number of images is."""
        if labels is _SAME:
            labels = self._labels if int(frames.shape[0]) == self.shape[0] else None
        if metadata is None:
            metadata = self._metadata.for_value_shape(len(frames.shape) - 1)
            try:
                metadata.check_shape(frames.shape)
            except ValueError:
                metadata = metadata.updated(rgb=False) if metadata.rgb else metadata
                metadata = ImageMetadata(metadata.axes, rgb=metadata.rgb)
                try:
                    metadata.check_shape(frames.shape)
                except ValueError:
                    metadata = ImageMetadata.default(len(frames.shape))
        return Images(frames, metadata, labels=labels)

    def _with_frames(self, frames) -> Images:
        return self._new(frames)

    @property
    def metadata(self) -> ImageMetadata:
        """Axis names, scale, translate, units and channel names of the stack
        (axis 0, the image axis, first)."""
        return self._metadata

    def with_metadata(self, metadata=None, *, names=None, scale=None, translate=None, units=None,
                      channel_names=None, rgb=None) -> Images:
        """The same images with other metadata (nothing is computed).

        Parameters
        ----------
        metadata : ImageMetadata, optional
            Replaces the metadata as a whole; or change some of them:
        names, scale, translate, units : sequence or dict, optional
            One entry per axis (axis 0 first), or a dict ``{axis: value}``
            keyed by axis name or index, e.g. ``scale={'y': 0.4, 'x': 0.4}``.
        channel_names : sequence of str, optional
            Names of the entries of the axis named ``'c'``.
        rgb : bool, optional
            Whether the last axis holds RGB(A) samples.

        Returns
        -------
        Images

        Raises
        ------
        ValueError
            Values that do not fit the shape (wrong lengths, a non-positive
            scale, unknown axis names).
        TypeError
            ``metadata`` is not an ``ImageMetadata``.
        """
        if metadata is None:
            metadata = self._metadata.updated(names=names, scale=scale, translate=translate,
                                              units=units, channel_names=channel_names, rgb=rgb)
        return Images(self.frames, metadata, labels=self._labels)

    # ------------------------------------------------------------------
    # description
    # ------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """``(n,) + value_shape``."""
        return tuple(self.frames.shape)

    @property
    def value_shape(self) -> tuple[int, ...]:
        """Shape of one image."""
        return tuple(self.frames.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        """Data type of the images."""
        return np.dtype(self.frames.dtype)

    @property
    def mode(self) -> str:
        """``'local'``, ``'spark'`` or ``'distributed'``."""
        return self.frames.mode

    @property
    def baseaxes(self) -> tuple[int, ...]:
        """The axes that index the images: ``(0,)``."""
        return (0,)

    @property
    def baseshape(self) -> tuple[int, ...]:
        """``(n,)``: the shape of the image index."""
        return self.shape[:1]

    @property
    def labels(self):
        """One label per image (an ndarray of shape ``(n,)``), or None.

        Set it to any array-like of ``n`` entries (or None). Methods that keep
        the images keep the labels; indexing and ``sample`` select them;
        methods that make other images (statistics, ``map_as_series``,
        ``reduce``) drop them.

        Raises
        ------
        ValueError
            When set to something of another shape than ``(n,)``.
        """
        return self._labels

    @labels.setter
    def labels(self, value):
        self._labels = checked_labels(value, self.baseshape, "labels: shape {shape} must be the same "
                                      "as the leading dimensions of the Images {baseshape}")

    @property
    def values(self):
        """The images' values, as Thunder: an ndarray of ``shape`` in local mode.

        Local mode computes the lazy stack on first access (and keeps the
        result); the lazy array itself is :attr:`dask_array`. In Spark mode
        the RDD of ``((i,), image)`` records; on dask.distributed the dask
        array (computed with its client). ``toarray()`` gives a squeezed
        ndarray in every mode.
        """
        if self.mode == "spark":
            return self.frames.rdd
        if self.mode != "local":
            return self.frames.array
        if self._values is None:
            self._values = np.asarray(self.frames.collect())
        return self._values

    @property
    def dask_array(self):
        """The lazy dask array of the images, ``shape`` and ``dtype`` (local and
        dask.distributed modes); nothing is computed.

        Raises
        ------
        ValueError
            In Spark mode (use :attr:`values` for the RDD, or ``tolocal()``).
        """
        if self.mode == "spark":
            raise ValueError("dask_array: Spark images have no dask array; use values (the RDD) "
                             "or tolocal()")
        return self.frames.array

    def tordd(self):
        """Spark only: the RDD of ``((i,), image)`` records.

        Returns
        -------
        pyspark.RDD
            One record per image, keyed by the 1-tuple of its index.

        Raises
        ------
        ValueError
            In local mode (call ``tospark(engine)`` first).
        """
        if self.mode != "spark":
            raise ValueError("tordd() needs Spark mode; use tospark(engine) first")
        return self.frames.rdd

    def npartitions(self):
        """Number of Spark partitions holding the images.

        Returns
        -------
        int or None
            The partition count in Spark mode; ``None`` in local mode, with a
            ``UserWarning`` (as in Thunder, local mode has no partitions).
        """
        if self.mode == "local":
            warnings.warn("Operation not supported in 'local' mode", stacklevel=2)
            return None
        return self.frames.npartitions()

    def count(self) -> int:
        """Number of images (the length of axis 0).

        Returns
        -------
        int
        """
        return self.frames.count()

    def first(self) -> np.ndarray:
        """The first image, not squeezed.

        Returns
        -------
        ndarray
            Of shape ``value_shape`` and the images' dtype.
        """
        return self.frames.first()

    def toarray(self) -> np.ndarray:
        """All images as one ndarray, squeezed of every length-1 axis.

        As in Thunder, ``(1, 3, 4)`` becomes ``(3, 4)`` and ``(5, 1, 4)`` becomes
        ``(5, 4)``; use ``frames``-preserving methods (``first``, indexing) to keep
        the axes.

        Returns
        -------
        ndarray
            The computed values in the images' dtype.
        """
        return self.frames.collect().squeeze()

    def __array__(self, dtype=None, copy=None):
        out = self.toarray()
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"Images\nmode: {self.mode}\ndtype: {self.dtype}\nshape: {self.shape}"

    # ------------------------------------------------------------------
    # the helper of the per-image methods (filters, arithmetic)
    # ------------------------------------------------------------------
    def _map_kernel(self, kernel, metadata=None, **kwargs) -> Images:
        """Lazily apply a block kernel; its output shape and dtype come from
        running it on one zero image (cheap, and exact for numpy rules)."""
        op = BlockOp(kernel, **kwargs)
        probe = op(np.zeros((1,) + self.value_shape, self.dtype), 0)
        return self._new(self.frames.map(op, probe.shape[1:], probe.dtype), metadata)
