"""Pipeline steps of ``napari-thunder run``: which exist, parsing ``-p/--step``, labels.

Steps are ``Images`` methods until ``extract_traces`` turns the movie into
traces (a ``Series`` of one record per ROI); the steps after it are
``Series`` methods (:data:`SERIES_STEPS`). :func:`plan_steps` checks the
order before anything is loaded.
"""

from __future__ import annotations

import ast

from .errors import CLIError

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
    # calcium imaging: motion correction (lazy, per frame once the reference is made)
    "register": ("method", "max_shift", "nreference", "niter", "upsample", "interpolation", "border",
                 "cval", "block_size", "overlap", "max_deviation"),
    # calcium imaging: summary images (each one image, computed when reached)
    "correlation_image": ("neighbours",),
    "pnr_image": ("sigma",),
    "enhanced_mean": ("sigma",),
    # calcium imaging: ROI traces (labels: a .tif/.tiff/.npy label image) -> a Series
    "extract_traces": ("labels", "neuropil", "neuropil_coefficient", "ids"),
    # Series steps, after extract_traces
    "normalize": ("method", "window", "perc", "offset"),
    "zscore": ("axis",),
}
#: Steps reducing the stack to one image (computed when reached, streamed).
STATISTICS = ("mean", "std", "var", "sum", "min", "max")
#: Summary images of the calcium workflow (ndarrays wrapped back into one image).
SUMMARY_IMAGES = ("correlation_image", "pnr_image", "enhanced_mean")
#: The step turning Images into a Series of traces.
TRACES = "extract_traces"
#: Steps of the traces Series (``Series`` methods), valid only after :data:`TRACES`.
SERIES_STEPS = ("normalize", "zscore")


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
        Unknown step name, unknown argument, an argument given twice or
        empty, or a value for a step without arguments.
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


def describe_step(name, kwargs) -> str:
    """``gaussian_filter(sigma=2)`` style label of a step.

    Parameters
    ----------
    name : str
        Step (Images method) name.
    kwargs : dict
        Its keyword arguments.

    Returns
    -------
    str
    """
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def describe_steps(steps) -> str:
    """The chain ``a(...) -> b(...)`` of ``[(name, kwargs), ...]``, or ``(none)``."""
    return " -> ".join(describe_step(n, k) for n, k in steps) or "(none)"


def plan_steps(steps) -> str:
    """Check the order of the steps and tell what they make.

    Parameters
    ----------
    steps : list of (str, dict)
        As returned by :func:`parse_step`.

    Returns
    -------
    str
        ``'images'``, or ``'series'`` when ``extract_traces`` is among them.

    Raises
    ------
    CLIError
        ``extract_traces`` without ``labels``, a Series step (``normalize``,
        ``zscore``) before ``extract_traces``, an Images step after it, or
        a labels path of another extension.
    FileNotFoundError
        No labels file at the path.
    """
    kind = "images"
    for name, kwargs in steps:
        if name == TRACES:
            if kind == "series":
                raise CLIError(f"step {TRACES!r} given twice: the first one already made traces")
            if "labels" not in kwargs:
                raise CLIError(f"step {TRACES!r} needs a label image: -p {TRACES}:labels=PATH "
                               f"(.tif, .tiff or .npy)")
            check_labels_path(kwargs["labels"])
            kind = "series"
        elif name in SERIES_STEPS and kind == "images":
            raise CLIError(f"step {name!r} works on traces: put it after -p {TRACES}:labels=PATH")
        elif name not in SERIES_STEPS and kind == "series":
            raise CLIError(f"step {name!r} works on images, but {TRACES!r} before it made traces "
                           f"(a Series); only {', '.join(SERIES_STEPS)} may follow it")
    return kind


def check_labels_path(path) -> str:
    """The extension of a labels path of ``extract_traces:labels=PATH``, checked.

    Raises
    ------
    CLIError
        ``path`` is not a string or has an extension other than ``.npy``,
        ``.tif``, ``.tiff``.
    FileNotFoundError
        No file at ``path``.
    """
    import os

    if not isinstance(path, str) or not path.strip():
        raise CLIError(f"step {TRACES!r}: labels must be a file path, got {path!r}")
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npy", ".tif", ".tiff"):
        raise CLIError(f"step {TRACES!r}: labels file {path!r} must be .npy, .tif or .tiff")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"step {TRACES!r}: no labels file {path!r}")
    return ext


def load_labels(path, value_shape=None):
    """The label image of ``extract_traces:labels=PATH``.

    Parameters
    ----------
    path : str
        A ``.npy`` file (``numpy.load``) or a ``.tif``/``.tiff`` file
        (``tifffile.imread``).
    value_shape : tuple, optional
        Shape of one image; leading axes of length 1 of the file are dropped
        to match it.

    Returns
    -------
    ndarray

    Raises
    ------
    CLIError, FileNotFoundError
        As :func:`check_labels_path`.
    """
    import numpy as np

    if check_labels_path(path) == ".npy":
        labels = np.load(path, allow_pickle=False)
    else:
        import tifffile

        labels = tifffile.imread(path)
    labels = np.asarray(labels)
    if value_shape is not None:
        value_shape = tuple(value_shape)
        while labels.ndim > len(value_shape) and labels.shape[0] == 1:
            labels = labels[0]
    return labels
