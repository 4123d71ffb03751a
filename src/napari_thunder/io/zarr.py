"""Reading Zarr arrays and OME-Zarr images (zarr-python 3) frame range by frame range.

:func:`open_zarr` looks at a store on the driver (metadata only) and returns
a :class:`ZarrSource`, a picklable description the engines read frames from
where the work runs (dask threads, Spark executors): each ``read`` opens the
array once per process and reads whole chunks, since the source tells the
engines its chunk length along the image axis (``chunk_frames``).

What a path may hold
--------------------
* an OME-Zarr image (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3; older versions
  read leniently): a group whose ``multiscales`` list the resolution levels;
  ``level`` picks one (0, the full resolution, by default). Axis names,
  scale, translation and units come from the NGFF axes and the level's
  coordinate transformations, channel names from ``omero``.
* a ``bioformats2raw`` layout: the image in its series ``0``.
* a plain Zarr array (v2 or v3), or a group holding exactly one (else pass
  ``component``): names from Zarr v3 ``dimension_names`` or the metadata
  this package stored, else the defaults.

The image axis: axis 0 of the store, unless the store's first axis is a
space or channel axis (``zyx``, ``cyx``, ``yx`` images): then the images
hold one image, the stack gaining a leading axis ``'t'`` of length 1. A 2-D
plain array is one image, as for ``fromarray``.

Writing is in :mod:`napari_thunder.io.zarr_write`.
"""

from __future__ import annotations

import os

import numpy as np

from napari_thunder.io.ome_zarr import metadata_for_level, parse_multiscales
from napari_thunder.io.source import FrameSource
from napari_thunder.metadata import ImageMetadata

__all__ = ["THUNDER_KEY", "ZarrSource", "ZarrStore", "is_zarr_path", "open_zarr"]

#: attribute key under which this package stores its metadata model
THUNDER_KEY = "napari_thunder"
#: attribute value (under THUNDER_KEY) of a store whose write is not finished
UNFINISHED = {"unfinished": True}
#: files that mark a folder as a Zarr store (v3, v2 group, v2 array)
MARKERS = ("zarr.json", ".zgroup", ".zarray")


def _store_path(path) -> str:
    text = os.fspath(path)
    return text.removeprefix("file://")


def is_url(path) -> bool:
    """True for a remote store address (``s3://``, ``https://``...), not a local path."""
    return "://" in str(path) and not str(path).startswith("file://")


def is_zarr_path(path) -> bool:
    """True if ``path`` is a folder holding Zarr metadata (``zarr.json``,
    ``.zgroup`` or ``.zarray``) or a folder named ``*.zarr``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    bool
        Never raises.
    """
    try:
        local = _store_path(path)
        if not os.path.isdir(local):
            return False
        if local.rstrip(os.sep).lower().endswith(".zarr"):
            return True
        return any(os.path.isfile(os.path.join(local, m)) for m in MARKERS)
    except (TypeError, ValueError, OSError):
        return False


class ZarrSource(FrameSource):
    """Frames of one Zarr array, read on demand (picklable: paths only).

    Parameters
    ----------
    store : str
        Path (or URL) of the store.
    array_path : str
        Path of the array inside the store (``''`` for an array at the root).
    shape : tuple of int
        Shape of the frames, ``(n,) + value_shape``.
    dtype : numpy dtype
    chunk_frames : int
        Chunk length of the array along the image axis.
    prepend : bool
        The array has no image axis: it is one image (``n == 1``).
    """

    def __init__(self, store, array_path, shape, dtype, chunk_frames=1, prepend=False):
        self.store = str(store)
        self.array_path = str(array_path)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.chunk_frames = max(1, int(chunk_frames))
        self.prepend = bool(prepend)
        self._array = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_array"] = None  # opened again where the frames are read
        return state

    def array(self):
        """The zarr array (opened once per process)."""
        if self._array is None:
            import zarr

            self._array = zarr.open_array(store=self.store, path=self.array_path, mode="r")
        return self._array

    def read(self, start, stop):
        """Frames ``[start, stop)`` as a new ndarray."""
        arr = self.array()
        if self.prepend:
            block = np.asarray(arr[...])[np.newaxis] if stop > start else None
            if block is None:
                return np.empty((0,) + self.value_shape, self.dtype)
            return block[start:stop]
        return np.asarray(arr[start:stop])

    def __repr__(self):
        return f"ZarrSource({self.store!r}, {self.array_path!r}, shape={self.shape})"


