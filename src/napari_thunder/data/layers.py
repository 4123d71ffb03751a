"""Images as napari layer data, without napari: axis order, laziness, contrast limits.

This module builds what a napari image layer needs from an ``Images`` — the
data array, ``add_image`` keyword arguments — as plain Python and numpy/dask
objects, so :meth:`Images.to_layer` works where napari is not installed and
the plugin (:mod:`napari_thunder.plugin`) only adds the layer.

Axis convention
---------------
An ``Images`` has shape ``(n,) + value_shape``: axis 0 indexes the images
(time points, frames), the remaining axes are the axes of one image. A layer
made from it keeps exactly that order, without transposing. napari shows the
*last two* axes on the canvas and turns every leading axis into a slider, so

* ``(n, y, x)`` (images from TIF/PNG files, ``'mouse'``) gives one slider over
  the images and the ``(y, x)`` plane on the canvas;
* ``(n, z, y, x)`` (multipage TIF volumes, pages first, ``'fish'``) gives two
  sliders, images then planes.

Volumes built with z last (``frombinary`` / ``fromarray`` data laid out
``(n, x, y, z)`` as in Thunder) are passed through unchanged too; use
napari's *transpose* / axis-order controls to look at them plane by plane.
An ``Images`` holding ONE image (a statistic such as ``mean()``, or a single
page file) becomes a layer of ``value_shape`` (the image axis of length 1 is
dropped), and :func:`napari_thunder.images.fromlayer` adds it back, so the
two directions round-trip.

Laziness: the layer data is the engine's display array
(:meth:`napari_thunder.engines.base.Frames.display_array`): in local mode a
dask array napari reads chunk by chunk (one frame per chunk when the frames
come straight from files), on Spark the collected stack. Contrast limits are
always given explicitly (dtype range for ``uint8`` / ``bool``, otherwise the
range of at most three sampled frames: first, middle, last) so napari never
scans a whole stack.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: metadata key under which layers made here keep what they came from
METADATA_KEY = "thunder"

#: number of frames sampled to guess contrast limits
CONTRAST_SAMPLE_FRAMES = 3


def layer_data_from_images(imgs, squeeze_single=True):
    """The array a layer shows for ``imgs``: lazy (dask) in local mode.

    Parameters
    ----------
    imgs : napari_thunder.Images
        Images of shape ``(n,) + value_shape``.
    squeeze_single : bool
        Drop the image axis when ``n == 1`` (a single image or a statistic).

    Returns
    -------
    array-like
        A dask array (local mode) or an ndarray (Spark mode, collected).
    """
    data = imgs.frames.display_array()
    if squeeze_single and data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    return data


def _frame_sample(data, nframes):
    """A few frames of ``data`` (axis 0) as one ndarray, for contrast limits."""
    if data.ndim <= 2 or data.shape[0] <= nframes:
        sample = data.compute() if hasattr(data, "compute") else data
        return np.asarray(sample)
    n = data.shape[0]
    index = sorted({0, n // 2, n - 1}) if nframes >= 3 else list(range(nframes))
    # one frame at a time: dask then reads just that frame from a lazy file
    # source (a list index would read whole chunks)
    frames = [data[i] for i in index]
    if hasattr(frames[0], "compute"):
        import dask

        frames = dask.compute(*frames)
    return np.stack([np.asarray(f) for f in frames])


#: percentiles of the sampled pixels that become the contrast limits of results and
#: samples (:func:`display_limits`): the darkest and brightest half percent are
#: saturated, so a few hot pixels (or a dtype range far wider than the data, e.g.
#: dim uint8) do not leave the picture dark
DISPLAY_PERCENTILES = (0.5, 99.5)

#: at most this many pixels are sampled (evenly strided) for percentiles
DISPLAY_SAMPLE_PIXELS = 2**20


def contrast_limits_for(data, dtype=None, nframes=CONTRAST_SAMPLE_FRAMES, percentiles=None, rgb=False):
    """Contrast limits for ``data`` from a few frames, without scanning all of it.

    The frames sampled are the first, middle and last (at most ``nframes``).
    Without ``percentiles`` the limits are the finite min and max of those
    frames, and ``uint8`` is ``(0, 255)``; with ``percentiles`` they are those
    percentiles of at most :data:`DISPLAY_SAMPLE_PIXELS` evenly strided finite
    pixels (the min and max if the percentiles coincide). ``bool`` is
    ``(0, 1)``; RGB keeps the dtype's range (``(0, 255)`` for uint8, ``(0, 1)``
    for floats within 0..1); no finite value gives ``(0, 1)``; the range is
    widened to be non-empty.

    Parameters
    ----------
    data : array-like
        ndarray or dask array; axis 0 indexes frames when ``ndim > 2``.
    dtype : numpy dtype, optional
        Defaults to ``data.dtype``.
    nframes : int
        How many frames to sample at most.
    percentiles : tuple of float, optional
        Low and high percentile (0..100); ``None`` for the min and max.
    rgb : bool
        The data is shown as colour.

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``low < high``.
    """
    dtype = np.dtype(dtype if dtype is not None else data.dtype)
    if dtype == np.bool_:
        return (0.0, 1.0)
    if dtype == np.uint8 and (rgb or percentiles is None):
        return (0.0, 255.0)
    if 0 in tuple(data.shape):
        return (0.0, 1.0)
    sample = _frame_sample(data, nframes).reshape(-1)
    if percentiles is not None:
        sample = sample[::max(1, sample.size // DISPLAY_SAMPLE_PIXELS)]
    if sample.dtype.kind in "fc":
        sample = sample[np.isfinite(sample)].real
    if sample.size == 0:
        return (0.0, 1.0)
    low, high = float(sample.min()), float(sample.max())
    if rgb and low >= 0 and high <= 1:
        return (0.0, 1.0)
    if percentiles is not None:
        p_low, p_high = (float(v) for v in np.percentile(sample, percentiles))
        if p_high > p_low:
            low, high = p_low, p_high
    if not high > low:
        high = low + 1.0
    return (low, high)


def display_limits(data, dtype=None, rgb=False, percentiles=DISPLAY_PERCENTILES):
    """Contrast limits that show ``data`` well, for every dtype: the
    :data:`DISPLAY_PERCENTILES` of a few frames (see :func:`contrast_limits_for`).

    Parameters
    ----------
    data : array-like
        ndarray or dask array; axis 0 indexes frames when ``ndim > 2``.
    dtype : numpy dtype, optional
        Defaults to ``data.dtype``.
    rgb : bool
        The data is shown as colour.
    percentiles : tuple of float
        Low and high percentile (0..100).

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``low < high``.
    """
    return contrast_limits_for(data, dtype, percentiles=percentiles, rgb=rgb)


def _looks_rgb(value_shape, dtype) -> bool:
    """napari's display guess for stacks whose metadata say nothing: uint8
    images with 3 or 4 entries on the last axis are shown as colour."""
    return len(value_shape) == 3 and value_shape[-1] in (3, 4) and np.dtype(dtype) == np.uint8


def layer_metadata(imgs):
    """The metadata a layer of ``imgs`` is shown with: the images' own, or,
    when those are the defaults, the defaults for an RGB picture if the
    images look like one (display only: the images are not changed)."""
    from napari_thunder.metadata import ImageMetadata

    meta = imgs.metadata
    if meta.is_default() and not meta.rgb and _looks_rgb(imgs.shape[1:], imgs.dtype):
        return ImageMetadata.default(len(imgs.shape), rgb=True)
    return meta


def images_to_layer_data(imgs, name=None, **kwargs) -> tuple[Any, dict, str]:
    """A napari ``LayerDataTuple`` ``(data, add_kwargs, 'image')`` for ``imgs``.

    The keyword arguments carry the images' metadata: ``scale``,
    ``translate``, ``units`` and ``axis_labels`` of the axes shown, ``rgb``,
    and ``channel_axis`` (napari then makes one layer per channel) with
    contrast limits per channel.

    Parameters
    ----------
    imgs : napari_thunder.Images
        The images to show; axes are kept as they are (see the module notes).
    name : str, optional
        Layer name; defaults to ``'thunder'``.
    **kwargs
        Extra ``viewer.add_image`` arguments; they override the computed ones
        (``contrast_limits``, ``rgb``, ``scale``, ``metadata``...).

    Returns
    -------
    tuple
        ``(data, kwargs, 'image')``; ``data`` is lazy in local mode.
    """
    data = layer_data_from_images(imgs)
    dropped = data.ndim < len(imgs.shape)
    meta_model = layer_metadata(imgs)
    add_kwargs = {"name": name or "thunder"}
    add_kwargs.update(meta_model.layer_kwargs(drop_image_axis=dropped))
    channel_axis = add_kwargs.get("channel_axis")
    if channel_axis is None:
        add_kwargs["contrast_limits"] = contrast_limits_for(data, imgs.dtype)
    else:
        add_kwargs["contrast_limits"] = [
            contrast_limits_for(_take(data, i, channel_axis), imgs.dtype)
            for i in range(data.shape[channel_axis])
        ]
        if meta_model.channel_names is not None:
            base = add_kwargs["name"]
            add_kwargs["name"] = [f"{base} [{c}]" for c in meta_model.channel_names]
    meta = {
        METADATA_KEY: {
            "shape": tuple(int(s) for s in imgs.shape),
            "dtype": str(imgs.dtype),
            "mode": imgs.mode,
            "axes": imgs.metadata.to_dict(),
        }
    }
    add_kwargs["metadata"] = meta
    user_meta = kwargs.pop("metadata", None)
    if user_meta:
        meta.update(user_meta)
    add_kwargs.update(kwargs)
    return (data, add_kwargs, "image")


def _take(data, index, axis):
    """``data`` at ``index`` along ``axis`` (a view or a lazy slice)."""
    key = [slice(None)] * data.ndim
    key[axis] = index
    return data[tuple(key)]


def metadata_from_layer(layer, shape):
    """The :class:`~napari_thunder.metadata.ImageMetadata` an image layer's
    ``scale``, ``translate``, ``units``, ``axis_labels`` and ``rgb`` describe,
    for the ``Images`` of ``shape`` made from its data (a 2-D layer or a
    single RGB picture gains the image axis 0 in front).

    Parameters
    ----------
    layer : napari.layers.Image or any object with those attributes
    shape : tuple of int
        Shape of the ``Images``.

    Returns
    -------
    ImageMetadata
        The defaults for whatever the layer does not say.
    """
    from napari_thunder.metadata import ImageMetadata

    ndim = len(shape)
    rgb = bool(getattr(layer, "rgb", False))
    meta = ImageMetadata.default(ndim, rgb=rgb)
    scale = getattr(layer, "scale", None)
    if scale is None:
        return meta
    shown = ndim - 1 if rgb else ndim          # napari's per-axis values skip RGB samples
    scale = [float(v) for v in scale]
    added = shown - len(scale)                 # axis 0 added in front of a single image
    if added not in (0, 1):
        return meta
    translate = [float(v) for v in getattr(layer, "translate", [0.0] * len(scale))]
    labels = [str(v) for v in getattr(layer, "axis_labels", ())] or None
    units = getattr(layer, "units", None)
    units = [_unit_name(u) for u in units] if units is not None else [None] * len(scale)
    names = list(meta.names)
    if labels is not None and len(labels) == len(scale) and not _generic_labels(labels):
        names[added:added + len(labels)] = labels
    try:
        return meta.updated(
            names=names,
            scale=[1.0] * added + scale + ([1.0] if rgb else []),
            translate=[0.0] * added + translate + ([0.0] if rgb else []),
            units=[None] * added + units + ([None] if rgb else []),
        )
    except ValueError:   # labels that cannot be axis names (duplicates...): keep the numbers
        return meta.updated(
            scale=[1.0] * added + scale + ([1.0] if rgb else []),
            translate=[0.0] * added + translate + ([0.0] if rgb else []),
            units=[None] * added + units + ([None] if rgb else []),
        )


def _unit_name(unit):
    """napari's units are pint units (or strings); ``pixel`` means none."""
    if unit is None:
        return None
    text = str(unit)
    return None if text in ("", "pixel", "px", "dimensionless") else text


def _generic_labels(labels) -> bool:
    """napari's default labels are '-3', '-2', '-1' (negative axis numbers)."""
    return all(label.lstrip("-").isdigit() for label in labels)
