"""``Images``: a sequence of images or volumes, written once for every engine.

Every method is a composition of the engine primitives in
:mod:`napari_thunder.engines.base` (map, take, filter, aggregate, iter_chunks)
and the numeric kernels in :mod:`napari_thunder.kernels`. Arguments are
checked here, on the driver, before any work starts, so the local and the
Spark engine raise the same exceptions.
"""

from __future__ import annotations

import numbers
import operator
import warnings
from collections.abc import Callable, Iterator

import numpy as np

from napari_thunder import validation
from napari_thunder.data._spark_methods import SparkMethods
from napari_thunder.data.images_calcium import CalciumImagingMethods
from napari_thunder.data.images_output import ImageOutputMethods
from napari_thunder.kernels import filters
from napari_thunder.kernels.correlation import LocalCorrAccumulator, WindowCorrAccumulator
from napari_thunder.kernels.moments import STATS as STATISTICS
from napari_thunder.kernels.moments import MomentAccumulator, ReduceAccumulator
from napari_thunder.metadata import ImageMetadata

_SAME = object()  # "these images' labels" (default of Images._new)


class Images(ImageOutputMethods, CalciumImagingMethods, SparkMethods):
    """A sequence of ``n`` images (2-D) or volumes (3-D) of one shape.

    Axis 0 indexes the images; ``shape = (n,) + value_shape``. Build one with
    the loaders in :mod:`napari_thunder.images` (``fromarray``, ``fromtif``,
    ...), not directly.

    Parameters
    ----------
    frames : napari_thunder.engines.base.Frames
        Where the frames live (local dask array or Spark RDD).
    metadata : napari_thunder.metadata.ImageMetadata, optional
        Axis names, scale, translate, units and channels of the stack; the
        defaults (``('t', 'y', 'x')``, unit scale) when not given. Every
        method carries them to its result (see :mod:`napari_thunder.metadata`).
    labels : array-like, optional
        One label per image (shape ``(n,)``), as Thunder's ``labels``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_thunder import images
    >>> imgs = images.fromarray(np.arange(24.0).reshape(2, 3, 4))
    >>> imgs.shape
    (2, 3, 4)
    >>> imgs.mean().toarray()[0]
    array([6., 7., 8., 9.])
    """

    def __init__(self, frames, metadata=None, labels=None):
        self.frames = frames
        shape = tuple(frames.shape)
        if metadata is None:
            metadata = ImageMetadata.default(len(shape))
        elif not isinstance(metadata, ImageMetadata):
            raise TypeError(f"metadata must be an ImageMetadata, got {type(metadata).__name__}")
        self._metadata = metadata.check_shape(shape)
        self._labels = None
        self.labels = labels
        self._values = None

    def _new(self, frames, metadata=None, labels=_SAME) -> Images:
        """Images on ``frames`` with ``metadata``; by default these images'
        metadata when the rank is kept (channel names dropped if the channel
        axis changed length), else the defaults with axis 0 kept. The labels
        are kept by default when the number of images is."""
        if labels is _SAME:
            labels = self._labels if int(frames.shape[0]) == self.shape[0] else None
        if metadata is None:
            metadata = self._metadata.for_value_shape(len(frames.shape) - 1)
            try:
                metadata.check_shape(frames.shape)
            except ValueError:
                metadata = metadata.updated(rgb=False) if metadata.rgb else metadata
                metadata = ImageMetadata(metadata.axes, rgb=metadata.rgb)
                try:
                    metadata.check_shape(frames.shape)
                except ValueError:
                    metadata = ImageMetadata.default(len(frames.shape))
        return Images(frames, metadata, labels=labels)

    def _with_frames(self, frames) -> Images:
        return self._new(frames)

    @property
    def metadata(self) -> ImageMetadata:
        """Axis names, scale, translate, units and channel names of the stack
        (axis 0, the image axis, first)."""
        return self._metadata

    def with_metadata(self, metadata=None, *, names=None, scale=None, translate=None, units=None,
                      channel_names=None, rgb=None) -> Images:
        """The same images with other metadata (nothing is computed).

        Parameters
        ----------
        metadata : ImageMetadata, optional
            Replaces the metadata as a whole; or change some of them:
        names, scale, translate, units : sequence or dict, optional
            One entry per axis (axis 0 first), or a dict ``{axis: value}``
            keyed by axis name or index, e.g. ``scale={'y': 0.4, 'x': 0.4}``.
        channel_names : sequence of str, optional
            Names of the entries of the axis named ``'c'``.
        rgb : bool, optional
            Whether the last axis holds RGB(A) samples.

        Returns
        -------
        Images

        Raises
        ------
        ValueError
            Values that do not fit the shape (wrong lengths, a non-positive
            scale, unknown axis names).
        TypeError
            ``metadata`` is not an ``ImageMetadata``.
        """
        if metadata is None:
            metadata = self._metadata.updated(names=names, scale=scale, translate=translate,
                                              units=units, channel_names=channel_names, rgb=rgb)
        return Images(self.frames, metadata, labels=self._labels)

    # ------------------------------------------------------------------
    # description
    # ------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """``(n,) + value_shape``."""
        return tuple(self.frames.shape)

    @property
    def value_shape(self) -> tuple[int, ...]:
        """Shape of one image."""
        return tuple(self.frames.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        """Data type of the images."""
        return np.dtype(self.frames.dtype)

    @property
    def mode(self) -> str:
        """``'local'``, ``'spark'`` or ``'distributed'``."""
        return self.frames.mode

    @property
    def baseaxes(self) -> tuple[int, ...]:
        """The axes that index the images: ``(0,)``."""
        return (0,)

    @property
    def baseshape(self) -> tuple[int, ...]:
        """``(n,)``: the shape of the image index."""
        return self.shape[:1]

    @property
    def labels(self):
        """One label per image (an ndarray of shape ``(n,)``), or None.

        Set it to any array-like of ``n`` entries (or None). Methods that keep
        the images keep the labels; indexing and ``sample`` select them;
        methods that make other images (statistics, ``map_as_series``,
        ``reduce``) drop them.

        Raises
        ------
        ValueError
            When set to something of another shape than ``(n,)``.
        """
        return self._labels

    @labels.setter
    def labels(self, value):
        if value is not None:
            value = np.asarray(value)
            if value.shape != self.baseshape:
                raise ValueError(f"labels: shape {value.shape} must be the same as the leading "
                                 f"dimensions of the Images {self.baseshape}")
        self._labels = value

    @property
    def values(self):
        """The images' values, as Thunder: an ndarray of ``shape`` in local mode.

        Local mode computes the lazy stack on first access (and keeps the
        result); the lazy array itself is :attr:`dask_array`. In Spark mode
        the RDD of ``((i,), image)`` records; on dask.distributed the dask
        array (computed with its client). ``toarray()`` gives a squeezed
        ndarray in every mode.
        """
        if self.mode == "spark":
            return self.frames.rdd
        if self.mode != "local":
            return self.frames.array
        if self._values is None:
            self._values = np.asarray(self.frames.collect())
        return self._values

    @property
    def dask_array(self):
        """The lazy dask array of the images, ``shape`` and ``dtype`` (local and
        dask.distributed modes); nothing is computed.

        Raises
        ------
        ValueError
            In Spark mode (use :attr:`values` for the RDD, or ``tolocal()``).
        """
        if self.mode == "spark":
            raise ValueError("dask_array: Spark images have no dask array; use values (the RDD) "
                             "or tolocal()")
        return self.frames.array

    def tordd(self):
        """Spark only: the RDD of ``((i,), image)`` records.

        Returns
        -------
        pyspark.RDD
            One record per image, keyed by the 1-tuple of its index.

        Raises
        ------
        ValueError
            In local mode (call ``tospark(engine)`` first).
        """
        if self.mode != "spark":
            raise ValueError("tordd() needs Spark mode; use tospark(engine) first")
        return self.frames.rdd

    def npartitions(self):
        """Number of Spark partitions holding the images.

        Returns
        -------
        int or None
            The partition count in Spark mode; ``None`` in local mode, with a
            ``UserWarning`` (as in Thunder, local mode has no partitions).
        """
        if self.mode == "local":
            warnings.warn("Operation not supported in 'local' mode", stacklevel=2)
            return None
        return self.frames.npartitions()

    def count(self) -> int:
        """Number of images (the length of axis 0).

        Returns
        -------
        int
        """
        return self.frames.count()

    def first(self) -> np.ndarray:
        """The first image, not squeezed.

        Returns
        -------
        ndarray
            Of shape ``value_shape`` and the images' dtype.
        """
        return self.frames.first()

    def toarray(self) -> np.ndarray:
        """All images as one ndarray, squeezed of every length-1 axis.

        As in Thunder, ``(1, 3, 4)`` becomes ``(3, 4)`` and ``(5, 1, 4)`` becomes
        ``(5, 4)``; use ``frames``-preserving methods (``first``, indexing) to keep
        the axes.

        Returns
        -------
        ndarray
            The computed values in the images' dtype.
        """
        return self.frames.collect().squeeze()

    def __array__(self, dtype=None, copy=None):
        out = self.toarray()
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"Images\nmode: {self.mode}\ndtype: {self.dtype}\nshape: {self.shape}"

    def __getitem__(self, index) -> Images:
        """Slice images and pixels without dropping any axis.

        Integers select one entry but keep the axis (``imgs[1].shape ==
        (1, h, w)``, ``imgs[-1]`` is the last image); a list or integer array
        on axis 0 selects images; slices work as in numpy.
        """
        if not isinstance(index, tuple):
            index = (index,)
        if any(i is Ellipsis for i in index):
            pos = [k for k, i in enumerate(index) if i is Ellipsis]
            if len(pos) > 1:
                raise IndexError("an index can only have a single ellipsis ('...')")
            k = pos[0]
            fill = (slice(None),) * (len(self.shape) - len(index) + 1)
            index = index[:k] + fill + index[k + 1:]
        if len(index) > len(self.shape):
            raise IndexError(
                f"too many indices: {len(index)} for Images with {len(self.shape)} axes"
            )
        n = self.shape[0]
        chosen = _image_indices(index[0], n)
        frames = self.frames if chosen is None else self.frames.take(chosen)
        spatial = tuple(
            _keep_axis(i, size, axis + 1)
            for axis, (i, size) in enumerate(zip(index[1:], self.value_shape))
        )
        metadata = self._metadata
        if chosen is None:
            metadata = metadata.sliced((index[0],) if isinstance(index[0], slice) else (), self.shape)
        elif _is_regular(chosen):
            step = int(chosen[1] - chosen[0]) if len(chosen) > 1 else 1
            metadata = metadata.sliced((slice(int(chosen[0]), int(chosen[-1]) + 1, step),), self.shape)
        if spatial and any(s != slice(None) for s in spatial):
            out_shape = np.empty(self.value_shape, dtype=bool)[spatial].shape
            frames = frames.map(_BlockOp(_slice_block, index=spatial), out_shape, self.dtype)
            metadata = metadata.sliced((slice(None),) + spatial, self.shape)
        labels = self._labels
        if labels is not None and chosen is not None:
            labels = labels[chosen]
        return self._new(frames, metadata, labels=labels)

    # ------------------------------------------------------------------
    # generic operations
    # ------------------------------------------------------------------
    def map(self, func: Callable, value_shape=None, dtype=None, with_keys: bool = False,
            dims=None) -> Images:
        """Apply ``func`` to every image.

        Parameters
        ----------
        func : callable
            ``func(image) -> array``; with ``with_keys=True``,
            ``func((key, image))`` where ``key`` is the 1-tuple ``(i,)``.
            Scalar results become length-1 images (shape ``(n, 1)``).
        value_shape : int or tuple of int, optional
            Shape of the result of ``func`` on one image (Thunder's name). With
            ``dtype`` too, ``func`` is not run on the first image to find them.
        dtype : numpy dtype, optional
            Dtype of the results (they are cast to it).
        with_keys : bool
            Pass ``(key, image)`` pairs instead of images.
        dims : int or tuple of int, optional
            The older name of ``value_shape``. The older positional order
            ``map(func, dims, with_keys)`` still works: a bool third argument
            is ``with_keys``.

        Returns
        -------
        Images
            Lazy: nothing runs until an action. The labels are kept.

        Raises
        ------
        TypeError
            ``func`` is not callable, or both ``value_shape`` and ``dims`` given.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        if isinstance(dtype, (bool, np.bool_)):  # map(func, dims, with_keys): the older order
            dtype, with_keys = None, bool(dtype)
        if dims is not None:
            if value_shape is not None:
                raise TypeError("map: pass value_shape or dims (its older name), not both")
            value_shape = dims
        if value_shape is None or dtype is None:
            probe = np.asarray(func(((0,), self.first())) if with_keys else func(self.first()))
            if probe.ndim == 0:
                probe = probe.reshape(1)
            value_shape = probe.shape if value_shape is None else value_shape
            dtype = probe.dtype if dtype is None else dtype
        if isinstance(value_shape, numbers.Integral):
            value_shape = (int(value_shape),)
        else:
            value_shape = tuple(int(d) for d in value_shape)
        return self._new(self.frames.map(_PerImage(func, with_keys, value_shape, dtype), value_shape, dtype))

    def filter(self, func: Callable) -> Images:
        """Keep the images for which ``func(image)`` is true, in their order.

        Parameters
        ----------
        func : callable
            ``func(image) -> bool`` on one image of ``value_shape``.

        Returns
        -------
        Images
            Lazy; its length is known only once computed.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        return self._new(self.frames.filter(func))

    def foreach(self, func: Callable) -> None:
        """Call ``func((i, image))`` on every image for its side effects.

        Locally the calls happen in the driver, in image order; in Spark mode they
        run on the executors, in no defined order.

        Parameters
        ----------
        func : callable
            ``func((i, image))``; its return value is ignored.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        self.frames.foreach_block(_ForEach(func))

    def reduce(self, func: Callable) -> Images:
        """Reduce the images pairwise with ``func(a, b) -> image``.

        Partial results are combined in chunk order, so ``func`` must be
        associative; numpy ufuncs such as ``np.maximum`` are applied with
        ``ufunc.reduce`` over each chunk.

        Parameters
        ----------
        func : callable
            ``func(a, b)`` returning an array of ``value_shape``.

        Returns
        -------
        Images
            One image.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        ValueError
            ``func`` returned an array of another shape than ``value_shape``.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        result = np.asarray(self.frames.aggregate(ReduceAccumulator(func)).finalize())
        if result.shape != self.value_shape:
            raise ValueError("reduce did not yield an array with valid dimensions")
        return self._new(self.frames.with_array(result[np.newaxis]), labels=None)

    def squeeze(self) -> Images:
        """Remove the length-1 image axes (axis 0 is always kept).

        An image of a single pixel keeps one axis of length 1. The metadata of the
        removed axes is dropped.

        Returns
        -------
        Images
            These images when no image axis has length 1.
        """
        shape = self.value_shape
        if int(np.prod(shape)) == 1:
            axes = tuple(range(1, len(shape)))
        else:
            axes = tuple(k for k, s in enumerate(shape) if s == 1)
        if not axes:
            return self
        out_shape = tuple(s for k, s in enumerate(shape) if k not in axes)
        block_axes = tuple(a + 1 for a in axes)
        return self._new(self.frames.map(_BlockOp(_squeeze_block, axes=block_axes),
                                         out_shape, self.dtype),
                         self._metadata.drop_axes(block_axes))

    def astype(self, dtype, casting="unsafe") -> Images:
        """Images cast to ``dtype`` (numpy ``astype`` rules).

        Parameters
        ----------
        dtype : dtype-like
            The new data type; values are converted like ``ndarray.astype(dtype)``
            (floats to ints truncate toward zero, out-of-range values wrap).
        casting : {'unsafe', 'same_kind', 'safe', 'equiv', 'no'}
            numpy's casting rule; a cast it forbids is refused before any work.

        Returns
        -------
        Images
            Same shape, metadata and labels, lazily cast.

        Raises
        ------
        TypeError
            If ``dtype`` is not a numpy data type, or ``casting`` forbids the cast.
        ValueError
            An unknown ``casting`` rule.
        """
        dtype = np.dtype(dtype)
        if casting not in ("no", "equiv", "safe", "same_kind", "unsafe"):
            raise ValueError(f"casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe', "
                             f"got {casting!r}")
        if not np.can_cast(self.dtype, dtype, casting=casting):
            raise TypeError(f"casting: cannot cast {self.dtype} to {dtype} with casting rule {casting!r}")
        return self._new(self.frames.map(_BlockOp(_astype_block, dtype=dtype),
                                         self.value_shape, dtype))

    def reshape(self, *shape) -> Images:
        """The images with another image shape (the number of images kept).

        Parameters
        ----------
        *shape : int, or one tuple of int
            The new full shape ``(n,) + value_shape``: ``n`` unchanged, 2-D or
            3-D images (3 or 4 entries), the same number of pixels.

        Returns
        -------
        Images
            Lazy; the labels are kept, the metadata are the defaults unless
            the shape is unchanged.

        Raises
        ------
        ValueError
            The element count or the number of images changes, or the images
            would not be 2-D or 3-D.
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(int(s) for s in shape)
        if int(np.prod(self.shape, dtype=np.int64)) != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"shape: reshaping {self.shape} to {shape} must leave the number of "
                             "elements unchanged")
        if shape[0] != self.shape[0]:
            raise ValueError(f"shape: reshaping cannot change the number of images ({self.shape[0]})")
        if len(shape) not in (3, 4):
            raise ValueError(f"shape: reshaping must produce 2d or 3d images, got {shape}")
        if shape == self.shape:
            return self
        frames = self.frames.map(_BlockOp(_reshape_block, shape=shape[1:]), shape[1:], self.dtype)
        return self._new(frames, ImageMetadata.default(len(shape)))

    def element_wise(self, other, op) -> Images:
        """``op(self, other)`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            A number, or an ndarray or Images of exactly this ``shape`` (its
            values are computed on the driver and sent with the work, as
            Thunder's local mode holds them; any mode).
        op : callable
            A binary numpy operation, e.g. ``operator.add`` or ``np.maximum``.

        Returns
        -------
        Images
            Lazy; the dtype follows numpy's rules for ``op``.

        Raises
        ------
        ValueError
            ``other`` has another shape.
        TypeError
            ``op`` is not callable.
        """
        if not callable(op):
            raise TypeError(f"op must be callable, got {type(op).__name__}")
        if not np.isscalar(other):
            if isinstance(other, Images):
                shape = other.shape
                other = other.frames.collect()
            else:
                other = np.asarray(other)
                shape = other.shape
            if tuple(shape) != self.shape:
                raise ValueError(f"other: shapes {self.shape} and {tuple(shape)} must be equal")
            other = np.asarray(other).reshape(self.shape)
        op_block = _WithStart(_element_wise_block, other=other, op=op)
        zero = np.zeros((1,) + self.value_shape, self.dtype)
        with np.errstate(all="ignore"):
            probe = np.asarray(op(zero, other if np.isscalar(other) else other[:1]))
        return self._new(self.frames.map(op_block, self.value_shape, probe.dtype))

    def plus(self, other) -> Images:
        """``self + other`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.add)

    def minus(self, other) -> Images:
        """``self - other`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.sub)

    def dottimes(self, other) -> Images:
        """``self * other`` pixel by pixel.

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.mul)

    def dotdivide(self, other) -> Images:
        """``self / other`` pixel by pixel (true division: float results).

        Parameters
        ----------
        other : scalar, ndarray or Images
            See :meth:`element_wise`.

        Returns
        -------
        Images
        """
        return self.element_wise(other, operator.truediv)

    def clip(self, min=None, max=None) -> Images:
        """Values clipped to ``[min, max]`` (``numpy.clip``).

        Parameters
        ----------
        min, max : scalar or array-like, optional
            Bounds, broadcast against one image; at least one is needed.

        Returns
        -------
        Images
            Lazy; the dtype follows ``numpy.clip``.

        Raises
        ------
        ValueError
            Neither ``min`` nor ``max`` given.
        """
        if min is None and max is None:
            raise ValueError("clip: one of min or max must be given")
        lo = min if min is None or np.isscalar(min) else np.asarray(min)
        hi = max if max is None or np.isscalar(max) else np.asarray(max)
        return self._map_kernel(_clip_block, lo=lo, hi=hi)

    # ------------------------------------------------------------------
    # per-image operations
    # ------------------------------------------------------------------
    def _map_kernel(self, kernel, metadata=None, **kwargs) -> Images:
        """Lazily apply a block kernel; its output shape and dtype come from
        running it on one zero image (cheap, and exact for numpy rules)."""
        op = _BlockOp(kernel, **kwargs)
        probe = op(np.zeros((1,) + self.value_shape, self.dtype), 0)
        return self._new(self.frames.map(op, probe.shape[1:], probe.dtype), metadata)

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
        axis = validation.check_projection_axis(axis, len(self.value_shape))
        return self._map_kernel(filters.max_projection_block, axis=axis,
                                metadata=self._metadata.drop_image_axis(axis))

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
        axis = validation.check_projection_axis(axis, len(self.value_shape))
        return self._map_kernel(filters.max_min_projection_block, axis=axis,
                                metadata=self._metadata.drop_image_axis(axis))

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
        return self._new(self.frames.map(
            _BlockOp(filters.gaussian_block, sigma=sigma, order=order),
            self.value_shape, self.dtype))

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
        return self._new(self.frames.map(_BlockOp(filters.uniform_block, size=size),
                                         self.value_shape, self.dtype))

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
        return self._new(self.frames.map(_BlockOp(filters.median_block, size=size),
                                         self.value_shape, self.dtype))

    def subtract(self, val) -> Images:
        """Subtract a number or one image from every image.

        The result dtype follows numpy's casting: ``int16 - 1`` stays int16 (and
        can wrap), ``int16 - 0.5`` is float64.

        Parameters
        ----------
        val : number, ndarray or Images
            A scalar, an array of ``value_shape``, or an Images of one image.

        Returns
        -------
        Images

        Raises
        ------
        ValueError
            An array of another shape, or an Images of several images.
        TypeError
            A value that is neither a number nor an array.
        """
        if isinstance(val, Images):
            if val.count() != 1:
                raise ValueError(
                    f"val: an Images holds {val.count()} images; subtract takes one image"
                )
            val = val.first()
        val = validation.check_subtract_value(val, self.value_shape)
        return self._map_kernel(filters.subtract_block, value=val)

    # ------------------------------------------------------------------
    # statistics across images
    # ------------------------------------------------------------------
    def _statistic(self, name: str) -> Images:
        acc = self.frames.aggregate(MomentAccumulator(self.value_shape, self.dtype, stats=(name,)))
        return self._new(self.frames.with_array(acc.finalize(name)[np.newaxis]), labels=None)

    def mean(self) -> Images:
        """Mean across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; float64 for integer input, the input float type otherwise.
        """
        return self._statistic("mean")

    def var(self) -> Images:
        """Population variance (``ddof=0``) across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; float64 for integer input, the input float type otherwise.
        """
        return self._statistic("var")

    def std(self) -> Images:
        """Population standard deviation (``ddof=0``) across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; float64 for integer input, the input float type otherwise.
        """
        return self._statistic("std")

    def sum(self) -> Images:
        """Sum across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; numpy's accumulator dtype (``int16 -> int64``).
        """
        return self._statistic("sum")

    def max(self) -> Images:
        """Maximum across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; the input dtype.
        """
        return self._statistic("max")

    def min(self) -> Images:
        """Minimum across images, in one streaming pass.

        Returns
        -------
        Images
            One image of ``value_shape``; the input dtype.
        """
        return self._statistic("min")

    def _localcorr_accumulator(self, neighborhood, size):
        """The accumulator of ``localcorr(neighborhood=)`` or ``localcorr(size=)``."""
        if size is None:
            neighborhood = validation.check_neighborhood(2 if neighborhood is None else neighborhood)
            return LocalCorrAccumulator(self.value_shape, neighborhood)
        if neighborhood is not None:
            raise TypeError("localcorr: pass neighborhood (half-width) or size (window width), not both")
        ndim = len(self.value_shape)
        if isinstance(size, (tuple, list)):
            if len(size) != ndim:
                raise ValueError(f"size: one window width per image axis ({ndim}), got {tuple(size)}")
            widths = tuple(validation.check_int(w, "size", minimum=1,
                                                maximum=2 * validation.MAX_NEIGHBORHOOD + 1)
                           for w in size)
        else:
            widths = (validation.check_int(size, "size", minimum=1,
                                           maximum=2 * validation.MAX_NEIGHBORHOOD + 1),) * ndim
        if len(set(widths)) == 1 and widths[0] % 2 == 1:
            return LocalCorrAccumulator(self.value_shape, (widths[0] - 1) // 2)
        return WindowCorrAccumulator(self.value_shape, widths)

    def localcorr(self, neighborhood=None, size=None) -> np.ndarray:
        """Correlation of every pixel's series with its neighbourhood's mean series.

        The neighbourhood is a box around the pixel (the pixel included, borders
        reflected); give its half-width ``neighborhood`` (window ``2n + 1``) or,
        as Thunder 1.4.2, its width ``size``. ``localcorr(neighborhood=1)`` is
        ``localcorr(size=3)``; for volumes ``size=(3, 3, 1)`` averages within
        each plane only. A positional argument is ``neighborhood``.

        Parameters
        ----------
        neighborhood : int, optional
            Half-width ``n``: the centred box of width ``2n + 1`` on every image
            axis (z too for volumes). Default 2 when ``size`` is not given.
        size : int or tuple of int, optional
            Thunder's window width, one per image axis or one for all. An even
            width is ``scipy.ndimage.uniform_filter``'s window, one more pixel
            before the pixel than after it.

        Returns
        -------
        ndarray
            Pearson correlation, float64, of ``value_shape`` (squeezed); NaN
            where a series is constant. Computed in one streaming pass, with the
            neighbourhood mean in float64 (Thunder truncated it to the dtype of
            integer images).

        Raises
        ------
        TypeError
            Both ``neighborhood`` and ``size`` given, or a non-integer width.
        ValueError
            A negative or fractional ``neighborhood``, a width below 1, or a
            ``size`` tuple of another length than the image axes.
        """
        acc = self.frames.aggregate(self._localcorr_accumulator(neighborhood, size))
        return np.asarray(acc.finalize()).squeeze()

    # ------------------------------------------------------------------
    # streaming (progress, partial results, cancel): for the GUI and CLI
    # ------------------------------------------------------------------
    def iter_chunks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Compute the images chunk by chunk.

        Yields
        ------
        start, stop : int
            Frame range of the chunk.
        block : ndarray
            Images ``start:stop``.

        Closing the generator stops the remaining work.
        """
        return self.frames.iter_chunks(_identity)

    def stream_statistic(self, name: str) -> Iterator[tuple[int, int, np.ndarray]]:
        """Running estimate of a statistic, refined chunk by chunk.

        Parameters
        ----------
        name : {'mean', 'var', 'std', 'sum', 'max', 'min'}
            The statistic.

        Yields
        ------
        done, total : int
            Images folded in so far, out of ``total``.
        estimate : ndarray
            The statistic of those images, of ``value_shape``; the last one is
            exactly ``getattr(imgs, name)().first()``.

        Raises
        ------
        ValueError
            An unknown ``name``.
        """
        if name not in STATISTICS:
            raise ValueError(f"name must be one of {', '.join(STATISTICS)}; got {name!r}")
        acc = MomentAccumulator(self.value_shape, self.dtype, stats=(name,))
        for done, total, running in self.frames.stream_aggregate(acc):
            yield done, total, running.finalize(name)

    def stream_localcorr(self, neighborhood=None, size=None) -> Iterator[tuple[int, int, np.ndarray]]:
        """Running estimate of :meth:`localcorr`, refined chunk by chunk.

        Parameters
        ----------
        neighborhood : int, optional
            Half-width of the neighbourhood box, as in :meth:`localcorr`
            (default 2).
        size : int or tuple of int, optional
            Or the window width, as in :meth:`localcorr`.

        Yields
        ------
        done, total : int
            Images folded in so far, out of ``total``.
        estimate : ndarray
            The correlation map of those images; the last one equals
            ``localcorr(neighborhood, size)``.

        Raises
        ------
        ValueError
            As :meth:`localcorr`.
        TypeError
            As :meth:`localcorr`.
        """
        acc = self._localcorr_accumulator(neighborhood, size)
        for done, total, running in self.frames.stream_aggregate(acc):
            yield done, total, running.finalize()

    def cancel_streams(self) -> int:
        """Cancel at once, from any thread, the engine work of every running
        stream of these images (``iter_chunks``, ``stream_statistic``,
        ``stream_localcorr``); the streams then end.

        On the local engine streams stop between chunks when closed, and this
        does nothing; on Spark the running jobs are cancelled.

        Returns
        -------
        int
            The number of streams cancelled.
        """
        return self.frames.cancel_streams()

    # ------------------------------------------------------------------
    # sampling
    # ------------------------------------------------------------------
    def sample(self, nsamples: int = 100, seed=None) -> Images:
        """A random sample of images, drawn without replacement, kept in order.

        Parameters
        ----------
        nsamples : int
            Number of images; at most ``count()`` are returned.
        seed : int, optional
            Seed of :func:`numpy.random.default_rng`; the same seed gives the same
            sample on every engine.

        Returns
        -------
        Images

        Raises
        ------
        ValueError
            ``nsamples`` below 1 or fractional.
        TypeError
            ``nsamples`` is not an integer.
        """
        nsamples = validation.check_nsamples(nsamples)
        n = self.count()
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(n, size=min(nsamples, n), replace=False))
        labels = None if self._labels is None else self._labels[chosen]
        return self._new(self.frames.take(chosen), labels=labels)

    # ------------------------------------------------------------------
    # conversions
    # ------------------------------------------------------------------
    def _tile_shape(self, size) -> tuple[int, ...]:
        from napari_thunder.data.blocks import tile_shape_for

        return tile_shape_for(size, self.shape, self.dtype)

    def toblocks(self, chunk_size="150", padding=None, size=None):
        """Spatial blocks, each holding every image of one tile.

        Parameters
        ----------
        chunk_size : str, int or tuple
            ``'auto'`` (one block), a tuple of pixels per image axis, or a
            size per block: a number of kilobytes as a string (``'150'``), or
            with a unit (``'150K'``, ``'2M'``). ``size`` is the same (older name).
        padding : None or 0
            Thunder's overlap between blocks; only no padding is supported.
        size : str, int or tuple, optional
            The older name of ``chunk_size``.

        Returns
        -------
        Blocks
            The tiles of all images (``toimages()`` goes back).

        Raises
        ------
        ValueError
            A bad ``chunk_size``, or a non-zero ``padding``.
        """
        from napari_thunder.data.blocks import Blocks

        if padding not in (None, 0) and not (isinstance(padding, (tuple, list)) and not any(padding)):
            raise ValueError(f"padding={padding!r} is not supported (blocks never overlap); use None")
        size = chunk_size if size is None else size
        return Blocks(self.frames.to_blocks(self._tile_shape(size)))

    def toseries(self, chunk_size="auto", size=None):
        """Pixel series: shape ``value_shape + (n,)`` (pixels first, time last).

        Parameters
        ----------
        chunk_size : str, int or tuple
            Thunder's conversion chunk (checked like :meth:`toblocks`'s); the
            engine chooses the layout from memory and cores. ``size`` is the
            same (older name).

        Returns
        -------
        Series
            Index ``arange(n)``; one record per pixel in C order. On the local
            engine the series of an in-memory stack are a lazy transposed view
            of it; other local stacks (files, lazy results) are read into
            memory first, as Thunder's local mode holds its arrays. Spark and
            distributed keep the records on their workers.

        Raises
        ------
        ValueError
            A bad ``chunk_size``.
        """
        from napari_thunder.data.series import Series

        return self._records(Series, chunk_size if size is None else size)

    def totimeseries(self, chunk_size="auto", size=None):
        """Like :meth:`toseries`, as a ``TimeSeries``.

        Parameters
        ----------
        chunk_size : str, int or tuple
            As in :meth:`toseries`; ``size`` is the same (older name).

        Returns
        -------
        TimeSeries
            Shape ``value_shape + (n,)``, index ``arange(n)``.

        Raises
        ------
        ValueError
            A bad ``chunk_size``.
        """
        from napari_thunder.data.series import TimeSeries

        return self._records(TimeSeries, chunk_size if size is None else size)

    def _records(self, cls, size):
        from napari_thunder.engines.transpose import transpose

        self._tile_shape(size)  # the same checks as toblocks
        n = self.count()
        return cls(transpose(self.frames, (n,)), self.value_shape, index=np.arange(n))

    def map_as_series(self, func: Callable, value_size=None, dtype=None, chunk_size=None,
                      block_size=None) -> Images:
        """Apply ``func`` to every pixel's series (length ``n``).

        The images are regrouped into blocks of pixel series, ``func`` runs on
        each series, and the results are regrouped into images.

        Parameters
        ----------
        func : callable
            Maps a 1-D series of length ``n`` to a 1-D series of length
            ``value_size``.
        value_size : int, optional
            Length of ``func``'s output; found by running ``func`` on a series
            of zeros if not given (with ``dtype`` too, ``func`` is not probed).
        dtype : numpy dtype, optional
            Dtype of the result (``func``'s outputs are cast to it); that of
            ``func``'s output on zeros if not given.
        chunk_size : str, int or tuple, optional
            Size of the blocks of series, as in :meth:`toblocks` (default
            ``'150'``: about 150 KB; ``'auto'``: one block).
        block_size : str, int or tuple, optional
            The older name of ``chunk_size``. The older positional order
            ``map_as_series(func, value_size, block_size)`` still works when
            the third argument is a size (``'150'``, ``'2M'``, ``'auto'``, a tuple).

        Returns
        -------
        Images
            Shape ``(value_size,) + value_shape``; no labels.

        Raises
        ------
        TypeError
            If ``func`` is not callable, or both ``chunk_size`` and ``block_size`` given.
        ValueError
            If ``func`` does not return a 1-D series.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        if _looks_like_size(dtype) and chunk_size is None and block_size is None:
            dtype, block_size = None, dtype  # map_as_series(func, value_size, block_size)
        if chunk_size is not None and block_size is not None:
            raise TypeError("map_as_series: pass chunk_size or block_size (its older name), not both")
        chunk = "150" if chunk_size is None and block_size is None else (
            chunk_size if block_size is None else block_size)
        n = self.count()
        if value_size is None or dtype is None:
            probe = np.atleast_1d(np.asarray(func(np.zeros(n, self.dtype))))
            if probe.ndim != 1:
                raise ValueError(f"func must return a 1-D series, got shape {probe.shape}")
            length = int(value_size) if value_size is not None else probe.shape[0]
            dtype = probe.dtype if dtype is None else np.dtype(dtype)
        else:
            length, dtype = int(value_size), np.dtype(dtype)
        store = self.frames.to_blocks(self._tile_shape(chunk))
        out = store.map(_AlongSeries(func, length, dtype), length, dtype)
        return self._new(out.to_frames(), labels=None)

    def tolocal(self) -> Images:
        """The same images in local mode.

        A Spark stack is collected to the driver; the shape is kept exactly (not
        squeezed) and so is the metadata.

        Returns
        -------
        Images
            These images, with a ``UserWarning``, when already local.
        """
        if self.mode == "local":
            warnings.warn("images already in local mode", stacklevel=2)
            return self
        from napari_thunder.engines.factory import resolve_engine

        return self._new(resolve_engine("local").frames_from_array(self.frames.collect()))

    def tospark(self, engine=None, npartitions=None) -> Images:
        """The same images in Spark mode.

        Parameters
        ----------
        engine : SparkContext or str
            A SparkContext or a Spark master URL (``'spark://host:7077'``,
            ``'spark:local[2]'``, ``'local[2]'``).
        npartitions : int, optional
            Number of partitions (Spark's default parallelism if not given).

        Returns
        -------
        Images
            Shape and metadata kept exactly; these images, with a ``UserWarning``,
            when already in Spark mode.

        Raises
        ------
        ValueError
            No engine, an engine that is not Spark, or ``npartitions`` below 1.
        TypeError
            ``npartitions`` is not an integer.
        """
        if engine is None:
            raise ValueError("Must provide a SparkContext: engine is None")
        from napari_thunder.engines.factory import resolve_engine

        npartitions = validation.check_npartitions(npartitions)
        target = resolve_engine(engine)
        if target.kind != "spark":
            raise ValueError(f"engine must be a SparkContext or a Spark master URL, got {engine!r}")
        if self.mode == "spark":
            warnings.warn("images already in spark mode", stacklevel=2)
            return self
        return self._new(target.frames_from_array(self.frames.collect(), npartitions))

# ----------------------------------------------------------------------
# picklable block functions (they run in threads or on Spark executors)
# ----------------------------------------------------------------------
class _BlockOp:
    """``kernel(block, **kwargs)`` as a ``func(block, start)``."""

    def __init__(self, kernel, **kwargs):
        self.kernel = kernel
        self.kwargs = kwargs

    def __call__(self, block, start):
        return self.kernel(block, **self.kwargs)


class _WithStart(_BlockOp):
    """``kernel(block, start, **kwargs)`` as a ``func(block, start)``."""

    def __call__(self, block, start):
        return self.kernel(block, start, **self.kwargs)


class _PerImage:
    """Apply a user function image by image inside a block."""

    def __init__(self, func, with_keys, dims, dtype):
        self.func = func
        self.with_keys = with_keys
        self.dims = tuple(dims)
        self.dtype = np.dtype(dtype)

    def __call__(self, block, start):
        out = np.empty((len(block),) + self.dims, self.dtype)
        for k, image in enumerate(block):
            arg = ((start + k,), image) if self.with_keys else image
            raw = self.func(arg)
            result = np.asarray(raw)
            if result.dtype.kind in "OUSV":
                raise TypeError(f"map: func returned {type(raw).__name__} for image {start + k}, "
                                f"not a numeric array")
            if result.size != out[k].size:
                raise ValueError(f"map: func returned an image of shape {result.shape} for image "
                                 f"{start + k}, expected shape {self.dims} (every image must map to "
                                 f"the same shape; pass value_shape= if the first one is not typical)")
            out[k] = result.reshape(self.dims)
        return out


class _ForEach:
    def __init__(self, func):
        self.func = func

    def __call__(self, block, start):
        for k, image in enumerate(block):
            self.func((start + k, image))


class _AlongSeries:
    def __init__(self, func, length, dtype):
        self.func = func
        self.length = length
        self.dtype = np.dtype(dtype)

    def __call__(self, tile):
        out = np.apply_along_axis(lambda s: np.atleast_1d(self.func(s)), 0, tile)
        if out.shape[0] != self.length:
            raise ValueError(
                f"func returned series of length {out.shape[0]}, expected value_size={self.length}"
            )
        return out.astype(self.dtype, copy=False)


def _element_wise_block(block, start, other, op):
    """``op(block, other)``: ``other`` a scalar, or all images (``other[start:start + k]``
    are the block's partners)."""
    if isinstance(other, np.ndarray) and other.ndim == block.ndim:
        other = other[start:start + len(block)]
    return op(block, other)


def _clip_block(block, lo, hi):
    return np.clip(block, lo, hi)


def _reshape_block(block, shape):
    return block.reshape((len(block),) + tuple(shape))


def _looks_like_size(value) -> bool:
    """Whether ``value`` is a block size (``'150'``, ``'2M'``, ``'auto'``, a tuple), not a dtype."""
    if isinstance(value, (tuple, list)):
        return True
    return isinstance(value, str) and (value == "auto" or value[:1].isdigit())


def _identity(block, start):
    return block


def _slice_block(block, index):
    return block[(slice(None),) + tuple(index)]


def _squeeze_block(block, axes):
    return block.squeeze(axis=axes)


def _astype_block(block, dtype):
    return block.astype(dtype)


def _is_regular(indices) -> bool:
    """True for increasing, evenly spaced frame indices (a slice)."""
    if len(indices) <= 1:
        return len(indices) == 1
    steps = np.diff(indices)
    return bool(steps[0] > 0 and np.all(steps == steps[0]))


def _image_indices(index, n):
    """Frame indices selected by the first index, or None for all of them."""
    if isinstance(index, slice):
        if index == slice(None):
            return None
        return np.arange(n)[index]
    if isinstance(index, (numbers.Integral, np.integer)) and not isinstance(index, bool):
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"image index {i} out of range for {n} images")
        return np.array([i % n])
    arr = np.asarray(index)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexError(f"boolean index must have length {n}, got shape {arr.shape}")
        return np.flatnonzero(arr)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"images can be indexed with ints, slices or lists of ints, got {index!r}")
    arr = arr.reshape(-1).astype(np.intp)
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise IndexError(f"image index out of range for {n} images: {index!r}")
    return arr % n if n else arr


def _keep_axis(index, size, axis):
    """An index on an image axis as a slice (integers keep the axis)."""
    if isinstance(index, slice):
        return index
    if isinstance(index, (numbers.Integral, np.integer)) and not isinstance(index, bool):
        i = int(index)
        if not -size <= i < size:
            raise IndexError(f"index {i} out of range for axis {axis} of size {size}")
        i %= size
        return slice(i, i + 1)
    raise IndexError(f"axis {axis} can only be indexed with an int or a slice, got {index!r}")
