"""Argument checks: one policy, each check run once, on the driver, before any work.

Every public function and method that takes user arguments checks them here,
before an engine is asked to do anything, so every engine raises the same
exception for the same bad argument. Kernels and engines receive the
normalised values these functions return and do not check again.

The policy
----------
Integers (axis, order, size, factor, neighborhood, nsamples, npartitions,
nplanes, start, stop, ...)
    Python ints, numpy integers and floats with an integral value (``2.0``)
    are accepted and become that ``int``. A float with a fractional part
    (``2.5``), NaN or infinity raises ``ValueError``; a bool, a string,
    ``None`` (where the argument is not optional) or any other object raises
    ``TypeError``. A value out of the argument's range raises ``ValueError``.
Real numbers (sigma, the value of ``subtract``)
    Python and numpy numbers except bools; a bool, a string or another object
    raises ``TypeError``; NaN, infinity or a value out of range ``ValueError``.
Per-axis arguments (sigma, order, size, factor)
    A single value applies to every image axis; a sequence must have exactly
    one entry per image axis, else ``ValueError``.
Sizes that cost memory or time in proportion to their value
    Bounded, so a typo never asks for hundreds of GiB or hours: a filter width
    is at most ``MAX_FILTER_WIDTH`` per axis, a median window at most
    ``MAX_MEDIAN_WINDOW`` pixels in all, ``sigma`` at most ``MAX_SIGMA``, a
    ``localcorr`` neighborhood at most ``MAX_NEIGHBORHOOD``; larger values
    raise ``ValueError`` naming the argument and the bound.
Flags (overwrite, recursive, with_keys, ...)
    Only ``True``/``False`` (Python or numpy bools): ``overwrite='no'`` raises
    ``TypeError`` rather than meaning yes.
Every message names the argument.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import numpy as np

__all__ = [
    "MAX_FILTER_WIDTH",
    "MAX_MEDIAN_WINDOW",
    "MAX_NEIGHBORHOOD",
    "MAX_SIGMA",
    "check_bool",
    "check_filter_size",
    "check_int",
    "check_memory_order",
    "check_neighborhood",
    "check_nplanes",
    "check_npartitions",
    "check_nsamples",
    "check_order",
    "check_path",
    "check_prefix",
    "check_projection_axis",
    "check_real",
    "check_sigma",
    "check_subsample_factor",
    "check_subtract_value",
]


#: Largest uniform/median filter width on one axis (scipy's work and buffers
#: grow with the width; far wider than any image this plugin handles).
MAX_FILTER_WIDTH = 2 ** 16
#: Largest median window, in pixels (product of the widths): scipy allocates
#: several arrays of this many entries and visits them at every pixel.
MAX_MEDIAN_WINDOW = 2 ** 20
#: Largest Gaussian ``sigma`` (the kernel has ``8 * sigma + 1`` taps).
MAX_SIGMA = 2.0 ** 14
#: Largest ``localcorr`` neighborhood (a box ``2 * n + 1`` wide).
MAX_NEIGHBORHOOD = 2 ** 15


# ---------------------------------------------------------------------------
# the policy for single values
# ---------------------------------------------------------------------------
def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None,
              optional: bool = False) -> int | None:
    """An integer argument, by the module's policy.

    Parameters
    ----------
    value : object
        The argument as the user gave it.
    name : str
        Its name, used in every message.
    minimum, maximum : int, optional
        Inclusive bounds.
    optional : bool
        Whether ``None`` is accepted (and returned).

    Returns
    -------
    int or None

    Raises
    ------
    TypeError
        ``value`` is a bool, a string, ``None`` (not ``optional``) or not a
        number.
    ValueError
        ``value`` is a float with a fractional part, not finite, or out of
        ``[minimum, maximum]``.
    """
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got the boolean {value!r}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif isinstance(value, numbers.Real):
        if not math.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"{name} must be an integer, got {value!r}")
        out = int(value)
    else:
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    return _in_range(out, value, name, minimum, maximum)


def _in_range(out, value, name, minimum, maximum, bound_format=""):
    """``out`` (the checked ``value``), or ValueError when it lies outside the
    inclusive bounds (written with ``bound_format``)."""
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} must be at least {minimum:{bound_format}}, got {value!r}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name} must be at most {maximum:{bound_format}}, got {value!r}")
    return out


def check_real(value, name: str, minimum: float | None = None, maximum: float | None = None) -> float:
    """A real-number argument, by the module's policy.

    Parameters
    ----------
    value : object
    name : str
    minimum, maximum : float, optional
        Inclusive bounds.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        ``value`` is a bool or not a real number.
    ValueError
        ``value`` is NaN, infinite or out of ``[minimum, maximum]``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return _in_range(out, value, name, minimum, maximum, bound_format="g")


