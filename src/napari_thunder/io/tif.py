"""TIFF files, read through tifffile's series (ImageJ, OME, shaped and plain layouts).

One layout reader, :func:`read_tif_layout`, is used by the API
(:func:`napari_thunder.images.fromtif`), the napari reader and the command
line, so all three see the same array. What a file holds is what tifffile's
series say, not a page count:

* series 0 (what ``tifffile.imread`` returns) unless another is asked for
  (``series=``); a file with several series says so with a warning;
* ImageJ hyperstacks (``TZCYX``) and OME-TIFF (``TCZYX`` and the other
  dimension orders) keep their axes: a ``T`` axis becomes the image axis 0,
  every other axis stays in the image, in the file's order; ImageJ stacks
  over 4 GB (one IFD, planes stored after it) are read in full;
* files without axis information are one image each: a multipage file is a
  volume ``(pages, h, w)`` (Thunder's rule); a tifffile "shaped" file of
  several leading axes ``(n, z, h, w)`` is ``n`` images;
* colour samples are always the last axis ``(..., h, w, samples)``, for any
  bit depth and for planar (separate) storage too; CMYK is refused;
* every page read is checked for its shape **and** dtype: a page that does
  not match the series is a ``ValueError`` naming the file, never a cast.

:class:`TifSource` reads only headers when built and decodes only the pages
a :meth:`TifSource.read` call needs; uncompressed contiguous data are read
with plain seeks. Physical pixel sizes, units, the frame interval and the
channel names (ImageJ, OME-XML, TIFF resolution tags) become the source's
:attr:`TifSource.metadata`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import warnings

import numpy as np

from napari_thunder.validation import check_nplanes

from .source import FrameSource

#: tifffile axis letters with a fixed meaning, and their names in napari-thunder
_AXIS_NAMES = {"T": "t", "Z": "z", "C": "c", "Y": "y", "X": "x"}
#: tifffile's letters for axes it knows nothing about (pages, "shaped" dimensions)
_GENERIC = "IQ"
#: TIFF photometric interpretations
_RGB_PHOTOMETRIC = (2, 6)  # RGB, YCbCr (tifffile decodes YCbCr to RGB)
_SEPARATED = 5              # CMYK and other inks


def _tifffile():
    import tifffile

    return tifffile


class _CollectErrors(logging.Handler):
    """Collects the errors tifffile logs instead of raising (e.g. a cut IFD chain)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _tifffile_errors():
    logger = logging.getLogger("tifffile")
    handler = _CollectErrors()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _check_page_data(page, file_size):
    """Raise ValueError when a page's pixel data lies beyond the end of the file."""
    offsets = page.dataoffsets or ()
    counts = page.databytecounts or ()
    ends = [o + c for o, c in zip(offsets, counts) if c]
    if ends and max(ends) > file_size:
        raise ValueError(
            f"file is truncated: page {page.index} needs {max(ends)} bytes, the file has {file_size}"
        )


#: what tells how a page's bytes decode: every page of a series must agree on it with the first
_SIGNATURE = ("compression", "predictor", "planarconfig", "bitspersample", "sampleformat", "photometric",
              "fillorder", "samplesperpixel", "extrasamples", "imagewidth", "imagelength", "imagedepth",
              "tilewidth", "tilelength", "tiledepth", "shape", "dtype")


def _page_signature(page):
    """The decoding-relevant properties of a page, as plain strings."""
    return tuple(str(getattr(page, name, None)) for name in _SIGNATURE)


