"""What TIFF files say about their images: units, pixel sizes, the frame
interval, channel names and axis names (ImageJ, OME-XML, ScanImage, the TIFF
resolution tags), turned into :class:`napari_thunder.metadata.ImageMetadata`.

Metadata are a bonus: a file whose metadata cannot be parsed is still read,
with the default metadata.
"""

from __future__ import annotations

import contextlib
import math
import re

#: tifffile axis letters with a fixed meaning, and their names in napari-thunder
_AXIS_NAMES = {"T": "t", "Z": "z", "C": "c", "Y": "y", "X": "x"}
#: tifffile's letters for axes it knows nothing about (pages, "shaped" dimensions)
_GENERIC = "IQ"
#: TIFF photometric interpretations
_RGB_PHOTOMETRIC = (2, 6)  # RGB, YCbCr (tifffile decodes YCbCr to RGB)


# -- units ---------------------------------------------------------------------------------------------------
_UNITS = {
    "um": "micrometer", "µm": "micrometer", "μm": "micrometer", "\\u00b5m": "micrometer",
    "micron": "micrometer", "microns": "micrometer", "micrometer": "micrometer",
    "micrometre": "micrometer", "nm": "nanometer", "nanometer": "nanometer", "mm": "millimeter",
    "millimeter": "millimeter", "cm": "centimeter", "centimeter": "centimeter", "m": "meter",
    "meter": "meter", "inch": "inch", "pm": "picometer", "å": "angstrom", "angstrom": "angstrom",
    "s": "second", "sec": "second", "second": "second", "seconds": "second", "ms": "millisecond",
    "millisecond": "millisecond", "µs": "microsecond", "us": "microsecond", "ns": "nanosecond",
    "min": "minute", "minute": "minute", "h": "hour", "hour": "hour",
}
_NO_UNIT = ("", "pixel", "pixels", "px", "none")


def unit_name(text):
    """A unit as files spell it, as a full unit name.

    Parameters
    ----------
    text : str or None
        ``'um'``, ``'µm'``, ``'\\u00B5m'``, ``'micron'``, ``'nm'``, ``'s'``,
        ``'sec'``, ``'ms'``...

    Returns
    -------
    str or None
        ``'micrometer'``, ``'nanometer'``, ``'second'``, ``'millisecond'``...
        (napari/pint names); None for no unit or pixels; an unknown unit as
        given.
    """
    if text is None:
        return None
    text = str(text).strip()
    if text.lower() in _NO_UNIT:
        return None
    return _UNITS.get(text, _UNITS.get(text.lower(), text))


