"""Images <-> napari layers, with napari: add a layer, read one back.

The napari-free part (layer data, ``add_image`` arguments, contrast limits,
the axis convention) is :mod:`napari_thunder.data.layers`; this module adds
the layer to a viewer and turns layers back into ``Images``; it re-exports
:func:`~napari_thunder.data.layers.display_limits`, the contrast limits results
and samples are shown with.
"""

from __future__ import annotations

from napari_thunder.data.layers import DISPLAY_PERCENTILES, DISPLAY_SAMPLE_PIXELS, display_limits

__all__ = ["DISPLAY_PERCENTILES", "DISPLAY_SAMPLE_PIXELS", "add_images_to_viewer", "display_limits",
           "layer_to_images"]


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
