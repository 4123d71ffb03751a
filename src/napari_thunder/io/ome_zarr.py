"""OME-NGFF (OME-Zarr) ``multiscales`` metadata <-> :class:`ImageMetadata`.

Only JSON-ready dicts here (no zarr import): :func:`multiscales_attrs` builds
the group attributes of an image for NGFF 0.4 (Zarr v2, ``.zattrs``) or 0.5
(Zarr v3, ``zarr.json`` under the ``"ome"`` key); :func:`parse_multiscales`
reads them back (0.1 to 0.5) and :func:`metadata_for_level` turns one
resolution level into the axis names, scale, translate and units of the
metadata model.

The NGFF rules checked before writing (:func:`check_ome_axes`): 2 to 5 axes;
2 or 3 space axes (``z``, ``y``, ``x``), last; at most one time axis
(``t``), first; at most one channel axis (``c``) or one axis of another
name, between time and space. Units are written with the NGFF names
(``'micrometer'``, ``'second'``); the usual short forms (``'um'``, ``'µm'``,
``'ms'``) are translated, other units are written as given, with a warning.
"""

from __future__ import annotations

import warnings

from napari_thunder.metadata import Axis, ImageMetadata

__all__ = [
    "OME_VERSIONS",
    "check_ome_axes",
    "metadata_for_level",
    "multiscales_attrs",
    "ngff_unit",
    "parse_multiscales",
]

#: NGFF versions this package writes
OME_VERSIONS = ("0.4", "0.5")

_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}

_SPACE_UNITS = {
    "angstrom", "attometer", "centimeter", "decimeter", "exameter", "femtometer", "foot",
    "gigameter", "hectometer", "inch", "kilometer", "megameter", "meter", "micrometer", "mile",
    "millimeter", "nanometer", "parsec", "petameter", "picometer", "terameter", "yard",
    "yoctometer", "yottameter", "zeptometer", "zettameter",
}
_TIME_UNITS = {
    "attosecond", "centisecond", "day", "decisecond", "exasecond", "femtosecond", "gigasecond",
    "hectosecond", "hour", "kilosecond", "megasecond", "microsecond", "millisecond", "minute",
    "nanosecond", "petasecond", "picosecond", "second", "terasecond", "yoctosecond",
    "yottasecond", "zeptosecond", "zettasecond",
}
_ALIASES = {
    "um": "micrometer", "µm": "micrometer", "μm": "micrometer", "micron": "micrometer",
    "microns": "micrometer", "nm": "nanometer", "mm": "millimeter", "cm": "centimeter",
    "m": "meter", "a": "angstrom", "å": "angstrom", "s": "second", "sec": "second",
    "seconds": "second", "ms": "millisecond", "us": "microsecond", "µs": "microsecond",
    "ns": "nanosecond", "min": "minute", "h": "hour",
}


def axis_type(name: str) -> str | None:
    """NGFF axis type of an axis name (``'t'`` time, ``'c'`` channel,
    ``'z'``/``'y'``/``'x'`` space), None for any other name."""
    return _TYPES.get(name)


def ngff_axis_order(metadata: ImageMetadata) -> tuple[int, ...]:
    """The order of the stack axes OME-Zarr stores: ``[t,] [c,] [z,] y, x``.

    Axis 0 (the images) stays first; of the image axes, the non-space ones
    (channel, custom) come first, then the space axes, each group in its
    current order. A ``(t, z, c, y, x)`` ImageJ hyperstack gives
    ``(0, 2, 1, 3, 4)``: stored as ``(t, c, z, y, x)``. RGB stacks keep their
    order (:func:`check_ome_axes` refuses them).

    Parameters
    ----------
    metadata : ImageMetadata

    Returns
    -------
    tuple of int
        A permutation of ``range(metadata.ndim)``; the identity when the axes
        are already in NGFF order.
    """
    image_axes = range(1, metadata.ndim)
    if metadata.rgb:
        return tuple(range(metadata.ndim))
    kinds = [axis_type(n) for n in metadata.names]
    return ((0,) + tuple(k for k in image_axes if kinds[k] != "space")
            + tuple(k for k in image_axes if kinds[k] == "space"))