def check_bool(value, name: str) -> bool:
    """A flag: ``True`` or ``False`` only.

    Parameters
    ----------
    value : object
    name : str

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        ``value`` is not a Python or numpy bool (``'no'``, ``0``, ``None``).
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def _is_sequence(value) -> bool:
    """True for lists, tuples and 1-d arrays (not strings, not 0-d arrays)."""
    if isinstance(value, (str, bytes)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim > 0
    return isinstance(value, Sequence)


def _per_axis(value, ndim: int, name: str) -> list:
    """Broadcast a scalar to ``ndim`` entries, or check a sequence's length."""
    if _is_sequence(value):
        items = list(value)
        if len(items) != ndim:
            raise ValueError(
                f"{name} must be a single value or a sequence of {ndim} values "
                f"(one per image axis), got {len(items)} values: {value!r}"
            )
        return items
    return [value] * ndim


# ---------------------------------------------------------------------------
# loader and writer arguments
# ---------------------------------------------------------------------------
def check_npartitions(npartitions) -> int | None:
    """``npartitions`` of the loaders: None (the engine's default) or >= 1.

    Parameters
    ----------
    npartitions : int or None

    Returns
    -------
    int or None

    Raises
    ------
    TypeError, ValueError
        By the integer policy; ``ValueError`` below 1.
    """
    return check_int(npartitions, "npartitions", minimum=1, optional=True)


def check_nplanes(nplanes) -> int | None:
    """``nplanes`` of ``frombinary``/``fromtif``: None or a positive integer.

    Parameters
    ----------
    nplanes : int or None
        Planes per image when files are split along their last (binary) or
        page (TIF) axis.

    Returns
    -------
    int or None

    Raises
    ------
    TypeError
        Not an integer by the policy.
    ValueError
        ``nplanes <= 0`` ('nplanes must be positive if passed, got ...').
    """
    value = check_int(nplanes, "nplanes", optional=True)
    if value is not None and value <= 0:
        raise ValueError(f"nplanes must be positive if passed, got {value}")
    return value


def check_memory_order(order) -> str:
    """Memory ``order`` of flat binary files: ``'C'`` or ``'F'``.

    Parameters
    ----------
    order : str

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Anything else.
    """
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    return order


def check_path(path, name: str = "path") -> str:
    """A file-system path argument: a non-empty string or ``os.PathLike``.

    An empty path is refused rather than taken as the working directory (a
    writer given ``''`` must never replace the working directory).

    Parameters
    ----------
    path : str or os.PathLike
    name : str

    Returns
    -------
    str

    Raises
    ------
    TypeError
        Not a string or path-like object.
    ValueError
        Empty or only white space.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {path!r} "
                        f"({type(path).__name__})")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"{name} must not be empty")
    return text


def check_prefix(prefix) -> str:
    """The file-name ``prefix`` of the writers: a plain, non-empty file name
    part (no directory separators, not ``.`` or ``..``), so files can never be
    written outside the target directory.

    Parameters
    ----------
    prefix : str

    Returns
    -------
    str

    Raises
    ------
    TypeError
        Not a string.
    ValueError
        Empty, ``.``/``..``, or holding a path separator or a NUL.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {prefix!r} ({type(prefix).__name__})")
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    if (not prefix or prefix in (".", "..") or "\0" in prefix
            or any(sep in prefix for sep in seps)):
        raise ValueError(f"prefix must be a non-empty file name prefix without directories, "
                         f"got {prefix!r}")
    return prefix


