"""The ``napari-thunder`` command.

::

    napari-thunder run INPUT -p gaussian_filter:sigma=2 -p mean -o OUT [--to tif]
    napari-thunder info INPUT
    napari-thunder gui [INPUT]        # or just: napari-thunder

``INPUT`` is a file, a directory, a wildcard pattern or ``example:NAME`` (a
bundled dataset, e.g. ``example:mouse``). ``run`` loads it with the matching
loader of :mod:`napari_thunder.images`, applies the steps in order (each an
``Images`` method), writes the result with a writer and prints a summary.

Modules: :mod:`.parser` (arguments), :mod:`.steps` (``-p/--step``),
:mod:`.inputs` (loading INPUT), :mod:`.pipeline` (steps, writing, progress),
:mod:`.commands` (the subcommands), :mod:`.errors`. Nothing heavy is imported
at import time: numpy, dask and pyspark are imported by the functions that
need them, and napari only by :mod:`napari_thunder.plugin`.
"""

from __future__ import annotations

import os
import sys

from .errors import PROG, CLIError, one_line
from .inputs import load_input
from .parser import build_parser
from .pipeline import run_pipeline
from .steps import STEPS, describe_step, parse_step

__all__ = ["PROG", "STEPS", "CLIError", "build_parser", "describe_step", "load_input", "main",
           "parse_step", "run_pipeline"]

#: exceptions reported as bad input (one line, exit code 2)
BAD_INPUT = (CLIError, ValueError, TypeError, OSError, IndexError, KeyError, RuntimeError)


def main(argv=None):
    """Entry point of the ``napari-thunder`` command; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for bad input (one ``napari-thunder: error: ...``
        line on stderr), 1 for an unexpected failure, 130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            from .commands import cmd_gui

            args.input = None
            args.func = cmd_gui
        return int(args.func(args) or 0)
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BAD_INPUT as exc:
        if debug:
            raise
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: still no traceback unless --debug
        if debug:
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {one_line(exc)} "
              f"(rerun with --debug for a traceback)", file=sys.stderr)
        return 1
