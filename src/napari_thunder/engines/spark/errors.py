"""Task-error transport: a Python exception raised inside a Spark task is
re-raised on the driver with its original type and message (not as a
``Py4JJavaError``), the remote traceback attached as a note.

Executor side, :class:`_Guard` wraps a partition function and turns an
exception into a :class:`_TaskFailure` whose text carries the pickled original
between two markers. Driver side, :func:`_spark_call` runs the action and
:func:`_task_exception` finds the markers in the failure's text and unpickles
the original; an exception that does not survive pickling arrives as
:class:`SparkTaskError` with its type name and message.
"""

from __future__ import annotations

import base64
import pickle
import re
from collections.abc import Callable
from typing import Any

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