# ---------------------------------------------------------------------------
# Images method arguments
# ---------------------------------------------------------------------------
def check_sigma(sigma, ndim: int) -> tuple[float, ...]:
    """Normalise a Gaussian ``sigma`` to one float per image axis.

    Parameters
    ----------
    sigma : float or sequence of float
        Standard deviation of the kernel; a scalar applies to every axis, a
        sequence needs one entry per image axis. 0 on an axis = no smoothing.
    ndim : int
        Number of image axes (2 for images, 3 for volumes).

    Returns
    -------
    tuple of float
        ``ndim`` non-negative finite values.

    Raises
    ------
    TypeError
        If an entry is not a number.
    ValueError
        If the sequence length is not ``ndim`` or an entry is negative, not
        finite or above ``MAX_SIGMA``.
    """
    return tuple(check_real(item, "sigma", minimum=0.0, maximum=MAX_SIGMA)
                 for item in _per_axis(sigma, ndim, "sigma"))


def check_order(order, ndim: int) -> tuple[int, ...]:
    """Normalise a Gaussian derivative ``order`` to one int (0..3) per axis.

    Parameters
    ----------
    order : int or sequence of int
        0 = smoothing, 1..3 = derivative of the Gaussian along that axis.
    ndim : int
        Number of image axes.

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        An entry is not an integer by the policy.
    ValueError
        An entry is outside 0..3 or the length is not ``ndim``.
    """
    return tuple(check_int(item, "order", minimum=0, maximum=3)
                 for item in _per_axis(order, ndim, "order"))


def check_filter_size(size, ndim: int, name: str = "size", kind: str = "uniform") -> tuple[int, ...]:
    """Normalise a uniform/median filter ``size`` with Thunder's rules.

    A scalar applies to every image axis (a cube for volumes). For volumes,
    ``size[2] == 0`` means "filter each z-plane in 2-D with ``size[:2]``"
    (Thunder's plane-by-plane rule).

    Parameters
    ----------
    size : int or sequence of int
        Window width per image axis.
    ndim : int
        Number of image axes.
    name : str
        Argument name used in error messages.
    kind : {'uniform', 'median'}
        For ``'median'`` a width of 0 is refused on any filtered axis; for
        ``'uniform'`` widths 0 and 1 leave that axis untouched, as in scipy.

    Returns
    -------
    tuple of int
        ``ndim`` widths.

    Raises
    ------
    TypeError
        An entry is not an integer by the policy.
    ValueError
        Wrong length, negative or fractional width, a zero median width, a
        width above ``MAX_FILTER_WIDTH`` or a median window of more than
        ``MAX_MEDIAN_WINDOW`` pixels.
    """
    if kind not in ("uniform", "median"):
        raise ValueError(f"kind must be 'uniform' or 'median', got {kind!r}")
    out = tuple(check_int(item, name, minimum=0, maximum=MAX_FILTER_WIDTH)
                for item in _per_axis(size, ndim, name))
    if kind == "median":
        filtered = out[:2] if (ndim == 3 and out[2] == 0) else out
        if any(value == 0 for value in filtered):
            raise ValueError(
                f"{name} of the median filter must be at least 1 on every filtered axis "
                f"(0 is only allowed as the last entry of a volume, meaning plane by plane), "
                f"got {size!r}"
            )
        window = math.prod(filtered)
        if window > MAX_MEDIAN_WINDOW:
            raise ValueError(f"{name} of the median filter: a window of {window} pixels is too large "
                             f"(at most {MAX_MEDIAN_WINDOW}), got {size!r}")
    return out


