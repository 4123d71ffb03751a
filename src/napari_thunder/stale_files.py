"""Files and directories left behind by processes that died.

A writer that is killed (``SIGKILL``: no ``finally``, no ``atexit``) leaves
its temporary files behind; their names carry its process id, so the next
process can tell which are orphans and remove them. Used by the atomic output
directories (``io``) and the Spark result directories (``engines.spark``);
nothing here imports any other part of the package.
"""

from __future__ import annotations

import os
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
