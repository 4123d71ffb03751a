"""Result transport from tasks to the driver.

A task's result reaches the driver as the value itself, as a header and flat
pieces of at most ``settings.RESULT_PIECE_BYTES`` (big ndarrays: Spark moves
many moderate byte arrays much faster than one huge one), or, with a
``local[...]`` master, through a temporary ``.npy`` (ndarray) or pickle file
left in a per-action directory (much faster than through the JVM). Those
directories are removed when the action ends, when its context stops, at
interpreter exit, and, for a driver that was killed, by the next driver.
:func:`_deliver` (executor) and :func:`_join_result` (driver) are the two ends.

:class:`_ApplyToPartition` computes the per-block results of a streamed
partition. With a local master it leaves each one in the directory as soon as
it is computed, in a file named by partition, frames and task attempt, and
:func:`_ready_blocks` reads those files on the driver while the job still
runs; otherwise the task returns them, framed by headers that
:func:`_parse_chunks` reads.
"""

from __future__ import annotations

import atexit
import functools
import os
import pickle
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from napari_thunder.engines.spark import settings
from napari_thunder.engines.spark.records import _iter_blocks
from napari_thunder.stale_files import remove_orphans, remove_retrying

#: name prefix of the per-action result directories (then the driver's pid)
RESULT_DIR_PREFIX = "napari-thunder-results-"
_STALE_RE = re.compile(rf"^{re.escape(RESULT_DIR_PREFIX)}(\d+)-")
_LIVE: dict[str, int] = {}  # result directory -> id of its SparkContext
_LIVE_LOCK = threading.Lock()
_SETUP_DONE = False


def _remove_dir(path: str, wait: float = 2.0) -> None:
    """Remove a result directory for good: renamed first (tasks still running
    can no longer add files to it), then removed, retrying while files opened
    before the rename keep appearing."""
    trash = f"{path}-removing"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    except OSError:
        trash = path
    remove_retrying(trash, wait, functools.partial(shutil.rmtree, ignore_errors=True))


def sweep_stale_result_dirs(tempdir: str | None = None) -> list[str]:
    """Remove the result directories left by drivers that died (killed in the
    middle of a job: no ``finally`` ran).

    A directory is stale when the process whose pid is in its name no longer
    runs; directories of live processes (this one included) are kept.

    Parameters
    ----------
    tempdir : str, optional
        Where to look (default :func:`tempfile.gettempdir`).

    Returns
    -------
    list of str
        The directories removed.
    """
    return remove_orphans(tempdir or tempfile.gettempdir(), _result_dir_owner,
                          functools.partial(_remove_dir, wait=0.0))


def _result_dir_owner(name: str) -> int | None:
    """The driver pid in a result directory's name, or None for another name."""
    match = _STALE_RE.match(name)
    return None if match is None else int(match.group(1))


def remove_result_dirs(sc=None) -> int:
    """Remove this process's result directories still in use (all of them, or
    those of the context ``sc``); run when a context stops and at exit.

    Parameters
    ----------
    sc : pyspark.SparkContext, optional

    Returns
    -------
    int
        How many directories were removed.
    """
    with _LIVE_LOCK:
        paths = [p for p, owner in _LIVE.items() if sc is None or owner == id(sc)]
        for path in paths:
            _LIVE.pop(path, None)
    for path in paths:
        _remove_dir(path)
    return len(paths)


