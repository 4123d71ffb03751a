"""Statistics across the images of :class:`~napari_thunder.data.images.Images`.

``mean``, ``var``, ``std``, ``sum``, ``max``, ``min`` and ``localcorr``, each one
streaming pass of a mergeable accumulator of :mod:`napari_thunder.kernels`, and
their streams for the GUI and the command line (``iter_chunks``,
``stream_statistic``, ``stream_localcorr``: progress, running estimates,
``cancel_streams``). A mixin that ``Images`` inherits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from napari_thunder import validation
from napari_thunder.data._shared import running_estimates
from napari_thunder.kernels.correlation import LocalCorrAccumulator, WindowCorrAccumulator
from napari_thunder.kernels.moments import STATS as STATISTICS
from napari_thunder.kernels.moments import MomentAccumulator

if TYPE_CHECKING:
    from napari_thunder.data.images import Images


class ImageStatisticsMethods:
    """Statistics across images and their streams (mixed into ``Images``)."""

    def _statistic(self, name: str) -> Images:
        acc = self.frames.aggregate(MomentAccumulator(self.value_shape, self.dtype, stats=(name,)))
        return self._new(self.frames.with_array(acc.finalize(name)[np.newaxis]), labels=None)

    def mean(self) -> Images:
        """Mean across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; float64 for integer input, the input float type otherwise.
        """
        return self._statistic("mean")

    def var(self) -> Images:
        """Population variance (``ddof=0``) across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; float64 for integer input, the input float type otherwise.
        """
        return self._statistic("var")

    def std(self) -> Images:
        """Population standard deviation (``ddof=0``) across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; float64 for integer input, the input float type otherwise.
        """
        return self._statistic("std")

    def sum(self) -> Images:
        """Sum across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; numpy's accumulator dtype (``int16 -> int64``).
        """
        return self._statistic("sum")

    def max(self) -> Images:
        """Maximum across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; the input dtype.
        """
        return self._statistic("max")

    def min(self) -> Images:
        """Minimum across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; the input dtype.
        """
        return self._statistic("min")

    def _localcorr_accumulator(self, neighborhood, size):
        """The accumulator of ``localcorr(neighborhood=)`` or ``localcorr(size=)``."""
        channels = self._metadata.channel_axis not in (None, 0)
        if size is None:
            neighborhood = validation.check_neighborhood(2 if neighborhood is None else neighborhood)
            if not channels:
                return LocalCorrAccumulator(self.value_shape, neighborhood)
            size = 2 * neighborhood + 1
        elif neighborhood is not None:
            raise TypeError("localcorr: pass neighborhood (half-width) or size (window width), not both")
        if channels:  # the box spans the spatial axes only: width 1 on the channel axis
            size = self._metadata.expand_per_axis(size, 1, "size")
        ndim = len(self.value_shape)
        if isinstance(size, (tuple, list)):
            if len(size) != ndim:
                raise ValueError(f"size: one window width per image axis ({ndim}), got {tuple(size)}")
            widths = tuple(validation.check_int(w, "size", minimum=1,
                                                maximum=2 * validation.MAX_NEIGHBORHOOD + 1)
                           for w in size)
        else:
            widths = (validation.check_int(size, "size", minimum=1,
                                           maximum=2 * validation.MAX_NEIGHBORHOOD + 1),) * ndim
        if len(set(widths)) == 1 and widths[0] % 2 == 1:
            return LocalCorrAccumulator(self.value_shape, (widths[0] - 1) // 2)
        return WindowCorrAccumulator(self.value_shape, widths)

    def localcorr(self, neighborhood=None, size=None) -> np.ndarray:
        """Correlation of every pixel's series with its neighbourhood's mean series.

        The neighbourhood is a box around the pixel (the pixel included, borders
        reflected); give its half-width ``neighborhood`` (window ``2n + 1``) or,
        as Thunder 1.4.2, its width ``size``. ``localcorr(neighborhood=1)`` is
        ``localcorr(size=3)``; for volumes ``size=(3, 3, 1)`` averages within
        each plane only. A channel axis (``'c'`` in :attr:`metadata`) is never
        mixed: the box has width 1 there, and a ``size`` with one entry per
        spatial axis is spread over them. A positional argument is
        ``neighborhood``.

        Parameters
        ----------
        neighborhood : int, optional
            Half-width ``n``: the centred box of width ``2n + 1`` on every
            spatial image axis (z too for volumes). Default 2 when ``size`` is
            not given.
        size : int or tuple of int, optional
            Thunder's window width, one per image axis or one for all. An even
            width is ``scipy.ndimage.uniform_filter``'s window, one more pixel
            before the pixel than after it.

        Returns
        -------
        ndarray
            Pearson correlation, float64, of ``value_shape`` (squeezed); NaN
            where a series is constant. Computed in one streaming pass, with the
            neighbourhood mean in float64 (Thunder truncated it to the dtype of
            integer images).

        Raises
        ------
        TypeError
            Both ``neighborhood`` and ``size`` given, or a non-integer width.
        ValueError
            A negative or fractional ``neighborhood``, a width below 1, or a
            ``size`` tuple of another length than the image axes.
        """
        acc = self.frames.aggregate(self._localcorr_accumulator(neighborhood, size))
        return np.asarray(acc.finalize()).squeeze()

    # ------------------------------------------------------------------
    # streaming (progress, partial results, cancel): for the GUI and CLI
    # ------------------------------------------------------------------
    def iter_chunks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Compute the images chunk by chunk.

        Yields
        ------
        start, stop : int
            Frame range of the chunk.
        block : ndarray
            Images ``start:stop``.

        Closing the generator stops the remaining work.
        """
        return self.frames.iter_chunks(_identity)

    def stream_statistic(self, name: str) -> Iterator[tuple[int, int, np.ndarray]]:
        """Running estimate of a statistic, refined chunk by chunk.

        Parameters
        ----------
        name : {'mean', 'var', 'std', 'sum', 'max', 'min'}
            The statistic.

        Yields
        ------
        done, total : int
            Images folded in so far, out of ``total``.
        estimate : ndarray
            The statistic of those images, of ``value_shape``; the last one is
            exactly ``getattr(imgs, name)().first()``.

        Raises
        ------
        ValueError
            An unknown ``name``.
        """
        if name not in STATISTICS:
            raise ValueError(f"name must be one of {', '.join(STATISTICS)}; got {name!r}")
        acc = MomentAccumulator(self.value_shape, self.dtype, stats=(name,))
        yield from running_estimates(self.frames, acc, name)

    def stream_localcorr(self, neighborhood=None, size=None) -> Iterator[tuple[int, int, np.ndarray]]:
        """Running estimate of :meth:`localcorr`, refined chunk by chunk.

        Parameters
        ----------
        neighborhood : int, optional
            Half-width of the neighbourhood box, as in :meth:`localcorr`
            (default 2).
        size : int or tuple of int, optional
            Or the window width, as in :meth:`localcorr`.

        Yields
        ------
        done, total : int
            Images folded in so far, out of ``total``.
        estimate : ndarray
            The correlation map of those images; the last one equals
            ``localcorr(neighborhood, size)``.

        Raises
        ------
        ValueError
            As :meth:`localcorr`.
        TypeError
            As :meth:`localcorr`.
        """
        acc = self._localcorr_accumulator(neighborhood, size)
        yield from running_estimates(self.frames, acc)

    def cancel_streams(self) -> int:
        """Cancel at once, from any thread, the engine work of every running
        stream of these images (``iter_chunks``, ``stream_statistic``,
        ``stream_localcorr``); the streams then end.

        On the local engine streams stop between chunks when closed, and this
        does nothing; on Spark the running jobs are cancelled.

        Returns
        -------
        int
            The number of streams cancelled.
        """
        return self.frames.cancel_streams()


def _identity(block, start):
    return block
