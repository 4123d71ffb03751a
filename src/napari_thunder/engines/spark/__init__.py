"""The Spark engine: frames in an RDD of ``((i,), frame)`` records.

Data model
----------
* One record per frame: ``((i,), ndarray)`` with ``ndarray.shape == value_shape``.
* Keys are exactly ``0 .. n-1`` and the RDD is *ordered*: partition ``p`` holds
  the consecutive frames ``bounds[p] .. bounds[p+1]-1`` in increasing key order.
  ``shape``, ``dtype`` and (when known) ``bounds`` live on the driver, so no job
  is needed to describe the frames.
* Pixels never travel through the driver while loading: ``from_source`` hands
  each partition a frame range and the executors call ``source.read``.

Modules, one job each
---------------------
``context``
    Resolving, creating (:func:`get_or_create_context`, the one place that
    builds a SparkContext) and stopping (:func:`stop_context`) the context.
``frames``
    :class:`SparkFrames`, the engine's ``Frames``.
``records``
    Executor-side record functions: stacking consecutive records into blocks
    of at most ``settings.BLOCK_BYTES`` (without a copy when they came from one
    block upstream), reading, mapping, re-keying; the range partitioners.
``streams``
    ``iter_chunks``: one Spark job per partition (a few at a time, in one job
    group), results yielded in frame order (with a local master block by
    block while the jobs run), cancellable.
``results``
    Results to the driver: 4 MiB pieces, or temporary ``.npy``/pickle files
    with a ``local[...]`` master (much faster than through the JVM; a
    streamed block's file as soon as the block is computed).
``merge``
    ``aggregate``: fold each partition into an accumulator, merge the partials
    in frame order (a tree for many partitions).
``tiles``
    The tile shuffle and :class:`SparkBlockStore`.
``errors``
    A Python exception raised in a task is re-raised on the driver with its
    original type and message (not as a ``Py4JJavaError``), with the remote
    traceback attached as a note.
``settings``
    The sizes that tune all of the above.

pyspark is imported lazily: importing this package does not start Java.
"""

from __future__ import annotations

from napari_thunder.engines.spark.context import get_or_create_context, resolve_context, stop_context
from napari_thunder.engines.spark.errors import SparkTaskError
from napari_thunder.engines.spark.frames import SparkFrames
from napari_thunder.engines.spark.tiles import SparkBlockStore

__all__ = [
    "SparkBlockStore",
    "SparkFrames",
    "SparkTaskError",
    "get_or_create_context",
    "resolve_context",
    "stop_context",
]
