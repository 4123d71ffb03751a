"""Halving images for a resolution pyramid (the levels of a multiscale store).

A level is made from the previous one by halving the chosen axes of every
image: ``ceil(size / 2)`` entries each. ``'mean'`` averages each 2 x 2 (x 2)
box; on an axis of odd length the last entry is repeated to complete the
last box, so edge pixels keep their value instead of being darkened.
``'nearest'`` keeps every second entry (indices 0, 2, 4, ...). Integer images
are averaged in float64 and rounded half to even back to their dtype, so the
result stays in the input range (8- and 16-bit integers are summed exactly in
float32); booleans are always halved by ``'nearest'``.

Pure numpy: no engine, no I/O, no argument checks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METHODS", "halve_block", "level_shape", "pyramid_blocks"]

#: downsampling methods
METHODS = ("mean", "nearest")


def level_shape(shape, axes, level: int) -> tuple[int, ...]:
    """Shape of pyramid level ``level`` of an array of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        Shape of level 0.
    axes : sequence of int
        The axes halved at every level.
    level : int
        0 for the full resolution.

    Returns
    -------
    tuple of int
        Each axis in ``axes`` halved (rounding up) ``level`` times.
    """
    out = [int(s) for s in shape]
    for _ in range(int(level)):
        for a in axes:
            out[a] = -(-out[a] // 2)
    return tuple(out)


def halve_block(block: np.ndarray, axes, method: str = "mean") -> np.ndarray:
    """One pyramid step: ``block`` with every axis in ``axes`` halved.

    Parameters
    ----------
    block : ndarray
        Any array (e.g. a block of frames ``(k,) + value_shape``).
    axes : sequence of int
        Axes of ``block`` to halve.
    method : {'mean', 'nearest'}
        Box average of each 2-wide box, or every second entry.

    Returns
    -------
    ndarray
        ``block.dtype``; each axis in ``axes`` of length ``ceil(size / 2)``.
    """
    axes = tuple(int(a) for a in axes)
    if method == "nearest" or block.dtype == np.bool_:
        index = [slice(None)] * block.ndim
        for a in axes:
            index[a] = slice(None, None, 2)
        return np.ascontiguousarray(block[tuple(index)])
    # sums of the two halves of each axis; 8- and 16-bit integers sum exactly in float32
    small_int = block.dtype.kind in "iu" and block.dtype.itemsize <= 2
    acc = np.float32 if small_int else np.result_type(block.dtype, np.float64)
    if not axes:
        return block.copy()
    work = block
    for a in axes:
        size = work.shape[a]
        if size % 2:
            last = [slice(None)] * work.ndim
            last[a] = slice(size - 1, size)
            work = np.concatenate([work, work[tuple(last)]], axis=a)
        even = [slice(None)] * work.ndim
        odd = list(even)
        even[a], odd[a] = slice(0, None, 2), slice(1, None, 2)
        work = np.add(work[tuple(even)], work[tuple(odd)], dtype=acc)
    work *= 1.0 / 2 ** len(axes)
    if block.dtype.kind in "iu":
        info = np.iinfo(block.dtype)
        return np.clip(np.rint(work), info.min, info.max).astype(block.dtype)
    return work.astype(block.dtype, copy=False)


def pyramid_blocks(block: np.ndarray, axes, nlevels: int, method: str = "mean") -> list[np.ndarray]:
    """``block`` and its ``nlevels - 1`` successive halvings.

    Parameters
    ----------
    block : ndarray
        Level 0.
    axes : sequence of int
        Axes halved at each level.
    nlevels : int
        Number of levels, level 0 included (1 gives ``[block]``).
    method : {'mean', 'nearest'}

    Returns
    -------
    list of ndarray
        Level ``k`` is :func:`halve_block` applied ``k`` times (each level
        from the previous one).
    """
    out = [block]
    for _ in range(int(nlevels) - 1):
        out.append(halve_block(out[-1], axes, method))
    return out
