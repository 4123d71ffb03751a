"""The calcium-imaging methods of :class:`~napari_thunder.data.images.Images`.

Motion correction (:meth:`~CalciumImagingMethods.register`), summary images
(correlation, peak-to-noise, enhanced mean) and ROI traces, each also as a
stream with progress. They are a mixin that ``Images`` inherits, kept apart
from the Thunder method table; the work is in :mod:`napari_thunder.data.registration`
and the kernels it calls, over the same engine contract as every other method.
"""

from __future__ import annotations

import numbers

import numpy as np

from napari_thunder.data._shared import running_estimates


class CalciumImagingMethods:
    """Motion correction, summary images and ROI traces (mixed into ``Images``)."""

    def register(self, reference=None, method="rigid", max_shift=None, return_shifts=False,
                 nreference=50, niter=2, upsample=20, interpolation="fourier", border="constant",
                 cval=0.0, block_size=128, overlap=0.5, max_deviation=None, normalization="phase",
                 smooth=1.25):
        """Motion correction: translate every image onto a reference.

        Shifts are found by phase correlation with subpixel refinement (see
        :mod:`napari_thunder.kernels.registration`); the shift of an image is
        the translation that registers it (``out[y] = image[y - shift]``, as
        :func:`scipy.ndimage.shift`; the same sign as
        :func:`skimage.registration.phase_cross_correlation`).

        Parameters
        ----------
        reference : ndarray or Images, optional
            The image to register onto (``value_shape``, or an Images of
            one image). Default: the mean of the first ``nreference`` images,
            refined ``niter`` times by registering those images onto it.
        method : {'rigid', 'piecewise'}
            One translation per image, or in addition one per overlapping
            patch of ``block_size`` pixels (within ``max_deviation`` of the
            rigid one), interpolated linearly between patch centres.
        max_shift : float or sequence of float, optional
            Largest shift searched per image axis (pixels).
        return_shifts : bool
            Also return the shifts: ``(n, ndim)`` (rigid) or
            ``(n,) + patch grid + (ndim,)`` (piecewise), in pixels.
        nreference, niter : int
            Images averaged for the default reference, and refinements.
        upsample : int
            Subpixel resolution: shifts to ``1 / upsample`` pixel.
        interpolation : {'fourier', 'linear', 'cubic'}
            How shifts are applied (Fourier phase ramp, or splines).
        border : {'constant', 'nearest', 'wrap'}
            Pixels coming from outside the image: ``cval``, the closest
            valid pixel, or periodic (Fourier only).
        cval : float
        block_size : int or sequence of int
            ``'piecewise'``: patch size in pixels.
        overlap : float
            ``'piecewise'``: fraction shared by neighbouring patches.
        max_deviation : float, optional
            ``'piecewise'``: largest patch shift relative to the rigid one
            (default ``block_size / 8``).
        normalization : {'phase', None}
            Phase correlation (whitened) or plain cross-correlation.
        smooth : float
            Gaussian low-pass (pixels) on the cross-power spectrum.

        Returns
        -------
        Images or (Images, ndarray)
            Lazy registered images (float32 for integer input, else the input
            dtype), and the shifts (computed at once) with ``return_shifts``.

        Raises
        ------
        ValueError
            Images that are not 2-D or 3-D, or have a channel axis (RGB too:
            select one channel first), a reference of another
            shape, unknown ``method`` / ``interpolation`` / ``border``,
            non-positive ``max_shift``, bad ``block_size`` or ``overlap``.
        TypeError
            Non-numeric ``max_shift``, ``upsample``, ``cval``.
        """
        from napari_thunder.data import registration

        return registration.register(
            self, return_shifts=return_shifts, reference=reference, method=method, max_shift=max_shift,
            nreference=nreference, niter=niter, upsample=upsample, interpolation=interpolation,
            border=border, cval=cval, block_size=block_size, overlap=overlap,
            max_deviation=max_deviation, normalization=normalization, smooth=smooth)

    def stream_register(self, reference=None, method="rigid", max_shift=None, **options):
        """:meth:`register` chunk by chunk, shifts and images in one pass.

        Parameters
        ----------
        reference : ndarray or Images, optional
            The image to register onto, as in :meth:`register`.
        method : {'rigid', 'piecewise'}
            As in :meth:`register`.
        max_shift : float or sequence of float, optional
            Largest shift searched per image axis (pixels).
        **options
            The other keywords of :meth:`register` (``nreference``, ``niter``,
            ``block_size``, ...).

        Yields
        ------
        start, stop : int
            Frame range of the chunk.
        frames : ndarray
            The registered images ``start:stop``.
        shifts : ndarray
            Their shifts (as ``register(..., return_shifts=True)`` gives).

        Raises
        ------
        ValueError, TypeError
            As :meth:`register`, before any image is registered.
        """
        from napari_thunder.data import registration

        return registration.stream_register(self, reference=reference, method=method,
                                            max_shift=max_shift, **options)

    def correlation_image(self, neighbours: int = 8) -> np.ndarray:
        """Mean correlation of every pixel's series with its neighbours'.

        Parameters
        ----------
        neighbours : int
            4 or 8 for images, 6 or 26 for volumes.

        Returns
        -------
        ndarray
            float64 of ``value_shape``; pairs with a constant series are left
            out, pixels without any defined pair are NaN. One streaming pass.

        Raises
        ------
        ValueError
            A ``neighbours`` count that does not fit the images, or images with
            a channel axis (select one channel first).
        TypeError
            ``neighbours`` is not an integer.
        """
        from napari_thunder.data import registration

        acc = self.frames.aggregate(registration.correlation_accumulator(self, neighbours))
        return acc.finalize()

    def stream_correlation_image(self, neighbours: int = 8):
        """Running estimate of :meth:`correlation_image`.

        Parameters
        ----------
        neighbours : int
            4 or 8 for images, 6 or 26 for volumes, as in :meth:`correlation_image`.

        Yields
        ------
        done, total : int
            Images folded in so far, out of ``total``.
        estimate : ndarray
            The correlation image of those images; the last one equals
            ``correlation_image(neighbours)``.
        """
        from napari_thunder.data import registration

        acc = registration.correlation_accumulator(self, neighbours)
        return running_estimates(self.frames, acc)

    def pnr_image(self, sigma: float = 0.0) -> np.ndarray:
        """Peak-to-noise ratio of every pixel, in one streaming pass.

        ``(max - mean) / noise`` over the images, ``noise`` the standard
        deviation of successive-image differences over ``sqrt(2)``.

        Parameters
        ----------
        sigma : float
            Gaussian smoothing of each image first (pixels; 0 = none).

        Returns
        -------
        ndarray
            float64 of ``value_shape``; NaN where the noise is 0 (or fewer
            than 3 images).

        Raises
        ------
        ValueError
            A negative or non-numeric ``sigma``, or images with a channel axis.
        """
        from napari_thunder.data import registration

        return self.frames.aggregate(registration.pnr_accumulator(self, sigma)).finalize()

    def stream_pnr_image(self, sigma: float = 0.0):
        """Running estimate of :meth:`pnr_image`.

        Parameters
        ----------
        sigma : float
            Gaussian smoothing of each image first (pixels; 0 = none), as in
            :meth:`pnr_image`.

        Yields
        ------
        done, total : int
            Images folded in so far, out of ``total``.
        estimate : ndarray
            The peak-to-noise image of those images; the last one equals
            ``pnr_image(sigma)``.
        """
        from napari_thunder.data import registration

        acc = registration.pnr_accumulator(self, sigma)
        return running_estimates(self.frames, acc)

    def enhanced_mean(self, sigma: float = 5.0) -> np.ndarray:
        """The mean image, high-pass filtered and normalised by its local
        contrast, in ``[0, 1]`` (see :func:`napari_thunder.kernels.summary.enhanced_mean`).

        Parameters
        ----------
        sigma : float
            Spatial scale in pixels (about a cell radius).

        Returns
        -------
        ndarray of float64, ``value_shape``.

        Raises
        ------
        ValueError
            A non-positive ``sigma``, or images with a channel axis.
        """
        from napari_thunder.data.registration import check_one_channel
        from napari_thunder.kernels.summary import enhanced_mean

        check_one_channel(self, "the enhanced mean image")
        if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or sigma <= 0:
            raise ValueError(f"sigma must be a positive number, got {sigma!r}")
        return enhanced_mean(self.mean().first(), float(sigma))

    def extract_traces(self, labels, ids=None, neuropil=None, neuropil_coefficient=0.7,
                       return_neuropil=False):
        """Mean of every ROI of a label image in every image, in one pass.

        Parameters
        ----------
        labels : ndarray of int or Images
            Label image of ``value_shape``: 0 = background, ``k`` = ROI ``k``
            (e.g. a napari Labels layer's data).
        ids : sequence of int, optional
            ROIs to extract, in this order (default: every label, ascending).
        neuropil : (float, float), optional
            ``(inner, outer)`` radii (pixels) of a neuropil ring around each
            ROI (pixels of no ROI at a distance in ``(inner, outer]``); the
            traces are then ``F - neuropil_coefficient * F_neuropil``.
        neuropil_coefficient : float
        return_neuropil : bool
            Also return the neuropil traces (needs ``neuropil``).

        Returns
        -------
        Series or (Series, Series)
            Shape ``(n_rois, n_images)``, float64; its ``index`` is the image
            index. Empty neuropil rings give NaN traces.

        Raises
        ------
        ValueError
            ``labels`` of another shape, without ROI, ``ids`` not in it, or
            bad neuropil radii; ``return_neuropil`` without ``neuropil``.
        TypeError
            ``labels`` that are not integers.
        """
        from napari_thunder.data import registration
        from napari_thunder.data.series import Series

        if return_neuropil and neuropil is None:
            raise ValueError("return_neuropil needs neuropil=(inner, outer)")
        weights = registration.trace_weights(self, labels, ids, neuropil, neuropil_coefficient)
        op = registration.traces_op(weights, neuropil_coefficient)
        parts = [np.asarray(p) for _, _, p in self.frames.iter_chunks(op)]
        width = weights.nrois * (2 if weights.neuropil else 1)
        values = np.concatenate(parts, axis=0) if parts else np.zeros((0, width))
        m = weights.nrois

        def series(array):  # one record per ROI, its values over the images
            return Series(self.frames.with_array(np.ascontiguousarray(array.T)))

        if return_neuropil:
            return series(values[:, :m]), series(values[:, m:])
        return series(values[:, :m])

    def stream_traces(self, labels, ids=None, neuropil=None, neuropil_coefficient=0.7):
        """:meth:`extract_traces` chunk by chunk.

        Parameters
        ----------
        labels : ndarray of int or Images
            Label image of ``value_shape`` (0 = background), as in
            :meth:`extract_traces`.
        ids : sequence of int, optional
            ROIs to extract, in this order (default: every label, ascending).
        neuropil : (float, float), optional
            ``(inner, outer)`` radii of the neuropil ring, as in :meth:`extract_traces`.
        neuropil_coefficient : float
            Weight of the neuropil trace subtracted from each ROI's.

        Yields
        ------
        done, total : int
            Images done so far, out of ``total``.
        traces : ndarray
            ``(n_rois, done)`` traces of the images done (neuropil-corrected
            when ``neuropil`` is given).

        Raises
        ------
        ValueError, TypeError
            As :meth:`extract_traces`, before any image is read.
        """
        from napari_thunder.data import registration

        weights = registration.trace_weights(self, labels, ids, neuropil, neuropil_coefficient)
        op = registration.traces_op(weights, neuropil_coefficient)
        return _stream_rows(self.frames, op, weights.nrois, self.count())


def _stream_rows(frames, op, width, total):
    """``(done, total, rows[:, :done])`` after each chunk of ``op`` (frame order)."""
    out = np.full((width, total), np.nan)
    done = 0
    chunks = frames.iter_chunks(op)
    try:
        for start, stop, part in chunks:
            out[:, start:stop] = np.asarray(part)[:, :width].T
            done += stop - start
            yield done, total, out[:, :done].copy()
    finally:
        chunks.close()
