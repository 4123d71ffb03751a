"""``Series`` and ``TimeSeries``: one 1-D series per pixel, time last."""

from __future__ import annotations

import numpy as np


class Series:
    """Pixel series of an image stack: shape ``value_shape + (n,)``.

    Made by ``Images.toseries``; ``toimages()`` goes back. Backed by the same
    spatial tiles as ``Blocks`` (each tile holds every image), so the stack is
    never collected on one machine in Spark mode.
    """

    def __init__(self, store):
        self.store = store

    @property
    def shape(self) -> tuple[int, ...]:
        """``value_shape + (n,)``."""
        stack = tuple(self.store.shape)
        return stack[1:] + stack[:1]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.store.dtype)

    @property
    def mode(self) -> str:
        return self.store.mode

    @property
    def index(self) -> np.ndarray:
        """The series index, ``arange(n)``."""
        return np.arange(self.store.shape[0])

    def toarray(self) -> np.ndarray:
        """All series as one ndarray ``value_shape + (n,)``, squeezed."""
        stack = self.store.collect()
        return np.moveaxis(stack, 0, -1).squeeze()

    def map(self, func, value_size=None, dtype=None) -> Series:
        """Apply ``func(series) -> series`` to every pixel's series.

        ``value_size`` (the new series length) and ``dtype`` are found by
        running ``func`` on a zero series when not given.
        """
        n = self.store.shape[0]
        if value_size is None or dtype is None:
            probe = np.atleast_1d(np.asarray(func(np.zeros(n, self.dtype))))
            value_size = probe.shape[0] if value_size is None else value_size
            dtype = probe.dtype if dtype is None else dtype
        from napari_thunder.data.images import _AlongSeries

        op = _AlongSeries(func, int(value_size), dtype)
        return type(self)(self.store.map(op, int(value_size), np.dtype(dtype)))

    def toimages(self):
        """Back to ``Images`` (``n`` images of ``value_shape``)."""
        from napari_thunder.data.images import Images

        return Images(self.store.to_frames())

    def totimeseries(self) -> TimeSeries:
        return TimeSeries(self.store)

    def __repr__(self) -> str:
        return f"{type(self).__name__}\nmode: {self.mode}\ndtype: {self.dtype}\nshape: {self.shape}"


class TimeSeries(Series):
    """``Series`` whose index is time (``Images.totimeseries``)."""
