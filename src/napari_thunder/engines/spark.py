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

Work on blocks: maps, folds and streams stack consecutive records of a
partition into blocks of at most ``BLOCK_BYTES`` (without a copy when they came
from one block upstream) and split results back into records.

Streaming: :meth:`SparkFrames.iter_chunks` runs one Spark job per partition (a
few at a time, in one job group) and yields results in frame order; closing the
generator or :meth:`SparkFrames.cancel_streams` cancels the jobs. Big ndarray
results travel in 4 MiB pieces, or, with a ``local[...]`` master, through
temporary ``.npy`` files (much faster than through the JVM).

Statistics (:meth:`SparkFrames.aggregate`) fold each partition into an
accumulator on the executors and merge the partials in frame order.

Functions shipped to executors are wrapped so that a Python exception raised in
a task is re-raised on the driver with its original type and message (not as a
``Py4JJavaError``), with the remote traceback attached as a note.

pyspark is imported lazily: importing this module does not start Java.
"""

from __future__ import annotations

import base64
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from napari_thunder.engines.base import BlockStore, Frames

#: ``from_array`` keeps a driver-side copy of arrays up to this size
DRIVER_COPY_BYTES = 16 * 2**20

#: Upper bound (bytes) of the blocks of consecutive frames handed to block
#: functions inside a partition (at least one frame per block).
BLOCK_BYTES = 64 * 2**20

_STREAMS_LOCK = threading.Lock()

_MASTER_PREFIXES = ("local", "spark://", "yarn", "k8s://", "mesos://")


# =============================================================================
# context
# =============================================================================
def resolve_context(engine):
    """The SparkContext for ``engine``.

    Parameters
    ----------
    engine : SparkContext or str
        A SparkContext is returned as is. A master URL (``'local'``,
        ``'local[4]'``, ``'spark://host:7077'``, ``'yarn'``, ``'k8s://...'``)
        reuses the active SparkContext if it has that master, else creates one
        with the driver bound to 127.0.0.1 (unless ``spark.driver.host`` /
        ``SPARK_LOCAL_IP`` are configured) and the executors' Python set to
        this interpreter (unless ``PYSPARK_PYTHON`` is set).

    Returns
    -------
    pyspark.SparkContext

    Raises
    ------
    ValueError
        ``engine`` is not a SparkContext nor a master URL, or another
        SparkContext with a different master is already running.
    """
    import pyspark

    if isinstance(engine, pyspark.SparkContext):
        return engine
    if not isinstance(engine, str) or not engine.strip().startswith(_MASTER_PREFIXES):
        raise ValueError(
            "engine must be None, a SparkContext or a Spark master URL "
            f"('local[4]', 'spark://host:7077', ...), got {engine!r}"
        )
    master = engine.strip()
    active = pyspark.SparkContext._active_spark_context
    if active is not None:
        if active.master == master:
            return active
        raise ValueError(
            f"engine={master!r}: a SparkContext with master {active.master!r} is already "
            "running (one per process); pass it as engine or stop it first"
        )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = pyspark.SparkConf().setMaster(master)
    if not conf.contains("spark.app.name"):
        conf.setAppName("napari-thunder")
    if not conf.contains("spark.driver.host") and "SPARK_LOCAL_IP" not in os.environ:
        conf.set("spark.driver.host", "127.0.0.1")
        conf.set("spark.driver.bindAddress", "127.0.0.1")
    return pyspark.SparkContext.getOrCreate(conf)


def _npartitions(sc, npartitions, n: int) -> int:
    """Validated partition count: default parallelism, never more than ``n``
    (but at least 1)."""
    if npartitions is None:
        npartitions = sc.defaultParallelism
    if isinstance(npartitions, bool) or not isinstance(npartitions, (int, np.integer)) or npartitions < 1:
        raise ValueError(f"npartitions must be a positive integer, got {npartitions!r}")
    return int(max(1, min(int(npartitions), n)))


def _even_bounds(n: int, parts: int) -> list[int]:
    """Starts of ``parts`` contiguous, nearly equal ranges of ``0..n`` (+ end)."""
    return [i * n // parts for i in range(parts + 1)]


# =============================================================================
# errors raised inside tasks
# =============================================================================
_EXC_MARK = "NAPARI_THUNDER_EXC:"
_EXC_END = ":END_NAPARI_THUNDER_EXC"
_EXC_RE = re.compile(re.escape(_EXC_MARK) + r"([A-Za-z0-9+/=]+)" + re.escape(_EXC_END))


class SparkTaskError(RuntimeError):
    """A task failed with an exception that could not be rebuilt on the driver."""


class _TaskFailure(Exception):
    """Carries a pickled exception from an executor to the driver (as text)."""


def _encode_exception(exc: BaseException) -> str:
    try:
        payload = pickle.dumps(exc)
        pickle.loads(payload)  # must round-trip on the driver too
    except Exception:
        payload = pickle.dumps(SparkTaskError(f"{type(exc).__name__}: {exc}"))
    return _EXC_MARK + base64.b64encode(payload).decode("ascii") + _EXC_END


class _Guard:
    """Wrap a partition function (``f(*args) -> iterable``) so that an
    exception raised while iterating reaches the driver intact."""

    def __init__(self, func):
        self.func = func

    def __call__(self, *args):
        try:
            yield from self.func(*args)
        except _TaskFailure:
            raise
        except Exception as exc:
            raise _TaskFailure(f"{type(exc).__name__}: {exc} " + _encode_exception(exc)) from exc


def _remote_traceback(text: str) -> str:
    start = text.rfind("Traceback (most recent call last)")
    if start < 0:
        return ""
    end = text.find(_EXC_MARK, start)
    lines = text[start:end if end > 0 else None].strip().splitlines()
    # the head is pyspark's worker machinery; keep the frames that matter
    return "\n".join(lines[:1] + ["  ..."] + lines[-16:]) if len(lines) > 18 else "\n".join(lines)


def _task_exception(err: BaseException):
    """The original exception carried by a Spark job failure, or None."""
    if isinstance(err, _TaskFailure):
        text = str(err)
    else:
        module = type(err).__module__ or ""
        if not (module.startswith("py4j") or module.startswith("pyspark")):
            return None
        try:
            text = str(err)
        except Exception:  # the JVM may be gone
            return None
    matches = _EXC_RE.findall(text)
    if not matches:
        return None
    try:
        original = pickle.loads(base64.b64decode(matches[-1]))
    except Exception:
        return None
    if not isinstance(original, BaseException):
        return None
    remote = _remote_traceback(text)
    if remote and hasattr(original, "add_note"):
        original.add_note("raised inside a Spark task; remote traceback:\n" + remote)
    return original


def _spark_call(thunk: Callable[[], Any]):
    """Run ``thunk`` (which triggers Spark jobs), re-raising task errors with
    their original Python type."""
    try:
        return thunk()
    except Exception as err:
        original = _task_exception(err)
        if original is None:
            raise
        raise original from None


# =============================================================================
# executor-side helpers (module level: picklable by reference)
# =============================================================================
def _as_key(key) -> tuple:
    """Promote an int key to ``(k,)``; keep 1-tuples."""
    if isinstance(key, (tuple, list)):
        if len(key) != 1:
            raise ValueError(f"Images records need 1-tuple keys (i,), got {key!r}")
        return (int(key[0]),)
    return (int(key),)


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def _stack(frames: list) -> np.ndarray:
    """``np.stack(frames)``, without copying when the frames lie back to back
    in one C-contiguous buffer (records split from a block upstream in the
    same task: a source read, a map's output)."""
    first = frames[0]
    base = first.base
    if (
        isinstance(base, np.ndarray)
        and base.flags.c_contiguous
        and first.flags.c_contiguous
        and first.nbytes > 0
    ):
        step = first.nbytes
        offset = _address(first) - _address(base)
        if 0 <= offset and offset + step * len(frames) <= base.nbytes and all(
            frame.base is base
            and frame.dtype == first.dtype
            and frame.shape == first.shape
            and _address(frame) == _address(first) + k * step
            for k, frame in enumerate(frames)
        ):
            return np.ndarray((len(frames),) + first.shape, first.dtype, buffer=base, offset=offset)
    return np.stack(frames)


def _iter_blocks(records: Iterable, block_bytes: int) -> Iterator[tuple[int, np.ndarray]]:
    """Group ordered records into ``(start, block)`` of consecutive frames, each
    block at most ``block_bytes`` (but at least one frame)."""
    frames: list = []
    start = expected = None
    size = 0
    for key, value in records:
        i = key[0]
        if frames and (i != expected or size + value.nbytes > block_bytes):
            yield start, _stack(frames)
            frames, size = [], 0
        if not frames:
            start = i
        frames.append(value)
        size += value.nbytes
        expected = i + 1
    if frames:
        yield start, _stack(frames)


def _split_records(start: int, block: np.ndarray):
    for k in range(block.shape[0]):
        yield (start + k,), block[k]


class _ReadRanges:
    """Partition function: read frame ranges ``(start, stop)`` from a source, in
    sub-ranges of at most ``block_bytes``."""

    def __init__(self, source, block_bytes: int):
        self.source = source
        self.block_bytes = block_bytes

    def __call__(self, ranges):
        source = self.source
        step = max(1, self.block_bytes // max(1, source.frame_bytes()))
        expected = tuple(source.value_shape)
        for start, stop in ranges:
            for lo in range(start, stop, step):
                hi = min(stop, lo + step)
                block = np.asarray(source.read(lo, hi))
                if block.shape != (hi - lo,) + expected:
                    raise ValueError(
                        f"{type(source).__name__}.read({lo}, {hi}) returned shape {block.shape}, "
                        f"expected {(hi - lo,) + expected}"
                    )
                if block.dtype != source.dtype:
                    block = block.astype(source.dtype)
                yield from _split_records(lo, block)


def _explode_pieces(pieces):
    for start, block in pieces:
        yield from _split_records(start, block)


class _MapBlocks:
    """Partition function applying ``func(block, start)`` block-wise."""

    def __init__(self, func, value_shape, dtype, block_bytes: int):
        self.func = func
        self.value_shape = tuple(value_shape)
        self.dtype = np.dtype(dtype)
        self.block_bytes = block_bytes

    def __call__(self, records):
        for start, block in _iter_blocks(records, self.block_bytes):
            out = np.asarray(self.func(block, start))
            expected = (block.shape[0],) + self.value_shape
            if out.shape != expected:
                raise ValueError(
                    f"map function returned a block of shape {out.shape} for frames "
                    f"{start}..{start + block.shape[0] - 1}, expected {expected}"
                )
            if out.dtype != self.dtype:
                out = out.astype(self.dtype)
            yield from _split_records(start, out)


#: ndarray results of a partition larger than this travel in pieces (Spark
#: moves many moderate byte arrays much faster than one huge one)
RESULT_PIECE_BYTES = 4 * 2**20


#: With a ``local[...]`` master (executors on the driver's machine), ndarray
#: results larger than this are handed over through a temporary ``.npy`` file
#: instead of the JVM (several times faster for big blocks). Set to None to
#: always go through Spark.
FILE_RESULT_BYTES: int | None = 1 * 2**20


class _FileResult:
    """A result left by a task in a temporary file: ``.npy`` for an ndarray,
    a pickle (protocol 5) for anything else (e.g. an accumulator)."""

    def __init__(self, path, kind="npy"):
        self.path = path
        self.kind = kind

    def load(self):
        try:
            if self.kind == "npy":
                return np.load(self.path, allow_pickle=False)
            with open(self.path, "rb") as handle:
                return pickle.load(handle)
        finally:
            try:
                os.remove(self.path)
            except OSError:
                pass


class _Pieces:
    """Header of an ndarray result sent as ``count`` flat pieces."""

    def __init__(self, shape, dtype, count):
        self.shape = shape
        self.dtype = dtype
        self.count = count


def _split_result(result, piece_bytes: int):
    """``[result]``, or ``[_Pieces, piece, ...]`` for an ndarray larger than
    ``piece_bytes``."""
    if not isinstance(result, np.ndarray) or result.nbytes <= piece_bytes or result.dtype.hasobject:
        return [result]
    flat = np.ascontiguousarray(result).reshape(-1)
    per = max(1, piece_bytes // max(1, result.itemsize))
    pieces = [flat[i:i + per] for i in range(0, flat.size, per)]
    return [_Pieces(result.shape, result.dtype, len(pieces))] + pieces


def _dumps(obj) -> bytes:
    """Pickle ``obj`` as Spark would (cloudpickle: lambdas inside accumulators
    are fine), protocol 5."""
    try:
        from pyspark import cloudpickle
    except ImportError:  # pragma: no cover - pyspark always ships it
        return pickle.dumps(obj, protocol=5)
    return cloudpickle.dumps(obj, protocol=5)


def _deliver(result, result_dir, file_bytes, piece_bytes) -> list:
    """The items that carry ``result`` to the driver: a temporary file when
    ``result_dir`` is set (local masters) and the result is big, else the
    result itself (big ndarrays in pieces)."""
    if result_dir is not None:
        name = os.path.join(result_dir, uuid.uuid4().hex)
        if isinstance(result, np.ndarray):
            if result.nbytes > file_bytes and not result.dtype.hasobject:
                np.save(name + ".npy", result, allow_pickle=False)
                return [_FileResult(name + ".npy")]
        else:
            payload = _dumps(result)
            if len(payload) > file_bytes:
                with open(name + ".pickle", "wb") as handle:
                    handle.write(payload)
                return [_FileResult(name + ".pickle", "pickle")]
    return _split_result(result, piece_bytes)


def _join_result(items: list):
    """Inverse of :func:`_split_result`."""
    head = items[0]
    if isinstance(head, _FileResult):
        return head.load()
    if not isinstance(head, _Pieces):
        return head
    if len(items) != head.count + 1:
        raise RuntimeError(f"result arrived in {len(items) - 1} pieces, expected {head.count}")
    out = np.empty(head.shape, head.dtype)
    flat = out.reshape(-1)
    position = 0
    for piece in items[1:]:
        flat[position:position + piece.size] = piece
        position += piece.size
    return out


class _ChunkHeader:
    """Marks the start of one chunk's result in a partition's output."""

    def __init__(self, start: int, count: int):
        self.start = start
        self.count = count


class _ApplyToPartition:
    """runJob function: ``func(block, start)`` on every block (at most
    ``block_bytes``) of the partition; yields, per block, a
    :class:`_ChunkHeader` then the result (a file, pieces or the value)."""

    def __init__(self, func, block_bytes: int, piece_bytes: int, result_dir=None, file_bytes=None):
        self.func = func
        self.block_bytes = block_bytes
        self.piece_bytes = piece_bytes
        self.result_dir = result_dir
        self.file_bytes = file_bytes

    def __call__(self, records):
        for start, block in _iter_blocks(records, self.block_bytes):
            count = block.shape[0]
            result = self.func(block, start)
            del block
            yield _ChunkHeader(start, count)
            yield from _deliver(result, self.result_dir, self.file_bytes, self.piece_bytes)
            del result


def _parse_chunks(items: list) -> list:
    """``[(start, stop, value), ...]`` from an :class:`_ApplyToPartition` output."""
    chunks = []
    k = 0
    while k < len(items):
        header = items[k]
        if not isinstance(header, _ChunkHeader):
            raise RuntimeError("malformed partition result (no chunk header)")
        head = items[k + 1]
        size = 1 + (head.count if isinstance(head, _Pieces) else 0)
        chunks.append((header.start, header.start + header.count, _join_result(items[k + 1:k + 1 + size])))
        k += 1 + size
    return chunks


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


class _Layout:
    """Partition function describing a partition: ``(count, first, last,
    consecutive, {(shape, dtype)})``."""

    def __call__(self, records):
        count = 0
        first = last = None
        consecutive = True
        kinds = set()
        for key, value in records:
            i = key[0]
            if first is None:
                first = i
            elif i != last + 1:
                consecutive = False
            last = i
            count += 1
            kinds.add((tuple(value.shape), value.dtype.str))
        yield count, first, last, consecutive, kinds


class _ExpandItems:
    """Partition function: ``func(item)`` -> iterable of ``(key, frame)``."""

    def __init__(self, func):
        self.func = func

    def __call__(self, items):
        for item in items:
            for key, value in self.func(item):
                yield _as_key(key), np.asarray(value)


def _promote_records(records):
    for key, value in records:
        yield _as_key(key), np.asarray(value)


class _Rekey:
    """mapPartitionsWithIndex function: number records from ``offsets[p]``."""

    def __init__(self, offsets):
        self.offsets = list(offsets)

    def __call__(self, index, records):
        i = self.offsets[index]
        for _, value in records:
            yield (i,), value
            i += 1


class _KeepSorted:
    """Keep the records whose key is in the sorted array ``keep``; new key =
    position in ``keep``."""

    def __init__(self, keep: np.ndarray):
        self.keep = keep

    def __call__(self, records):
        keep = self.keep
        m = len(keep)
        for key, value in records:
            pos = int(np.searchsorted(keep, key[0]))
            if pos < m and keep[pos] == key[0]:
                yield (pos,), value


class _Scatter:
    """Emit every record once per output position that selects it."""

    def __init__(self, indices: np.ndarray):
        order = np.argsort(indices, kind="stable")
        self.sorted_values = indices[order]
        self.order = order

    def __call__(self, records):
        for key, value in records:
            lo = np.searchsorted(self.sorted_values, key[0], side="left")
            hi = np.searchsorted(self.sorted_values, key[0], side="right")
            for pos in self.order[lo:hi]:
                yield (int(pos),), value


class _RangePartition:
    """partitionFunc: the partition whose range ``[bounds[p], bounds[p+1])``
    holds the key (``(i,)`` or ``i``)."""

    def __init__(self, bounds):
        self.starts = np.asarray(bounds[:-1])
        self.nparts = len(bounds) - 1

    def __call__(self, key):
        i = key[0] if isinstance(key, tuple) else key
        p = int(np.searchsorted(self.starts, i, side="right")) - 1
        return min(max(p, 0), self.nparts - 1)


def _identity_partition(key):
    return int(key)


def _sort_partition(records):
    return iter(sorted(records, key=lambda record: record[0]))


class _KeptKeys:
    """Partition function: the keys of records passing ``predicate``."""

    def __init__(self, predicate):
        self.predicate = predicate

    def __call__(self, records):
        yield [key[0] for key, value in records if self.predicate(value)]


# -- tiles ---------------------------------------------------------------------
def _tile_grid(value_shape, tile_shape) -> list[tuple[slice, ...]]:
    """Slices of every tile, C order of the tile grid."""
    ranges = [
        [slice(lo, min(lo + t, d)) for lo in range(0, d, t)] for d, t in zip(value_shape, tile_shape)
    ]
    grid = [()]
    for axis in ranges:
        grid = [prefix + (s,) for prefix in grid for s in axis]
    return grid


class _CutTiles:
    """Partition function: cut blocks of frames into ``(tile, (start, piece))``."""

    def __init__(self, value_shape, tile_shape, block_bytes):
        self.grid = _tile_grid(value_shape, tile_shape)
        self.block_bytes = block_bytes

    def __call__(self, records):
        for start, block in _iter_blocks(records, self.block_bytes):
            for t, slices in enumerate(self.grid):
                yield t, (start, np.ascontiguousarray(block[(slice(None),) + slices]))


class _AssembleTiles:
    """Partition function: pieces ``(tile, (start, piece))`` -> ``(tile, (n,)+tile)``."""

    def __init__(self, n, value_shape, tile_shape, dtype):
        self.n = n
        self.grid = _tile_grid(value_shape, tile_shape)
        self.dtype = np.dtype(dtype)

    def __call__(self, pieces):
        tiles: dict[int, np.ndarray] = {}
        for t, (start, piece) in pieces:
            if t not in tiles:
                shape = (self.n,) + tuple(s.stop - s.start for s in self.grid[t])
                tiles[t] = np.empty(shape, self.dtype)
            tiles[t][start:start + piece.shape[0]] = piece
        for t in sorted(tiles):
            yield t, tiles[t]


class _MapTile:
    def __init__(self, func, length, dtype):
        self.func = func
        self.length = int(length)
        self.dtype = np.dtype(dtype)

    def __call__(self, records):
        for t, tile in records:
            out = np.asarray(self.func(tile))
            expected = (self.length,) + tile.shape[1:]
            if out.shape != expected:
                raise ValueError(f"block function returned shape {out.shape} for tile {t}, expected {expected}")
            if out.dtype != self.dtype:
                out = out.astype(self.dtype)
            yield t, out


class _TilesToRanges:
    """Partition function: tile -> ``(p, (tile, tile[bounds[p]:bounds[p+1]]))``."""

    def __init__(self, bounds):
        self.bounds = list(bounds)

    def __call__(self, records):
        b = self.bounds
        for t, tile in records:
            for p in range(len(b) - 1):
                if b[p + 1] > b[p]:
                    yield p, (t, np.ascontiguousarray(tile[b[p]:b[p + 1]]))


class _RangesToFrames:
    """mapPartitionsWithIndex function: pieces of every tile for frames
    ``bounds[p]..`` -> ordered frame records."""

    def __init__(self, bounds, value_shape, tile_shape, dtype):
        self.bounds = list(bounds)
        self.grid = _tile_grid(value_shape, tile_shape)
        self.value_shape = tuple(value_shape)
        self.dtype = np.dtype(dtype)

    def __call__(self, index, pieces):
        lo, hi = self.bounds[index], self.bounds[index + 1]
        if hi <= lo:
            return
        block = np.empty((hi - lo,) + self.value_shape, self.dtype)
        for _, (t, piece) in pieces:
            block[(slice(None),) + self.grid[t]] = piece
        yield from _split_records(lo, block)


# =============================================================================
# SparkFrames
# =============================================================================
class SparkFrames(Frames):
    """Frames held in an ordered RDD of ``((i,), ndarray)`` records.

    Parameters
    ----------
    rdd : pyspark.RDD
        Records ``((i,), frame)``.
    shape : tuple of int
        ``(n,) + value_shape``.
    dtype : numpy dtype
    bounds : list of int, optional
        ``bounds[p]`` = first frame of partition ``p``, ``bounds[-1] = n``.
        When None (RDDs handed in by users), the layout is checked (and the
        records sorted if needed) by the first operation that needs it.
    """

    mode = "spark"

    def __init__(self, rdd, shape, dtype, bounds=None, driver_copy=None):
        self._rdd = rdd
        self._shape = tuple(int(s) for s in shape)
        self._dtype = np.dtype(dtype)
        self._bounds = None if bounds is None else [int(b) for b in bounds]
        # small stacks built on the driver (statistics results, fromarray)
        # keep a private copy there: collect/first need no job
        self._driver_copy = driver_copy
        # job group -> {"cancelled": bool} of the running iter_chunks streams
        self._streams: dict[str, dict] = {}

    # -- construction --------------------------------------------------------
    @classmethod
    def from_source(cls, source, sc, npartitions=None) -> "SparkFrames":
        """Frames read from ``source`` on the executors.

        Parameters
        ----------
        source : FrameSource
            Picklable; ``source.read(start, stop)`` runs inside the tasks.
        sc : SparkContext
        npartitions : int, optional
            Default ``sc.defaultParallelism``; never more than the frame count.
            Partition ``p`` reads a contiguous frame range.
        """
        n = len(source)
        parts = _npartitions(sc, npartitions, n)
        bounds = _even_bounds(n, parts)
        ranges = [(bounds[p], bounds[p + 1]) for p in range(parts)]
        rdd = sc.parallelize(ranges, parts).mapPartitions(
            _Guard(_ReadRanges(source, BLOCK_BYTES)), preservesPartitioning=True
        )
        return cls(rdd, source.shape, source.dtype, bounds)

    @classmethod
    def from_array(cls, array, sc, npartitions=None) -> "SparkFrames":
        """Frames holding ``array`` (axis 0 = frames; a dask array is computed
        on the driver first), split into ``npartitions`` contiguous slices."""
        if not isinstance(array, np.ndarray):
            array = np.asarray(array)
        n = int(array.shape[0])
        parts = _npartitions(sc, npartitions, n)
        bounds = _even_bounds(n, parts)
        pieces = [(bounds[p], array[bounds[p]:bounds[p + 1]]) for p in range(parts)]
        rdd = sc.parallelize(pieces, parts).mapPartitions(_explode_pieces, preservesPartitioning=True)
        copy = np.array(array, copy=True) if array.nbytes <= DRIVER_COPY_BYTES else None
        return cls(rdd, array.shape, array.dtype, bounds, driver_copy=copy)

    @classmethod
    def from_rdd(cls, rdd, dims=None, nrecords=None, dtype=None) -> "SparkFrames":
        """Frames from a user RDD of ``(key, ndarray)`` (thunder's ``fromrdd``).

        Int keys are promoted to ``(k,)``. When ``dims``, ``dtype`` or
        ``nrecords`` is missing, one job describes the records (count, shapes,
        order); otherwise nothing runs until needed. Records whose keys are not
        ``0..n-1`` in partition order are sorted by key and re-numbered.

        Raises
        ------
        ValueError
            Frames of different shapes/dtypes, or hints that contradict the data.
        """
        promoted = rdd.mapPartitions(_Guard(_promote_records), preservesPartitioning=True)
        if dims is not None and dtype is not None and nrecords is not None:
            shape = (int(nrecords),) + tuple(int(d) for d in np.atleast_1d(dims))
            return cls(promoted, shape, dtype, None)
        frames = cls._described(promoted, recount=False)
        if dims is not None and tuple(int(d) for d in np.atleast_1d(dims)) != frames.value_shape:
            raise ValueError(f"dims={tuple(dims)} does not match the records' shape {frames.value_shape}")
        if nrecords is not None and int(nrecords) != frames.count():
            raise ValueError(f"nrecords={nrecords} does not match the record count {frames.count()}")
        if dtype is not None and np.dtype(dtype) != frames.dtype:
            raise ValueError(f"dtype={np.dtype(dtype)} does not match the records' dtype {frames.dtype}")
        return frames

    @classmethod
    def from_items(cls, sc, items, func, npartitions=None, recount=True) -> "SparkFrames":
        """Frames from ``func(item)`` run on the executors (generic loader).

        Parameters
        ----------
        sc : SparkContext
        items : sequence
            Picklable items (e.g. file paths), distributed in order.
        func : callable
            ``func(item)`` -> iterable of ``(key, ndarray)``.
        npartitions : int, optional
            Default ``sc.defaultParallelism``, at most ``len(items)``.
        recount : bool
            Re-number the records ``(0,), (1,), ...`` in item order then yield
            order. Otherwise the yielded keys are kept (sorted and re-numbered
            if they are not ``0..n-1`` in order).

        Raises
        ------
        ValueError
            No item yields a frame, or frames differ in shape/dtype.
        """
        items = list(items)
        parts = _npartitions(sc, npartitions, len(items))
        rdd = sc.parallelize(items, parts).mapPartitions(_Guard(_ExpandItems(func)))
        return cls._described(rdd, recount=recount)

    @classmethod
    def _described(cls, rdd, recount: bool) -> "SparkFrames":
        """Run the layout job; re-key or sort as needed."""
        layout = _spark_call(lambda: rdd.mapPartitions(_Guard(_Layout())).collect())
        kinds = set().union(*(entry[4] for entry in layout)) if layout else set()
        if not kinds:
            raise ValueError("no frames: the records are empty, nothing to build Images from")
        shapes = sorted({shape for shape, _ in kinds})
        dtypes = sorted({dt for _, dt in kinds})
        if len(shapes) > 1:
            raise ValueError(f"Arrays must all be of same shape; got {shapes[0]} and {shapes[1]}")
        if len(dtypes) > 1:
            raise ValueError(
                f"Arrays must all be of same data type; got {np.dtype(dtypes[0])} and {np.dtype(dtypes[1])}"
            )
        value_shape, dtype = shapes[0], np.dtype(dtypes[0])
        counts = [entry[0] for entry in layout]
        n = sum(counts)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
        shape = (n,) + tuple(value_shape)
        if recount:
            return cls(rdd.mapPartitionsWithIndex(_Rekey(bounds[:-1]), preservesPartitioning=True),
                       shape, dtype, bounds)
        if cls._layout_is_ordered(layout):
            return cls(rdd, shape, dtype, bounds)
        return cls._sorted(rdd, shape, dtype, len(layout))

    @staticmethod
    def _layout_is_ordered(layout) -> bool:
        expected = 0
        for count, first, last, consecutive, _ in layout:
            if count == 0:
                continue
            if not consecutive or first != expected:
                return False
            expected = last + 1
        return True

    @classmethod
    def _sorted(cls, rdd, shape, dtype, parts) -> "SparkFrames":
        """Sort records by key and number them ``0..n-1`` (a shuffle)."""
        n = shape[0]
        parts = max(1, min(parts, n))
        ordered = rdd.sortByKey(ascending=True, numPartitions=parts)
        counts = _spark_call(lambda: ordered.mapPartitions(lambda it: [sum(1 for _ in it)]).collect())
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
        return cls(ordered.mapPartitionsWithIndex(_Rekey(bounds[:-1]), preservesPartitioning=True),
                   shape, dtype, bounds)

    def _new(self, rdd, shape=None, dtype=None, bounds=None) -> "SparkFrames":
        return SparkFrames(rdd, self._shape if shape is None else shape,
                           self._dtype if dtype is None else dtype, bounds)

    def _get_bounds(self) -> list[int]:
        """Partition bounds; checks (and if needed sorts) user RDDs once."""
        if self._bounds is None:
            rdd = self._rdd
            layout = _spark_call(lambda: rdd.mapPartitions(_Guard(_Layout())).collect())
            n = sum(entry[0] for entry in layout)
            if n != self._shape[0]:
                raise ValueError(f"nrecords={self._shape[0]} does not match the record count {n}")
            kinds = set().union(*(entry[4] for entry in layout)) if layout else set()
            bad = [k for k in kinds if k[0] != self.value_shape or np.dtype(k[1]) != self._dtype]
            if bad:
                raise ValueError(
                    f"records of shape {bad[0][0]} and dtype {np.dtype(bad[0][1])} do not match "
                    f"dims={self.value_shape}, dtype={self._dtype}"
                )
            if self._layout_is_ordered(layout):
                counts = [entry[0] for entry in layout]
                self._bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
            else:
                ordered = self._sorted(rdd, self._shape, self._dtype, len(layout))
                self._rdd, self._bounds = ordered._rdd, ordered._bounds
        return self._bounds

    # -- description -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def rdd(self):
        """The RDD of ``((i,), ndarray)`` records."""
        return self._rdd

    def tordd(self):
        """The RDD of ``((i,), ndarray)`` records."""
        return self._rdd

    @property
    def context(self):
        """The SparkContext."""
        return self._rdd.context

    def npartitions(self) -> int:
        return self._rdd.getNumPartitions()

    @property
    def nchunks(self) -> int:
        """Chunks streamed by :meth:`iter_chunks`: every partition cut in
        blocks of at most ``BLOCK_BYTES`` (at least one frame each)."""
        bounds = self._get_bounds()
        frame_bytes = int(np.prod(self.value_shape, dtype=np.int64)) * self._dtype.itemsize
        per = max(1, BLOCK_BYTES // frame_bytes) if frame_bytes else max(1, self._shape[0])
        return sum(-(-(b - a) // per) for a, b in zip(bounds[:-1], bounds[1:]))

    def count(self) -> int:
        return self._shape[0]

    def __repr__(self) -> str:
        return f"SparkFrames(shape={self._shape}, dtype={self._dtype}, npartitions={self.npartitions()})"

    # -- lazy transformations ------------------------------------------------------
    def map(self, func, value_shape, dtype) -> "SparkFrames":
        value_shape = tuple(int(s) for s in value_shape)
        rdd = self._rdd.mapPartitions(
            _Guard(_MapBlocks(func, value_shape, dtype, BLOCK_BYTES)), preservesPartitioning=True
        )
        return SparkFrames(rdd, (self._shape[0],) + value_shape, dtype, self._bounds)

    def take(self, indices) -> "SparkFrames":
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = self._shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(f"indices must be in [0, {n}), got {indices.min()}..{indices.max()}")
        m = int(indices.size)
        shape = (m,) + self.value_shape
        if m == 0:
            return self._new(self.context.parallelize([], 1), shape, bounds=[0, 0])
        bounds = self._get_bounds()
        if m == 1 or np.all(np.diff(indices) > 0):
            new_bounds = np.searchsorted(indices, bounds).astype(int).tolist()
            rdd = self._rdd.mapPartitions(_Guard(_KeepSorted(indices)), preservesPartitioning=True)
            return self._new(rdd, shape, bounds=new_bounds)
        parts = max(1, min(self.npartitions(), m))
        new_bounds = _even_bounds(m, parts)
        rdd = (
            self._rdd.mapPartitions(_Guard(_Scatter(indices)))
            .partitionBy(parts, _RangePartition(new_bounds))
            .mapPartitions(_sort_partition, preservesPartitioning=True)
        )
        return self._new(rdd, shape, bounds=new_bounds)

    def filter(self, predicate) -> "SparkFrames":
        """Frames passing ``predicate`` (evaluated once per frame in a job that
        returns only the kept indices), order kept, re-numbered."""
        self._get_bounds()
        rdd = self._rdd
        kept = _spark_call(lambda: rdd.mapPartitions(_Guard(_KeptKeys(predicate))).collect())
        keep = np.asarray(sorted(k for part in kept for k in part), dtype=np.int64)
        return self.take(keep)

    def repartition(self, npartitions: int) -> "SparkFrames":
        """Same frames in ``npartitions`` contiguous partitions (a shuffle)."""
        n = self._shape[0]
        parts = _npartitions(self.context, npartitions, n)
        bounds = _even_bounds(n, parts)
        rdd = self._rdd.partitionBy(parts, _RangePartition(bounds)).mapPartitions(
            _sort_partition, preservesPartitioning=True
        )
        return self._new(rdd, bounds=bounds)

    def persist(self, storage_level=None) -> "SparkFrames":
        """Keep the records in executor memory (``rdd.persist``)."""
        if storage_level is None:
            self._rdd.cache()
        else:
            self._rdd.persist(storage_level)
        return self

    def unpersist(self) -> "SparkFrames":
        self._rdd.unpersist()
        return self

    # -- actions -----------------------------------------------------------------------
    def first(self) -> np.ndarray:
        if self._shape[0] == 0:
            raise ValueError("no frames: first() of an empty Images")
        if self._driver_copy is not None:
            return self._driver_copy[0].copy()
        self._get_bounds()
        record = _spark_call(self._rdd.first)
        return np.asarray(record[1])

    def collect(self) -> np.ndarray:
        if self._driver_copy is not None:
            return self._driver_copy.copy()
        out = np.empty(self._shape, self._dtype)
        for start, stop, block in self.iter_chunks(_identity_block):
            out[start:stop] = block
        return out

    def iter_chunks(self, func, max_inflight=None) -> Iterator[tuple[int, int, Any]]:
        """Run ``func(block, start)`` on the blocks of each partition (blocks
        of at most ``BLOCK_BYTES``, so a big partition is several chunks; one
        Spark job per partition, up to ``max_inflight`` jobs at once, default
        ``sc.defaultParallelism``) and yield ``(start, stop, result)`` in frame
        order as the partitions finish.

        The jobs run in one Spark job group; closing the generator (or losing
        it) cancels the group, interrupting running tasks. From another
        thread, :meth:`cancel_streams` cancels at once: the generator then
        ends quietly, without waiting for the partition in progress.
        """
        bounds = self._get_bounds()
        parts = [p for p in range(len(bounds) - 1) if bounds[p + 1] > bounds[p]]
        if not parts:
            return
        sc = self.context
        inflight = max(1, int(max_inflight or sc.defaultParallelism))
        group = "napari-thunder-" + uuid.uuid4().hex
        state = {"cancelled": False}
        rdd = self._rdd
        result_dir = None
        if FILE_RESULT_BYTES is not None and str(sc.master).startswith("local"):
            result_dir = tempfile.mkdtemp(prefix="napari-thunder-results-")
        apply = _Guard(_ApplyToPartition(func, BLOCK_BYTES, RESULT_PIECE_BYTES, result_dir, FILE_RESULT_BYTES))

        def run(p):
            if state["cancelled"]:
                raise RuntimeError("stream cancelled")
            sc.setJobGroup(group, f"napari-thunder chunk {p}", interruptOnCancel=True)
            return _spark_call(lambda: sc.runJob(rdd, apply, [p]))

        pool = ThreadPoolExecutor(max_workers=min(inflight, len(parts)),
                                  thread_name_prefix="napari-thunder-spark")
        todo = iter(parts)
        pending: deque = deque()

        def submit_next():
            p = next(todo, None)
            if p is not None:
                pending.append((p, pool.submit(run, p)))

        finished = False
        with _STREAMS_LOCK:
            self._streams[group] = state
        try:
            for _ in range(inflight):
                submit_next()
            while pending and not state["cancelled"]:
                p, future = pending.popleft()
                try:
                    result = future.result()
                except Exception:
                    if state["cancelled"]:
                        return
                    raise
                submit_next()
                chunks = _parse_chunks(result)
                del result
                covered = [bounds[p]] + [stop for _, stop, _ in chunks]
                if [start for start, _, _ in chunks] != covered[:-1] or covered[-1] != bounds[p + 1]:
                    raise RuntimeError(f"partition {p} does not hold frames {bounds[p]}..{bounds[p + 1] - 1}")
                while chunks:
                    yield chunks.pop(0)
            finished = not state["cancelled"]
        finally:
            with _STREAMS_LOCK:
                self._streams.pop(group, None)
            if not finished:
                state["cancelled"] = True  # jobs not yet submitted never start
                running = [future for _, future in pending if not future.cancel()]
                # re-cancel until every job ended (one may start while we cancel)
                while running:
                    try:
                        sc.cancelJobGroup(group)
                    except Exception:  # context already stopped
                        pass
                    _, still = wait(running, timeout=0.5)
                    running = list(still)
            pool.shutdown(wait=True, cancel_futures=True)
            if result_dir is not None:
                shutil.rmtree(result_dir, ignore_errors=True)

    def cancel_streams(self) -> int:
        """Cancel, from any thread, the Spark jobs of every running
        :meth:`iter_chunks` stream of these frames (and the streams built on
        it, such as ``stream_aggregate``); those generators end quietly.

        Returns
        -------
        int
            The number of streams cancelled.
        """
        with _STREAMS_LOCK:
            streams = list(self._streams.items())
        for group, state in streams:
            state["cancelled"] = True
            try:
                self.context.cancelJobGroup(group)
            except Exception:  # context stopped
                pass
        return len(streams)

    def aggregate(self, acc, fan_in: int = 16):
        """Fold every partition block-wise into ``acc.empty()`` on the
        executors, then merge the partials in frame order: on the driver when
        there are at most ``fan_in`` of them, else first on the executors in
        ordered groups of ``fan_in`` (a tree), so non-commutative merges (e.g.
        ``reduce``) see the frames in order."""
        if self._shape[0] == 0:
            return acc.empty()
        fan_in = max(2, int(fan_in))
        level = self.npartitions()
        sc = self.context
        # partials come straight to the driver: through files with local masters
        result_dir = None
        if level <= fan_in and FILE_RESULT_BYTES is not None and str(sc.master).startswith("local"):
            result_dir = tempfile.mkdtemp(prefix="napari-thunder-results-")
        try:
            partials = self._rdd.mapPartitionsWithIndex(
                _Guard(_FoldPartitionIndexed(acc, BLOCK_BYTES, fan_in, result_dir, FILE_RESULT_BYTES))
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
        finally:
            if result_dir is not None:
                shutil.rmtree(result_dir, ignore_errors=True)
        return acc.empty() if total is None else total

    # -- engine changes --------------------------------------------------------------------
    def with_array(self, array) -> "SparkFrames":
        return SparkFrames.from_array(array, self.context, self.npartitions())

    def to_blocks(self, tile_shape) -> "SparkBlockStore":
        """Tiles of all frames, built on the executors (cut blocks into tiles,
        shuffle by tile, assemble)."""
        tile_shape = tuple(int(t) for t in tile_shape)
        if len(tile_shape) != len(self.value_shape) or any(t < 1 for t in tile_shape):
            raise ValueError(f"tile_shape must be {len(self.value_shape)} positive ints, got {tile_shape}")
        ntiles = len(_tile_grid(self.value_shape, tile_shape))
        parts = max(1, min(self.npartitions(), ntiles))
        tile_bounds = _even_bounds(ntiles, parts)
        rdd = (
            self._rdd.mapPartitions(_Guard(_CutTiles(self.value_shape, tile_shape, BLOCK_BYTES)))
            .partitionBy(parts, _RangePartition(tile_bounds))
            .mapPartitions(_Guard(_AssembleTiles(self._shape[0], self.value_shape, tile_shape, self._dtype)),
                           preservesPartitioning=True)
        )
        return SparkBlockStore(rdd, self._shape, self._dtype, tile_shape, self.npartitions())


def _identity_block(block, start):
    return block


# =============================================================================
# SparkBlockStore
# =============================================================================
class SparkBlockStore(BlockStore):
    """Spatial tiles of a frame sequence in an RDD of ``(tile_index, ndarray
    (n,)+tile)``, tile indices in C order of the tile grid, partitions ordered."""

    mode = "spark"

    def __init__(self, rdd, shape, dtype, tile_shape, frame_partitions):
        self._rdd = rdd
        self._shape = tuple(int(s) for s in shape)
        self._dtype = np.dtype(dtype)
        self._tile_shape = tuple(int(t) for t in tile_shape)
        self._frame_partitions = int(frame_partitions)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def tile_shape(self) -> tuple[int, ...]:
        return self._tile_shape

    @property
    def rdd(self):
        return self._rdd

    def count(self) -> int:
        return len(_tile_grid(self._shape[1:], self._tile_shape))

    def map(self, func, length, dtype) -> "SparkBlockStore":
        rdd = self._rdd.mapPartitions(_Guard(_MapTile(func, length, dtype)), preservesPartitioning=True)
        return SparkBlockStore(rdd, (int(length),) + self._shape[1:], dtype, self._tile_shape,
                               self._frame_partitions)

    def collect_blocks(self) -> list[np.ndarray]:
        rdd = self._rdd
        tiles = _spark_call(rdd.collect)
        tiles.sort(key=lambda record: record[0])
        return [tile for _, tile in tiles]

    def collect(self) -> np.ndarray:
        out = np.empty(self._shape, self._dtype)
        grid = _tile_grid(self._shape[1:], self._tile_shape)
        for slices, tile in zip(grid, self.collect_blocks()):
            out[(slice(None),) + slices] = tile
        return out

    def to_frames(self) -> SparkFrames:
        n = self._shape[0]
        parts = max(1, min(self._frame_partitions, n))
        bounds = _even_bounds(n, parts)
        rdd = (
            self._rdd.mapPartitions(_Guard(_TilesToRanges(bounds)))
            .partitionBy(parts, _identity_partition)
            .mapPartitionsWithIndex(
                _Guard(_RangesToFrames(bounds, self._shape[1:], self._tile_shape, self._dtype)),
                preservesPartitioning=True,
            )
        )
        return SparkFrames(rdd, self._shape, self._dtype, bounds)
