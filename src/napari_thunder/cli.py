"""The ``napari-thunder`` command.

::

    napari-thunder run INPUT -p gaussian_filter:sigma=2 -p mean -o OUT [--to tif]
    napari-thunder info INPUT
    napari-thunder gui [INPUT]        # or just: napari-thunder

``INPUT`` is a file, a directory, a wildcard pattern or ``example:NAME`` (a
bundled dataset, e.g. ``example:mouse``). ``run`` loads it with the matching
loader of :mod:`napari_thunder.images`, applies the steps in order (each an
``Images`` method), writes the result with a writer and prints a summary.

This module imports nothing heavy at import time: numpy, dask, pyspark and
napari are imported by the functions that need them.
"""

from __future__ import annotations

import argparse
import ast
import glob
import os
import sys
import time

PROG = "napari-thunder"

#: Pipeline steps: Images method name -> accepted keyword arguments (the first
#: one is the argument a bare value ``OP:v`` is given to).
STEPS = {
    "gaussian_filter": ("sigma", "order"),
    "median_filter": ("size",),
    "uniform_filter": ("size",),
    "subsample": ("factor",),
    "subtract": ("val",),
    "max_projection": ("axis",),
    "max_min_projection": ("axis",),
    "mean": (),
    "std": (),
    "var": (),
    "sum": (),
    "min": (),
    "max": (),
    "localcorr": ("neighborhood",),
    "squeeze": (),
}
#: Steps reducing the stack to one image (computed at once, with progress).
STATISTICS = ("mean", "std", "var", "sum", "min", "max")
FORMATS = ("tif", "png", "binary")
WRITERS = {"tif": "totif", "png": "topng", "binary": "tobinary"}


class CLIError(Exception):
    """Bad command-line input; reported as one line and exit code 2."""


