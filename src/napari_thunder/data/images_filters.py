"""The per-image filters of :class:`~napari_thunder.data.images.Images`.

Projections along one image axis, ``subsample`` and the Gaussian, uniform and
median filters: each image is filtered on its own by a kernel of
:mod:`napari_thunder.kernels.filters`, lazily, and the metadata follow (a
projected axis is dropped, a subsampled axis' scale multiplied). A mixin that
``Images`` inherits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_thunder import validation
from napari_thunder.data._block_functions import BlockOp
from napari_thunder.kernels import filters

if TYPE_CHECKING:
    from napari_thunder.data.images import Images


class ImageFilterMethods:
    """Projections, subsampling and filters, image by image (mixed into ``Images``)."""

    def _project(self, kernel, axis) -> Images:
        """``kernel`` along one image axis (checked), that axis' metadata dropped."""
        axis = validation.check_projection_axis(axis, len(self.value_shape))
        return self._map_kernel(kernel, axis=axis, metadata=self._metadata.drop_image_axis(axis))

    def max_projection(self, axis: int = 2) -> Images:
        """Maximum of each image along one image axis.

        Parameters
        ----------
        axis : int
            Image axis to project, counted from the first image axis as in
            Thunder: for images of shape ``(a, b, c)``, 0 projects over ``a``
            and the default 2 over ``c`` (the last axis); the result of
            ``axis=k`` equals ``stack.max(axis=k + 1)``.

        Returns
        -------
        Images
            One axis fewer, same dtype; the projected axis' metadata is dropped.

        Raises
        ------
        ValueError
            ``axis`` outside the image axes, or fractional.
        TypeError
            ``axis`` is not an integer (bool, str, None...).
        """
        return self._project(filters.max_projection_block, axis)

    def max_min_projection(self, axis: int = 2) -> Images:
        """Maximum plus minimum of each image along one image axis.

        As in Thunder this is ``max + min`` (not ``max - min``), computed in the
        input dtype, so small integer types can wrap around.

        Parameters
        ----------
        axis : int
            Image axis to project, counted from the first image axis (as in
            :meth:`max_projection`).

        Returns
        -------
        Images
            One axis fewer, same dtype.

        Raises
        ------
        ValueError
            ``axis`` outside the image axes, or fractional.
        TypeError
            ``axis`` is not an integer.
        """
        return self._project(filters.max_min_projection_block, axis)

    def subsample(self, factor) -> Images:
        """Keep every ``factor``-th pixel along each image axis.

        Pixels ``0, f, 2f, ...`` are kept, so an axis of size ``s`` becomes
        ``ceil(s / f)``; the physical scale of the axis is multiplied by ``f``.

        Parameters
        ----------
        factor : int, sequence of int or dict
            One factor for every image axis, one per image axis, or a dict keyed
            by axis name (``{'x': 2}``; other axes 1).

        Returns
        -------
        Images
            Same dtype, smaller images.

        Raises
        ------
        ValueError
            A factor below 1, fractional, or the wrong number of factors.
        TypeError
            A factor that is not an integer.
        """
        factor = self._metadata.expand_per_axis(factor, 1, "factor")
        factors = validation.check_subsample_factor(factor, len(self.value_shape))
        return self._map_kernel(filters.subsample_block, factors=factors,
                                metadata=self._metadata.subsampled(factors))

    def _map_keeping_shape(self, kernel, **kwargs) -> Images:
        """``kernel`` on every image, which keeps its shape and dtype (and the metadata)."""
        return self._new(self.frames.map(BlockOp(kernel, **kwargs), self.value_shape, self.dtype))

    def gaussian_filter(self, sigma=2, order=0) -> Images:
        """Gaussian filter of each image over every image axis.

        Parameters
        ----------
        sigma : float, sequence of float or dict
            Standard deviation per image axis (one value for all, one per axis,
            or a dict keyed by axis name); 0 on an axis leaves it unsmoothed,
            e.g. ``(2, 2, 0)`` filters each z-plane of a volume separately.
        order : int, sequence of int or dict
            Derivative order per axis (0 = smoothing), as in
            :func:`scipy.ndimage.gaussian_filter`; borders are reflected.

        Returns
        -------
        Images
            Same shape and dtype (integer results truncated toward zero).

        Raises
        ------
        ValueError
            A negative sigma, a negative or fractional order, or the wrong number
            of values.
        TypeError
            A value that is not a number (bool, str, None).
        """
        ndim = len(self.value_shape)
        sigma = validation.check_sigma(self._metadata.expand_per_axis(sigma, 0, "sigma"), ndim)
        order = validation.check_order(self._metadata.expand_per_axis(order, 0, "order"), ndim)
        return self._map_keeping_shape(filters.gaussian_block, sigma=sigma, order=order)

    def uniform_filter(self, size=2) -> Images:
        """Box mean of each image.

        Parameters
        ----------
        size : int, sequence of int or dict
            Window width per image axis; on volumes a 0 as the third size filters
            each plane separately. Borders are reflected.

        Returns
        -------
        Images
            Same shape and dtype (integer results truncated toward zero).

        Raises
        ------
        ValueError
            A negative or fractional size, or the wrong number of sizes.
        TypeError
            A size that is not an integer.
        """
        size = validation.check_filter_size(self._metadata.expand_per_axis(size, 1, "size"),
                                            len(self.value_shape))
        return self._map_keeping_shape(filters.uniform_block, size=size)

    def median_filter(self, size=2) -> Images:
        """Median of each image over a sliding window.

        For an even window of ``k`` values the result is the value of rank
        ``k // 2`` (the upper median), as :func:`scipy.ndimage.median_filter`.

        Parameters
        ----------
        size : int, sequence of int or dict
            Window width per image axis; on volumes a 0 as the third size filters
            each plane separately. Borders are reflected.

        Returns
        -------
        Images
            Same shape and dtype.

        Raises
        ------
        ValueError
            A size below 1 (or 0 other than on the third axis), fractional, or
            the wrong number of sizes.
        TypeError
            A size that is not an integer.
        """
        size = validation.check_filter_size(self._metadata.expand_per_axis(size, 1, "size"),
                                            len(self.value_shape), kind="median")
        return self._map_keeping_shape(filters.median_block, size=size)
