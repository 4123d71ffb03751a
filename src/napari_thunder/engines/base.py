"""The engine contract: where the frames of an ``Images`` live.

An engine holds a sequence of ``n`` frames (images or volumes) of one
``value_shape`` and one ``dtype``. ``Images`` (``napari_thunder.data.images``)
is written once over this small contract; the local engine keeps frames in a
lazy dask array chunked along the image axis, the Spark engine in an RDD of
``((i,), frame)`` records.

Functions handed to an engine work on *blocks*: ndarrays of consecutive frames
with shape ``(k,) + value_shape``, together with ``start``, the index of the
block's first frame. They run wherever the frames are (threads locally, Spark
executors remotely), so they must be picklable and must not import napari.

Accumulators (``napari_thunder.kernels.moments``) follow a tiny protocol, used
by :meth:`Frames.aggregate` and :meth:`Frames.stream_aggregate`:

``acc.add(block, start) -> acc``
    fold a block in (may return ``acc`` itself, updated in place).
``acc.merge(other) -> acc``
    combine two partial accumulators (Chan's formulas for moments).
``acc.empty() -> acc``
    a fresh, empty accumulator with the same parameters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

BlockFunc = Callable[[np.ndarray, int], Any]


class Frames(ABC):
    """A sequence of equally shaped frames held by one engine.

    Subclasses implement the primitives below; everything else in the package
    is a composition of them.
    """

    #: ``'local'`` or ``'spark'``
    mode: str = ""

    # -- description -------------------------------------------------------
    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]:
        """``(n,) + value_shape``."""

    @property
    @abstractmethod
    def dtype(self) -> np.dtype:
        """Data type of every frame."""

    @property
    def value_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[1:])

    def npartitions(self) -> int | None:
        """Number of Spark partitions; ``None`` for the local engine."""
        return None

    @property
    @abstractmethod
    def nchunks(self) -> int:
        """Number of chunks (local) or partitions (Spark) streamed by
        :meth:`iter_chunks`."""

    # -- lazy transformations ----------------------------------------------
    @abstractmethod
    def map(self, func: BlockFunc, value_shape, dtype) -> Frames:
        """Lazily apply ``func(block, start) -> out_block`` to every block.

        ``out_block`` must have ``len(block)`` frames of ``value_shape`` and
        ``dtype``.
        """

    @abstractmethod
    def take(self, indices) -> Frames:
        """The frames at ``indices`` (a sequence of ints in ``[0, n)``, any
        order, repeats allowed), lazily."""

    @abstractmethod
    def filter(self, predicate: Callable[[np.ndarray], bool]) -> Frames:
        """Frames for which ``predicate(frame)`` is truthy, order kept."""

    # -- actions -------------------------------------------------------------
    def count(self) -> int:
        return int(self.shape[0])

    @abstractmethod
    def first(self) -> np.ndarray:
        """Frame 0 as an ndarray of ``value_shape``."""

    @abstractmethod
    def collect(self) -> np.ndarray:
        """All frames as one ndarray of ``shape`` (in index order)."""

    def display_array(self):
        """The frames as an array a viewer can browse frame by frame.

        An engine that can read single frames lazily returns a lazy array
        (napari then reads only the frames it shows); the default collects
        the frames into an ndarray.

        Returns
        -------
        array-like
            ``shape`` and ``dtype`` of the frames, indexable along axis 0.
        """
        return self.collect()

    @abstractmethod
    def iter_chunks(self, func: BlockFunc) -> Iterator[tuple[int, int, Any]]:
        """Run ``func(block, start)`` on every chunk; yield
        ``(start, stop, result)`` on the driver, in frame order, as chunks
        finish.

        This is the streaming primitive: callers show progress, partial results
        and may stop early by closing the generator (``gen.close()``), which
        cancels the work not yet done.
        """

    def aggregate(self, acc):
        """Fold every chunk into a copy of the empty accumulator ``acc`` and
        merge the partials. Engines may override with a tree reduction."""
        total = acc.empty()
        for _, _, part in self.iter_chunks(_AddTo(acc)):
            total = total.merge(part)
        return total

    def stream_aggregate(self, acc) -> Iterator[tuple[int, int, Any]]:
        """Like :meth:`aggregate` but yields ``(done, total, running_acc)``
        after every chunk, ``done`` being the number of frames folded in."""
        total = acc.empty()
        done = 0
        n = self.count()
        for start, stop, part in self.iter_chunks(_AddTo(acc)):
            total = total.merge(part)
            done += stop - start
            yield done, n, total

    def cancel_streams(self) -> int:
        """Cancel, from any thread, the work of every running
        :meth:`iter_chunks` stream of these frames; those generators end.

        The default does nothing: local streams stop between chunks when the
        generator is closed. Remote engines cancel their jobs at once.

        Returns
        -------
        int
            The number of streams cancelled.
        """
        return 0

    def foreach_block(self, func: BlockFunc) -> None:
        """Run ``func(block, start)`` for its side effects on every chunk."""
        for _ in self.iter_chunks(func):
            pass

    # -- engine changes --------------------------------------------------------
    @abstractmethod
    def with_array(self, array: np.ndarray) -> Frames:
        """New frames of the same engine (and context) holding ``array``."""

    @abstractmethod
    def to_blocks(self, tile_shape: tuple[int, ...]) -> BlockStore:
        """Re-lay the frames as spatial tiles holding all ``n`` frames each:
        tile ``t`` is an ndarray ``(n,) + tile_shape`` (smaller at the edges),
        without collecting the stack on the driver."""


class BlockStore(ABC):
    """Spatial tiles of a frame sequence, each holding every frame of its tile.

    Backs ``Blocks`` and ``Series`` (pixel-wise views). A tile is an ndarray of
    shape ``(n,) + tile`` where ``tile`` is ``tile_shape`` clipped at the edges.
    """

    mode: str = ""

    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]:
        """``(n,) + value_shape`` of the whole stack."""

    @property
    @abstractmethod
    def dtype(self) -> np.dtype: ...

    @property
    @abstractmethod
    def tile_shape(self) -> tuple[int, ...]:
        """Nominal tile shape (spatial axes only)."""

    @abstractmethod
    def count(self) -> int:
        """Number of tiles."""

    @abstractmethod
    def map(self, func: Callable[[np.ndarray], np.ndarray], length: int, dtype) -> BlockStore:
        """Lazily apply ``func(tile) -> tile'`` where ``tile'`` has ``length``
        entries on axis 0 and the same spatial shape; ``dtype`` of the result."""

    @abstractmethod
    def collect(self) -> np.ndarray:
        """The whole stack ``(n,) + value_shape``."""

    @abstractmethod
    def collect_blocks(self) -> list[np.ndarray]:
        """Every tile, in C order of the tile grid."""

    @abstractmethod
    def to_frames(self) -> Frames:
        """Back to frames of the same engine (no driver collect in Spark)."""


class _AddTo:
    """Picklable ``func(block, start)`` folding a block into a fresh accumulator."""

    def __init__(self, acc):
        self.acc = acc

    def __call__(self, block, start):
        return self.acc.empty().add(block, start)
