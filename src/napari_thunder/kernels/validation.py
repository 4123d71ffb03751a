"""Argument checks for the Images methods (spec section 10, decision 3).

Every check runs on the driver before any work is scheduled, so the local and
the Spark engine raise the same exceptions. Each function returns the argument
normalised to the form the kernels in :mod:`napari_thunder.kernels.filters`
expect (tuples of Python numbers, one per image axis), or raises:

* ``ValueError`` whose message names the argument, for a value of the right
  kind but out of range or of the wrong length;
* ``TypeError`` for a sigma that is not a number (spec section 4).
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numpy as np

__all__ = [
    "check_filter_size",
    "check_neighborhood",
    "check_nsamples",
    "check_order",
    "check_projection_axis",
    "check_sigma",
    "check_subsample_factor",
    "check_subtract_value",
]


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


def _as_int(item, name: str, what: str = "an integer") -> int:
    """``item`` as an int; integral floats accepted, bools and others refused."""
    if isinstance(item, (bool, np.bool_)):
        raise ValueError(f"{name} must be {what}, got the boolean {item!r}")
    if isinstance(item, numbers.Integral):
        return int(item)
    if isinstance(item, numbers.Real) and math.isfinite(item) and float(item).is_integer():
        return int(item)
    raise ValueError(f"{name} must be {what}, got {item!r}")


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
        If the sequence length is not ``ndim`` or an entry is negative or not
        finite.
    """
    items = _per_axis(sigma, ndim, "sigma")
    out = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise TypeError(f"sigma must be a number or a sequence of numbers, got {sigma!r}")
        value = float(item)
        if not math.isfinite(value):
            raise ValueError(f"sigma must be finite, got {sigma!r}")
        if value < 0:
            raise ValueError(f"sigma must be non-negative, got {sigma!r}")
        out.append(value)
    return tuple(out)


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
    ValueError
        If an entry is not an integer in 0..3 or the length is not ``ndim``.
    """
    items = _per_axis(order, ndim, "order")
    out = []
    for item in items:
        value = _as_int(item, "order", "an integer between 0 and 3")
        if not 0 <= value <= 3:
            raise ValueError(f"order must be between 0 and 3, got {order!r}")
        out.append(value)
    return tuple(out)


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
        For ``'median'`` a width of 0 is refused on any filtered axis (scipy
        would raise an obscure RuntimeError); for ``'uniform'`` widths 0 and 1
        leave that axis untouched, as in scipy.

    Returns
    -------
    tuple of int
        ``ndim`` widths.

    Raises
    ------
    ValueError
        Wrong length, negative or non-integer width, or a zero median width.
    """
    if kind not in ("uniform", "median"):
        raise ValueError(f"kind must be 'uniform' or 'median', got {kind!r}")
    items = _per_axis(size, ndim, name)
    out = tuple(_as_int(item, name, "a non-negative integer") for item in items)
    if any(value < 0 for value in out):
        raise ValueError(f"{name} must be non-negative, got {size!r}")
    if kind == "median":
        filtered = out[:2] if (ndim == 3 and out[2] == 0) else out
        if any(value == 0 for value in filtered):
            raise ValueError(
                f"{name} of the median filter must be at least 1 on every filtered axis "
                f"(0 is only allowed as the last entry of a volume, meaning plane by plane), "
                f"got {size!r}"
            )
    return out


def check_projection_axis(axis, ndim: int) -> int:
    """Check a projection ``axis`` (relative to the image) and make it >= 0.

    Parameters
    ----------
    axis : int
        Image axis (0 = x, 1 = y, 2 = z); negative values count from the end
        as in numpy.
    ndim : int
        Number of image axes.

    Returns
    -------
    int
        The axis in ``range(ndim)``.

    Raises
    ------
    ValueError
        If ``axis`` is not an integer or is out of range.
    """
    value = _as_int(axis, "axis")
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
        Keep every ``factor``-th pixel (indices 0, f, 2f, ...). Entries are
        converted with ``int()`` as Thunder does.
    ndim : int
        Number of image axes.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        Wrong length, non-numeric or ``<= 0`` entries.
    """
    items = _per_axis(factor, ndim, "factor")
    out = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise ValueError(f"factor must be a positive integer or a sequence of them, got {factor!r}")
        if not math.isfinite(item):
            raise ValueError(f"factor must be finite, got {factor!r}")
        out.append(int(item))
    if any(value <= 0 for value in out):
        raise ValueError(f"All sampling factors must be positive; got factor={factor!r}")
    return tuple(out)


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
        If ``value`` is not numeric.
    ValueError
        If an array's shape does not fit ``value_shape``.
    """
    value_shape = tuple(value_shape)
    if isinstance(value, (numbers.Number, np.generic)):
        if not isinstance(value, (numbers.Number, np.number, np.bool_)):
            raise TypeError(f"value must be a number or an array, got {value!r}")
        return value
    if isinstance(value, np.ndarray):
        array = value
        if array.ndim == 0:
            array = array[()]
            return check_subtract_value(array, value_shape)
        if array.shape != value_shape:
            raise ValueError(
                f"Cannot subtract value with dimensions {array.shape} from images with "
                f"dimensions {value_shape}"
            )
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"value must be a number or an array, got {value!r}") from err
        if array.ndim == 0:
            return check_subtract_value(array[()], value_shape)
        try:
            shape = np.broadcast_shapes(array.shape, value_shape)
        except ValueError:
            shape = None
        if shape != value_shape:
            raise ValueError(
                f"Cannot subtract value with dimensions {array.shape} from images with "
                f"dimensions {value_shape}"
            )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"value must be numeric, got an array of dtype {array.dtype}")
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
    ValueError
        If it is not an integer (bools and floats included) or is negative.
    """
    if isinstance(neighborhood, (bool, np.bool_)) or not isinstance(neighborhood, numbers.Integral):
        raise ValueError(f"neighborhood must be a non-negative integer, got {neighborhood!r}")
    value = int(neighborhood)
    if value < 0:
        raise ValueError(f"neighborhood must be a non-negative integer, got {neighborhood!r}")
    return value


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
    ValueError
        If it is not an integer or is smaller than 1.
    """
    value = _as_int(nsamples, "nsamples")
    if value < 1:
        raise ValueError(f"Number of samples must be larger than 0, got nsamples={nsamples!r}")
    return value