# -- physical metadata ---------------------------------------------------------------------------------------
def _positive(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _resolution_scale(page, unit=None):
    """``(y, x)`` pixel sizes from the resolution tags (pixels per unit), or None.

    Without a unit from ImageJ metadata only centimetre resolutions count
    (inch resolutions are display DPI, not a pixel size)."""
    tags = page.tags
    xres, yres = tags.get("XResolution"), tags.get("YResolution")
    if xres is None or yres is None:
        return None
    try:
        x = xres.value[0] / xres.value[1]
        y = yres.value[0] / yres.value[1]
    except (TypeError, ZeroDivisionError, IndexError):
        return None
    if not (_positive(x) and _positive(y)):
        return None
    if unit is None:
        runit = tags.get("ResolutionUnit")
        if runit is None or int(runit.value) != 3:
            return None
        return (1e4 / y, "micrometer"), (1e4 / x, "micrometer")
    return (1 / y, unit), (1 / x, unit)


def _imagej_physical(tif, page):
    """Axis letter -> ``(scale, unit)`` from ImageJ metadata and resolution tags."""
    meta = tif.imagej_metadata or {}
    out = {}
    unit = unit_name(meta.get("unit"))
    yx = _resolution_scale(page, unit) if unit is not None else _resolution_scale(page)
    if yx is not None:
        out["Y"], out["X"] = yx
    spacing = _positive(meta.get("spacing"))
    if spacing is not None:
        out["Z"] = (spacing, unit)
    tunit = unit_name(meta.get("tunit")) or "second"
    interval = _positive(meta.get("finterval"))
    if interval is None and _positive(meta.get("fps")):
        interval = 1.0 / float(meta["fps"])
    if interval is not None:
        out["T"] = (interval, tunit)
    return out, None


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _ome_pixels(tif, series_index):
    """The ``Pixels`` element of image ``series_index`` of a file's OME-XML, or None."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(tif.ome_metadata)
    except (ET.ParseError, TypeError, ValueError):
        return None
    images = [el for el in root if _local(el.tag) == "Image"]
    if not 0 <= series_index < len(images):
        return None
    return next((el for el in images[series_index] if _local(el.tag) == "Pixels"), None)


def _ome_physical(tif, series_index):
    """Axis letter -> ``(scale, unit)`` and channel names from OME-XML (image ``series_index``)."""
    pixels = _ome_pixels(tif, series_index)
    if pixels is None:
        return {}, None
    out = {}
    for letter in "XYZ":
        size = _positive(pixels.get(f"PhysicalSize{letter}"))
        if size is not None:
            out[letter] = (size, unit_name(pixels.get(f"PhysicalSize{letter}Unit", "µm")))
    step = _positive(pixels.get("TimeIncrement"))
    if step is not None:
        out["T"] = (step, unit_name(pixels.get("TimeIncrementUnit", "s")))
    channels = [el for el in pixels if _local(el.tag) == "Channel"]
    names = [el.get("Name") for el in channels]
    channel_names = tuple(names) if names and all(names) else None
    return out, channel_names


_SI_PERIOD = re.compile(r"(?:scanFramePeriod|frameRate)\s*=\s*([0-9.eE+-]+)")
_SI_CHANNELS = re.compile(r"(?:numberOfChannelsSave|channelsSave|channelSave)\s*=\s*([^\n\r]+)")
_SI_SLICES = re.compile(r"(?:actualNumSlices|numSlices|stackNumSlices|numberOfZSlices)\s*=\s*([0-9]+)")
_SI_FRAMES_PER_SLICE = re.compile(r"(?:framesPerSlice|numberOfFrames)\s*=\s*([0-9.eEinf]+)")


def _is_scanimage(page) -> bool:
    """ScanImage files (any version), from the first page's description or software tag."""
    description = page.description or ""
    software = str(page.software or "")
    return software.startswith("SI.") or description.startswith("state.") \
        or "scanimage.SI" in description[-256:] or "SI.hChannels" in description


def _scanimage_text(tif):
    """The ScanImage settings: the first page's description, plus the frame data
    of the header ScanImage 2016 and later write."""
    import tifffile

    text = tif.pages[0].description or ""
    with contextlib.suppress(Exception):
        tif.filehandle.seek(0)
        frame_data = tifffile.read_scanimage_metadata(tif.filehandle)[0]
        text += "\n" + "\n".join(f"{k} = {v}" for k, v in frame_data.items())
    return text


def _scanimage_channels(text) -> int:
    """Channels saved, interleaved page by page (1 when unknown)."""
    match = _SI_CHANNELS.search(text)
    if not match:
        return 1
    value = match.group(1).strip()
    if value.startswith("[") or value.startswith("("):
        return max(1, len([v for v in re.split(r"[;,\s\[\]()]+", value) if v]))
    with contextlib.suppress(ValueError):
        return max(1, int(float(value)))
    return 1


def _scanimage_slices(text) -> int:
    """Z slices per volume (1 when unknown, or when several frames are taken per slice:
    those stay frames)."""
    match = _SI_SLICES.search(text)
    if not match:
        return 1
    slices = max(1, int(match.group(1)))
    if slices > 1:
        per_slice = _SI_FRAMES_PER_SLICE.search(text)
        if per_slice:   # SI 2016+: framesPerSlice; ScanImage 3: numberOfFrames (per slice)
            with contextlib.suppress(ValueError):
                if float(per_slice.group(1)) != 1:
                    return 1
    return slices


def _scanimage_physical(text):
    """ScanImage files: the frame period (``scanFramePeriod``, or 1 / ``frameRate``)."""
    match = _SI_PERIOD.search(text)
    if match:
        value = _positive(match.group(1))
        if value is not None:
            period = value if "Period" in match.group(0) else 1.0 / value
            return {"T": (period, "second")}
    return {}


def _physical(tif, series, series_index, scanimage=None):
    """What the file says about pixel sizes, the frame interval and channels."""
    page = series.keyframe
    try:
        if tif.is_ome and series.kind == "ome":
            return _ome_physical(tif, series_index)
        if tif.is_imagej:
            return _imagej_physical(tif, page)
        physical = _scanimage_physical(scanimage) if scanimage is not None else {}
        yx = _resolution_scale(page)
        if yx is not None:
            physical["Y"], physical["X"] = yx
        return physical, None
    except Exception:  # metadata are a bonus: never a reason not to read the pixels
        return {}, None


#: length units in meters: positions stated in one unit are converted to the axis' unit
_METERS = {"meter": 1.0, "centimeter": 1e-2, "millimeter": 1e-3, "micrometer": 1e-6, "nanometer": 1e-9,
           "picometer": 1e-12, "angstrom": 1e-10, "inch": 0.0254}


def _finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _ome_origin(tif, series_index, physical):
    """Axis letter -> position of index 0, from the OME ``Plane`` at ``TheC = TheZ =
    TheT = 0`` of image ``series_index``: its ``PositionX/Y/Z``, when stated with a
    length unit and the axis has a physical size in a length unit to convert it to
    (a position in the schema's default unit, the stage's reference frame, says
    nothing about the image's axes)."""
    pixels = _ome_pixels(tif, series_index)
    if pixels is None:
        return {}
    first = next((el for el in pixels if _local(el.tag) == "Plane"
                  and all(el.get(f"The{a}", "0") == "0" for a in "CZT")), None)
    if first is None:
        return {}
    origin = {}
    for letter in "XYZ":
        value = _finite(first.get(f"Position{letter}"))
        unit = unit_name(first.get(f"Position{letter}Unit"))
        axis_unit = physical.get(letter, (None, None))[1]
        if value is None or unit not in _METERS or axis_unit not in _METERS:
            continue
        # 12 significant digits: the unit ratio adds float noise (100 mm -> 100000.00000000001 µm)
        origin[letter] = float(f"{value * _METERS[unit] / _METERS[axis_unit]:.12g}")
    return origin


def _imagej_origin(tif, physical):
    """Axis letter -> position of index 0, from ImageJ's ``xorigin``/``yorigin``/
    ``zorigin`` (in pixels: the calibrated position of pixel ``i`` is
    ``(i - origin) * pixel size``)."""
    meta = tif.imagej_metadata or {}
    origin = {}
    for letter in "XYZ":
        value = _finite(meta.get(f"{letter.lower()}origin"))
        if value is not None and value != 0:
            origin[letter] = -value * physical.get(letter, (1.0, None))[0]
    return origin


def _origin(tif, series, series_index, physical):
    """Axis letter -> translate (position of index 0, in the axis' unit), where the
    file states it unambiguously (OME ``Plane`` positions, ImageJ origins)."""
    try:
        if tif.is_ome and series.kind == "ome":
            return _ome_origin(tif, series_index, physical)
        if tif.is_imagej:
            return _imagej_origin(tif, physical)
    except Exception:  # metadata are a bonus: never a reason not to read the pixels
        pass
    return {}


def _page_perm(page_axes):
    """Order of a page's axes as read: colour samples ('S') last."""
    return tuple(sorted(range(len(page_axes)), key=lambda i: page_axes[i] == "S"))


def _names_for(value_axes, frame_axis, value_ndim, rgb):
    """napari-thunder axis names of a stack of images with tifffile letters ``value_axes``."""
    from napari_thunder.metadata import default_names

    defaults = default_names(value_ndim, rgb)
    if value_axes is None:
        return defaults
    has_c = "C" in value_axes
    names = ["t"]
    for k, letter in enumerate(value_axes, 1):
        if letter in _AXIS_NAMES:
            names.append(_AXIS_NAMES[letter])
        elif letter == "S":
            names.append("s" if has_c else "c")
        elif letter in _GENERIC:
            names.append(defaults[k])
        else:
            names.append(letter.lower())
    if len(set(names)) != len(names):
        return defaults
    return tuple(names)


def tif_metadata(layout, value_shape, value_axes, frame_axis):
    """The metadata of a stack read from files with ``layout``.

    Parameters
    ----------
    layout : dict
        From :func:`read_tif_layout` (the first file's).
    value_shape : tuple of int
        Shape of one image as read.
    value_axes : str or None
        tifffile axis letters of the image axes (None when ``nplanes`` cut
        the pages: only the page axes are known).
    frame_axis : str or None
        The letter of the axis the images run along (``'T'``), or None when
        each file is one image.

    Returns
    -------
    napari_thunder.metadata.ImageMetadata
        Names (``t``, ``z``, ``c``, ``y``, ``x``; defaults for axes the file
        does not name), pixel sizes and units from the file, the frame
        interval on axis 0, the position of index 0 of the x, y, z axes
        (``translate``) where the file states it (OME ``Plane`` positions,
        ImageJ origins), channel names, ``rgb`` for RGB(A) samples.
    """
    from napari_thunder.metadata import ImageMetadata

    rgb = (value_axes is not None and value_axes.endswith("S") and "C" not in value_axes
           and value_shape[-1] in (3, 4) and layout["photometric"] in _RGB_PHOTOMETRIC)
    if value_axes is None:
        # nplanes: planes in storage order; only the page axes are known
        page_axes = "".join(layout["page_axes"][i] for i in _page_perm(layout["page_axes"]))
        rgb = (page_axes.endswith("S") and value_shape[-1] in (3, 4)
               and layout["photometric"] in _RGB_PHOTOMETRIC)
        letters = "?" * (len(value_shape) - len(page_axes)) + page_axes
    else:
        letters = value_axes
    names = _names_for(value_axes, frame_axis, len(value_shape), rgb)
    physical = layout.get("physical") or {}
    origin = layout.get("origin") or {}
    scale, units, translate = [1.0], [None], [0.0]
    if frame_axis in ("T", None) and "T" in physical:
        # a time axis, or one image per file with the file's time step (OME TimeIncrement)
        scale[0], units[0] = physical["T"]
    for letter in letters:
        value = physical.get(letter) if letter in "XYZ" else None
        scale.append(value[0] if value else 1.0)
        units.append(value[1] if value else None)
        translate.append(origin.get(letter, 0.0) if letter in "XYZ" else 0.0)
    channel_names = layout.get("channel_names")
    if channel_names is not None:
        c = names.index("c") if "c" in names else None
        if c is None or c == 0 or len(channel_names) != value_shape[c - 1] or value_axes is None \
                or "C" not in value_axes:
            channel_names = None
    try:
        return ImageMetadata.from_names(names, scale=scale, translate=translate, units=units,
                                        channel_names=channel_names, rgb=rgb)
    except ValueError:
        return ImageMetadata.default(len(value_shape) + 1, rgb=rgb)
