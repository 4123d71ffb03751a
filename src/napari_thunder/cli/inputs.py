"""Loading the INPUT of ``run`` and ``info`` with the matching loader.

The format is told by :func:`napari_thunder.io.formats.classify_path` (the
napari reader's rule too); the loaders of :mod:`napari_thunder.images` do the
rest, including their own "no such file" errors.
"""

from __future__ import annotations

import os

from .errors import CLIError

#: input and output formats (``--format`` / ``--to``)
FORMATS = ("tif", "png", "binary", "zarr")
EXAMPLE_PREFIX = "example:"


def detect_format(spec) -> str:
    """The loader format of a path or wildcard pattern: ``'tif'``, ``'png'``, ``'binary'``
    or ``'zarr'`` (a folder with Zarr metadata or named ``*.zarr``).

    Parameters
    ----------
    spec : str
        A file, a folder or a wildcard pattern.

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
        Nothing exists at ``spec`` (or the pattern matches no file).
    CLIError
        The format cannot be told from the names or the folder content.
    """
    from napari_thunder.io.formats import classify_path
    from napari_thunder.io.zarr import is_zarr_path

    if is_zarr_path(spec):
        return "zarr"
    kind = classify_path(spec, patterns=True)
    if kind is not None:
        return kind.removesuffix("_dir")
    if os.path.isdir(spec):
        raise CLIError(f"cannot tell the format of directory {spec!r} (no conf.json with .bin "
                       f"files, no .tif or .png files); use --format")
    from napari_thunder.io.listing import list_files

    list_files(spec)  # FileNotFoundError naming spec when nothing is there
    raise CLIError(f"cannot tell the format of {spec!r} (.tif/.tiff, .png, or .bin with conf.json "
                   f"beside it); use --format tif|png|binary")


def _load_example(name, fmt, nplanes, engine, npartitions, ignored=()):
    if fmt != "auto" or nplanes is not None:
        raise CLIError("--format and --nplanes do not apply to example:NAME inputs")
    if ignored:
        verb = "does" if len(ignored) == 1 else "do"
        raise CLIError(f"{', '.join(ignored)} {verb} not apply to example:NAME inputs "
                       f"(each example has its own loader)")
    from napari_thunder import images, sample_data

    folder = sample_data.path(name)  # ValueError listing the options
    if npartitions is None:
        return images.fromexample(name, engine=engine), f"example {name!r}"
    loader, kwargs = sample_data.LOADERS[name]
    kwargs = dict(kwargs, npartitions=npartitions)
    return getattr(images, loader)(folder, engine=engine, **kwargs), f"example {name!r}"


def load_input(spec, fmt="auto", nplanes=None, order=None, engine=None, npartitions=None, level=0,
               shape=None, dtype=None, series=None):
    """Load ``spec`` (path, pattern or ``example:NAME``) as ``Images``.

    Parameters
    ----------
    spec : str
        A file, a folder, a wildcard pattern or ``example:NAME``.
    fmt : {'auto', 'tif', 'png', 'binary'}
        The loader; ``'auto'`` tells it by :func:`detect_format`.
    nplanes : int, optional
        Planes per image (tif and binary inputs).
    order : {'C', 'F'}, optional
        Array order of binary files (default ``'C'``); refused for other inputs.
    engine : optional
        Any ``engine=`` value the loaders accept (an ``Engine``, None, ...).
    npartitions : int, optional
        Partitions of the loaded data.
    level : int
        Resolution level of an OME-Zarr input (0 = full resolution).
    shape, dtype : optional
        Binary inputs without ``conf.json`` (a headerless movie such as
        suite2p's ``data.bin``): the shape and dtype of ONE image; every file
        then holds any number of images back to back (``frombinary(...,
        stack=True)``). ``fmt`` must be ``'binary'`` (a ``.bin`` file without
        ``conf.json`` is not recognised by name).
    series : int, optional
        The series of a TIFF input (default 0).

    Returns
    -------
    (Images, str)
        The data and a label of how it was loaded.

    Raises
    ------
    CLIError
        Options that do not apply to the input (an option the loader would
        ignore is refused, never dropped), or an unknown format.
    FileNotFoundError, ValueError
        From the format detection and the loaders.
    """
    if spec.startswith(EXAMPLE_PREFIX):
        if level != 0:
            raise CLIError("--level applies to zarr inputs only")
        given = [name for name, value in (("--shape", shape), ("--dtype", dtype), ("--series", series),
                                          ("--order", order)) if value is not None]
        return _load_example(spec[len(EXAMPLE_PREFIX):], fmt, nplanes, engine, npartitions, given)
    if fmt == "auto":
        fmt = detect_format(spec)
    elif fmt not in FORMATS:
        raise CLIError(f"unknown --format {fmt!r}; choose auto, {', '.join(FORMATS)}")
    elif fmt == "zarr":
        pass  # fromzarr names a missing store itself
    else:
        from napari_thunder.io.listing import list_files

        list_files(spec)  # FileNotFoundError naming spec (frombinary would first ask for a shape)
    if nplanes is not None and fmt in ("png", "zarr"):
        raise CLIError("--nplanes applies to tif and binary inputs only")
    if level != 0 and fmt != "zarr":
        raise CLIError("--level applies to zarr inputs only")
    if (shape is not None or dtype is not None) and fmt != "binary":
        raise CLIError("--shape and --dtype apply to binary inputs only")
    if shape is not None and nplanes is not None:
        raise CLIError("--shape reads whole images from each binary file: --nplanes does not apply")
    if series is not None and fmt != "tif":
        raise CLIError("--series applies to tif inputs only")
    if order is not None and fmt != "binary":
        raise CLIError("--order applies to binary inputs only")
    order = "C" if order is None else order
    from napari_thunder import images

    kwargs = {"engine": engine}
    if npartitions is not None:
        kwargs["npartitions"] = npartitions
    if nplanes is not None:
        kwargs["nplanes"] = nplanes
    if fmt == "tif":
        if series is not None:
            return images.fromtif(spec, series=series, **kwargs), f"fromtif(series={series})"
        return images.fromtif(spec, **kwargs), "fromtif"
    if fmt == "zarr":
        return images.fromzarr(spec, level=level, **kwargs), f"fromzarr(level={level})"
    if fmt == "binary":
        if shape is not None:
            dtype = "int16" if dtype is None else dtype
            imgs = images.frombinary(spec, shape=shape, dtype=dtype, order=order, stack=True, **kwargs)
            return imgs, f"frombinary(shape={tuple(shape)}, dtype={dtype!r}, order={order!r}, stack=True)"
        if dtype is not None:
            raise CLIError("--dtype needs --shape (or a conf.json beside the files)")
        return images.frombinary(spec, order=order, **kwargs), f"frombinary(order={order!r})"
    return images.frompng(spec, **kwargs), "frompng"
