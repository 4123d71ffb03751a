"""The command's name, its bad-input exception and the one-line message form."""

from __future__ import annotations

PROG = "napari-thunder"


class CLIError(Exception):
    """Bad command-line input; reported as one line and exit code 2."""


def one_line(exc) -> str:
    """The message of ``exc`` on one line (the type name if it has none)."""
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
