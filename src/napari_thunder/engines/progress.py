"""Finer chunks for progress someone watches (the GUI).

:func:`min_chunks` is a context that asks for at least ``count`` chunks of at
least ``min_bytes`` each: local-engine frames made inside it are chunked so
(``engines.local.frames_per_chunk``), and Spark streams started inside it cut
their partitions into blocks of about ``total / count`` bytes
(``engines.spark.streams.block_bytes``). The request is a context variable:
it holds on the thread (and in the context) that entered the block, not on
other threads. Outside the block every engine keeps its own chunking.

This module imports nothing: Spark's executors may import it at no cost.
"""

from __future__ import annotations

import contextlib
import contextvars

#: ``(count, min_bytes)`` of the innermost :func:`min_chunks`; ``(0, 0)``: none
_MIN_CHUNKS = contextvars.ContextVar("napari_thunder_min_chunks", default=(0, 0))


@contextlib.contextmanager
def min_chunks(count: int, min_bytes: int = 256 * 2**10):
    """Within the block, local frames made and Spark streams started on this
    thread are cut into at least ``count`` chunks (blocks), each of at least
    ``min_bytes`` (and one frame): for streams whose progress someone watches
    (the GUI). Small stacks, done in a moment anyway, keep bigger chunks (each
    chunk costs the watcher a little, and Spark a file and a poll).

    Parameters
    ----------
    count : int
        Smallest number of chunks; 0 restores the default (two per worker on
        the local engine, blocks of ``settings.BLOCK_BYTES`` on Spark).
    min_bytes : int
        Smallest chunk size in bytes.
    """
    token = _MIN_CHUNKS.set((max(0, int(count)), max(0, int(min_bytes))))
    try:
        yield
    finally:
        try:
            _MIN_CHUNKS.reset(token)
        except ValueError:  # closed from another context: nothing to restore there
            pass


def requested() -> tuple[int, int]:
    """The ``(count, min_bytes)`` asked for by the innermost :func:`min_chunks`
    around the caller (this thread's context), ``(0, 0)`` outside any.

    Returns
    -------
    tuple of int
    """
    return _MIN_CHUNKS.get()


def frames_per_chunk(nframes: int, frame_bytes: int, largest: int) -> int:
    """Frames per chunk that :func:`min_chunks` asks for, at most ``largest``.

    Parameters
    ----------
    nframes : int
        Frames of the whole stack.
    frame_bytes : int
        Bytes of one frame.
    largest : int
        The engine's own frames per chunk (its upper bound).

    Returns
    -------
    int
        ``largest`` outside :func:`min_chunks`; inside,
        ``min(largest, max(ceil(nframes / count), ceil(min_bytes / frame_bytes)))``;
        always at least 1.
    """
    count, min_bytes = requested()
    per = max(1, int(largest))
    if count and nframes > 0:
        wanted = max(-(-int(nframes) // count), -(-int(min_bytes) // max(1, int(frame_bytes))))
        per = min(per, wanted)
    return int(max(1, per))
