"""Sizes that tune the Spark engine.

The other modules read these as ``settings.NAME`` each time they need them, so
assigning a new value here (``napari_thunder.engines.spark.settings.BLOCK_BYTES
= ...``) takes effect for the next operation.
"""

from __future__ import annotations

#: ``from_array`` keeps a driver-side copy of arrays up to this size
DRIVER_COPY_BYTES = 16 * 2**20

#: Upper bound (bytes) of the blocks of consecutive frames handed to block
#: functions inside a partition (at least one frame per block). Inside
#: ``napari_thunder.engines.progress.min_chunks`` (GUI jobs) streams, maps and
#: reads use smaller blocks, about ``total / count`` (``streams.block_bytes``).
BLOCK_BYTES = 64 * 2**20

#: ndarray results of a partition larger than this travel in pieces (Spark
#: moves many moderate byte arrays much faster than one huge one)
RESULT_PIECE_BYTES = 4 * 2**20

#: With a ``local[...]`` master (executors on the driver's machine), ndarray
#: results larger than this are handed over through a temporary ``.npy`` file
#: instead of the JVM (several times faster for big blocks); streamed blocks
#: (``iter_chunks``) go through files whatever their size, so the driver gets
#: each one while its partition's job still runs. Set to None to always go
#: through Spark (streams then move one partition at a time).
FILE_RESULT_BYTES: int | None = 1 * 2**20
