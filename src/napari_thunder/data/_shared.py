"""Small helpers shared by ``Images``, ``Series`` and their mixins.

The callable and option checks, the label check of both classes, and the
running estimates of an accumulator folded chunk by chunk (every ``stream_*``
method).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def check_callable(value, name):
    """Refuse a ``value`` that is not callable.

    Raises
    ------
    TypeError
        Naming ``name`` and the type of ``value``.
    """
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")


def check_options(value, name, options):
    """Refuse ``value`` unless it is one of ``options``.

    Raises
    ------
    ValueError
        Naming ``name`` and listing the options.
    """
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")


def checked_labels(value, baseshape, message):
    """``value`` as an ndarray of shape ``baseshape`` (None stays None).

    Raises
    ------
    ValueError
        Another shape: ``message`` formatted with ``shape`` and ``baseshape``.
    """
    if value is not None:
        value = np.asarray(value)
        if value.shape != baseshape:
            raise ValueError(message.format(shape=value.shape, baseshape=baseshape))
    return value


def running_estimates(frames, acc, *names) -> Iterator[tuple]:
    """``(done, total, running.finalize(*names))`` after every chunk that
    ``frames.stream_aggregate(acc)`` folds in."""
    for done, total, running in frames.stream_aggregate(acc):
        yield done, total, running.finalize(*names)
