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

