"""The calcium-imaging workflow over ``Images``: motion correction, summary
images and ROI traces, written once over the engine primitives.

``Images.register``, ``Images.correlation_image``, ``Images.pnr_image``,
``Images.enhanced_mean``, ``Images.extract_traces`` (and their ``stream_``
variants) are thin wrappers of the functions here. :class:`CrossCorr` is a
Thunder-registration style model (``fit`` -> ``transformations`` ->
``transform``).
"""

from __future__ import annotations

import numbers

import numpy as np

from napari_thunder.kernels import piecewise_registration as piecewise
from napari_thunder.kernels import registration as reg
from napari_thunder.kernels import summary, traces

METHODS = ("rigid", "piecewise")


# ----------------------------------------------------------------------
# argument checks (driver side, same errors on every engine)
# ----------------------------------------------------------------------
def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_max_shift(value, ndim, name="max_shift"):
    if value is None:
        return None
    arr = np.asarray(value, dtype=object).reshape(-1)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in arr):
        raise TypeError(f"{name} must be a number or one number per image axis, got {value!r}")
    arr = arr.astype(float)
    if arr.size not in (1, ndim):
        raise ValueError(f"{name} must give 1 or {ndim} values, got {arr.size}")
    if np.any(arr <= 0) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be positive, got {value!r}")
    return tuple(np.broadcast_to(arr, (ndim,)).tolist())


def check_one_channel(imgs, what):
    """Refuse images with a channel axis for ``what`` (motion correction, a summary image).

    Those methods treat every image axis as space, so on a ``(t, c, y, x)``
    stack they would shift or blur across the channels; the message says how
    to select one channel.

    Raises
    ------
    ValueError
        The images have a channel axis (``'c'`` in their metadata, RGB too).
    """
    c = imgs.metadata.channel_axis
    if c is None or c == 0:
        return
    pick = ", ".join([":"] * c + ["0"])
    kind = "RGB images' colour" if imgs.metadata.rgb else "images'"
    raise ValueError(f"{what} works on one channel, but these {kind} channel axis is image axis {c} "
                     f"(axes {imgs.metadata.names}); select one channel first, e.g. imgs[{pick}].squeeze()")


def _check_frames(imgs):
    check_one_channel(imgs, "registration")
    ndim = len(imgs.value_shape)
    if ndim not in (2, 3):
        raise ValueError(f"registration needs 2-D images or 3-D volumes, got images of shape "
                         f"{imgs.value_shape}")


def _check_block_size(block_size, value_shape):
    arr = np.asarray(block_size, dtype=object).reshape(-1)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in arr):
        raise TypeError(f"block_size must be an integer or one per image axis, got {block_size!r}")
    arr = arr.astype(int)
    if arr.size not in (1, len(value_shape)) or np.any(arr < 8):
        raise ValueError(f"block_size must be >= 8 pixels, 1 or {len(value_shape)} values; "
                         f"got {block_size!r}")
    return tuple(np.broadcast_to(arr, (len(value_shape),)).tolist())


# ----------------------------------------------------------------------
# reference
# ----------------------------------------------------------------------
def make_reference(imgs, reference=None, nreference=50, niter=2, **options) -> np.ndarray:
    """The registration reference of ``imgs``.

    Parameters
    ----------
    imgs : Images
    reference : ndarray, Images or None
        A given frame (``value_shape``; an ``Images`` of one image), or None:
        the mean of the first ``nreference`` frames, then ``niter`` times the
        mean of those frames registered onto the previous reference.
    nreference, niter : int
    **options
        ``normalization``, ``smooth``, ``upsample``, ``max_shift`` for the
        refinement.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    ValueError
        A reference of another shape, or an Images of several images.
    """
    from napari_thunder.data.images import Images

    if reference is not None:
        if isinstance(reference, Images):
            if reference.count() != 1:
                raise ValueError(f"reference: an Images holds {reference.count()} images; "
                                 "give one image")
            reference = reference.first()
        ref = np.asarray(reference, dtype=np.float64)
        if ref.shape != tuple(imgs.value_shape):
            raise ValueError(f"reference must have the images' shape {imgs.value_shape}, "
                             f"got {ref.shape}")
        return ref
    nreference = _check_positive_int(nreference, "nreference")
    niter = _check_positive_int(niter, "niter", minimum=0)
    n = imgs.count()
    if n == 0:
        raise ValueError("cannot make a reference from 0 images")
    frames = imgs.frames.take(list(range(min(n, nreference)))).collect()
    ref = frames.mean(axis=0, dtype=np.float64)
    for _ in range(niter):
        spec = _spectrum(ref, imgs.dtype, options)
        moved = reg.register_block(frames, spec, upsample=options.get("upsample", 20),
                                   max_shift=options.get("max_shift"), border="nearest")
        ref = moved.mean(axis=0, dtype=np.float64)
    return ref


