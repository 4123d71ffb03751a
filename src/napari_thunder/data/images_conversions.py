"""The conversions of :class:`~napari_thunder.data.images.Images`.

To spatial blocks (``toblocks``), to pixel series (``toseries``,
``totimeseries``: pixels first, time last) and to another engine (``tolocal``,
``tospark``); the metadata are kept. A mixin that ``Images`` inherits.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder import validation

if TYPE_CHECKING:
    from napari_thunder.data.images import Images


class ImageConversionMethods:
    """Blocks, series and engine conversions (mixed into ``Images``)."""

    def _tile_shape(self, size) -> tuple[int, ...]:
        from napari_thunder.data.blocks import tile_shape_for

        return tile_shape_for(size, self.shape, self.dtype)

    def toblocks(self, chunk_size="150", padding=None, size=None):
        """Spatial blocks, each holding every image of one tile.

        Parameters
        ----------
        chunk_size : str, int or tuple
            ``'auto'`` (one block), a tuple of pixels per image axis, or a
            size per block: a number of kilobytes as a string (``'150'``), or
            with a unit (``'150K'``, ``'2M'``). ``size`` is the same (older name).
        padding : None or 0
            Thunder's overlap between blocks; only no padding is supported.
        size : str, int or tuple, optional
            The older name of ``chunk_size``.

        Returns
        -------
        Blocks
            The tiles of all images (``toimages()`` goes back).

        Raises
        ------
        ValueError
            A bad ``chunk_size``, or a non-zero ``padding``.
        """
        from napari_thunder.data.blocks import Blocks

        if padding not in (None, 0) and not (isinstance(padding, (tuple, list)) and not any(padding)):
            raise ValueError(f"padding={padding!r} is not supported (blocks never overlap); use None")
        size = chunk_size if size is None else size
        return Blocks(self.frames.to_blocks(self._tile_shape(size)), self._metadata)

    def toseries(self, chunk_size="auto", size=None):
        """Pixel series: shape ``value_shape + (n,)`` (pixels first, time last).

        Parameters
        ----------
        chunk_size : str, int or tuple
            Thunder's conversion chunk (checked like :meth:`toblocks`'s); the
            engine chooses the layout from memory and cores. ``size`` is the
            same (older name).

        Returns
        -------
        Series
            Index ``arange(n)``; one record per pixel in C order. On the local
            engine the series of an in-memory stack are a lazy transposed view
            of it; other local stacks (files, lazy results) are read into
            memory first, as Thunder's local mode holds its arrays. Spark and
            distributed keep the records on their workers.

        Raises
        ------
        ValueError
            A bad ``chunk_size``, or no images (``count() == 0``).
        """
        from napari_thunder.data.series import Series

        return self._records(Series, chunk_size if size is None else size)

    def totimeseries(self, chunk_size="auto", size=None):
        """Like :meth:`toseries`, as a ``TimeSeries``.

        Parameters
        ----------
        chunk_size : str, int or tuple
            As in :meth:`toseries`; ``size`` is the same (older name).

        Returns
        -------
        TimeSeries
            Shape ``value_shape + (n,)``, index ``arange(n)``.

        Raises
        ------
        ValueError
            A bad ``chunk_size``, or no images (``count() == 0``).
        """
        from napari_thunder.data.series import TimeSeries

        return self._records(TimeSeries, chunk_size if size is None else size)

    def _records(self, cls, size):
        from napari_thunder.engines.transpose import transpose

        self._tile_shape(size)  # the same checks as toblocks
        n = self.count()
        if n == 0:
            raise ValueError("no images to turn into series (count() is 0): every record would be empty; "
                             "check the filter that removed them")
        return cls(transpose(self.frames, (n,)), self.value_shape, index=np.arange(n),
                   image_metadata=self._metadata)

    def tolocal(self) -> Images:
        """The same images in local mode.

        A Spark stack is collected to the driver; the shape is kept exactly (not
        squeezed) and so is the metadata.

        Returns
        -------
        Images
            These images, with a ``UserWarning``, when already local.
        """
        if self.mode == "local":
            warnings.warn("images already in local mode", stacklevel=2)
            return self
        from napari_thunder.engines.factory import resolve_engine

        return self._new(resolve_engine("local").frames_from_array(self.frames.collect()))

    def tospark(self, engine=None, npartitions=None) -> Images:
        """The same images in Spark mode.

        Parameters
        ----------
        engine : SparkContext or str
            A SparkContext or a Spark master URL (``'spark://host:7077'``,
            ``'spark:local[2]'``, ``'local[2]'``).
        npartitions : int, optional
            Number of partitions (Spark's default parallelism if not given).

        Returns
        -------
        Images
            Shape and metadata kept exactly; these images, with a ``UserWarning``,
            when already in Spark mode.

        Raises
        ------
        ValueError
            No engine, an engine that is not Spark, or ``npartitions`` below 1.
        TypeError
            ``npartitions`` is not an integer.
        """
        if engine is None:
            raise ValueError("Must provide a SparkContext: engine is None")
        from napari_thunder.engines.factory import resolve_engine

        npartitions = validation.check_npartitions(npartitions)
        target = resolve_engine(engine)
        if target.kind != "spark":
            raise ValueError(f"engine must be a SparkContext or a Spark master URL, got {engine!r}")
        if self.mode == "spark":
            warnings.warn("images already in spark mode", stacklevel=2)
            return self
        return self._new(target.frames_from_array(self.frames.collect(), npartitions))
