"""Output directories that appear only complete: written into a hidden
temporary sibling, then moved into place.

:func:`atomic_output_dir` checks the output path before anything is written,
lets the caller write into a hidden temporary sibling directory and moves it
into place only when every file is written, so an interrupted write never
leaves a directory at the output path, and a failed overwrite leaves the old
directory as it was.

On Linux the final move is one ``renameat2`` call: ``RENAME_NOREPLACE`` for a
new directory (a directory created meanwhile by someone else is never
replaced) and ``RENAME_EXCHANGE`` for an overwrite (the output path always
holds either the complete old or the complete new directory). Elsewhere, or
on file systems without these flags, plain renames are used.

Temporary directories are named ``.<name>.writing-<host>-<pid>-<random>``; one
left by a process that was killed (``SIGKILL``) is removed by the next write
to the same output path on the same host.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
import sys
import threading
import time

from napari_thunder import validation
from napari_thunder.stale_files import remove_orphans, remove_retrying

from .listing import strip_file_scheme

#: Seconds :func:`atomic_output_dir` keeps trying to remove an abandoned
#: temporary directory that writers still running elsewhere keep filling.
REMOVE_WAIT_SECONDS = 5.0


class OutputExistsError(FileExistsError, ValueError):
    """The output directory exists and ``overwrite`` is false.

    A ``FileExistsError`` and a ``ValueError`` (Thunder's exception type).
    """


# ---------------------------------------------------------------------------
# temporary siblings
# ---------------------------------------------------------------------------
def _host_tag() -> str:
    """This host's name, reduced to characters safe in a file name."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname() or "host")[:40]


def _sibling_name(name: str, tag: str) -> str:
    return f".{name}.{tag}-{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}"


def _make_hidden_sibling(parent, name, tag):
    """Create and return a new directory ``parent/.name.tag-HOST-PID-XXXXXXXX``."""
    for _ in range(100):
        candidate = os.path.join(parent, _sibling_name(name, tag))
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        except OSError as err:
            target = os.path.join(parent, name)
            raise type(err)(err.errno, f"Cannot create the output directory {target}: "
                                       f"{err.strerror or err}", parent) from None
        return candidate
    raise FileExistsError(f"Cannot create a temporary directory in {parent}")


def _unused_sibling(parent, name, tag):
    for _ in range(100):
        candidate = os.path.join(parent, _sibling_name(name, tag))
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(f"Cannot find a free temporary name in {parent}")


def _reap_stale_siblings(parent: str, name: str) -> list[str]:
    """Remove the temporary siblings of ``parent/name`` left by dead processes
    of this host; return their paths."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.(?:writing|removing|old)-(.+)-(\d+)-[0-9a-f]{{8}}$")
    host = _host_tag()

    def owner_of(entry):
        match = pattern.match(entry)
        return None if match is None or match.group(1) != host else int(match.group(2))

    return remove_orphans(parent, owner_of, _remove)


def _remove(path: str) -> None:
    """Remove a file, symbolic link or directory tree; errors ignored."""
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        with contextlib.suppress(OSError):
            os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


#: Seconds a background thread keeps removing an abandoned temporary
#: directory each time it reappears (writers that create their folders, as
#: zarr's store does, may recreate it after the failure was reported).
WATCH_SECONDS = 120.0

_ABANDONED: dict[str, float] = {}  # path -> time until which the reaper watches it
_ABANDONED_LOCK = threading.Lock()
_ATEXIT_REGISTERED = False
_REAPER: threading.Thread | None = None


def _remove_abandoned_at_exit() -> None:
    with _ABANDONED_LOCK:
        paths = sorted(_ABANDONED)
        _ABANDONED.clear()
    for path in paths:
        _remove(path)


def _reap_abandoned() -> None:
    """Reaper thread: remove watched paths whenever they exist, until their
    watch ends; then stop (started again by the next :func:`_abandon`)."""
    global _REAPER
    while True:
        now = time.monotonic()
        with _ABANDONED_LOCK:
            watched = [p for p, until in _ABANDONED.items() if until > now]
            if not watched:
                _REAPER = None
                return
        for path in watched:
            if os.path.lexists(path):
                _remove(path)
        time.sleep(0.1)


def _abandon(path: str) -> None:
    """Remove ``path`` whenever it reappears during :data:`WATCH_SECONDS`
    (a background thread) and at interpreter exit (a writer still running
    may recreate it after :func:`_discard` returned)."""
    global _ATEXIT_REGISTERED, _REAPER
    with _ABANDONED_LOCK:
        _ABANDONED[path] = time.monotonic() + WATCH_SECONDS
        if not _ATEXIT_REGISTERED:
            atexit.register(_remove_abandoned_at_exit)
            _ATEXIT_REGISTERED = True
        if _REAPER is None:
            _REAPER = threading.Thread(target=_reap_abandoned, name="napari-thunder-reaper", daemon=True)
            _REAPER.start()


def _discard(temp: str) -> None:
    """Remove an unfinished temporary directory for good.

    It is first renamed, so writers still running (threads of the local
    engine, Spark tasks of a failed job) fail to open their next file instead
    of filling it again; then removed, retrying while files written through
    handles opened before the rename keep appearing.
    """
    parent, base = os.path.split(temp)
    match = re.match(r"^\.(.*)\.writing-", base)
    name = match.group(1) if match else base.lstrip(".")
    try:
        trash = _unused_sibling(parent, name, "removing")
        os.rename(temp, trash)
    except FileNotFoundError:
        return
    except OSError:
        trash = temp
    if not remove_retrying(trash, REMOVE_WAIT_SECONDS, _remove):
        _abandon(trash)
    _abandon(temp)
    _abandon(trash)


# ---------------------------------------------------------------------------
# atomic moves
# ---------------------------------------------------------------------------
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2_func = None


def _renameat2(src: str, dst: str, flags: int) -> bool:
    """``renameat2(src, dst, flags)``; False when the system or the file system
    does not support it (then the caller falls back to plain renames)."""
    global _renameat2_func
    if not sys.platform.startswith("linux"):
        return False
    if _renameat2_func is None:
        import ctypes

        try:
            func = ctypes.CDLL(None, use_errno=True).renameat2
        except (AttributeError, OSError):
            _renameat2_func = False
            return False
        func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        func.restype = ctypes.c_int
        _renameat2_func = func
    if _renameat2_func is False:
        return False
    import ctypes

    if _renameat2_func(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), dst)


def _move_into_place(temp: str, target: str, overwrite: bool) -> None:
    """Move the finished ``temp`` to ``target`` (see the module docstring)."""
    parent, name = os.path.split(target)
    for _ in range(10):
        if os.path.lexists(target) and not os.path.isdir(target):
            raise ValueError(f"Output path {target} became a file during the write")
        if os.path.isdir(target) and not os.path.islink(target):
            if not overwrite:
                raise OutputExistsError(f"Directory {target} already exists, and overwrite is false")
            try:
                exchanged = _renameat2(temp, target, _RENAME_EXCHANGE)
            except FileNotFoundError:
                continue  # the old directory vanished meanwhile: a plain move
            if exchanged:  # ``temp`` now holds the old directory
                _remove(temp)
                return
            aside = _unused_sibling(parent, name, "old")
            os.rename(target, aside)
            try:
                os.rename(temp, target)
            except BaseException:
                os.rename(aside, target)
                raise
            _remove(aside)
            return
        if os.path.islink(target):
            if not overwrite:
                raise OutputExistsError(f"Directory {target} already exists, and overwrite is false")
            os.unlink(target)  # the link itself, never what it points to
            continue
        try:
            moved = _renameat2(temp, target, _RENAME_NOREPLACE)
        except OSError as err:
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue  # created meanwhile: decide again
            raise
        if not moved:
            if os.path.lexists(target):
                continue
            os.rename(temp, target)
        return
    raise OutputExistsError(f"Directory {target} keeps being replaced by another writer")


# ---------------------------------------------------------------------------
# the public checks and the context manager
# ---------------------------------------------------------------------------
def check_output_dir(path, overwrite=False) -> str:
    """Check an output directory path before anything is written.

    Parameters
    ----------
    path : str or os.PathLike
        The directory to create (``file://`` accepted).
    overwrite : bool
        Whether an existing directory may be replaced.

    Returns
    -------
    str
        The local path, without a trailing separator.

    Raises
    ------
    TypeError
        ``path`` is not a path, or ``overwrite`` is not ``True``/``False``.
    ValueError
        ``path`` is empty, an existing file, the file-system root, the
        working directory or one of its parents (never replaced, even with
        ``overwrite``).
    OutputExistsError
        ``path`` is an existing directory and ``overwrite`` is false.
    FileNotFoundError
        The parent directory of ``path`` does not exist.
    """
    overwrite = validation.check_bool(overwrite, "overwrite")
    local = strip_file_scheme(validation.check_path(path, "path"))
    if not local.strip():
        raise ValueError("path must not be empty")
    stripped = local.rstrip(os.sep) or local
    real = os.path.realpath(stripped)
    cwd = os.path.realpath(os.getcwd())
    if real == os.path.dirname(real):
        what = "the root directory"
    elif cwd == real or cwd.startswith(real.rstrip(os.sep) + os.sep):
        what = "the working directory or one of its parents"
    else:
        what = None
    if what is not None:
        raise ValueError(f"Output path {stripped!r} is {what} ({real}); it is never written into or "
                         f"replaced: give a new directory")
    if os.path.lexists(stripped) and not os.path.isdir(stripped):
        raise ValueError(f"Output path {stripped} is a file: it must be a directory (existing or to create)")
    if os.path.isdir(stripped) and not overwrite:
        raise OutputExistsError(f"Directory {stripped} already exists, and overwrite is false")
    parent = os.path.dirname(os.path.abspath(stripped))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Parent directory {parent} of output {stripped} does not exist")
    return stripped


@contextlib.contextmanager
def atomic_output_dir(path, overwrite=False):
    """Context manager for writing a directory atomically.

    Yields the path of a hidden temporary directory next to ``path``; when the
    block exits normally it is moved to ``path``. With ``overwrite`` an
    existing ``path`` is swapped with the new directory in one step and only
    then deleted. When the block raises (including ``KeyboardInterrupt``)
    the temporary directory is removed (writers still running elsewhere can
    no longer add files to it) and an existing ``path`` is left untouched.
    Two writers racing for one new ``path``: one wins, the other raises
    :class:`OutputExistsError`; the output is never a mix of both.

    Parameters
    ----------
    path : str or os.PathLike
        The output directory.
    overwrite : bool
        Whether an existing directory may be replaced.

    Yields
    ------
    str
        The temporary directory to write into.

    Raises
    ------
    TypeError, ValueError, OutputExistsError, FileNotFoundError
        See :func:`check_output_dir`; raised before anything is written.
    OutputExistsError
        ``path`` was created by someone else during the write (and
        ``overwrite`` is false).
    """
    overwrite = validation.check_bool(overwrite, "overwrite")
    target = os.path.abspath(check_output_dir(path, overwrite))
    parent, name = os.path.split(target)
    _reap_stale_siblings(parent, name)
    temp = _make_hidden_sibling(parent, name, "writing")
    try:
        yield temp
        _move_into_place(temp, target, overwrite)
    except BaseException:
        _discard(temp)
        raise