def _spectrum(ref, dtype, options):
    return reg.reference_spectrum(ref, reg.work_dtype(dtype), normalization=options.get("normalization",
                                                                                         "phase"),
                                  smooth=options.get("smooth", 1.25))


# ----------------------------------------------------------------------
# picklable block functions
# ----------------------------------------------------------------------
class _Shifts:
    def __init__(self, spec, upsample, max_shift):
        self.spec, self.upsample, self.max_shift = spec, upsample, max_shift

    def __call__(self, block, start):
        return reg.estimate_shifts(block, self.spec, self.upsample, self.max_shift)


class _Register:
    def __init__(self, spec, upsample, max_shift, interpolation, border, cval):
        self.spec, self.upsample, self.max_shift = spec, upsample, max_shift
        self.interpolation, self.border, self.cval = interpolation, border, cval

    def __call__(self, block, start):
        return reg.register_block(block, self.spec, self.upsample, self.max_shift,
                                  self.interpolation, self.border, self.cval)


class _Apply:
    def __init__(self, shifts, interpolation, border, cval):
        self.shifts, self.interpolation, self.border, self.cval = shifts, interpolation, border, cval

    def __call__(self, block, start):
        return reg.apply_shifts(block, self.shifts[start:start + len(block)], self.interpolation,
                                self.border, self.cval)


class _Piecewise:
    def __init__(self, spec, specs, starts, size, upsample, max_shift, max_deviation, border, cval,
                 want_shifts):
        self.args = (spec, specs, starts, size, upsample, max_shift, max_deviation, border, cval)
        self.want_shifts = want_shifts

    def __call__(self, block, start):
        spec, specs, starts, size, upsample, max_shift, max_dev, border, cval = self.args
        out = piecewise.piecewise_register_block(block, spec, specs, starts, size, upsample, max_shift,
                                           max_dev, border, cval, return_shifts=self.want_shifts)
        return out[1] if self.want_shifts else out


class _PiecewiseApply:
    def __init__(self, patch_shifts, starts, size, border, cval):
        self.patch_shifts, self.starts, self.size = patch_shifts, starts, size
        self.border, self.cval = border, cval

    def __call__(self, block, start):
        patch = self.patch_shifts[start:start + len(block)]
        fields = piecewise.shift_fields(patch, self.starts, self.size, block.shape[1:])
        return piecewise.warp_block(block, fields, order=1, border=self.border, cval=self.cval)


class _Traces:
    def __init__(self, weights, coefficient):
        self.weights, self.coefficient = weights, coefficient

    def __call__(self, block, start):
        values = traces.traces_block(block, self.weights)
        if not self.weights.neuropil:
            return values
        m = self.weights.nrois
        return np.concatenate([values[:, :m] - self.coefficient * values[:, m:], values[:, m:]], axis=1)


class _AddTo:
    def __init__(self, acc):
        self.acc = acc

    def __call__(self, block, start):
        return self.acc.empty().add(block, start)


# ----------------------------------------------------------------------
# registration
# ----------------------------------------------------------------------
def _collect_rows(frames, func, width_shape):
    parts = [np.asarray(part) for _, _, part in frames.iter_chunks(func)]
    if not parts:
        return np.zeros((0,) + tuple(width_shape))
    return np.concatenate(parts, axis=0)


class _Plan:
    """Checked arguments, reference and per-block operations of a registration."""