def ngff_unit(unit, kind):
    """The NGFF name of ``unit`` on an axis of type ``kind``.

    Parameters
    ----------
    unit : str or None
    kind : str or None
        ``'space'``, ``'time'`` or another axis type.

    Returns
    -------
    str or None
        The NGFF unit name (short forms such as ``'um'`` translated); an
        unknown unit is returned as given after a ``UserWarning``.
    """
    if unit is None:
        return None
    text = str(unit).strip()
    text = _ALIASES.get(text, _ALIASES.get(text.lower(), text))
    known = _SPACE_UNITS if kind == "space" else _TIME_UNITS if kind == "time" else None
    if known is not None and text not in known:
        warnings.warn(f"unit {unit!r} of a {kind} axis is not an OME-NGFF unit name; written as is",
                      UserWarning, stacklevel=4)
    return text


def check_ome_axes(metadata: ImageMetadata) -> None:
    """Raise ``ValueError`` unless the axes can be written as OME-NGFF axes.

    Parameters
    ----------
    metadata : ImageMetadata

    Raises
    ------
    ValueError
        Fewer than 2 or more than 5 axes, not 2 or 3 space axes at the end,
        a time axis other than the first, more than one non-space axis
        besides time, or RGB samples on the last axis; the message names the
        axes.
    """
    names = metadata.names
    kinds = [axis_type(n) for n in names]
    hint = (f"the axes {names} cannot be written as OME-Zarr (NGFF wants [t,] [c,] [z,] y, x); "
            "rename them with with_metadata(names=...) or write a plain Zarr array with ome=False")
    if metadata.rgb:
        raise ValueError(f"RGB samples on the last axis: {hint}")
    if not 2 <= len(names) <= 5:
        raise ValueError(f"{len(names)} axes: {hint}")
    nspace = kinds.count("space")
    if nspace not in (2, 3) or any(k != "space" for k in kinds[len(kinds) - nspace:]):
        raise ValueError(f"not 2 or 3 space axes at the end: {hint}")
    lead = kinds[:len(kinds) - nspace]
    if "time" in lead[1:]:
        raise ValueError(f"time axis not first: {hint}")
    others = [k for k in lead if k != "time"]
    if len(others) > 1:
        raise ValueError(f"more than one channel or custom axis: {hint}")


def ome_axes(metadata: ImageMetadata) -> list[dict]:
    """The NGFF ``axes`` list: name, type (when known) and unit of each axis."""
    out = []
    for a in metadata.axes:
        kind = axis_type(a.name)
        entry = {"name": a.name}
        if kind is not None:
            entry["type"] = kind
        unit = ngff_unit(a.unit, kind)
        if unit is not None:
            entry["unit"] = unit
        out.append(entry)
    return out


def multiscales_attrs(metadata: ImageMetadata, paths, transforms, version: str = "0.5",
                      name: str | None = None, method: str | None = None) -> dict:
    """Group attributes of an OME-Zarr image with one dataset per level.

    Parameters
    ----------
    metadata : ImageMetadata
        Axes of every level (level 0's scale and translate are not used:
        ``transforms`` gives each level's).
    paths : sequence of str
        Array path of each level, full resolution first.
    transforms : sequence of (scale, translate)
        Per level, one value per axis.
    version : {'0.4', '0.5'}
    name : str, optional
        Image name.
    method : str, optional
        Downsampling method, recorded as ``type``.

    Returns
    -------
    dict
        ``{"multiscales": [...]}`` (0.4) or ``{"ome": {"version": "0.5",
        "multiscales": [...]}}`` (0.5); ``{"omero": ...}`` channel labels are
        added when the metadata name the channels.
    """
    datasets = []
    for path, (scale, translate) in zip(paths, transforms):
        transformations = [{"type": "scale", "scale": [float(s) for s in scale]}]
        if any(t != 0 for t in translate):
            transformations.append({"type": "translation",
                                    "translation": [float(t) for t in translate]})
        datasets.append({"path": str(path), "coordinateTransformations": transformations})
    multiscale = {"axes": ome_axes(metadata), "datasets": datasets}
    if name:
        multiscale["name"] = str(name)
    if method and len(datasets) > 1:
        multiscale["type"] = str(method)
    attrs = {}
    if version == "0.4":
        multiscale = {"version": "0.4", **multiscale}
        attrs["multiscales"] = [multiscale]
        omero_parent = attrs
    else:
        attrs["ome"] = {"version": "0.5", "multiscales": [multiscale]}
        omero_parent = attrs["ome"]
    if metadata.channel_names is not None:
        omero_parent["omero"] = {"channels": [{"label": c, "active": True}
                                              for c in metadata.channel_names]}
    return attrs


