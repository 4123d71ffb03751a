"""Statistics on Spark: fold each partition into an accumulator on the
executors, then merge the partials in frame order.

An accumulator has ``empty()``, ``add(block, start)`` and ``merge(other)``
(``napari_thunder.kernels``). With at most ``fan_in`` partitions the partials
come straight to the driver (through files with a local master); with more,
they are first merged on the executors in ordered groups of ``fan_in`` (a
tree), so that a non-commutative merge still sees the frames in order.
"""

from __future__ import annotations

from napari_thunder.engines.spark import settings
from napari_thunder.engines.spark.errors import _Guard, _spark_call
from napari_thunder.engines.spark.records import _identity_partition, _iter_blocks
from napari_thunder.engines.spark.results import _deliver, _FileResult, _result_dir


def aggregate(rdd, acc, fan_in: int = 16):
    """The accumulator of all frames of the ordered ``rdd``.

    Parameters
    ----------
    rdd : pyspark.RDD
        Ordered frame records ``((i,), frame)``.
    acc : accumulator
        The empty accumulator's template: ``acc.empty()`` starts each partition.
    fan_in : int
        Partials merged per step of the tree (at least 2).

    Returns
    -------
    accumulator
        ``acc.empty()`` when no partition holds a frame.
    """
    fan_in = max(2, int(fan_in))
    level = rdd.getNumPartitions()
    # partials come straight to the driver: through files with local masters
    with _result_dir(rdd.context, wanted=level <= fan_in) as result_dir:
        partials = rdd.mapPartitionsWithIndex(
            _Guard(_FoldPartitionIndexed(acc, settings.BLOCK_BYTES, fan_in, result_dir,
                                         settings.FILE_RESULT_BYTES))
        )
        while level > fan_in:
            level = -(-level // fan_in)
            partials = partials.partitionBy(level, _identity_partition).mapPartitions(
                _Guard(_MergeGroup(fan_in)), preservesPartitioning=True
            )
        ordered = [pair for _, pair in _spark_call(partials.collect)]
        ordered.sort(key=lambda pair: pair[0])
        total = None
        for _, part in ordered:
            if isinstance(part, _FileResult):
                part = part.load()
            total = part if total is None else total.merge(part)
    return acc.empty() if total is None else total


class _FoldPartition:
    """Partition function folding every block of the partition into one
    accumulator (nothing for an empty partition)."""

    def __init__(self, acc, block_bytes: int):
        self.acc = acc
        self.block_bytes = block_bytes

    def __call__(self, records):
        total = None
        for start, block in _iter_blocks(records, self.block_bytes):
            if total is None:
                total = self.acc.empty()
            total = total.add(block, start)
        if total is not None:
            yield total


class _FoldPartitionIndexed(_FoldPartition):
    """Like :class:`_FoldPartition`, yielding ``(group, (partition, acc))``
    for the ordered merge tree."""

    def __init__(self, acc, block_bytes: int, fan_in: int, result_dir=None, file_bytes=None):
        super().__init__(acc, block_bytes)
        self.fan_in = fan_in
        self.result_dir = result_dir
        self.file_bytes = file_bytes

    def __call__(self, index, records):
        for total in super().__call__(records):
            if self.result_dir is not None:
                (total,) = _deliver(total, self.result_dir, self.file_bytes, 2**62)
            yield index // self.fan_in, (index, total)


class _MergeGroup:
    """Merge tree level: partials ``(key, (order, acc))`` of one partition are
    merged in ``order``; emits ``(order // fan_in, (order, merged))``."""

    def __init__(self, fan_in: int):
        self.fan_in = fan_in

    def __call__(self, records):
        parts = sorted((pair for _, pair in records), key=lambda pair: pair[0])
        if not parts:
            return
        order, total = parts[0]
        for _, part in parts[1:]:
            total = total.merge(part)
        group = order // self.fan_in
        yield group // self.fan_in, (group, total)