class ZarrStore:
    """What :func:`open_zarr` found: the source of one level, its metadata,
    and the other levels.

    Attributes
    ----------
    source : ZarrSource
    metadata : ImageMetadata
    level : int
        The level read.
    nlevels : int
        Resolution levels of the image (1 for a plain array).
    kind : str
        ``'ome-zarr <version>'`` or ``'zarr v2'`` / ``'zarr v3'``.
    """

    def __init__(self, source, metadata, level, nlevels, kind):
        self.source = source
        self.metadata = metadata
        self.level = level
        self.nlevels = nlevels
        self.kind = kind


def _refuse_unfinished(node, store) -> None:
    entry = dict(node.attrs).get(THUNDER_KEY)
    if isinstance(entry, dict) and entry.get("unfinished"):
        raise ValueError(f"{store!r} is the folder of an unfinished (interrupted) tozarr write; "
                         "it holds no complete image")


def _open_node(store, component):
    import zarr

    try:
        node = zarr.open(store=store, mode="r", path=component or "")
    except FileNotFoundError:
        raise FileNotFoundError(f"no Zarr array or group at {store!r}"
                                + (f" (component {component!r})" if component else "")) from None
    except Exception as exc:  # zarr raises several types for "nothing there"
        if not is_url(store) and not os.path.exists(store):
            raise FileNotFoundError(f"no such Zarr store: {store!r}") from None
        raise ValueError(f"{store!r} is not a readable Zarr store "
                         f"({type(exc).__name__}: {exc})") from exc
    return node


def _is_array(node) -> bool:
    return hasattr(node, "shape") and hasattr(node, "chunks")


def _dimension_names(arr):
    names = getattr(getattr(arr, "metadata", None), "dimension_names", None)
    if not names or any(n is None for n in names) or len(set(names)) != len(names):
        return None
    return tuple(str(n) for n in names)


def _thunder_metadata(attrs, shape):
    """Our stored metadata, when it still fits ``shape``; else None."""
    entry = attrs.get(THUNDER_KEY)
    if not isinstance(entry, dict) or "metadata" not in entry:
        return None
    try:
        return ImageMetadata.from_dict(entry["metadata"]).check_shape(shape)
    except (ValueError, TypeError):
        return None


def _with_image_axis(meta: ImageMetadata) -> ImageMetadata:
    """``meta`` with a leading image axis ``'t'`` of length 1."""
    from napari_thunder.metadata import Axis

    name = "t" if "t" not in meta.names else "i"
    return ImageMetadata((Axis(name),) + meta.axes, channel_names=meta.channel_names, rgb=meta.rgb)


def _needs_image_axis(meta: ImageMetadata) -> bool:
    from napari_thunder.io.ome_zarr import axis_type

    return axis_type(meta.names[0]) in ("space", "channel")


def _level_index(level, nlevels, where):
    from napari_thunder import validation

    level = validation.check_int(level, "level")
    if not -nlevels <= level < nlevels:
        raise ValueError(f"level must be in [{-nlevels}, {nlevels - 1}]: {where} has {nlevels} "
                         f"resolution level{'s' if nlevels != 1 else ''}, got {level}")
    return level % nlevels


def _array_store(store, path, arr, meta, level, nlevels, kind, prepend) -> ZarrStore:
    shape = tuple(int(s) for s in arr.shape)
    if prepend:
        meta = _with_image_axis(meta)
        frames_shape, chunk0 = (1,) + shape, 1
    else:
        frames_shape, chunk0 = shape, int(arr.chunks[0]) if shape else 1
    source = ZarrSource(store, path, frames_shape, arr.dtype, chunk0, prepend)
    return ZarrStore(source, meta.check_shape(frames_shape), level, nlevels, kind)