# ----------------------------------------------------------------------------- steps
def _split_top_level(text, sep=","):
    """Split ``text`` at ``sep`` outside brackets: ``'a=(1,2),b=3'`` ->
    ``['a=(1,2)', 'b=3']``."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _parse_value(text):
    """A Python literal (``2``, ``1.5``, ``(1, 2, 0)``, ``[3,3]``) or, failing
    that, the string itself."""
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_step(text):
    """Parse one ``-p/--step`` argument.

    Parameters
    ----------
    text : str
        ``OP``, ``OP:VALUE`` (VALUE goes to the step's main argument) or
        ``OP:k=v,k=v``; values are Python literals, e.g.
        ``gaussian_filter:sigma=(2,2,0)``.

    Returns
    -------
    tuple
        ``(name, kwargs)``.

    Raises
    ------
    CLIError
        Unknown step name, unknown argument, or a value for a step without
        arguments.
    """
    name, _, argtext = text.partition(":")
    name = name.strip()
    if name not in STEPS:
        raise CLIError(f"unknown step {name!r} in --step {text!r}; choose from {', '.join(STEPS)}")
    allowed = STEPS[name]
    kwargs = {}
    if argtext.strip():
        if not allowed:
            raise CLIError(f"step {name!r} takes no arguments (got {argtext!r})")
        for item in _split_top_level(argtext):
            if not item.strip():
                raise CLIError(f"empty argument in --step {text!r}")
            if "=" in item and not item.lstrip().startswith(("(", "[")):
                key, _, value = item.partition("=")
                key = key.strip()
            else:
                key, value = allowed[0], item
            if key not in allowed:
                raise CLIError(
                    f"step {name!r} has no argument {key!r}; it accepts {', '.join(allowed)}"
                )
            if key in kwargs:
                raise CLIError(f"argument {key!r} given twice in --step {text!r}")
            kwargs[key] = _parse_value(value)
    return name, kwargs


def describe_step(name, kwargs):
    """``gaussian_filter(sigma=2)`` style label of a step."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


# ----------------------------------------------------------------------------- input
def detect_format(path):
    """The loader format for ``path``: ``'tif'``, ``'png'`` or ``'binary'``.

    Files (and patterns) go by extension; a directory by its content
    (see :func:`napari_thunder.io.formats.classify_path`: flat binary with
    ``conf.json``, then TIF, then PNG files).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist (and is not a matching pattern).
    CLIError
        The format cannot be told from the name or the content.
    """
    if any(ch in path for ch in "*?["):
        if not glob.glob(path):
            raise FileNotFoundError(f"input pattern {path!r} matches no files")
        probe = path
    elif not os.path.exists(path):
        raise FileNotFoundError(f"input path {path!r} does not exist")
    else:
        from napari_thunder.io.formats import classify_path

        kind = classify_path(path)
        if kind is not None:
            return kind.removesuffix("_dir")
        if os.path.isdir(path):
            raise CLIError(f"cannot tell the format of directory {path!r} (no conf.json with .bin "
                           f"files, no .tif or .png files); use --format")
        probe = path
    ext = os.path.splitext(probe)[1].lower()
    if ext in (".tif", ".tiff"):
        return "tif"
    if ext == ".png":
        return "png"
    if ext == ".bin":
        return "binary"
    raise CLIError(f"cannot tell the format of {path!r} from its extension; use --format tif|png|binary")


def load_input(spec, fmt="auto", nplanes=None, order="C", engine=None, npartitions=None):
    """Load ``spec`` (path, pattern or ``example:NAME``) as ``Images``.

    Returns
    -------
    (Images, str)
        The data and a label of how it was loaded.
    """
    if spec.startswith("example:"):
        name = spec[len("example:"):]
        if fmt != "auto" or nplanes is not None:
            raise CLIError("--format and --nplanes do not apply to example:NAME inputs")
        from napari_thunder import images, sample_data

        folder = sample_data.path(name)  # ValueError listing the options
        if npartitions is None:
            return images.fromexample(name, engine=engine), f"example {name!r}"
        loader, kwargs = sample_data.LOADERS[name]
        kwargs = dict(kwargs, npartitions=npartitions)
        return getattr(images, loader)(folder, engine=engine, **kwargs), f"example {name!r}"

    if fmt == "auto":
        fmt = detect_format(spec)
    elif fmt not in FORMATS:
        raise CLIError(f"unknown --format {fmt!r}; choose auto, tif, png or binary")
    elif not any(ch in spec for ch in "*?[") and not os.path.exists(spec):
        raise FileNotFoundError(f"input path {spec!r} does not exist")
    from napari_thunder import images

    kwargs = {"engine": engine}
    if npartitions is not None:
        kwargs["npartitions"] = npartitions
    if fmt == "tif":
        if nplanes is not None:
            kwargs["nplanes"] = nplanes
        return images.fromtif(spec, **kwargs), "fromtif"
    if fmt == "binary":
        if nplanes is not None:
            kwargs["nplanes"] = nplanes
        return images.frombinary(spec, order=order, **kwargs), f"frombinary(order={order!r})"
    if nplanes is not None:
        raise CLIError("--nplanes applies to tif and binary inputs only")
    return images.frompng(spec, **kwargs), "frompng"


# ----------------------------------------------------------------------------- engine
def make_engine(spec):
    """``None`` for ``'local'``; a ``SparkContext`` for ``local[N]`` /
    ``local[*]`` / ``spark://host:port`` masters.

    Returns
    -------
    (engine, owned)
        ``owned`` is True when this call started the context (stop it after).
    """
    if spec in (None, "", "local"):
        return None, False
    if not (spec.startswith("local[") and spec.endswith("]")) and not spec.startswith("spark://"):
        raise CLIError(f"unknown --engine {spec!r}; use local, local[N] or spark://host:port")
    try:
        import pyspark
    except ImportError:
        raise CLIError(
            f"--engine {spec} needs pyspark, which is not installed (pip install 'napari-thunder[spark]')"
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    conf = (
        pyspark.SparkConf()
        .setMaster(spec)
        .setAppName(PROG)
        .set("spark.ui.showConsoleProgress", "false")
        .set("spark.ui.enabled", "false")
    )
    if spec.startswith("local["):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        conf = conf.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
    active = pyspark.SparkContext._active_spark_context
    sc = pyspark.SparkContext.getOrCreate(conf)
    if active is None:
        sc.setLogLevel("ERROR")
    return sc, active is None


# ----------------------------------------------------------------------------- pipeline
def _progress_bar(total, desc, enabled):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not enabled, leave=False)


def _one_image(array, imgs, engine):
    """Wrap one image (``value_shape`` array) as an Images of one frame."""
    import numpy as np

    from napari_thunder import images

    array = np.asarray(array)
    value_shape = tuple(imgs.shape[1:])
    if array.size == int(np.prod(value_shape, dtype=np.int64)):
        array = array.reshape(value_shape)
    return images.fromarray(array[np.newaxis], engine=engine)


def _statistic(imgs, name, engine, progress):
    """``imgs.<name>()``, streamed with a progress bar when the Images
    streaming API is there."""
    stream = getattr(imgs, "stream_statistic", None)
    if stream is None or not progress:
        return getattr(imgs, name)()
    import numpy as np

    estimate = None
    with _progress_bar(imgs.count(), name, progress) as bar:
        for done, total, estimate in stream(name):
            bar.total = total
            bar.update(done - bar.n)
    if hasattr(estimate, "toarray"):
        return estimate
    # numpy's dtype rule for the statistic (sum of int16 is int64, min keeps int16, ...)
    dtype = getattr(np.zeros((1,), dtype=imgs.dtype), name)(axis=0).dtype
    return _one_image(np.asarray(estimate).astype(dtype, copy=False), imgs, engine)


def _localcorr(imgs, kwargs, engine, progress):
    """``imgs.localcorr(...)`` (an ndarray) wrapped back into Images."""
    neighborhood = kwargs.get("neighborhood", 2)
    stream = getattr(imgs, "stream_localcorr", None)
    if stream is None or not progress:
        corr = imgs.localcorr(**kwargs)
    else:
        corr = None
        with _progress_bar(imgs.count(), "localcorr", progress) as bar:
            for done, total, corr in stream(neighborhood):
                bar.total = total
                bar.update(done - bar.n)
    return _one_image(corr, imgs, engine)


def run_pipeline(imgs, steps, engine=None, progress=False):
    """Apply ``steps`` (``[(name, kwargs), ...]``) to ``imgs`` in order.

    Per-image steps stay lazy; statistics and ``localcorr`` are computed when
    reached (streamed with a progress bar if ``progress``); ``localcorr``'s
    ndarray is wrapped back into an Images of one frame.

    Parameters
    ----------
    imgs : Images
    steps : list of (str, dict)
        As returned by :func:`parse_step`.
    engine : None or SparkContext
        Engine for wrapping computed results.
    progress : bool
        Show tqdm bars on stderr.

    Returns
    -------
    Images
    """
    for name, kwargs in steps:
        if name in STATISTICS:
            imgs = _statistic(imgs, name, engine, progress)
        elif name == "localcorr":
            imgs = _localcorr(imgs, kwargs, engine, progress)
        else:
            imgs = getattr(imgs, name)(**kwargs)
    return imgs


def materialize(imgs, engine=None, progress=False):
    """Compute ``imgs`` chunk by chunk with a progress bar (when the Images
    streaming API exists and the result fits comfortably in memory);
    otherwise return ``imgs`` unchanged (the writer computes it)."""
    iter_chunks = getattr(imgs, "iter_chunks", None)
    if not progress or iter_chunks is None or imgs.count() <= 1:
        return imgs
    import numpy as np

    nbytes = int(np.prod(imgs.shape, dtype=np.int64)) * np.dtype(imgs.dtype).itemsize
    try:
        import psutil

        if nbytes > psutil.virtual_memory().available // 4:
            return imgs
    except ImportError:  # pragma: no cover - psutil is a dependency
        pass
    from napari_thunder import images

    out = np.empty(imgs.shape, dtype=imgs.dtype)
    with _progress_bar(imgs.count(), "computing", progress) as bar:
        for start, stop, block in iter_chunks():
            out[start:stop] = block
            bar.update(stop - start)
    return images.fromarray(out, engine=engine)


def check_output(path, overwrite):
    """Refuse unusable output paths before any work is done."""
    if os.path.isfile(path):
        raise CLIError(f"output path {path!r} is a file; give a directory path")
    if os.path.isdir(path) and not overwrite:
        raise CLIError(f"output directory {path!r} already exists; use --overwrite to replace it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"parent directory of output {path!r} does not exist")


# ----------------------------------------------------------------------------- commands
def cmd_run(args):
    steps = [parse_step(s) for s in args.step]
    if args.to not in FORMATS:
        raise CLIError(f"unknown --to {args.to!r}; choose tif, png or binary")
    check_output(args.output, args.overwrite)
    if args.npartitions is not None and args.npartitions < 1:
        raise CLIError(f"--npartitions must be at least 1, got {args.npartitions}")
    engine, owned = make_engine(args.engine)
    try:
        t0 = time.perf_counter()
        imgs, how = load_input(args.input, args.format, args.nplanes, args.order, engine, args.npartitions)
        print(f"input   {args.input} via {how}: shape {tuple(imgs.shape)}, dtype {imgs.dtype}, engine {args.engine}")
        result = run_pipeline(imgs, steps, engine=engine, progress=args.progress)
        result = materialize(result, engine=engine, progress=args.progress)
        getattr(result, WRITERS[args.to])(args.output, overwrite=args.overwrite)
        elapsed = time.perf_counter() - t0
        nfiles = len(os.listdir(args.output)) if os.path.isdir(args.output) else 0
        chain = " -> ".join(describe_step(n, k) for n, k in steps) or "(none)"
        print(f"steps   {chain}")
        print(f"result  shape {tuple(result.shape)}, dtype {result.dtype}")
        print(f"wrote   {os.path.abspath(args.output)} ({args.to}, {nfiles} file{'s' if nfiles != 1 else ''})")
        print(f"time    {elapsed:.2f} s")
    finally:
        if owned:
            engine.stop()
    return 0


def cmd_info(args):
    import numpy as np

    engine, owned = make_engine(args.engine)
    try:
        imgs, how = load_input(args.input, args.format, args.nplanes, args.order, engine)
        shape = tuple(imgs.shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(imgs.dtype).itemsize
        print(f"input   {args.input}")
        print(f"loader  {how}")
        print(f"count   {imgs.count()}")
        print(f"shape   {shape}")
        print(f"value   {shape[1:]}")
        print(f"dtype   {imgs.dtype}")
        print(f"mode    {imgs.mode}")
        print(f"size    {nbytes / 2**20:.2f} MiB")
    finally:
        if owned:
            engine.stop()
    return 0


def _example_name(spec):
    if spec is None:
        return "mouse"
    return spec[len("example:"):] if spec.startswith("example:") else spec


def cmd_gui(args):
    """Open napari with the plugin's widgets and the input (or the 'mouse'
    example) loaded, then run the Qt event loop."""
    try:
        import napari
    except ImportError:
        raise CLIError("the GUI needs napari: pip install 'napari-thunder[napari]'") from None
    target = _example_name(args.input)
    try:
        from napari_thunder.plugin.app import launch
    except ImportError:
        launch = None
    if launch is not None:
        launch(target, show=True)
    else:
        _fallback_viewer(napari, target)
    napari.run()
    return 0


def _fallback_viewer(napari, target):
    """Viewer with the data but without the plugin's widgets (used until
    ``napari_thunder.plugin.app.launch`` exists)."""
    from napari_thunder import sample_data

    viewer = napari.Viewer()
    opened = False
    if target in sample_data.EXAMPLES:
        try:
            viewer.open_sample("napari-thunder", target)
            opened = True
        except Exception:  # sample not registered: load it ourselves
            imgs, _ = load_input(f"example:{target}")
    else:
        imgs, _ = load_input(target)
    if not opened:
        viewer.add_image(imgs.toarray(), name=os.path.basename(str(target).rstrip("/")) or "data")
    if not _dock_plugin_widgets(viewer):
        print(f"{PROG}: note: the plugin's widgets are not available; opened the data only", file=sys.stderr)
    return viewer


def _dock_plugin_widgets(viewer):
    """Dock every widget the plugin's manifest declares (tabbed); returns
    how many were docked."""
    try:
        from npe2 import PluginManager

        manifest = PluginManager.instance().get_manifest("napari-thunder")
        widgets = list(manifest.contributions.widgets or [])
    except Exception:
        return 0
    docked = 0
    for widget in widgets:
        try:
            viewer.window.add_plugin_dock_widget("napari-thunder", widget.display_name, tabify=True)
            docked += 1
        except Exception as exc:  # one broken widget must not stop the GUI
            print(f"{PROG}: note: could not dock {widget.display_name!r}: {_one_line(exc)}", file=sys.stderr)
    return docked


# ----------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage first otherwise)
        raise CLIError(message)


def build_parser():
    """The argparse parser of the ``napari-thunder`` command."""
    parser = _Parser(prog=PROG, description="Thunder's images API for napari: headless pipelines and the GUI.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    try:
        from napari_thunder import __version__
    except ImportError:  # pragma: no cover
        __version__ = "?"
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def add_input(p):
        p.add_argument("input", help="file, directory, wildcard pattern or example:NAME (mouse, fish)")
        p.add_argument("-f", "--format", default="auto", choices=("auto",) + FORMATS, help="input format (default: auto)")
        p.add_argument("--nplanes", type=int, default=None, help="split each file into images of N planes (tif, binary)")
        p.add_argument("--order", default="C", choices=("C", "F"), help="array order of binary files (default: C)")
        p.add_argument("--engine", default="local", help="local (default), local[N] or spark://host:port")

    run = sub.add_parser("run", help="run a pipeline of Images methods and write the result")
    add_input(run)
    run.add_argument("-p", "--step", action="append", default=[], metavar="OP[:k=v,...]",
                     help="a step (repeatable, applied in order): " + ", ".join(STEPS))
    run.add_argument("-o", "--output", required=True, help="output directory")
    run.add_argument("--to", default="tif", choices=FORMATS, help="output format (default: tif)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    run.add_argument("--npartitions", type=int, default=None, help="Spark partitions for the input")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    run.set_defaults(func=cmd_run)

    info = sub.add_parser("info", help="print shape, dtype and count of what a loader sees")
    add_input(info)
    info.set_defaults(func=cmd_info)

    gui = sub.add_parser("gui", help="open napari with the plugin (default when no command is given)")
    gui.add_argument("input", nargs="?", default=None, help="file, directory or example name (default: mouse)")
    gui.set_defaults(func=cmd_gui)
    return parser


def _one_line(exc):
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


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
    except (CLIError, ValueError, TypeError, OSError, IndexError, KeyError, RuntimeError) as exc:
        if debug:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: still no traceback unless --debug
        if debug:
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
