"""What the plugin tells the user: one readable sentence per error, the details in the log.

Engine errors can be long (a Spark failure is a Java stack trace of dozens of
lines, an out-of-memory error may have no message at all). The GUI shows
:func:`describe_error` - the reason first, one line, at most
:data:`MAX_MESSAGE` characters - in notifications and status lines, and
:func:`report_error` writes the full traceback to the ``napari_thunder`` log.
"""

from __future__ import annotations

import logging
import os
import re

#: longest message the GUI shows (the log has everything)
MAX_MESSAGE = 240

LOG = logging.getLogger("napari_thunder")

#: what an exception without a message means, by type name
_EMPTY_MESSAGES = {
    "MemoryError": "out of memory (the result or a chunk does not fit in RAM)",
    "KeyboardInterrupt": "interrupted",
    "TimeoutError": "timed out",
    "ConnectionRefusedError": "connection refused",
}

#: a Java exception line inside a Py4J message: ``java.net.ConnectException: ...``
_JAVA_LINE = re.compile(r"((?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)(?::[^\n]*)?)")


def _first_line(text: str) -> str:
    for line in str(text).splitlines():
        line = line.strip()
        if line:
            return line
    return ""


def _java_reason(text: str) -> str | None:
    """The innermost readable Java exception line of a Py4J/Spark message."""
    found = _JAVA_LINE.findall(str(text))
    if not found:
        return None
    # Spark nests "Caused by:" lines: the last is the root cause
    causes = [line for line in found if "Caused by" not in line]
    reason = (causes or found)[-1].strip()
    return reason


def _path_last(text: str) -> str:
    """Put a leading absolute path after the reason: ``'/long/path/x.tif: bad'``
    -> ``'bad (x.tif in /long/path)'``, so a cut-off toast still shows why."""
    match = re.match(r"^(?:File |Directory |Output path |Path )?(/\S+?)(?::| is | does | has )(.*)$", text)
    if not match:
        return text
    path, rest = match.group(1), match.group(2).strip(" :")
    if not rest:
        return text
    where = f"{os.path.basename(path)} in {os.path.dirname(path)}" if os.path.dirname(path) else path
    return f"{rest} ({where})"


def describe_error(exc: BaseException) -> str:
    """One readable line for ``exc``: the reason first, without a stack trace.

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    str
        ``'<Type>: <first line of the message>'``; for Java (Spark) errors the
        root Java exception line instead of the Py4J stack; for an empty
        message a plain-words meaning of the type; at most
        :data:`MAX_MESSAGE` characters.
    """
    name = type(exc).__name__
    text = str(exc)
    if name in ("Py4JJavaError", "Py4JError", "Py4JNetworkError") or "java." in text:
        reason = _java_reason(text)
        line = f"Spark failed: {reason}" if reason else f"Spark failed: {_first_line(text) or name}"
    elif not text.strip():
        line = f"{name}: {_EMPTY_MESSAGES.get(name, 'no details given (see the log)')}"
    else:
        line = f"{name}: {_path_last(_first_line(text))}"
    if len(line) > MAX_MESSAGE:
        line = line[: MAX_MESSAGE - 1] + "\u2026"
    return line


def report_error(what: str, exc: BaseException) -> str:
    """Log ``exc`` with its traceback and return the line to show.

    Parameters
    ----------
    what : str
        What failed (an operation or output name), put in front.
    exc : BaseException

    Returns
    -------
    str
        ``'<what> failed: <describe_error(exc)>'``.
    """
    LOG.error("%s failed", what, exc_info=(type(exc), exc, exc.__traceback__))
    return f"{what} failed: {describe_error(exc)}"


def wrapping_label(**kwargs):
    """A magicgui ``Label`` for status text that wraps its lines and never
    widens its dock: a long message makes the label taller, not wider.

    Parameters
    ----------
    **kwargs
        ``magicgui.widgets.Label`` arguments (``label``, ``value``...).

    Returns
    -------
    magicgui.widgets.Label
    """
    from magicgui.widgets import Label
    from qtpy.QtWidgets import QSizePolicy

    label = Label(**kwargs)
    native = label.native
    native.setWordWrap(True)
    policy = native.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    policy.setVerticalPolicy(QSizePolicy.Policy.MinimumExpanding)
    native.setSizePolicy(policy)
    native.setMinimumWidth(60)
    return label
