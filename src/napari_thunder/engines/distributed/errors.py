"""Errors of the dask.distributed engine, and the one place that reads results.

Exceptions raised by user functions on the workers come back with their own
type (as on the other engines). A task whose worker died too often
(``distributed.scheduler.allowed-failures``, 3 by default: the task itself
crashes its worker, or workers run out of memory) becomes a
:class:`WorkerLostError` naming the frames it was working on.
"""

from __future__ import annotations


class WorkerLostError(RuntimeError):
    """Workers died while running the same task, and the scheduler gave up."""


def result_of(future, what: str):
    """``future.result()``, with lost-worker errors explained.

    Parameters
    ----------
    future : distributed.Future
    what : str
        What the task computes, e.g. ``'frames 10-20'``, for the message.

    Returns
    -------
    object
        The task's result, on the driver.

    Raises
    ------
    WorkerLostError
        The task's workers died ``allowed-failures + 1`` times.
    Exception
        Whatever the task raised, with its own type.
    """
    from distributed.scheduler import KilledWorker

    try:
        return future.result()
    except KilledWorker as exc:
        raise WorkerLostError(
            f"dask workers died while computing {what} and the scheduler gave up ({exc}); a "
            "task that kills its worker every time (out of memory, a crash in compiled code) "
            "cannot finish: give the workers more memory or the engine smaller chunks"
        ) from exc