def check_projection_axis(axis, ndim: int) -> int:
    """Check a projection ``axis`` (relative to the image) and make it >= 0.

    Parameters
    ----------
    axis : int
        Image axis (0 = first image axis); negative values count from the end
        as in numpy.
    ndim : int
        Number of image axes.

    Returns
    -------
    int
        The axis in ``range(ndim)``.

    Raises
    ------
    TypeError
        ``axis`` is not an integer by the policy.
    ValueError
        ``axis`` is out of range.
    """
    value = check_int(axis, "axis")
    if not -ndim <= value < ndim:
        raise ValueError(
            f"axis for projection ({axis}) exceeds image dimensions (0-{ndim - 1})"
        )
    return value % ndim


def check_subsample_factor(factor, ndim: int) -> tuple[int, ...]:
    """Normalise a subsampling ``factor`` to one positive int per image axis.

    Parameters
    ----------
    factor : int or sequence of int
        Keep every ``factor``-th pixel (indices 0, f, 2f, ...).
    ndim : int
        Number of image axes.

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        An entry is not an integer by the policy.
    ValueError
        Wrong length, fractional or ``<= 0`` entries.
    """
    out = tuple(check_int(item, "factor") for item in _per_axis(factor, ndim, "factor"))
    if any(value <= 0 for value in out):
        raise ValueError(f"All sampling factors must be positive; got factor={factor!r}")
    return out


def check_subtract_value(value, value_shape: tuple[int, ...]):
    """Check the ``value`` of ``Images.subtract``.

    Parameters
    ----------
    value : number or array_like
        A scalar, or an array of exactly ``value_shape``; lists are converted
        to arrays and must broadcast to ``value_shape`` without changing it.
    value_shape : tuple of int
        Shape of one image.

    Returns
    -------
    number or ndarray
        Python/numpy scalars unchanged (so numpy's casting rules for scalars
        apply: ``int16 - 1`` stays int16), otherwise an ndarray.

    Raises
    ------
    TypeError
        If ``value`` is not numeric (``None``, a string, nested objects).
    ValueError
        If an array's shape does not fit ``value_shape``.
    """
    value_shape = tuple(value_shape)
    if value is None:
        raise TypeError("val (the value to subtract) must be a number or an array, got None")
    if isinstance(value, (numbers.Number, np.generic)):
        if not isinstance(value, (numbers.Number, np.number, np.bool_)):
            raise TypeError(f"val (the value to subtract) must be a number or an array, got {value!r}")
        return value
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError, RecursionError) as err:
            raise TypeError(f"val (the value to subtract) must be a number or an array, "
                            f"got {type(value).__name__}") from err
    if array.ndim == 0:
        scalar = array[()]
        if not isinstance(scalar, (numbers.Number, np.number, np.bool_)):
            raise TypeError(f"val (the value to subtract) must be a number or an array, got {value!r}")
        return scalar
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"val (the value to subtract) must be numeric, got an array of dtype {array.dtype}")
    if isinstance(value, np.ndarray):
        shape = array.shape
    else:
        try:
            shape = np.broadcast_shapes(array.shape, value_shape)
        except ValueError:
            shape = None
    if shape != value_shape:
        raise ValueError(
            f"Cannot subtract value with dimensions {array.shape} from images with "
            f"dimensions {value_shape}"
        )
    return array


def check_neighborhood(neighborhood) -> int:
    """Check ``localcorr``'s ``neighborhood`` (half-width of the box).

    Parameters
    ----------
    neighborhood : int
        The box is ``2 * neighborhood + 1`` pixels wide on every image axis.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        Not an integer by the policy.
    ValueError
        Fractional, negative or above ``MAX_NEIGHBORHOOD``.
    """
    return check_int(neighborhood, "neighborhood", minimum=0, maximum=MAX_NEIGHBORHOOD)


def check_nsamples(nsamples) -> int:
    """Check ``sample``'s ``nsamples``.

    Parameters
    ----------
    nsamples : int
        Number of images to draw (at least 1).

    Returns
    -------
    int

    Raises
    ------
    TypeError
        Not an integer by the policy.
    ValueError
        Fractional, or smaller than 1.
    """
    value = check_int(nsamples, "nsamples")
    if value < 1:
        raise ValueError(f"Number of samples must be larger than 0, got nsamples={nsamples!r}")
    return value
