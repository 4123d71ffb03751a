"""napari reader and writer for Zarr / OME-Zarr folders.

* ``get_zarr_reader(path)``: for a ``*.zarr`` folder (or any folder with
  Zarr metadata) a reader function, else None; never raises.
* ``read_zarr(path)``: every resolution level, each lazy (a dask array
  napari reads chunk by chunk), as ONE multiscale image layer (a plain
  array: a plain layer). Scale, translate, units and axis labels are those
  of the full resolution level; contrast limits are sampled from the lowest
  one (cheap). Channel axes become one layer per channel.
* ``write_ome_zarr(path, data, meta)``: an image layer as an OME-Zarr image
  (NGFF 0.5) with the layer's scale, translate, units and axis labels; a
  multiscale layer is written from its full resolution with the same number
  of levels (halving y and x). As the other plugin writers: an existing
  store is refused from a script and replaced (atomically) only when
  napari's *Save layers* dialog already asked the user; the store appears
  only once complete; in the GUI the writing runs in a thread with a
  progress bar.
"""

from __future__ import annotations

import os

from napari_thunder.plugin.reader import _single_path
from napari_thunder.plugin.writer import _reraise_for_napari, _save_with_progress


def get_zarr_reader(path):
    """npe2 reader command: :func:`read_zarr` for a Zarr folder, else None.

    Parameters
    ----------
    path : str or list of str

    Returns
    -------
    callable or None
        Never raises.
    """
    from napari_thunder.io.zarr import is_zarr_path

    single = _single_path(path)
    if single is None or not is_zarr_path(single):
        return None
    return read_zarr


def zarr_layer_data(path, name=None):
    """The layer data tuple of a Zarr store: ``(data, add_kwargs, 'image')``.

    Parameters
    ----------
    path : str
        The store folder.
    name : str, optional
        Layer name (default: the folder name without ``.zarr``).

    Returns
    -------
    tuple
        ``data`` is a list of lazy arrays, full resolution first, with
        ``multiscale=True`` when the image has several levels, else one
        lazy array.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`napari_thunder.images.fromzarr`.
    """
    from napari_thunder import images
    from napari_thunder.data.layers import (
        METADATA_KEY,
        images_to_layer_data,
        layer_data_from_images,
        layer_metadata,
    )
    from napari_thunder.io.zarr import open_zarr

    if name is None:
        base = os.path.basename(os.path.normpath(path))
        name = base[:-5] if base.lower().endswith(".zarr") else base
    nlevels = open_zarr(path).nlevels
    levels = [images.fromzarr(path, level=k) for k in range(nlevels)]
    data = [layer_data_from_images(imgs) for imgs in levels]
    _, kwargs, _ = images_to_layer_data(levels[-1], name=name)  # contrast from the smallest level
    full = levels[0]
    kwargs.update(layer_metadata(full).layer_kwargs(drop_image_axis=data[0].ndim < len(full.shape)))
    kwargs["metadata"][METADATA_KEY].update(shape=tuple(full.shape),
                                            axes=full.metadata.to_dict(), levels=nlevels)
    if nlevels > 1:
        kwargs["multiscale"] = True
        return data, kwargs, "image"
    return data[0], kwargs, "image"


def read_zarr(path, **kwargs):
    """Reader function: ``[(data, add_kwargs, 'image')]`` for a Zarr folder.

    An unreadable store shows a napari error notification naming it and adds
    no layer (``[(None,)]``).
    """
    shown = _single_path(path)
    try:
        return [zarr_layer_data(shown)]
    except Exception as exc:  # noqa: BLE001 - a reader reports, never raises
        from napari.utils.notifications import show_error

        show_error(f"napari-thunder could not read {shown}: {type(exc).__name__}: {exc}")
        return [(None,)]


class _LayerAttributes:
    """The layer attributes napari hands a writer, as attributes."""

    def __init__(self, meta):
        meta = meta or {}
        for key in ("scale", "translate", "units", "axis_labels"):
            if meta.get(key) is not None:
                setattr(self, key, meta[key])
        self.rgb = bool(meta.get("rgb", False))


@_reraise_for_napari
def write_ome_zarr(path, data, meta=None, overwrite=False) -> list[str]:
    """Write an image layer as an OME-Zarr image.

    The store appears only once complete (written to a hidden sibling, then
    renamed). An existing store is replaced only when napari's *Save layers*
    dialog already asked the user (``overwrite``); from a script it is
    refused. In the GUI the work runs in a thread with a progress bar.

    Parameters
    ----------
    path : str
        Output folder, e.g. ``'cells.zarr'``; must not exist unless
        ``overwrite``.
    data : array-like or list of arrays
        Layer data (a list for multiscale layers: the first is written and
        the pyramid recomputed with as many levels).
    meta : dict, optional
        Layer attributes (``scale``, ``translate``, ``units``,
        ``axis_labels``, ``rgb``, ``multiscale``, ``name``).
    overwrite : bool
        Replace an existing store (set by the wrapper when the save dialog
        confirmed it).

    Returns
    -------
    list of str
        ``[path]``.

    Raises
    ------
    FileExistsError
        ``path`` exists (and was not confirmed).
    LayerWriteError
        Axes OME-NGFF cannot describe (RGB layers, more than 5 axes...).
    """
    from napari_thunder import images
    from napari_thunder.data.layers import metadata_from_layer

    meta = meta or {}
    multiscale = bool(meta.get("multiscale")) or isinstance(data, (list, tuple))
    levels = len(data) if multiscale and isinstance(data, (list, tuple)) else 1
    full = data[0] if isinstance(data, (list, tuple)) else data
    if meta.get("rgb") and full.ndim == 3:
        full = full[None]
    imgs = images.fromarray(full)
    imgs = imgs.with_metadata(metadata_from_layer(_LayerAttributes(meta), imgs.shape))
    return _save_with_progress(imgs, "tozarr", path, overwrite, levels=levels, name=meta.get("name"))
