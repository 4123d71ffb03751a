"""The argparse parser of ``napari-thunder``: subcommands ``run``, ``info``, ``gui``."""

from __future__ import annotations

import argparse

from .commands import cmd_gui, cmd_info, cmd_run
from .errors import PROG, CLIError
from .inputs import FORMATS
from .pipeline import SERIES_WRITERS
from .steps import STEPS


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage first otherwise)
        raise CLIError(message)


def _shape(text):
    """``'512,512'`` -> ``(512, 512)``; argparse turns the ValueError into a one-line error."""
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape must be integers separated by commas, got {text!r}") \
            from None
    if len(shape) < 2 or any(s < 1 for s in shape):
        raise argparse.ArgumentTypeError(f"--shape needs at least 2 positive sizes, got {text!r}")
    return shape


def _add_input(p):
    p.add_argument("input", help="file, directory, wildcard pattern or example:NAME (mouse, fish)")
    p.add_argument("-f", "--format", default="auto", choices=("auto",) + FORMATS,
                   help="input format (default: auto)")
    p.add_argument("--nplanes", type=int, default=None,
                   help="split each file into images of N planes (tif, binary)")
    p.add_argument("--level", type=int, default=0,
                   help="resolution level of an OME-Zarr input (default: 0, full resolution)")
    p.add_argument("--order", default=None, choices=("C", "F"),
                   help="array order of binary files (default: C)")
    p.add_argument("--shape", type=_shape, default=None, metavar="H,W[,D]",
                   help="shape of ONE image of a headerless binary movie (no conf.json, e.g. suite2p "
                        "data.bin; needs -f binary): every file holds images back to back")
    p.add_argument("--dtype", default=None,
                   help="dtype of a headerless binary movie, with --shape (default: int16)")
    p.add_argument("--series", type=int, default=None,
                   help="series of a TIFF file holding several (default: 0)")
    p.add_argument("--engine", default="local",
                   help="local (default: the embedded dask engine); spark:MASTER (e.g. spark:local[2]), "
                        "local[N] or spark://host:port (Spark); tcp://host:8786, tls://host:8786 or "
                        "dask://host:8786 (a dask.distributed scheduler; its workers read the files), "
                        "or distributed (a new local dask cluster)")


def build_parser():
    """The argparse parser of the ``napari-thunder`` command.

    Returns
    -------
    argparse.ArgumentParser
        Parse errors raise :class:`~napari_thunder.cli.errors.CLIError`;
        each subcommand sets ``func`` to its ``cmd_*`` function.
    """
    from napari_thunder import __version__

    parser = _Parser(prog=PROG,
                     description="Thunder's images API for napari: headless pipelines and the GUI.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run a pipeline of Images methods and write the result")
    _add_input(run)
    run.add_argument("-p", "--step", action="append", default=[], metavar="OP[:k=v,...]",
                     help="a step (repeatable, applied in order): " + ", ".join(STEPS))
    run.add_argument("-o", "--output", required=True,
                     help="output directory (a file for --to csv / npy)")
    outputs = FORMATS + tuple(f for f in SERIES_WRITERS if f not in FORMATS)
    run.add_argument("--to", default=None, choices=outputs,
                     help="output format (default: the one OUTPUT's extension .zarr, .csv or .npy "
                          "names, else tif; csv for traces). Traces (after extract_traces) "
                          "go to csv (one row per ROI), npy or binary (Thunder's series layout)")
    run.add_argument("--levels", type=int, default=None, metavar="N",
                     help="resolution levels of a Zarr output (default 1: no pyramid; each further "
                          "level halves y and x, as napari's multiscale layers browse them)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    run.add_argument("--npartitions", type=int, default=None, help="partitions of the input")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    run.set_defaults(func=cmd_run)

    info = sub.add_parser("info", help="print shape, dtype and count of what a loader sees")
    _add_input(info)
    info.set_defaults(func=cmd_info)

    gui = sub.add_parser("gui", help="open napari with the plugin (default when no command is given)")
    gui.add_argument("input", nargs="?", default=None,
                     help="file, directory or example name (default: mouse)")
    gui.set_defaults(func=cmd_gui)
    return parser
