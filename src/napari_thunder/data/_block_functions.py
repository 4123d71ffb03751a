"""The picklable block functions of the ``Images`` methods.

``Frames.map`` runs a ``func(block, start)`` on every block of images, in
threads or on Spark executors, so the function must pickle: these wrap a kernel
of :mod:`napari_thunder.kernels` and its keyword arguments as such a function.
"""

from __future__ import annotations


class BlockOp:
    """``kernel(block, **kwargs)`` as a ``func(block, start)``."""

    def __init__(self, kernel, **kwargs):
        self.kernel = kernel
        self.kwargs = kwargs

    def __call__(self, block, start):
        return self.kernel(block, **self.kwargs)


class WithStart(BlockOp):
    """``kernel(block, start, **kwargs)`` as a ``func(block, start)``."""

    def __call__(self, block, start):
        return self.kernel(block, start, **self.kwargs)


class TransposeImages:
    """Each image of a block with its axes in ``order`` (image axes, 0 =
    the first image axis), as a C-contiguous block."""

    def __init__(self, order):
        self.order = tuple(order)

    def __call__(self, block, start):
        import numpy as np

        return np.ascontiguousarray(np.transpose(block, (0,) + tuple(k + 1 for k in self.order)))
