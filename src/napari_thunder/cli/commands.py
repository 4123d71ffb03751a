"""The subcommands ``run``, ``info`` and ``gui``: each takes the parsed arguments, returns the exit code."""

from __future__ import annotations

import contextlib
import os
import time

from .errors import CLIError
from .inputs import EXAMPLE_PREFIX, load_input
from .pipeline import SERIES_WRITERS, WRITERS, check_series_output, run_pipeline, write_result, write_series
from .steps import TRACES, describe_steps, parse_step, plan_steps


@contextlib.contextmanager
def open_engine(spec):
    """The engine ``--engine spec`` names, closed afterwards.

    :func:`napari_thunder.engines.factory.resolve_engine` decides what the
    string means; closing stops a Spark context only if it was started here.

    Raises
    ------
    CLIError
        ``spec`` names no engine, or the engine's package is not installed.
    """
    from napari_thunder.engines.factory import resolve_engine

    try:
        engine = resolve_engine(spec)
    except (TypeError, ValueError, ImportError) as exc:
        raise CLIError(f"--engine {spec!r}: {exc}") from None
    try:
        yield engine
    finally:
        engine.close()


def check_output(path, overwrite):
    """Refuse an unusable output path before any work, with the writers' own check.

    Raises
    ------
    CLIError
        ``path`` is an existing directory and ``overwrite`` is false.
    ValueError, FileNotFoundError
        ``path`` is a file, or its parent directory does not exist.
    """
    from napari_thunder.io.output_dir import OutputExistsError, check_output_dir

    try:
        check_output_dir(path, overwrite)
    except OutputExistsError as exc:
        raise CLIError(f"{exc}; use --overwrite to replace it") from None


#: Output extensions that name a ``--to`` format when ``--to`` is not given.
FORMAT_OF_EXTENSION = {".zarr": "zarr", ".csv": "csv", ".npy": "npy"}


def output_format(kind, fmt, output=None):
    """The ``--to`` format for a result of ``kind`` (``'images'`` or ``'series'``).

    Without ``--to``, an ``output`` ending in ``.zarr``, ``.csv`` or ``.npy``
    names the format (so ``-o traces.npy`` is a NumPy file and ``-o
    mean.zarr`` a Zarr store); any other output gets ``tif`` for images and
    ``csv`` for traces.

    Raises
    ------
    CLIError
        An image format for traces, or a traces-only format for images.
    """
    given = f"--to {fmt}"
    if fmt is None and output is not None:
        fmt = FORMAT_OF_EXTENSION.get(os.path.splitext(os.path.normpath(str(output)))[1].lower())
        given = f"output {str(output)!r} (without --to, its extension names the format {fmt})"
    if kind == "series":
        if fmt is None:
            return "csv"
        if fmt not in SERIES_WRITERS:
            raise CLIError(f"{given} writes images, but step {TRACES!r} makes traces (a Series): "
                           f"use --to {', '.join(SERIES_WRITERS)}")
        return fmt
    if fmt is None:
        return "tif"
    if fmt not in WRITERS:
        raise CLIError(f"{given} writes traces, but the result is images: add -p {TRACES}:labels=PATH "
                       f"or use --to {', '.join(WRITERS)}")
    return fmt


