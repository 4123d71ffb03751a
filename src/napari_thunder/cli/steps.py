"""Pipeline steps of ``napari-thunder run``: which exist, parsing ``-p/--step``, labels."""

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
}
#: Steps reducing the stack to one image (computed when reached, streamed).
STATISTICS = ("mean", "std", "var", "sum", "min", "max")


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
