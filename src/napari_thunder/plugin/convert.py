"""Images <-> napari layers, with napari: add a layer, read one back.

The napari-free part (layer data, ``add_image`` arguments, contrast limits,
the axis convention) is :mod:`napari_thunder.data.layers`; this module adds
the layer to a viewer and turns layers back into ``Images``, and picks the
contrast limits results and samples are shown with (:func:`display_limits`).
"""

from __future__ import annotations

import numpy as np


def add_images_to_viewer(imgs, viewer=None, name=None, **kwargs):
    """Add ``imgs`` to ``viewer`` as an image layer (call on the GUI thread).

    Parameters
    ----------
    imgs : napari_thunder.Images
    viewer : napari.Viewer, optional
        ``None`` uses ``napari.current_viewer()``, or opens a new viewer.
    name : str, optional
        Layer name.
    **kwargs
        Passed on to :func:`napari_thunder.data.layers.images_to_layer_data`.

    Returns
    -------
    napari.layers.Image
        The new layer.
    """
    if viewer is None:
        import napari

        viewer = napari.current_viewer() or napari.Viewer()
    return imgs.to_layer(viewer, name=name, **kwargs)


def layer_to_images(layer, engine=None, npartitions=None):
    """``Images`` from an image layer (or anything with ``.data``), lazily.

    Parameters
    ----------
    layer : napari.layers.Image
    engine : object, optional
        Any ``engine=`` value of the loaders.
    npartitions : int, optional

    Returns
    -------
    napari_thunder.Images
    """
    from napari_thunder import images

    return images.fromlayer(layer, npartitions=npartitions, engine=engine)


#: percentiles of the sampled pixels that become the contrast limits: the
#: darkest and brightest half percent are saturated, so a few hot pixels (or
#: a dtype range far wider than the data, e.g. dim uint8) do not leave the
#: picture dark
DISPLAY_PERCENTILES = (0.5, 99.5)

#: at most this many pixels are sampled (evenly strided)
DISPLAY_SAMPLE_PIXELS = 2**20


def _display_sample(data, nframes=3):
    """At most ``nframes`` frames of ``data`` (first, middle, last when
    ``ndim > 2``) as one flat ndarray of at most ``DISPLAY_SAMPLE_PIXELS``."""
    if data.ndim > 2 and data.shape[0] > nframes:
        n = data.shape[0]
        frames = [data[i] for i in sorted({0, n // 2, n - 1})]
        if hasattr(frames[0], "compute"):
            import dask

            frames = dask.compute(*frames)
        sample = np.stack([np.asarray(f) for f in frames])
    else:
        sample = np.asarray(data.compute() if hasattr(data, "compute") else data)
    flat = sample.reshape(-1)
    step = max(1, flat.size // DISPLAY_SAMPLE_PIXELS)
    return flat[::step]


def display_limits(data, dtype=None, rgb=False, percentiles=DISPLAY_PERCENTILES):
    """Contrast limits that show ``data`` well, for every dtype.

    The :data:`DISPLAY_PERCENTILES` of the finite values of a few frames
    (first, middle, last; at most :data:`DISPLAY_SAMPLE_PIXELS` pixels),
    widened to a non-empty range. RGB pictures keep the dtype's range
    (``(0, 255)`` for uint8, ``(0, 1)`` for floats in 0..1); bool is
    ``(0, 1)``; no finite value gives ``(0, 1)``.

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
    dtype = np.dtype(dtype if dtype is not None else data.dtype)
    if dtype == np.bool_:
        return (0.0, 1.0)
    if rgb and dtype == np.uint8:
        return (0.0, 255.0)
    if 0 in tuple(data.shape):
        return (0.0, 1.0)
    sample = _display_sample(data)
    if sample.dtype.kind in "fc":
        sample = sample[np.isfinite(sample)].real
    if sample.size == 0:
        return (0.0, 1.0)
    if rgb and sample.min() >= 0 and sample.max() <= 1:
        return (0.0, 1.0)
    low, high = (float(v) for v in np.percentile(sample, percentiles))
    if not high > low:
        low, high = float(sample.min()), float(sample.max())
    if not high > low:
        high = low + 1.0
    return (low, high)