def plan(imgs, reference=None, method="rigid", max_shift=None, nreference=50, niter=2, upsample=20,
         interpolation="fourier", border="constant", cval=0.0, block_size=128, overlap=0.5,
         max_deviation=None, normalization="phase", smooth=1.25) -> _Plan:
    """Check the arguments of :meth:`Images.register` (driver side) and make
    the reference; returns the plan the block functions use."""
    _check_frames(imgs)
    _check_choice(method, "method", METHODS)
    _check_choice(interpolation, "interpolation", reg.INTERPOLATIONS)
    _check_choice(border, "border", reg.BORDERS)
    _check_choice(normalization, "normalization", ("phase", None))
    if border == "wrap" and interpolation != "fourier":
        raise ValueError("border='wrap' needs interpolation='fourier'")
    if method == "piecewise" and interpolation != "fourier":
        raise ValueError("method='piecewise' applies its fields by linear interpolation; "
                         "leave interpolation='fourier'")
    if method == "piecewise" and border == "wrap":
        raise ValueError("method='piecewise' supports border 'constant' or 'nearest'")
    ndim = len(imgs.value_shape)
    p = _Plan()
    p.method, p.interpolation, p.border = method, interpolation, border
    p.ndim, p.shape = ndim, tuple(imgs.value_shape)
    p.max_shift = _check_max_shift(max_shift, ndim)
    max_deviation = _check_max_shift(max_deviation, ndim, "max_deviation")
    p.upsample = _check_positive_int(upsample, "upsample")
    if isinstance(smooth, bool) or not isinstance(smooth, numbers.Real) or smooth < 0:
        raise ValueError(f"smooth must be a number >= 0, got {smooth!r}")
    if isinstance(cval, bool) or not isinstance(cval, numbers.Real):
        raise TypeError(f"cval must be a number, got {cval!r}")
    p.cval = float(cval)
    if method == "piecewise":
        block_size = _check_block_size(block_size, p.shape)
        if isinstance(overlap, bool) or not isinstance(overlap, numbers.Real) or not 0 <= overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {overlap!r}")
    options = dict(normalization=normalization, smooth=float(smooth), upsample=p.upsample,
                   max_shift=p.max_shift)
    p.reference = make_reference(imgs, reference, nreference, niter, **options)
    p.spec = _spectrum(p.reference, imgs.dtype, options)
    p.out_dtype = reg.output_dtype(imgs.dtype)
    if method == "piecewise":
        if max_deviation is None:
            max_deviation = tuple(max(1.0, b / 8.0) for b in block_size)
        p.max_deviation = max_deviation
        p.starts, p.size = piecewise.piecewise_grid(p.shape, block_size, overlap)
        p.grid = tuple(len(s) for s in p.starts)
        p.specs = piecewise.patch_spectra(p.reference, p.size, overlap, reg.work_dtype(imgs.dtype),
                                    normalization=normalization, smooth=float(smooth))
    return p


def _piecewise_op(p, want_shifts):
    return _Piecewise(p.spec, p.specs, p.starts, p.size, p.upsample, p.max_shift, p.max_deviation,
                      p.border, p.cval, want_shifts)


def register(imgs, return_shifts=False, **kwargs):
    """Implementation of :meth:`napari_thunder.data.images.Images.register`."""
    p = plan(imgs, **kwargs)
    if p.method == "rigid":
        if not return_shifts:
            op = _Register(p.spec, p.upsample, p.max_shift, p.interpolation, p.border, p.cval)
            return imgs._new(imgs.frames.map(op, p.shape, p.out_dtype))
        shifts = _collect_rows(imgs.frames, _Shifts(p.spec, p.upsample, p.max_shift), (p.ndim,))
        op = _Apply(shifts, p.interpolation, p.border, p.cval)
        return imgs._new(imgs.frames.map(op, p.shape, p.out_dtype)), shifts
    if not return_shifts:
        return imgs._new(imgs.frames.map(_piecewise_op(p, False), p.shape, p.out_dtype))
    patch = _collect_rows(imgs.frames, _piecewise_op(p, True), p.grid + (p.ndim,))
    out = imgs._new(imgs.frames.map(_PiecewiseApply(patch, p.starts, p.size, p.border, p.cval),
                                    p.shape, p.out_dtype))
    return out, patch


class _StreamOp:
    """``func(block, start) -> (registered, shifts)`` for :func:`stream_register`."""

    def __init__(self, p):
        self.p = p
        self.piecewise = _piecewise_op(p, True) if p.method == "piecewise" else None

    def __call__(self, block, start):
        p = self.p
        if self.piecewise is None:
            return reg.register_block(block, p.spec, p.upsample, p.max_shift, p.interpolation,
                                      p.border, p.cval, return_shifts=True)
        args = self.piecewise.args
        return piecewise.piecewise_register_block(block, *args, return_shifts=True)


def stream_register(imgs, **kwargs):
    """Register chunk by chunk in one pass: yields ``(start, stop, frames,
    shifts)`` in frame order (rigid shifts ``(k, ndim)``; piecewise
    ``(k,) + grid + (ndim,)``). Closing the generator stops the work.
    ``kwargs`` as for :func:`plan`; the arguments are checked and the
    reference made before this returns."""
    return _stream(imgs, plan(imgs, **kwargs))


def _stream(imgs, p):
    chunks = imgs.frames.iter_chunks(_StreamOp(p))
    try:
        for start, stop, (frames, shifts) in chunks:
            yield start, stop, frames, shifts
    finally:
        chunks.close()


# ----------------------------------------------------------------------
# summary images
# ----------------------------------------------------------------------
def _check_neighbours(imgs, neighbours):
    if isinstance(neighbours, bool) or not isinstance(neighbours, numbers.Integral):
        raise TypeError(f"neighbours must be an integer, got {type(neighbours).__name__}")
    summary.neighbour_offsets(len(imgs.value_shape), int(neighbours))  # ValueError if not allowed
    return int(neighbours)