class Multiscales:
    """What :func:`parse_multiscales` read: one multiscale image of a group.

    Attributes
    ----------
    version : str
    axes : list of dict
        ``{"name", "type"?, "unit"?}`` per axis.
    paths : list of str
        Array path of each level, full resolution first.
    transforms : list of (list of float, list of float)
        ``(scale, translate)`` of each level, the multiscale-wide
        transformations applied.
    channel_labels : list of str or None
        From ``omero.channels``.
    """

    def __init__(self, version, axes, paths, transforms, channel_labels=None, name=None):
        self.version = version
        self.axes = axes
        self.paths = paths
        self.transforms = transforms
        self.channel_labels = channel_labels
        self.name = name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a["name"] for a in self.axes)


def _transform(entries, ndim, path):
    scale, translate = [1.0] * ndim, [0.0] * ndim
    for entry in entries or ():
        kind = entry.get("type")
        if kind == "scale":
            scale = [float(v) for v in entry["scale"]]
        elif kind == "translation":
            translate = [float(v) for v in entry["translation"]]
        elif kind != "identity":
            raise ValueError(f"OME-Zarr dataset {path!r}: coordinate transformation {kind!r} "
                             "is not supported (only scale and translation)")
    if len(scale) != ndim or len(translate) != ndim:
        raise ValueError(f"OME-Zarr dataset {path!r}: transformations of {len(scale)} axes "
                         f"for {ndim} axes")
    return scale, translate


def parse_multiscales(attrs, where: str = "store") -> Multiscales | None:
    """The first multiscale image described by group attributes, or None.

    Parameters
    ----------
    attrs : dict
        The group's attributes (``.zattrs`` or ``zarr.json`` ``attributes``).
    where : str
        Name of the store, for messages.

    Returns
    -------
    Multiscales or None
        None when ``attrs`` hold no ``multiscales``.

    Raises
    ------
    ValueError
        Malformed multiscales (no datasets, axes and transformations that do
        not agree, unsupported transformations); the message names ``where``.
    """
    ome = attrs.get("ome") if isinstance(attrs.get("ome"), dict) else None
    holder = ome if ome is not None and "multiscales" in ome else attrs
    multiscales = holder.get("multiscales")
    if not multiscales:
        return None
    first = multiscales[0] if isinstance(multiscales, list) else None
    if not isinstance(first, dict):
        raise ValueError(f"{where}: 'multiscales' must be a list of objects")  # noqa: TRY004
    version = str((ome or {}).get("version") or first.get("version") or "0.4")
    datasets = first.get("datasets") or []
    if not datasets or not all(isinstance(d, dict) and "path" in d for d in datasets):
        raise ValueError(f"{where}: multiscales has no datasets with a 'path'")
    axes = first.get("axes")
    if axes is None:  # NGFF 0.1/0.2: always t, c, z, y, x
        axes = ["t", "c", "z", "y", "x"]
    axes = [{"name": a} if isinstance(a, str) else dict(a) for a in axes]
    ndim = len(axes)
    top = _transform(first.get("coordinateTransformations"), ndim, where)
    transforms = []
    for d in datasets:
        scale, translate = _transform(d.get("coordinateTransformations"), ndim, d["path"])
        transforms.append(([s * ts for s, ts in zip(scale, top[0])],
                           [t * ts + tt for t, ts, tt in zip(translate, top[0], top[1])]))
    omero = holder.get("omero") or attrs.get("omero") or {}
    labels = None
    channels = omero.get("channels") if isinstance(omero, dict) else None
    if isinstance(channels, list) and all(isinstance(c, dict) and "label" in c for c in channels):
        labels = [str(c["label"]) for c in channels]
    return Multiscales(version, axes, [str(d["path"]) for d in datasets], transforms, labels,
                       first.get("name"))


def metadata_for_level(info: Multiscales, level: int, shape) -> ImageMetadata:
    """Metadata of resolution level ``level`` of an array of ``shape``.

    Parameters
    ----------
    info : Multiscales
    level : int
    shape : tuple of int
        The level's array shape (one entry per axis).

    Returns
    -------
    ImageMetadata
        Names, scale, translate and units from the axes and the level's
        transformations; channel names from ``omero`` when they match the
        channel axis.
    """
    scale, translate = info.transforms[level]
    axes = tuple(Axis(a["name"], s if s > 0 else 1.0, t, a.get("unit"))
                 for a, s, t in zip(info.axes, scale, translate))
    meta = ImageMetadata(axes)
    c = meta.channel_axis
    labels = info.channel_labels
    if c is not None and labels is not None and len(labels) == shape[c] and len(set(labels)) == len(labels):
        meta = ImageMetadata(axes, channel_names=labels)
    return meta