def _check_segments(page):
    """Raise ValueError when a page does not have as many strips (or tiles) as its size needs."""
    if not page.dataoffsets or page.compression == 1 and len(page.dataoffsets) == 1:
        return
    planes = page.samplesperpixel if page.planarconfig == 2 else 1
    if page.is_tiled:
        need = (-(-page.imagelength // page.tilelength)) * (-(-page.imagewidth // page.tilewidth)) \
            * (-(-page.imagedepth // max(page.tiledepth, 1)))
    else:
        rows = min(page.rowsperstrip or page.imagelength, page.imagelength) or 1
        need = -(-page.imagelength // rows) * max(page.imagedepth, 1)
    need *= planes
    if len(page.dataoffsets) != need or len(page.databytecounts or ()) != need:
        raise ValueError(f"page {page.index} has {len(page.dataoffsets)} strips or tiles, "
                         f"its size and RowsPerStrip/tile size need {need}")


def _check_page_like(page, signature):
    """Raise ValueError when ``page`` would not decode like the series' first page."""
    own = _page_signature(page)
    if own != signature:
        differ = [name for name, a, b in zip(_SIGNATURE, own, signature) if a != b]
        raise ValueError(f"page {page.index} is stored unlike the first page of its series "
                         f"({', '.join(differ)} differ): the file is damaged or mixes layouts")
    _check_segments(page)


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


#: unit names as ImageJ writes them
_IMAGEJ_UNITS = {"micrometer": "micron", "nanometer": "nm", "millimeter": "mm", "centimeter": "cm",
                 "meter": "m", "second": "sec", "millisecond": "ms", "minute": "min", "hour": "hour"}
#: unit names as OME-XML writes them
_OME_UNITS = {"micrometer": "µm", "nanometer": "nm", "millimeter": "mm", "centimeter": "cm",
              "meter": "m", "picometer": "pm", "angstrom": "Å", "inch": "in", "second": "s",
              "millisecond": "ms", "microsecond": "µs", "nanosecond": "ns", "minute": "min",
              "hour": "h"}


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


def _ome_physical(tif, series_index):
    """Axis letter -> ``(scale, unit)`` and channel names from OME-XML (image ``series_index``)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(tif.ome_metadata)
    except (ET.ParseError, TypeError, ValueError):
        return {}, None
    images = [el for el in root if _local(el.tag) == "Image"]
    if not 0 <= series_index < len(images):
        return {}, None
    pixels = next((el for el in images[series_index] if _local(el.tag) == "Pixels"), None)
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
    text = tif.pages[0].description or ""
    with contextlib.suppress(Exception):
        tif.filehandle.seek(0)
        frame_data = _tifffile().read_scanimage_metadata(tif.filehandle)[0]
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


# -- layout --------------------------------------------------------------------------------------------------
def _check_series_type(series):
    if series is not None and (isinstance(series, bool) or not isinstance(series, (int, np.integer))):
        raise TypeError(f"series must be an integer or None, got {series!r}")


def _check_series_index(series, nseries):
    if series is None:
        return 0
    if not 0 <= int(series) < nseries:
        raise ValueError(f"series={series} is out of range: the file holds {nseries} series")
    return int(series)


def read_tif_layout(path, series=None):
    """Headers of a TIFF file: what :class:`TifSource` needs to read it.

    Parameters
    ----------
    path : str
        The TIFF file.
    series : int, optional
        The series (image) to read; 0 by default.

    Returns
    -------
    dict
        ``shape`` and ``axes`` of the series as stored (tifffile's axis
        letters), ``page_shape`` / ``page_axes`` of one stored page,
        ``dtype`` (byte order of the file), ``npages`` (pages in the series),
        ``offset`` (file offset of the pixel data when every page is
        uncompressed and stored contiguously in order, else None),
        ``ifd_offsets`` (else: the IFD offset of every page of the series),
        ``photometric``, ``series`` (index) and ``nseries``, ``physical``
        (axis letter -> ``(scale, unit)``) and ``channel_names``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a readable TIFF file, a series out of range, CMYK colour, pages
        that cannot be mapped onto the series (message names the file).
    TypeError
        ``series`` is not an integer.
    """
    _check_series_type(series)
    tifffile = _tifffile()
    try:
        # is_scanimage=False: tifffile would count the pages of a ScanImage file from the size of
        # the first IFD (fast, but wrong when the IFDs differ); the pages are counted here, and the
        # ScanImage layout (frames, interleaved channels) is read from its settings below
        with _tifffile_errors() as logged, tifffile.TiffFile(path, is_scanimage=False) as tif:
            npages_file = len(tif.pages)
            if logged:
                raise ValueError("; ".join(logged))
            if npages_file == 0:
                raise ValueError("no image pages")
            all_series = tif.series
            if not all_series:
                raise ValueError("no image series")
            index = _check_series_index(series, len(all_series))
            ser = all_series[index]
            layout = _series_layout(tif, ser, path)
            if logged:
                raise ValueError("; ".join(logged))
            layout.update(series=index, nseries=len(all_series))
            scanimage = None
            if not (tif.is_imagej or tif.is_ome) and _is_scanimage(tif.pages[0]):
                scanimage = _scanimage_text(tif)
                _scanimage_axes(layout, _scanimage_channels(scanimage), _scanimage_slices(scanimage))
            layout["physical"], layout["channel_names"] = _physical(tif, ser, index, scanimage)
    except FileNotFoundError:
        raise
    except Exception as err:  # tifffile raises many kinds (TiffFileError, struct.error, ValueError...)
        raise ValueError(f"Cannot read TIFF file {path}: {err}") from err
    return layout


def _series_layout(tif, ser, path):
    page = ser.keyframe
    if page is None:
        raise ValueError("the series has no pages")
    if page.dtype is None:
        raise ValueError(f"unsupported sample format ({page.bitspersample} bits, format {page.sampleformat})")
    photometric = int(page.photometric)
    if photometric == _SEPARATED and page.samplesperpixel >= 4:
        raise ValueError("CMYK (separated) colour is not supported: convert the file to RGB first")
    shape = tuple(int(s) for s in ser.shape)
    axes = str(ser.axes)
    page_shape = tuple(int(s) for s in page.shape)
    page_axes = str(page.axes)
    if len(page_shape) < 2 or "Y" not in page_axes or "X" not in page_axes:
        raise ValueError(f"page shape {page_shape} ({page_axes}) is not an image")
    k = len(page_shape)
    if len(shape) < k or shape[-k:] != page_shape:
        raise ValueError(f"series of shape {shape} ({axes}) does not end with its pages' shape {page_shape}")
    dtype = np.dtype(ser.dtype).newbyteorder(tif.byteorder)
    if np.dtype(page.dtype).newbyteorder("=") != dtype.newbyteorder("="):
        raise ValueError(f"series dtype {ser.dtype} differs from its pages' dtype {page.dtype}")
    npages = math.prod(shape[:-k])
    file_size = tif.filehandle.size
    _check_page_data(page, file_size)
    if isinstance(page, _tifffile().TiffPage):
        _check_segments(page)

    offset = None
    dataoffset = ser.dataoffset
    page_bytes = math.prod(page_shape) * dtype.itemsize
    if dataoffset is not None and page.compression == 1:
        end = int(dataoffset) + npages * page_bytes
        if end > file_size:
            raise ValueError(f"file is truncated: the pixel data need {end} bytes, the file has {file_size}")
        offset = int(dataoffset)
    ifd_offsets = None
    if offset is None:
        pages = list(ser.pages)
        if len(pages) != npages:
            raise ValueError(f"the series has {len(pages)} pages for its {npages} planes")
        ifd_offsets = []
        for p in pages:
            if p is None:
                raise ValueError("the series has missing planes (no page for them)")
            parent = getattr(p, "parent", tif)
            if parent is not tif and os.path.abspath(parent.filehandle.path) != os.path.abspath(path):
                raise ValueError("the series spans several files (multi-file OME-TIFF is not supported)")
            if isinstance(p, _tifffile().TiffPage):
                same_dtype = np.dtype(p.dtype).newbyteorder("=") == dtype.newbyteorder("=")
                if tuple(p.shape) != page_shape or not same_dtype:
                    raise ValueError(f"page {p.index} has shape {tuple(p.shape)} and dtype {p.dtype}, "
                                     f"the series {page_shape} and {ser.dtype}")
            ifd_offsets.append(int(p.offset))
        last = pages[-1]
        if isinstance(last, _tifffile().TiffPage):
            _check_page_data(last, file_size)
    return {
        "shape": shape, "axes": axes, "page_shape": page_shape, "page_axes": page_axes,
        "dtype": dtype, "npages": npages, "offset": offset, "ifd_offsets": ifd_offsets,
        "photometric": photometric, "signature": _page_signature(page),
    }


def _scanimage_axes(layout, channels, slices=1):
    """ScanImage pages are frames, ``channels`` interleaved (fastest), then the
    ``slices`` of a volume: the generic page axis becomes time, and channels
    and z when more than one is saved (and the pages divide into them)."""
    k = len(layout["page_shape"])
    plane_axes = layout["axes"][:-k]
    if plane_axes != "I":
        return
    npages = layout["npages"]
    channels = channels if npages % channels == 0 else 1
    slices = slices if npages % (channels * slices) == 0 else 1
    sizes, letters = [npages // (channels * slices)], "T"
    if slices > 1:
        sizes.append(slices)
        letters += "Z"
    if channels > 1:
        sizes.append(channels)
        letters += "C"
    layout["shape"] = tuple(sizes) + layout["shape"][1:]
    layout["axes"] = letters + layout["axes"][1:]


def read_tif_header(path, series=None):
    """Page count, page shape and dtype of a TIFF file, from its headers only.

    Parameters
    ----------
    path : str
        The TIFF file.
    series : int, optional
        The series to describe (0 by default).

    Returns
    -------
    tuple
        ``(npages, page_shape, dtype)``: pages of the series, the shape of one
        page as read (``(h, w)``, or ``(h, w, samples)`` for colour pages),
        ``dtype`` in native byte order.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a readable TIFF file (message names the file).
    """
    layout = read_tif_layout(path, series=series)
    perm = _page_perm(layout["page_axes"])
    page_shape = tuple(layout["page_shape"][i] for i in perm)
    return layout["npages"], page_shape, layout["dtype"].newbyteorder("=")


def _page_perm(page_axes):
    """Order of a page's axes as read: colour samples ('S') last."""
    return tuple(sorted(range(len(page_axes)), key=lambda i: page_axes[i] == "S"))


def _frame_plan(layout, nplanes):
    """How a file's planes become frames.

    Returns ``(frames, value_shape, value_axes, perm, frame_axis)``: ``perm``
    orders the stored plane axes as read (None: storage order), the frame
    axis first when there is one; ``value_axes`` are tifffile letters of the
    image axes (None with ``nplanes``).
    """
    shape, axes = layout["shape"], layout["axes"]
    k = len(layout["page_shape"])
    page_perm = _page_perm(layout["page_axes"])
    page_shape = tuple(layout["page_shape"][i] for i in page_perm)
    page_axes = "".join(layout["page_axes"][i] for i in page_perm)
    plane_shape, plane_axes = shape[:-k], axes[:-k]
    npages = layout["npages"]
    if nplanes is not None:
        value_shape = page_shape if nplanes == 1 else (nplanes,) + page_shape
        return npages // nplanes, value_shape, None, None, None
    if "T" in plane_axes:
        t = plane_axes.index("T")
        others = [i for i in range(len(plane_axes)) if i != t]
        perm = None if t == 0 else (t,) + tuple(others)
        value_shape = tuple(plane_shape[i] for i in others) + page_shape
        value_axes = "".join(plane_axes[i] for i in others) + page_axes
        return plane_shape[t], value_shape, value_axes, perm, "T"
    if len(plane_axes) >= 2 and all(a in _GENERIC for a in plane_axes):
        # tifffile "shaped" (n, z, ..., h, w): n images
        return plane_shape[0], plane_shape[1:] + page_shape, plane_axes[1:] + page_axes, None, plane_axes[0]
    return 1, plane_shape + page_shape, plane_axes + page_axes, None, None


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
        interval on axis 0, channel names, ``rgb`` for RGB(A) samples.
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
    scale, units = [1.0], [None]
    if frame_axis in ("T", None) and "T" in physical:
        # a time axis, or one image per file with the file's time step (OME TimeIncrement)
        scale[0], units[0] = physical["T"]
    for letter in letters:
        value = physical.get(letter) if letter in "XYZ" else None
        scale.append(value[0] if value else 1.0)
        units.append(value[1] if value else None)
    channel_names = layout.get("channel_names")
    if channel_names is not None:
        c = names.index("c") if "c" in names else None
        if c is None or c == 0 or len(channel_names) != value_shape[c - 1] or value_axes is None \
                or "C" not in value_axes:
            channel_names = None
    try:
        return ImageMetadata.from_names(names, scale=scale, units=units,
                                        channel_names=channel_names, rgb=rgb)
    except ValueError:
        return ImageMetadata.default(len(value_shape) + 1, rgb=rgb)


#: dtypes OME-XML can describe (``Pixels Type``)
_OME_DTYPES = {np.dtype(t) for t in (np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32,
                                     np.float32, np.float64, np.complex64, np.complex128, np.bool_)}
_TIFF_LETTERS = {"z": "Z", "c": "C", "y": "Y", "x": "X"}


def tif_write_options(metadata, value_shape, dtype):
    """``tifffile.imwrite`` keyword arguments that store ``metadata`` in each
    file written by ``Images.totif`` (one image per file).

    Default metadata: plain grey pages. Otherwise OME-XML (``ome=True``)
    when the dtype allows it: axes, ``PhysicalSize``
    X/Y/Z with their units, ``TimeIncrement`` (axis 0) and channel names;
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
        options.update(ome=True, metadata=meta)
        return options
    options["metadata"] = meta
    y, x = axes_meta[axes.index("Y")], axes_meta[axes.index("X")]
    if y.unit == x.unit == "micrometer":
        options.update(resolution=(1e4 / x.scale, 1e4 / y.scale), resolutionunit="CENTIMETER")
    return options


#: at most this many bytes of TIFF structure are compared to reuse a layout
_MAX_STRUCTURE_BYTES = 1 << 20


class _LayoutCache:
    """Reuses the layout of the last file read for files that differ from it
    only in their pixel values.

    A file of the same size whose bytes outside the pixel data (header, IFDs,
    tag values) are identical to those of a file already read has exactly
    the same layout: every offset and tag is in those bytes. Comparing them
    costs one small read instead of a tifffile parse; any difference falls
    back to :func:`read_tif_layout`.
    """

    def __init__(self):
        self.key = None
        self.layout = None

    @staticmethod
    def _structure(path, size, offset, nbytes):
        with open(path, "rb") as fh:
            head = fh.read(offset)
            fh.seek(offset + nbytes)
            tail = fh.read(size - offset - nbytes)
        return head + b"|" + tail

    def layout_of(self, path, series):
        size = os.stat(path).st_size
        if self.key is not None and self.key[0] == size:
            _, offset, nbytes, structure = self.key
            with contextlib.suppress(OSError):
                if self._structure(path, size, offset, nbytes) == structure:
                    return dict(self.layout)
        layout = read_tif_layout(path, series=series)
        self.key = self.layout = None
        offset = layout["offset"]
        if offset is not None and layout["nseries"] == 1:
            nbytes = layout["npages"] * math.prod(layout["page_shape"]) * layout["dtype"].itemsize
            if size - nbytes <= _MAX_STRUCTURE_BYTES:
                self.key = (size, offset, nbytes, self._structure(path, size, offset, nbytes))
                self.layout = dict(layout)
        return layout


class TifSource(FrameSource):
    """Frames stored in TIFF files.

    Parameters
    ----------
    files : sequence of str
        Files in frame order.
    nplanes : int, optional
        None: the file's own layout (see the module notes): a series with a
        time axis gives one frame per time point, any other file is one frame
        (``(h, w)``, ``(h, w, samples)``, ``(pages, h, w)``, or the ImageJ/OME
        axes other than time); files must then give frames of one shape. An
        int ``p``: every file's pages (in storage order) are cut into frames
        of ``p`` consecutive pages, ``(p, h, w)``, or ``(h, w)`` when
        ``p == 1``; files may then have different page counts.
    discard_extra : bool
        With ``nplanes``, drop the pages left over when ``p`` does not divide
        a file's page count (with a warning) instead of raising.
    series : int, optional
        The series of each file to read (0 by default: what
        ``tifffile.imread`` returns). Without it, a file holding several
        series gives a ``UserWarning`` naming them.

    Attributes
    ----------
    metadata : napari_thunder.metadata.ImageMetadata
        Axis names, physical scale and units, channel names of the first
        file's series.

    Raises
    ------
    ValueError
        ``nplanes <= 0``; a file whose page count ``nplanes`` does not divide
        (unless ``discard_extra``); files whose page shape, dtype (or, without
        ``nplanes``, frame shape) differ from the first file's; a file that is
        not a readable TIFF, a series out of range, CMYK. Messages name the
        file.
    FileNotFoundError
        A file does not exist.
    """

    def __init__(self, files, nplanes=None, discard_extra=False, series=None):
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        self.files = [os.fspath(f) for f in files]
        if not self.files:
            raise ValueError("files must hold at least one file")
        self.nplanes = check_nplanes(nplanes)
        self.discard_extra = bool(discard_extra)
        self.series = series

        #: per file: (offset, stored dtype) of contiguous uncompressed pixel data, or None
        self.contiguous = []
        #: per file: IFD offset of every page of the series (non-contiguous files), or None
        self.ifd_offsets = []
        #: per file: order of the stored plane axes as read (None: storage order)
        self.plane_perm = []
        #: per file: shape of the stored plane axes
        self.plane_shapes = []
        #: per file: how its series' first page decodes (every page read is checked against it)
        self.signatures = []
        self.page_counts = []
        frames_per_file = []
        first = None
        warned = False
        cache = _LayoutCache()
        for file_index, path in enumerate(self.files):
            layout = cache.layout_of(path, series)
            if series is None and layout["nseries"] > 1 and not warned:
                warned = True
                warnings.warn(
                    f"TIFF file {path} holds {layout['nseries']} series; series 0 of shape "
                    f"{layout['shape']} ({layout['axes']}) and dtype {layout['dtype'].newbyteorder('=')} "
                    f"is read (pass series=k for another)", UserWarning, stacklevel=3)
            stored, npages = layout["dtype"], layout["npages"]
            dt = stored.newbyteorder("=")
            perm = _page_perm(layout["page_axes"])
            page_shape = tuple(layout["page_shape"][i] for i in perm)
            if first is None:
                first = layout
                self.page_shape = page_shape
                self.stored_page_shape = layout["page_shape"]
                self.page_transpose = None if perm == tuple(range(len(perm))) else perm
                self.dtype = dt
            elif page_shape != self.page_shape or dt != self.dtype:
                raise ValueError(
                    f"TIFF file {path} has pages of shape {page_shape} and dtype {dt}, but "
                    f"{self.files[0]} has {self.page_shape} and {self.dtype}: all files must agree"
                )
            elif layout["page_shape"] != self.stored_page_shape:
                raise ValueError(
                    f"TIFF file {path} stores its colour samples {layout['page_axes']}, but "
                    f"{self.files[0]} {first['page_axes']}: all files must agree"
                )
            if self.nplanes is not None and npages % self.nplanes:
                p, extra = self.nplanes, npages % self.nplanes
                if not self.discard_extra:
                    raise ValueError(
                        f"nplanes '{p}' does not evenly divide '{npages}' pages in file {path} "
                        f"(pass discard_extra=True to drop the remainder)"
                    )
                warnings.warn(
                    f"nplanes '{p}' does not evenly divide '{npages}' pages in file {path}: "
                    f"the last {extra} page(s) are discarded",
                    stacklevel=2,
                )
            frames, value_shape, value_axes, perm, frame_axis = _frame_plan(layout, self.nplanes)
            if file_index == 0:
                self._plan = (value_shape, value_axes, frame_axis)
            elif self.nplanes is None and value_shape != self._plan[0]:
                if frame_axis is None and self._plan[2] is None:
                    raise ValueError(
                        f"TIFF file {path} has {npages} pages, but {self.files[0]} has "
                        f"{self.page_counts[0]}: without nplanes every file is one image, "
                        f"so all files must have the same page count"
                    )
                raise ValueError(
                    f"TIFF file {path} holds images of shape {value_shape}, but {self.files[0]} "
                    f"{self._plan[0]}: all files must agree"
                )
            self.page_counts.append(npages)
            frames_per_file.append(frames)
            self.contiguous.append(None if layout["offset"] is None else (layout["offset"], stored.str))
            self.ifd_offsets.append(layout["ifd_offsets"])
            self.plane_perm.append(perm)
            self.signatures.append(layout["signature"])
            self.plane_shapes.append(layout["shape"][:-len(layout["page_shape"])])
        value_shape, value_axes, frame_axis = self._plan
        self.pages_per_frame = math.prod(value_shape[:len(value_shape) - len(self.page_shape)])
        self.frames_per_file = frames_per_file
        self.file_starts = [0]
        for count in frames_per_file:
            self.file_starts.append(self.file_starts[-1] + count)
        n = self.file_starts[-1]
        if n == 0:
            if self.nplanes is not None:
                raise ValueError(
                    f"No image left: every file has fewer than nplanes={self.nplanes} pages ({self.files[0]})"
                )
            raise ValueError(f"No image in TIFF file {self.files[0]}: its time axis is empty")
        self.shape = (n,) + tuple(value_shape)
        meta = tif_metadata(first, tuple(value_shape), value_axes, frame_axis)
        self.metadata = meta.check_shape(self.shape)

    def _locate(self, index):
        """File number and first frame within it of frame ``index``."""
        file_index = int(np.searchsorted(self.file_starts, index, side="right")) - 1
        return file_index, index - self.file_starts[file_index]

    def _storage_pages(self, file_index, first_page, npages):
        """Stored page numbers of the pages ``first_page .. first_page+npages-1`` as read."""
        perm = self.plane_perm[file_index]
        if perm is None:
            return np.arange(first_page, first_page + npages)
        order = np.arange(math.prod(self.plane_shapes[file_index])).reshape(self.plane_shapes[file_index])
        return order.transpose(perm).reshape(-1)[first_page:first_page + npages]

    def _read_contiguous(self, path, contiguous, pages, out):
        """Read uncompressed contiguous pages with plain seeks (one per run of
        consecutive stored pages)."""
        offset, stored = contiguous
        stored = np.dtype(stored)
        page_items = math.prod(self.stored_page_shape)
        page_bytes = page_items * stored.itemsize
        direct = self.page_transpose is None and out.flags.c_contiguous
        with open(path, "rb") as fh:
            k = 0
            while k < len(pages):
                run = 1
                while k + run < len(pages) and pages[k + run] == pages[k] + run:
                    run += 1
                target = out[k:k + run] if direct else np.empty((run,) + self.stored_page_shape, stored)
                fh.seek(offset + int(pages[k]) * page_bytes)
                got = fh.readinto(memoryview(target.reshape(-1).view(np.uint8)))
                if got != run * page_bytes:
                    raise ValueError(f"file is truncated: {got} bytes read, {run * page_bytes} expected")
                if direct:
                    if not stored.isnative and stored.itemsize > 1:
                        target.byteswap(inplace=True)
                else:
                    data = target.astype(stored.newbyteorder("="), copy=False)
                    if self.page_transpose is not None:
                        data = data.transpose((0,) + tuple(i + 1 for i in self.page_transpose))
                    out[k:k + run] = data
                k += run

    def _decode_pages(self, path, pages, out, ifd_offsets, signature=None):
        """Decode the stored pages ``pages`` into ``out`` (``(len(pages),) + page_shape``);
        each page is first checked to be stored like the series' first page (``signature``)."""
        tifffile = _tifffile()
        with tifffile.TiffFile(path) as tif:
            for k, index in enumerate(pages):
                index = int(index)
                if ifd_offsets is not None:
                    # straight to the page's IFD (no walk of the chain)
                    tif.filehandle.seek(ifd_offsets[index])
                    page = tifffile.TiffPage(tif, index=index)
                else:
                    page = tif.pages[index]
                _check_page_data(page, tif.filehandle.size)
                if signature is not None:
                    _check_page_like(page, signature)
                data = page.asarray()
                if data.shape != self.stored_page_shape:
                    raise ValueError(
                        f"page {index} has shape {data.shape}, expected {self.stored_page_shape}")
                if data.dtype.newbyteorder("=") != self.dtype:
                    raise ValueError(f"page {index} has dtype {data.dtype}, expected {self.dtype}")
                if self.page_transpose is not None:
                    data = data.transpose(self.page_transpose)
                out[k] = data

    def _read_pages(self, file_index, first_page, npages, out):
        path = self.files[file_index]
        try:
            pages = self._storage_pages(file_index, first_page, npages)
            contiguous = self.contiguous[file_index]
            if contiguous is not None:
                self._read_contiguous(path, contiguous, pages, out)
            else:
                self._decode_pages(path, pages, out, self.ifd_offsets[file_index],
                                   self.signatures[file_index])
        except FileNotFoundError:
            raise
        except Exception as err:
            raise ValueError(
                f"Cannot read pages {first_page}..{first_page + npages - 1} of TIFF file {path}: {err}"
            ) from err

    def read(self, start, stop):
        """Frames ``[start, stop)`` as a new ndarray; only their pages are decoded."""
        start, stop, out = self._output(start, stop)
        ppf = self.pages_per_frame
        pages_view = out.reshape(((stop - start) * ppf,) + self.page_shape)
        i = start
        while i < stop:
            file_index, first = self._locate(i)
            count = min(self.frames_per_file[file_index] - first, stop - i)
            row = (i - start) * ppf
            self._read_pages(file_index, first * ppf, count * ppf, pages_view[row:row + count * ppf])
            i += count
        return out
