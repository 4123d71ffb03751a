"""Piecewise-rigid motion correction: one rigid shift per frame, then a shift
per overlapping patch, interpolated into a smooth displacement field.

Built on the phase-correlation estimation of :mod:`.registration` (same
shift convention: the translation that registers a frame onto the
reference). Everything works on blocks ``(k,) + frame_shape`` of 2-D images
or 3-D volumes.
"""

from __future__ import annotations

import math

import numpy as np

from napari_thunder.kernels.registration import (
    apply_shifts,
    check_max_shift,
    estimate_shifts,
    estimate_spectra,
    output_dtype,
    reference_spectrum,
    rfft_frames,
    work_dtype,
)

__all__ = ["patch_spectra", "piecewise_grid", "piecewise_register_block", "piecewise_shifts",
           "shift_fields", "warp_block"]


def piecewise_grid(shape, block_size, overlap=0.5):
    """Starts of the overlapping patches of a piecewise-rigid registration.

    Parameters
    ----------
    shape : tuple of int
        Frame shape.
    block_size : int or sequence of int
        Patch size per axis (clipped to the frame).
    overlap : float
        Fraction of a patch shared with its neighbour (0 <= overlap < 1).

    Returns
    -------
    starts : list of ndarray
        Patch starts along each axis.
    size : tuple of int
        Patch size per axis.
    """
    size = tuple(int(min(s, b)) for s, b in
                 zip(shape, np.broadcast_to(np.asarray(block_size), (len(shape),))))
    starts = []
    for n, b in zip(shape, size):
        step = max(1, int(round(b * (1 - overlap))))
        count = max(1, int(math.ceil((n - b) / step)) + 1)
        starts.append(np.unique(np.round(np.linspace(0, n - b, count)).astype(int)))
    return starts, size


def patch_spectra(reference, block_size, overlap=0.5, dtype=np.float32, **options):
    """:func:`reference_spectrum` of every patch of the reference, keyed by
    the patch's grid position (``options`` go to :func:`reference_spectrum`)."""
    reference = np.asarray(reference, work_dtype(dtype))
    starts, size = piecewise_grid(reference.shape, block_size, overlap)
    specs = {}
    for corner in np.ndindex(*[len(s) for s in starts]):
        sl = tuple(slice(starts[a][c], starts[a][c] + b) for a, (c, b) in enumerate(zip(corner, size)))
        specs[corner] = reference_spectrum(reference[sl], reference.dtype, **options)
    return specs


def piecewise_shifts(block, specs, starts, size, upsample=10, max_deviation=None):
    """Shifts of every patch of every frame: ``(k,) + grid + (ndim,)``.

    ``specs`` are the :func:`patch_spectra` of the reference for the patch
    grid ``starts`` / ``size`` (:func:`piecewise_grid`); each patch's shift is
    searched within ``max_deviation`` pixels.
    """
    block = np.asarray(block)
    ndim = block.ndim - 1
    grid = tuple(len(s) for s in starts)
    out = np.zeros((len(block),) + grid + (ndim,))
    limit = check_max_shift(max_deviation, ndim)
    for corner, spec in specs.items():
        sl = (slice(None),) + tuple(slice(starts[a][c], starts[a][c] + b)
                                    for a, (c, b) in enumerate(zip(corner, size)))
        spectra = rfft_frames(spec.prepare(block[sl]), ndim)
        out[(slice(None),) + corner] = estimate_spectra(spectra, spec, int(upsample), limit)
    return out


def shift_fields(patch_shifts, starts, size, shape):
    """Per-pixel displacement fields interpolated (linearly, between patch
    centres; constant beyond the outer centres) from patch shifts.

    Returns ``(k, ndim) + shape`` float64.
    """
    from scipy.interpolate import RegularGridInterpolator

    k = patch_shifts.shape[0]
    ndim = len(shape)
    centres = [s + (b - 1) / 2.0 for s, b in zip(starts, size)]
    coords = [np.clip(np.arange(n, dtype=float), c[0], c[-1]) for n, c in zip(shape, centres)]
    mesh = np.stack(np.meshgrid(*coords, indexing="ij"), axis=-1).reshape(-1, ndim)
    fields = np.empty((k, ndim) + tuple(shape))
    for f in range(k):
        for a in range(ndim):
            values = patch_shifts[f, ..., a]
            if all(len(c) == 1 for c in centres):
                fields[f, a] = values.reshape(-1)[0]
                continue
            axes_used = [c if len(c) > 1 else np.array([c[0], c[0] + 1.0]) for c in centres]
            vals = values
            for ax, c in enumerate(centres):
                if len(c) == 1:
                    vals = np.repeat(vals, 2, axis=ax)
            interp = RegularGridInterpolator(axes_used, vals, method="linear", bounds_error=False,
                                             fill_value=None)
            fields[f, a] = interp(mesh).reshape(shape)
    return fields


def warp_block(block, fields, order=1, border="constant", cval=0.0):
    """Resample each frame at ``y - field(y)`` (the shift rule of the rigid
    case, per pixel), by splines of ``order``; pixels from outside the frame
    follow ``border`` (``'constant'`` with ``cval`` or ``'nearest'``)."""
    import scipy.ndimage as ndi

    block = np.asarray(block)
    out_dtype = output_dtype(block.dtype)
    shape = block.shape[1:]
    grid = np.indices(shape, dtype=np.float64)
    out = np.empty(block.shape, out_dtype)
    mode = "nearest" if border == "nearest" else "constant"
    for k, frame in enumerate(block):
        coords = grid - fields[k]
        out[k] = ndi.map_coordinates(frame.astype(np.float64, copy=False), coords, order=order,
                                     mode=mode, cval=cval, prefilter=order > 1)
    return out


def piecewise_register_block(block, ref_spec, specs, starts, size, upsample=20, max_shift=None,
                             max_deviation=None, border="constant", cval=0.0, return_shifts=False):
    """Piecewise-rigid registration of a block.

    Each frame gets a rigid shift (against ``ref_spec``), then every
    overlapping patch its own shift, measured on the rigidly registered frame
    within ``max_deviation`` pixels of the rigid one. The patch shifts are
    interpolated linearly between patch centres into a smooth displacement
    field (constant beyond the outer centres), which is applied to the
    original frame by linear interpolation with the ``border`` rule
    (``'constant'`` with ``cval``, or ``'nearest'``).

    Parameters
    ----------
    block : ndarray
        ``(k,) + shape`` frames.
    ref_spec : ReferenceSpectrum
        The whole reference (:func:`reference_spectrum`).
    specs, starts, size
        The reference's patches (:func:`patch_spectra`, :func:`piecewise_grid`).
    upsample, max_shift
        As for :func:`estimate_shifts` (the rigid step).
    max_deviation : float, optional
        Largest patch shift relative to the rigid one (pixels).
    border, cval
        Border rule for pixels coming from outside the frame.
    return_shifts : bool
        Also return the total patch shifts ``(k,) + grid + (ndim,)``.

    Returns
    -------
    ndarray or (ndarray, ndarray)
    """
    block = np.asarray(block)
    rigid = estimate_shifts(block, ref_spec, upsample, max_shift)
    moved = apply_shifts(block, rigid, "fourier", "nearest")
    residual = piecewise_shifts(moved, specs, starts, size, upsample, max_deviation)
    total = residual + rigid.reshape((len(block),) + (1,) * (residual.ndim - 2) + (-1,))
    fields = shift_fields(total, starts, size, block.shape[1:])
    out = warp_block(block, fields, order=1, border=border, cval=cval)
    return (out, total) if return_shifts else out