def _watch_context_stop(sc) -> None:
    """Make ``sc.stop()`` remove the context's result directories too (a
    stream left suspended keeps its directory until then)."""
    if getattr(sc, "_napari_thunder_removes_results", False):
        return
    original = sc.stop

    @functools.wraps(original)
    def stop(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        finally:
            remove_result_dirs(sc)

    try:
        sc.stop = stop
        sc._napari_thunder_removes_results = True
    except (AttributeError, TypeError):  # an object that takes no attributes: exit cleanup only
        pass


def _first_use() -> None:
    global _SETUP_DONE
    with _LIVE_LOCK:
        if _SETUP_DONE:
            return
        _SETUP_DONE = True
    atexit.register(remove_result_dirs)
    sweep_stale_result_dirs()


@contextmanager
def _result_dir(sc, wanted: bool = True) -> Iterator[str | None]:
    """A temporary directory where tasks leave results for the driver (big
    ones, and every block of a stream), removed (with any result left unread)
    on exit; None when results go through Spark (not ``wanted``, a non-local
    master, or ``settings.FILE_RESULT_BYTES`` is None).

    Its name holds the driver's pid: one left by a killed driver is removed
    by the next process that makes one; one still in use when the context
    stops or the interpreter exits is removed then.
    """
    path = None
    if wanted and settings.FILE_RESULT_BYTES is not None and str(sc.master).startswith("local"):
        _first_use()
        path = tempfile.mkdtemp(prefix=f"{RESULT_DIR_PREFIX}{os.getpid()}-")
        with _LIVE_LOCK:
            _LIVE[path] = id(sc)
        _watch_context_stop(sc)
    try:
        yield path
    finally:
        if path is not None:
            with _LIVE_LOCK:
                _LIVE.pop(path, None)
            _remove_dir(path)


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


#: a streamed block's file: ``{partition}-{start}-{stop}-{task attempt}.{npy|pickle}``
_BLOCK_FILE_RE = re.compile(r"^(\d+)-(\d+)-(\d+)-(\d+)\.(npy|pickle)$")


def _write_block_file(result, result_dir: str, part: int, start: int, stop: int, attempt: int) -> None:
    """Leave one block's result in ``result_dir`` (``.npy`` for an ndarray,
    else a pickle), named by :data:`_BLOCK_FILE_RE`; atomically: written under
    a temporary name in the same directory, then renamed."""
    kind = "npy" if isinstance(result, np.ndarray) and not result.dtype.hasobject else "pickle"
    temporary = os.path.join(result_dir, f".{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            if kind == "npy":
                np.save(handle, result, allow_pickle=False)
            else:
                handle.write(_dumps(result))
        os.replace(temporary, os.path.join(result_dir, f"{part}-{start}-{stop}-{attempt}.{kind}"))
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise


class _ApplyToPartition:
    """runJob function: ``func(block, start)`` on every block (at most
    ``block_bytes``) of the partition.

    With a ``result_dir`` (local masters) each block's result is left there
    as soon as it is computed (:func:`_write_block_file`, named by partition,
    frames and task attempt) and the task returns nothing; else the task
    yields, per block, a :class:`_ChunkHeader` then the result (pieces or the
    value).
    """

    def __init__(self, func, block_bytes: int, piece_bytes: int, result_dir=None):
        self.func = func
        self.block_bytes = block_bytes
        self.piece_bytes = piece_bytes
        self.result_dir = result_dir

    def __call__(self, records):
        if self.result_dir is not None:
            from pyspark import TaskContext

            task = TaskContext.get()
            part, attempt = task.partitionId(), task.attemptNumber()
        for start, block in _iter_blocks(records, self.block_bytes):
            count = block.shape[0]
            result = self.func(block, start)
            del block
            if self.result_dir is not None:
                _write_block_file(result, self.result_dir, part, start, start + count, attempt)
            else:
                yield _ChunkHeader(start, count)
                yield from _split_result(result, self.piece_bytes)
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


def _ready_blocks(result_dir: str, part: int, start: int) -> Iterator[tuple]:
    """The consecutive blocks of partition ``part`` from frame ``start`` on
    that :class:`_ApplyToPartition` has left in ``result_dir`` so far, as
    ``(start, stop, value)``, each file read then removed.

    A retried task writes its blocks again under its new attempt number (a
    task's attempts run one after the other); of several files starting at the
    same frame, the latest attempt's is read and the others removed, so every
    frame range is delivered once and each block whole from one attempt.
    """
    files: dict[int, list] = {}
    for name in os.listdir(result_dir):
        match = _BLOCK_FILE_RE.match(name)
        if match and int(match[1]) == part:
            files.setdefault(int(match[2]), []).append((int(match[4]), int(match[3]), name, match[5]))
    while start in files:
        *older, (_, stop, name, kind) = sorted(files.pop(start))
        for _, _, old, _ in older:
            try:
                os.remove(os.path.join(result_dir, old))
            except OSError:
                pass
        yield start, stop, _FileResult(os.path.join(result_dir, name), kind).load()
        start = stop
