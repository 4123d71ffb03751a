"""Rigid motion estimation and correction by phase correlation.

Everything here works on *blocks* of frames, ``(k,) + frame_shape``, for
2-D images and 3-D volumes, vectorised over the frames of a block. The
piecewise-rigid variant (patches, displacement fields) builds on these in
:mod:`.piecewise_registration`.

Conventions
-----------
A *shift* ``s`` of a frame is the translation, in pixels and per image axis,
that registers it onto the reference: applying it (``out[y] = frame[y - s]``,
the rule of :func:`scipy.ndimage.shift`) makes the frame line up with the
reference. This is also what :func:`skimage.registration.phase_cross_correlation`
returns for ``(reference, frame)``. A frame that is the reference moved by
``+d`` has the shift ``-d``.

Estimation
----------
The cross-power spectrum of the reference and the frame is normalised to unit
magnitude (phase correlation); its inverse transform peaks at the integer
shift. The peak is then refined on a grid of ``1 / upsample`` pixel by a
matrix-multiply DFT evaluated only around the peak (no large zero-padded
transform), so the subpixel error is at most ``1 / (2 * upsample)`` pixel
plus the noise. ``max_shift`` limits the search to ``|s| <= max_shift`` on
each axis.

Applying shifts
---------------
``'fourier'`` (the default) multiplies the spectrum by a phase ramp: exact for
band-limited images and any subpixel shift. ``'linear'`` and ``'cubic'`` use
spline interpolation (:func:`scipy.ndimage.shift`, orders 1 and 3). In every
case pixels whose source lies outside the frame are filled by the border rule:
``'constant'`` (``cval``), ``'nearest'`` (the closest valid pixel on that axis)
or ``'wrap'`` (periodic, Fourier only).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BORDERS",
    "INTERPOLATIONS",
    "apply_shifts",
    "estimate_shifts",
    "reference_spectrum",
    "register_block",
    "work_dtype",
]

INTERPOLATIONS = ("fourier", "linear", "cubic")
BORDERS = ("constant", "nearest", "wrap")

# bytes of complex temporaries one sub-block may use
_SUBBLOCK_BYTES = 32 * 2**20


def work_dtype(dtype) -> np.dtype:
    """Real dtype of the transforms: float64 for float64 input, else float32."""
    return np.dtype(np.float64 if np.dtype(dtype) == np.float64 else np.float32)


def output_dtype(dtype) -> np.dtype:
    """dtype of registered frames: the input float type, float32 for integers."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float32)


def _fft():
    import scipy.fft

    return scipy.fft


