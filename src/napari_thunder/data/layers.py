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


def contrast_limits_for(data, dtype=None, nframes=CONTRAST_SAMPLE_FRAMES):
    """Contrast limits for ``data`` without scanning all of it.

    ``uint8`` -> ``(0, 255)``, ``bool`` -> ``(0, 1)``; any other dtype -> the
    finite min and max of at most ``nframes`` frames (first, middle, last),
    widened to a non-empty range.

    Parameters
    ----------
    data : array-like
        ndarray or dask array; axis 0 indexes frames when ``ndim > 2``.
    dtype : numpy dtype, optional
        Defaults to ``data.dtype``.
    nframes : int
        How many frames to sample at most.

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``low < high``.
    """
    dtype = np.dtype(dtype if dtype is not None else data.dtype)
    if dtype == np.uint8:
        return (0.0, 255.0)
    if dtype == np.bool_:
        return (0.0, 1.0)
    if 0 in tuple(data.shape):
        return (0.0, 1.0)
    sample = _frame_sample(data, nframes)
    finite = sample[np.isfinite(sample)] if sample.dtype.kind in "fc" else sample
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if not high > low:
        high = low + 1.0
    return (low, high)


def _is_rgb(value_shape, dtype) -> bool:
    return len(value_shape) == 3 and value_shape[-1] in (3, 4) and np.dtype(dtype) == np.uint8


def images_to_layer_data(imgs, name=None, **kwargs) -> tuple[Any, dict, str]:
    """A napari ``LayerDataTuple`` ``(data, add_kwargs, 'image')`` for ``imgs``.

    Parameters
    ----------
    imgs : napari_thunder.Images
        The images to show; axes are kept as they are (see the module notes).
    name : str, optional
        Layer name; defaults to ``'thunder'``.
    **kwargs
        Extra ``viewer.add_image`` arguments; they override the computed ones
        (``contrast_limits``, ``rgb``, ``metadata``...).

    Returns
    -------
    tuple
        ``(data, kwargs, 'image')``; ``data`` is lazy in local mode.
    """
    data = layer_data_from_images(imgs)
    value_shape = tuple(imgs.shape[1:])
    rgb = _is_rgb(value_shape, imgs.dtype)
    meta = {
        METADATA_KEY: {
            "shape": tuple(int(s) for s in imgs.shape),
            "dtype": str(imgs.dtype),
            "mode": imgs.mode,
        }
    }
    add_kwargs = {
        "name": name or "thunder",
        "contrast_limits": contrast_limits_for(data, imgs.dtype),
        "rgb": rgb,
        "metadata": meta,
    }
    user_meta = kwargs.pop("metadata", None)
    if user_meta:
        meta.update(user_meta)
    add_kwargs.update(kwargs)
    return (data, add_kwargs, "image")