def correlation_accumulator(imgs, neighbours=8):
    """The accumulator of :meth:`Images.correlation_image` (arguments checked)."""
    check_one_channel(imgs, "the correlation image")
    if len(imgs.value_shape) not in (2, 3):
        raise ValueError(f"the correlation image needs 2-D or 3-D images, got {imgs.value_shape}")
    return summary.CorrelationImageAccumulator(imgs.value_shape, _check_neighbours(imgs, neighbours))


def pnr_accumulator(imgs, sigma=0.0):
    """The accumulator of :meth:`Images.pnr_image` (arguments checked)."""
    check_one_channel(imgs, "the peak-to-noise image")
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or sigma < 0:
        raise ValueError(f"sigma must be a number >= 0, got {sigma!r}")
    return summary.PeakNoiseAccumulator(imgs.value_shape, float(sigma))


# ----------------------------------------------------------------------
# traces
# ----------------------------------------------------------------------
def trace_weights(imgs, labels, ids=None, neuropil=None, coefficient=0.7):
    """Checked :class:`~napari_thunder.kernels.traces.RoiWeights` for ``imgs``."""
    from napari_thunder.data.images import Images

    if isinstance(labels, Images):
        if labels.count() != 1:
            raise ValueError(f"labels: an Images holds {labels.count()} images; give one label image")
        labels = labels.first()
    labels = np.asarray(labels)
    if labels.shape != tuple(imgs.value_shape):
        raise ValueError(f"labels must have the images' shape {imgs.value_shape}, got {labels.shape}")
    if isinstance(coefficient, bool) or not isinstance(coefficient, numbers.Real):
        raise TypeError(f"neuropil_coefficient must be a number, got {coefficient!r}")
    weights = traces.roi_weights(labels, ids=ids, neuropil=neuropil)
    if weights.nrois == 0:
        raise ValueError("labels: the label image has no ROI (every pixel is 0)")
    return weights


def traces_op(weights, coefficient):
    return _Traces(weights, float(coefficient))


class CrossCorr:
    """Rigid registration by cross-correlation, in the style of Thunder's
    registration package: ``CrossCorr().fit(images, reference)`` gives a
    :class:`RegistrationModel` whose ``transformations`` are the per-frame
    shifts and whose ``transform(images)`` registers images.

    Parameters
    ----------
    **options
        Arguments of :meth:`Images.register` (``max_shift``, ``upsample``,
        ``interpolation``, ``border``, ...).
    """

    def __init__(self, **options):
        options.pop("return_shifts", None)
        options.pop("method", None)
        self.options = options

    def fit(self, images, reference=None):
        """Estimate the shifts of ``images`` onto ``reference`` (default:
        the iterated mean of the first frames).

        Returns
        -------
        RegistrationModel
        """
        ref = make_reference(images, reference, self.options.get("nreference", 50),
                             self.options.get("niter", 2))
        _, shifts = register(images, reference=ref, return_shifts=True, **self.options)
        return RegistrationModel(shifts, ref, self.options)

    def fit_and_transform(self, images, reference=None):
        """``fit`` then ``transform`` the same images."""
        model = self.fit(images, reference)
        return model.transform(images)


class RegistrationModel:
    """Per-frame shifts found by :class:`CrossCorr`.

    Attributes
    ----------
    transformations : dict
        ``{(i,): shift}`` per frame, ``shift`` an ndarray of ``ndim`` pixels.
    shifts : ndarray
        ``(n, ndim)``.
    reference : ndarray
    """

    def __init__(self, shifts, reference, options):
        self.shifts = np.asarray(shifts)
        self.reference = reference
        self.options = options

    @property
    def transformations(self) -> dict:
        return {(i,): s for i, s in enumerate(self.shifts)}

    def transform(self, images):
        """Apply the shifts to ``images`` (same number of frames).

        Raises
        ------
        ValueError
            ``images`` has another number of frames or shape.
        """
        n = images.count()
        if n != len(self.shifts) or len(images.value_shape) != self.shifts.shape[1]:
            raise ValueError(f"images: the model has {len(self.shifts)} shifts of "
                             f"{self.shifts.shape[1]} axes; got {n} images of shape {images.value_shape}")
        op = _Apply(self.shifts, self.options.get("interpolation", "fourier"),
                    self.options.get("border", "constant"), float(self.options.get("cval", 0.0)))
        return images._new(images.frames.map(op, images.value_shape, reg.output_dtype(images.dtype)))