def taper_window(shape, width=None, dtype=np.float32) -> np.ndarray:
    """Separable raised-cosine edge taper: 0 at the frame's edges, 1 from
    ``width`` pixels inside (per axis; default an eighth of the axis). Frames
    are multiplied by it before their shifts are estimated, so the frame edges
    (which do not move) do not pull the shifts toward zero."""
    window = None
    widths = [max(1, n // 8) for n in shape] if width is None else \
        list(np.broadcast_to(np.asarray(width, dtype=float), (len(shape),)))
    for axis, (size, wid) in enumerate(zip(shape, widths)):
        dist = np.minimum(np.arange(size), size - 1 - np.arange(size)) + 0.5
        g = np.ones(size) if wid <= 0 else np.where(dist < wid, 0.5 - 0.5 * np.cos(np.pi * dist / wid), 1.0)
        view = g.reshape((1,) * axis + (size,) + (1,) * (len(shape) - axis - 1))
        window = view if window is None else window * view
    return window.astype(dtype)


class ReferenceSpectrum:
    """What the estimators need of a reference: its (tapered, whitened,
    smoothed) conjugate-ready spectrum, whether frames are whitened, and the
    edge taper frames get. Made by :func:`reference_spectrum`; picklable."""

    def __init__(self, spec, whiten, window):
        self.spec = spec
        self.whiten = bool(whiten)
        self.window = window

    @property
    def shape(self):
        """Shape of the reference frame (the spectrum holds the rfft half)."""
        return self.window.shape

    @property
    def real_dtype(self) -> np.dtype:
        return np.dtype(self.spec.real.dtype)

    def prepare(self, frames):
        """Frames as the estimator transforms them: mean-subtracted, tapered."""
        frames = frames.astype(self.real_dtype, copy=True)
        axes = tuple(range(1, frames.ndim))
        frames -= frames.mean(axis=axes, keepdims=True)
        frames *= self.window
        return frames


def reference_spectrum(reference, dtype=np.float32, normalization="phase", smooth=1.25,
                       taper=None) -> ReferenceSpectrum:
    """The reference frame as the estimators take it.

    Parameters
    ----------
    reference : ndarray
        One frame (2-D or 3-D).
    dtype : numpy dtype
        Real dtype of the transforms (float32 or float64).
    normalization : {'phase', None}
        ``'phase'``: the cross-power spectrum is whitened (every frequency
        weighs the same; robust to changes of brightness); ``None``: plain
        cross-correlation.
    smooth : float
        Standard deviation (pixels) of a Gaussian low-pass applied to the
        cross-power spectrum, which keeps whitened noise at high frequencies
        from moving the peak (0 = none).
    taper : float or sequence of float, optional
        Width in pixels of the raised-cosine edge taper (per axis; default
        an eighth of each axis; 0 = none), see :func:`taper_window`.

    Returns
    -------
    ReferenceSpectrum

    Raises
    ------
    ValueError
        An unknown ``normalization``, or a negative ``smooth``.
    """
    if normalization not in ("phase", None):
        raise ValueError(f"normalization must be 'phase' or None, got {normalization!r}")
    if smooth is None or smooth < 0:
        raise ValueError(f"smooth must be a number >= 0, got {smooth!r}")
    real = work_dtype(dtype)
    reference = np.asarray(reference, dtype=real)
    window = taper_window(reference.shape, taper, real)
    spec = rfft_frames((reference - reference.mean()) * window, reference.ndim)
    if normalization == "phase":
        magnitude = np.abs(spec)
        spec = spec / np.maximum(magnitude, np.finfo(magnitude.dtype).tiny * 1e3)
    if smooth > 0:
        weight = None
        for axis, size in enumerate(reference.shape):
            freqs, _ = _freqs(size, axis == reference.ndim - 1)
            g = np.exp(-2 * (np.pi * smooth * freqs) ** 2)
            view = g.reshape((1,) * axis + (freqs.size,) + (1,) * (reference.ndim - axis - 1))
            weight = view if weight is None else weight * view
        spec = spec * weight
    spec = spec.astype(np.result_type(real, np.complex64))
    return ReferenceSpectrum(spec, normalization == "phase", window)


def _freqs(size, last):
    """Frequencies (cycles/pixel) of one axis of a real-input spectrum: the
    last axis holds the ``rfft`` half; with the weights that count each
    half-spectrum column for itself and its conjugate twin."""
    if not last:
        return np.fft.fftfreq(size), np.ones(size)
    freqs = np.fft.rfftfreq(size)
    weights = np.full(freqs.size, 2.0)
    weights[0] = 1.0
    if size % 2 == 0:
        weights[-1] = 1.0
    return freqs, weights


def rfft_frames(frames, ndim):
    """Spectra of real frames over their last ``ndim`` axes (half last axis)."""
    return _fft().rfftn(frames, axes=tuple(range(frames.ndim - ndim, frames.ndim)))


def _irfft(spectra, shape):
    return _fft().irfftn(spectra, s=shape, axes=tuple(range(spectra.ndim - len(shape), spectra.ndim)))


def _signed(index, size):
    """Peak index -> signed shift in ``(-size/2, size/2]``."""
    return np.where(index > size // 2, index - size, index)


def _sub_blocks(k, frame_size, itemsize):
    per = max(1, _SUBBLOCK_BYTES // max(1, frame_size * itemsize * 4))
    for start in range(0, k, per):
        yield slice(start, min(k, start + per))


def _upsampled_peak(product, coarse, upsample, shape):
    """Refine integer peaks ``coarse`` (``(k, ndim)``) of ``irfftn(product)``
    on a grid of ``1 / upsample`` pixel; returns ``(k, ndim)`` float shifts.

    The correlation is evaluated only at those points, by a separable
    matrix-multiply DFT of the half spectrum (each column weighted for its
    conjugate twin; the real part is the correlation)."""
    k = product.shape[0]
    ndim = len(shape)
    width = int(math.ceil(1.5 * upsample))
    offsets = (np.arange(width) - width // 2) / upsample  # pixels around the peak
    out = product
    for axis in reversed(range(ndim)):  # the half axis first: the largest contraction is halved
        freqs, weights = _freqs(shape[axis], axis == ndim - 1)
        size = freqs.size
        # positions where the correlation is evaluated, per frame: (k, width)
        where = coarse[:, axis, None] + offsets[None, :]
        kernel = (weights[None, None, :]
                  * np.exp((2j * np.pi) * freqs[None, None, :] * where[:, :, None])).astype(product.dtype)
        # contract axis (axis + 1) of out with the kernel's last axis
        moved = np.moveaxis(out, axis + 1, -1)
        lead = moved.shape[1:-1]
        flat = moved.reshape(k, -1, size)
        flat = np.matmul(flat, np.swapaxes(kernel, 1, 2))  # (k, rest, width)
        out = np.moveaxis(flat.reshape((k,) + lead + (width,)), -1, axis + 1)
    mag = out.real.reshape(k, -1)
    best = np.argmax(mag, axis=1)
    local = np.stack(np.unravel_index(best, (width,) * ndim), axis=1)
    return coarse + offsets[local]


def _shift_mask(shape, max_shift):
    """Boolean mask of the correlation entries with ``|shift| <= max_shift``."""
    grids = [np.abs(_signed(np.arange(n), n)) <= m for n, m in zip(shape, max_shift)]
    mask = grids[0]
    for g in grids[1:]:
        mask = mask[..., None] & g
    return mask


def check_max_shift(max_shift, ndim):
    if max_shift is None:
        return None
    values = np.broadcast_to(np.asarray(max_shift, dtype=float), (ndim,))
    return tuple(float(v) for v in values)


def estimate_spectra(spectra, ref_spec, upsample, max_shift):
    """Shifts of frames given by their spectra ``(k,) + shape``; ``ref_spec``
    is a :func:`reference_spectrum` (conjugated, whitened and smoothed
    according to its ``normalization`` and ``smooth``)."""
    shape = ref_spec.shape
    if ref_spec.whiten:
        magnitude = np.abs(spectra)
        np.maximum(magnitude, np.finfo(magnitude.dtype).tiny * 1e3, out=magnitude)
        product = np.conj(spectra)
        product *= ref_spec.spec
        product /= magnitude
        del magnitude
    else:
        product = np.conj(spectra)
        product *= ref_spec.spec
    corr = _irfft(product, shape)
    if max_shift is not None:
        corr = np.where(_shift_mask(shape, max_shift)[None], corr, -np.inf)
    flat = corr.reshape(len(corr), -1)
    peak = np.stack(np.unravel_index(np.argmax(flat, axis=1), shape), axis=1)
    coarse = np.stack([_signed(peak[:, a], n) for a, n in enumerate(shape)], axis=1).astype(float)
    if upsample > 1:
        shifts = _upsampled_peak(product, coarse, upsample, shape)
    else:
        shifts = coarse
    if max_shift is not None:
        shifts = np.clip(shifts, -np.asarray(max_shift), np.asarray(max_shift))
    return shifts


def estimate_shifts(block, ref_spec, upsample=20, max_shift=None) -> np.ndarray:
    """Rigid shifts of each frame of ``block`` onto a reference.

    Parameters
    ----------
    block : ndarray
        ``(k,) + shape`` frames.
    ref_spec : ndarray
        :func:`reference_spectrum` of the reference (``shape``).
    upsample : int
        Subpixel resolution: shifts are found to ``1 / upsample`` pixel
        (1 = integer shifts).
    max_shift : float or sequence of float, optional
        Largest shift searched, per axis (pixels).

    Returns
    -------
    ndarray of float64
        ``(k, ndim)`` shifts (see the module conventions).
    """
    block = np.asarray(block)
    shape = block.shape[1:]
    wdt = ref_spec.real_dtype
    max_shift = check_max_shift(max_shift, len(shape))
    out = np.empty((len(block), len(shape)), np.float64)
    for part in _sub_blocks(len(block), int(np.prod(shape)), wdt.itemsize * 2):
        spectra = rfft_frames(ref_spec.prepare(block[part]), len(shape))
        out[part] = estimate_spectra(spectra, ref_spec, int(upsample), max_shift)
    return out


def _phase_ramp(shape, shifts, dtype):
    """``exp(-2 pi i f . s)`` per frame on the half spectrum of ``shape``."""
    ramp = None
    for axis, size in enumerate(shape):
        freqs, _ = _freqs(size, axis == len(shape) - 1)
        phase = np.exp(-2j * np.pi * freqs[None, :] * shifts[:, axis, None]).astype(dtype)
        view = phase.reshape((len(shifts),) + (1,) * axis + (freqs.size,) + (1,) * (len(shape) - axis - 1))
        ramp = view if ramp is None else ramp * view
    return ramp


def _fill_borders(out, shifts, border, cval):
    """Apply the border rule to the pixels shifted in from outside the frame."""
    if border == "wrap":
        return out
    for k, shift in enumerate(shifts):
        frame = out[k]
        for axis, s in enumerate(shift):
            size = frame.shape[axis]
            lead = int(math.ceil(s - 1e-6)) if s > 0 else 0
            trail = int(math.ceil(-s - 1e-6)) if s < 0 else 0
            lead, trail = min(lead, size), min(trail, size)
            index = [slice(None)] * frame.ndim
            if lead:
                index[axis] = slice(0, lead)
                if border == "nearest" and lead < size:
                    src = [slice(None)] * frame.ndim
                    src[axis] = slice(lead, lead + 1)
                    frame[tuple(index)] = frame[tuple(src)]
                else:
                    frame[tuple(index)] = cval
            if trail:
                index[axis] = slice(size - trail, size)
                if border == "nearest" and trail < size:
                    src = [slice(None)] * frame.ndim
                    src[axis] = slice(size - trail - 1, size - trail)
                    frame[tuple(index)] = frame[tuple(src)]
                else:
                    frame[tuple(index)] = cval
    return out


def _shift_spectra(spectra, shifts, shape, out_dtype):
    """Frames of ``shape`` from their half spectra, translated by ``shifts``.

    The Nyquist column of even axes is made real by the inverse transform
    (a half-sample shift cannot be represented there), as ``irfftn`` does."""
    spectra = spectra * _phase_ramp(shape, shifts, spectra.dtype)
    return _irfft(spectra, shape).astype(out_dtype, copy=False)


def apply_shifts(block, shifts, interpolation="fourier", border="constant", cval=0.0):
    """Translate every frame of ``block`` by its shift.

    Parameters
    ----------
    block : ndarray
        ``(k,) + shape`` frames.
    shifts : array-like
        ``(k, ndim)`` shifts (``out[y] = frame[y - s]``).
    interpolation : {'fourier', 'linear', 'cubic'}
        Fourier phase ramp, or spline of order 1 or 3.
    border : {'constant', 'nearest', 'wrap'}
        Value of the pixels coming from outside the frame: ``cval``, the
        closest valid pixel along the axis, or periodic (``'wrap'``,
        Fourier only).
    cval : float
        The ``'constant'`` fill value.

    Returns
    -------
    ndarray
        ``(k,) + shape``; float32 for integer input, else the input dtype.
    """
    block = np.asarray(block)
    shifts = np.asarray(shifts, dtype=np.float64).reshape(len(block), block.ndim - 1)
    out_dtype = output_dtype(block.dtype)
    if interpolation == "fourier":
        wdt = work_dtype(block.dtype)
        out = np.empty(block.shape, out_dtype)
        for part in _sub_blocks(len(block), int(np.prod(block.shape[1:])), wdt.itemsize * 2):
            spectra = rfft_frames(block[part].astype(wdt, copy=False), block.ndim - 1)
            out[part] = _shift_spectra(spectra, shifts[part], block.shape[1:], out_dtype)
        return _fill_borders(out, shifts, border, cval)
    import scipy.ndimage as ndi

    order = {"linear": 1, "cubic": 3}[interpolation]
    out = np.empty(block.shape, out_dtype)
    for k, frame in enumerate(block):
        ndi.shift(frame.astype(out_dtype, copy=False), shifts[k], output=out[k], order=order,
                  mode="constant", cval=cval, prefilter=order > 1)
    return _fill_borders(out, shifts, border, cval) if border == "nearest" else out


def register_block(block, ref_spec, upsample=20, max_shift=None, interpolation="fourier",
                   border="constant", cval=0.0, return_shifts=False):
    """Estimate and apply rigid shifts in one go (one forward transform per
    frame with Fourier interpolation).

    Parameters
    ----------
    block, ref_spec, upsample, max_shift
        As for :func:`estimate_shifts`.
    interpolation, border, cval
        As for :func:`apply_shifts`.
    return_shifts : bool
        Also return the ``(k, ndim)`` shifts.

    Returns
    -------
    ndarray or (ndarray, ndarray)
        The registered frames (and the shifts).
    """
    block = np.asarray(block)
    if interpolation != "fourier":
        shifts = estimate_shifts(block, ref_spec, upsample, max_shift)
        out = apply_shifts(block, shifts, interpolation, border, cval)
        return (out, shifts) if return_shifts else out
    shape = block.shape[1:]
    wdt = ref_spec.real_dtype
    max_shift = check_max_shift(max_shift, len(shape))
    out_dtype = output_dtype(block.dtype)
    out = np.empty(block.shape, out_dtype)
    shifts = np.empty((len(block), len(shape)), np.float64)
    for part in _sub_blocks(len(block), int(np.prod(shape)), wdt.itemsize * 2):
        tapered = rfft_frames(ref_spec.prepare(block[part]), len(shape))
        shifts[part] = estimate_spectra(tapered, ref_spec, int(upsample), max_shift)
        del tapered
        spectra = rfft_frames(block[part].astype(wdt, copy=False), len(shape))
        out[part] = _shift_spectra(spectra, shifts[part], shape, out_dtype)
    _fill_borders(out, shifts, border, cval)
    return (out, shifts) if return_shifts else out
