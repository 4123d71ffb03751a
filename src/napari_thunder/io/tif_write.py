"""How ``Images.totif`` stores an image's metadata in a TIFF file: OME-XML when
the dtype allows it, else tifffile's axes and the resolution tags."""

from __future__ import annotations

import numpy as np

from .tif_metadata import unit_name

#: unit names as OME-XML writes them
_OME_UNITS = {"micrometer": "µm", "nanometer": "nm", "millimeter": "mm", "centimeter": "cm",
              "meter": "m", "picometer": "pm", "angstrom": "Å", "inch": "in", "second": "s",
              "millisecond": "ms", "microsecond": "µs", "nanosecond": "ns", "minute": "min",
              "hour": "h"}

#: dtypes OME-XML can describe (``Pixels Type``)
_OME_DTYPES = {np.dtype(t) for t in (np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32,
                                     np.float32, np.float64, np.complex64, np.complex128, np.bool_)}
_TIFF_LETTERS = {"z": "Z", "c": "C", "y": "Y", "x": "X"}


def _plane_positions(meta, axes, axes_meta, value_shape):
    """OME ``Plane`` positions (``PositionX/Y/Z`` and their units, one per stored
    plane, planes in C order of the axes before ``YX``) giving the position of
    index 0 (``translate``) of the x, y, z axes written with a physical size;
    None when every such translate is 0."""
    letters = [letter for letter in "XYZ" if f"PhysicalSize{letter}" in meta]
    if not any(axes_meta[axes.index(letter)].translate for letter in letters):
        return None
    plane_axes = axes[:axes.index("Y")]
    plane_shape = tuple(value_shape[:len(plane_axes)])
    count = int(np.prod(plane_shape, dtype=np.int64))
    indices = np.unravel_index(np.arange(count), plane_shape) if plane_shape else ()
    planes = {}
    for letter in letters:
        axis = axes_meta[axes.index(letter)]
        position = np.full(count, axis.translate, dtype=float)
        if letter in plane_axes:
            position = position + indices[plane_axes.index(letter)] * axis.scale
        planes[f"Position{letter}"] = [float(v) for v in position]
        planes[f"Position{letter}Unit"] = [meta[f"PhysicalSize{letter}Unit"]] * count
    return planes


def tif_write_options(metadata, value_shape, dtype):
    """``tifffile.imwrite`` keyword arguments that store ``metadata`` in each
    file written by ``Images.totif`` (one image per file).

    Default metadata: plain grey pages. Otherwise OME-XML (``ome=True``)
    when the dtype allows it: axes, ``PhysicalSize``
    X/Y/Z with their units, ``TimeIncrement`` (axis 0), channel names, and the
    position of index 0 of those axes (``translate``, when not 0) as the
    ``Plane`` positions;
    otherwise tifffile's axes and the X/Y pixel size as resolution tags (in
    centimetres). RGB(A) images are written as colour (``photometric='rgb'``),
    anything else as grey pages. Image axes named other than ``z``, ``c``,
    ``y``, ``x`` are written without metadata.

    Parameters
    ----------
    metadata : napari_thunder.metadata.ImageMetadata
        Metadata of the stack (axis 0 included).
    value_shape : tuple of int
        Shape of one image.
    dtype : numpy dtype

    Returns
    -------
    dict
    """
    value_shape = tuple(value_shape)
    rgb = bool(metadata.rgb) and len(value_shape) >= 3 and value_shape[-1] in (3, 4)
    options = {"photometric": "rgb" if rgb else "minisblack"}
    if metadata.is_default() and not rgb:
        return options   # nothing to store: plain grey pages, as Thunder writes them
    names, axes_meta = metadata.names[1:], metadata.axes[1:]
    if len(names) != len(value_shape):
        return options
    letters = []
    for k, name in enumerate(names):
        if rgb and k == len(names) - 1:
            letters.append("S")
        elif name in _TIFF_LETTERS:
            letters.append(_TIFF_LETTERS[name])
        else:
            return options
    axes = "".join(letters)
    if len(set(axes)) != len(axes) or not axes.rstrip("S").endswith("YX"):
        return options
    meta = {"axes": axes}
    if np.dtype(dtype) in _OME_DTYPES:
        for letter in "XYZ":
            if letter not in axes:
                continue
            axis = axes_meta[axes.index(letter)]
            symbol = _OME_UNITS.get(axis.unit)
            if symbol is not None:
                meta[f"PhysicalSize{letter}"] = axis.scale
                meta[f"PhysicalSize{letter}Unit"] = symbol
        time = metadata.axes[0]
        symbol = _OME_UNITS.get(time.unit)
        if symbol is not None and unit_name(symbol) in ("second", "millisecond", "microsecond",
                                                        "nanosecond", "minute", "hour"):
            meta["TimeIncrement"] = time.scale
            meta["TimeIncrementUnit"] = symbol
        if "C" in axes and metadata.channel_names is not None:
            meta["Channel"] = {"Name": list(metadata.channel_names)}
        planes = _plane_positions(meta, axes, axes_meta, value_shape)
        if planes:
            meta["Plane"] = planes
        options.update(ome=True, metadata=meta)
        return options
    options["metadata"] = meta
    y, x = axes_meta[axes.index("Y")], axes_meta[axes.index("X")]
    if y.unit == x.unit == "micrometer":
        options.update(resolution=(1e4 / x.scale, 1e4 / y.scale), resolutionunit="CENTIMETER")
    return options
