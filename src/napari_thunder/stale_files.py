"""Removing temporary directories that other processes may still hold.

A writer that is killed (``SIGKILL``: no ``finally``, no ``atexit``) leaves
its temporary files behind; their names carry its process id, so the next
process can tell which are orphans and remove them (:func:`remove_orphans`).
A directory that writers still running elsewhere keep filling is removed
again until it stays gone (:func:`remove_retrying`). Used by the atomic
output directories (``io``) and the Spark result directories
(``engines.spark``); nothing here imports any other part of the package.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def pid_alive(pid: int) -> bool:
    """Whether a process of id ``pid`` runs on this host.

    Parameters
    ----------
    pid : int

    Returns
    -------
    bool
        False only when no such process exists; a process that cannot be
        signalled (another user's), or an unusable id, counts as alive, so
        its files are never removed.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def remove_orphans(folder: str, owner_of: Callable[[str], int | None],
                   remove: Callable[[str], None]) -> list[str]:
    """Remove the entries of ``folder`` whose owner process no longer runs.

    Parameters
    ----------
    folder : str
        The directory to look in (an unreadable one: nothing is removed).
    owner_of : callable
        ``owner_of(name) -> pid or None``: the id of the process of this host
        that made the entry ``name``, or None for an entry that is not one of
        these (it is kept).
    remove : callable
        ``remove(path)`` removes one entry.

    Returns
    -------
    list of str
        The paths removed. Entries of this process and of live processes are
        kept.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        pid = owner_of(name)
        if pid is None or pid == os.getpid() or pid_alive(pid):
            continue
        path = os.path.join(folder, name)
        remove(path)
        removed.append(path)
    return removed


def remove_retrying(path: str, wait: float, remove: Callable[[str], None]) -> bool:
    """Remove ``path``, again and again while it reappears, for at most ``wait`` seconds.

    Parameters
    ----------
    path : str
    wait : float
        Seconds to keep trying (0: one attempt).
    remove : callable
        ``remove(path)`` removes it once, errors ignored.

    Returns
    -------
    bool
        Whether ``path`` is gone.
    """
    deadline = time.monotonic() + wait
    while True:
        remove(path)
        if not os.path.lexists(path):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