def _plain_array(store, path, arr, level) -> ZarrStore:
    _level_index(level, 1, repr(store))
    shape = tuple(int(s) for s in arr.shape)
    if len(shape) < 2:
        raise ValueError(f"Zarr array {store!r} has {len(shape)} dimension(s); images need at least 2")
    kind = f"zarr v{getattr(arr.metadata, 'zarr_format', 3)}"
    meta = _thunder_metadata(dict(arr.attrs), shape)
    if meta is not None:
        return _array_store(store, path, arr, meta, 0, 1, kind, False)
    names = _dimension_names(arr)
    prepend = len(shape) == 2  # one image, as for fromarray
    meta = ImageMetadata(ImageMetadata.default(3).axes[1:]) if prepend else ImageMetadata.default(len(shape))
    if names is not None:
        meta = meta.updated(names=names)
    return _array_store(store, path, arr, meta, 0, 1, kind, prepend)


def open_zarr(path, level=0, component=None) -> ZarrStore:
    """Describe a Zarr / OME-Zarr store (reads its metadata, no pixels).

    Parameters
    ----------
    path : str or os.PathLike
        Folder of the store (``file://`` accepted), or a URL zarr can open.
    level : int
        Resolution level of an OME-Zarr image: 0 (full resolution) by
        default; negative values count from the lowest resolution.
    component : str, optional
        Path of an array or image inside the store.

    Returns
    -------
    ZarrStore

    Raises
    ------
    FileNotFoundError
        Nothing at ``path`` (or ``component``).
    ValueError
        Not a Zarr store, a group with no image and not exactly one array,
        malformed OME metadata, ``level`` out of range, or an array of fewer
        than 2 dimensions.
    TypeError
        ``level`` is not an integer.
    """
    store = _store_path(path)
    node = _open_node(store, component)
    prefix = (component or "").strip("/")
    _refuse_unfinished(node, store)
    if _is_array(node):
        return _plain_array(store, prefix, node, level)
    attrs = dict(node.attrs)
    layout = attrs.get("bioformats2raw.layout", (attrs.get("ome") or {}).get("bioformats2raw.layout")
                       if isinstance(attrs.get("ome"), dict) else None)
    info = parse_multiscales(attrs, repr(store))
    if info is None and layout is not None and "0" in node:
        prefix = f"{prefix}/0".strip("/")
        node = node["0"]
        attrs = dict(node.attrs)
        info = parse_multiscales(attrs, repr(store))
    if info is None:
        arrays = sorted(node.array_keys())
        if len(arrays) != 1:
            raise ValueError(f"Zarr group {store!r} holds no OME-Zarr image and {len(arrays)} arrays "
                             f"({', '.join(arrays) or 'none'}); give component= the array to read")
        child = node[arrays[0]]
        _refuse_unfinished(child, store)
        return _plain_array(store, f"{prefix}/{arrays[0]}".strip("/"), child, level)
    nlevels = len(info.paths)
    k = _level_index(level, nlevels, repr(store))
    arr = node[info.paths[k]]
    _refuse_unfinished(arr, store)
    shape = tuple(int(s) for s in arr.shape)
    if len(shape) != len(info.axes):
        raise ValueError(f"OME-Zarr {store!r}: level {k} has {len(shape)} dimensions for "
                         f"{len(info.axes)} axes {info.names}")
    meta = metadata_for_level(info, k, shape)
    ours = attrs.get(THUNDER_KEY) if isinstance(attrs.get(THUNDER_KEY), dict) else {}
    written_names = tuple(a.get("name") for a in (ours.get("metadata") or {}).get("axes", []))
    prepend = _needs_image_axis(meta) and written_names != info.names
    return _array_store(store, f"{prefix}/{info.paths[k]}".strip("/"), arr, meta, k, nlevels,
                        f"ome-zarr {info.version}", prepend)