def cmd_run(args):
    """``napari-thunder run``: load, apply the steps, write, print a summary."""
    steps = [parse_step(s) for s in args.step]
    kind = plan_steps(steps)
    fmt = output_format(kind, args.to, args.output)
    if args.npartitions is not None and args.npartitions < 1:
        raise CLIError(f"--npartitions must be at least 1, got {args.npartitions}")
    writer_options = {}
    if args.levels is not None:
        if fmt != "zarr":
            raise CLIError(f"--levels applies to a Zarr output (--to zarr or OUTPUT.zarr), not {fmt}")
        if args.levels < 1:
            raise CLIError(f"--levels must be at least 1, got {args.levels}")
        writer_options["levels"] = args.levels
    if kind == "series" and fmt != "binary":
        check_series_output(args.output, fmt, args.overwrite)
    else:
        check_output(args.output, args.overwrite)
    with open_engine(args.engine) as engine:
        t0 = time.perf_counter()
        imgs, how = load_input(args.input, args.format, args.nplanes, args.order, engine, args.npartitions,
                               level=args.level, shape=args.shape, dtype=args.dtype, series=args.series)
        print(f"input   {args.input} via {how}: shape {tuple(imgs.shape)}, dtype {imgs.dtype}, "
              f"{engine.describe()}")
        result = run_pipeline(imgs, steps, engine=engine, progress=args.progress)
        if kind == "series":
            write_series(result, fmt, args.output, overwrite=args.overwrite)
        else:
            write_result(result, fmt, args.output, overwrite=args.overwrite, progress=args.progress,
                         **writer_options)
        elapsed = time.perf_counter() - t0
        print(f"steps   {describe_steps(steps)}")
        if kind == "series":
            nrois, nvalues = int(result.count()), int(result.shape[-1])
            print(f"result  traces of {nrois} ROI{'s' if nrois != 1 else ''} x {nvalues} frames, "
                  f"dtype {result.dtype}")
        else:
            print(f"result  shape {tuple(result.shape)}, dtype {result.dtype}")
        if fmt == "zarr":
            nlevels = writer_options.get("levels", 1)
            what = "one store" if nlevels == 1 else f"one store, {nlevels} levels"
        elif os.path.isdir(args.output):
            nfiles = len(os.listdir(args.output))
            what = f"{nfiles} file{'s' if nfiles != 1 else ''}"
        else:
            what = "1 file"
        print(f"wrote   {os.path.abspath(args.output)} ({fmt}, {what})")
        print(f"time    {elapsed:.2f} s")
    return 0


def _describe_axes(metadata):
    """``t z y[0.5 um] x[0.5 um]``: each axis with its scale and unit when it has one."""
    parts = []
    for axis in metadata.axes:
        if axis.unit is None and axis.scale == 1.0:
            parts.append(axis.name)
        else:
            parts.append(f"{axis.name}[{axis.scale:g}{' ' + axis.unit if axis.unit else ''}]")
    return " ".join(parts)


def cmd_info(args):
    """``napari-thunder info``: what the loader sees (count, shape, dtype, size)."""
    import numpy as np

    with open_engine(args.engine) as engine:
        imgs, how = load_input(args.input, args.format, args.nplanes, args.order, engine, level=args.level,
                               shape=args.shape, dtype=args.dtype, series=args.series)
        shape = tuple(imgs.shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(imgs.dtype).itemsize
        print(f"input   {args.input}")
        print(f"loader  {how}")
        print(f"engine  {engine.describe()}")
        print(f"count   {imgs.count()}")
        print(f"shape   {shape}")
        print(f"value   {shape[1:]}")
        print(f"dtype   {imgs.dtype}")
        print(f"axes    {_describe_axes(imgs.metadata)}")
        if imgs.metadata.channel_names:
            print(f"channels {', '.join(imgs.metadata.channel_names)}")
        print(f"mode    {imgs.mode}")
        print(f"size    {nbytes / 2**20:.2f} MiB")
    return 0


def gui_target(spec):
    """What the GUI opens: ``'mouse'`` by default, ``example:NAME`` as ``NAME``, else the path."""
    if spec is None:
        return "mouse"
    return spec[len(EXAMPLE_PREFIX):] if spec.startswith(EXAMPLE_PREFIX) else spec


def cmd_gui(args):
    """``napari-thunder gui``: napari with the plugin's widgets and the input
    (or the 'mouse' example), until the window is closed.

    The plugin (:func:`napari_thunder.plugin.app.run_gui`) does the napari
    part; this command imports neither napari nor Qt.
    """
    from napari_thunder.plugin import app

    try:
        app.run_gui(gui_target(args.input))
    except ImportError as exc:
        if exc.name == "napari":  # napari itself is missing (not a failure inside it)
            raise CLIError("the GUI needs napari: pip install 'napari-thunder[napari]'") from None
        raise
    return 0
