"""The layout of a TIFF file from its headers: which series, its axes and
shape, the pages that hold it and where their pixel data are, checked before
any pixel is read; and how the planes of that layout become frames (see
:mod:`napari_thunder.io.tif` for the rules)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re

import numpy as np

from .tif_metadata import (
    _GENERIC,
    _is_scanimage,
    _local,
    _origin,
    _page_perm,
    _physical,
    _scanimage_channels,
    _scanimage_slices,
    _scanimage_text,
)

#: TIFF photometric interpretation of CMYK and other inks
_SEPARATED = 5
#: the UUID attribute of an OME-XML root element
_OME_UUID = re.compile(r"<(?:\w+:)?OME\b[^>]*?\bUUID=[\"']([^\"']+)[\"']")

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
        (axis letter -> ``(scale, unit)``), ``origin`` (axis letter -> position
        of index 0 in the axis' unit) and ``channel_names``; ``parts``
        (None, or for a series stored in several files: ``files``, and per
        page ``owner``, the number of its file, and ``numbers``, its page
        number in that file) and ``members`` (every file of the multi-file
        OME-TIFF the file belongs to, absolute paths; empty for a file that
        stands alone).

    Raises
    ------
    FileNotFoundError
        The file, or a file of a multi-file OME-TIFF its OME-XML names, does
        not exist (the message names it).
    ValueError
        Not a readable TIFF file, a series out of range, CMYK colour, pages
        that cannot be mapped onto the series, a file of a multi-file series
        stored unlike the first or truncated, or whose UUID is not the one the
        OME-XML references (message names the file).
    TypeError
        ``series`` is not an integer.
    """
    _check_series_type(series)
    return _read_layout(path, series)


def _read_layout(path, series, omexml=None):
    """:func:`read_tif_layout`, the OME-XML ``omexml`` (a companion file's) in place of the file's."""
    tifffile = _tifffile()
    metadata_file = None
    try:
        # is_scanimage=False: tifffile would count the pages of a ScanImage file from the size of
        # the first IFD (fast, but wrong when the IFDs differ); the pages are counted here, and the
        # ScanImage layout (frames, interleaved channels) is read from its settings below
        with _tifffile_errors() as logged, \
                tifffile.TiffFile(path, is_scanimage=False, omexml=omexml) as tif:
            npages_file = len(tif.pages)
            if logged:
                raise ValueError("; ".join(logged))
            if npages_file == 0:
                raise ValueError("no image pages")
            if omexml is None:
                metadata_file = _binary_only_metadata(tif, path)
            if metadata_file is None:
                layout = _layout_of(tif, path, series, logged)
    except FileNotFoundError:
        raise
    except Exception as err:  # tifffile raises many kinds (TiffFileError, struct.error, ValueError...)
        part = _unreadable_part(path, omexml)
        if part is not None:
            raise ValueError(f"Cannot read TIFF file {part[0]} (part of the multi-file OME-TIFF of "
                             f"{path}): {part[1]}") from err
        raise ValueError(f"Cannot read TIFF file {path}: {err}") from err
    if metadata_file is not None:
        return _binary_only_layout(path, series, metadata_file)
    return layout


def _layout_of(tif, path, series, logged):
    """The layout of series ``series`` of the open file ``tif`` (``logged``: tifffile's errors)."""
    references = _ome_references(tif, path)
    all_series = tif.series
    if not all_series:
        raise ValueError("no image series")
    index = _check_series_index(series, len(all_series))
    ser = all_series[index]
    layout = _series_layout(tif, ser, path)
    if logged:
        raise ValueError("; ".join(logged))
    layout.update(series=index, nseries=len(all_series))
    layout["members"] = _set_members(path, references, layout["parts"], ser)
    scanimage = None
    if not (tif.is_imagej or tif.is_ome) and _is_scanimage(tif.pages[0]):
        scanimage = _scanimage_text(tif)
        _scanimage_axes(layout, _scanimage_channels(scanimage), _scanimage_slices(scanimage))
    layout["physical"], layout["channel_names"] = _physical(tif, ser, index, scanimage)
    layout["origin"] = _origin(tif, ser, index, layout["physical"])
    return layout


def _unreadable_part(path, omexml=None):
    """``(file, error)`` of the first other file of the multi-file OME-TIFF of ``path``
    whose headers tifffile cannot read, or None."""
    tifffile = _tifffile()
    references = {}
    with contextlib.suppress(Exception), tifffile.TiffFile(path, omexml=omexml) as tif:
        references = _ome_references(tif, path)
    for part in references:
        try:
            with _tifffile_errors() as logged, tifffile.TiffFile(part, is_scanimage=False) as tif:
                len(tif.pages)
                if logged:
                    raise ValueError("; ".join(logged))
        except Exception as err:
            return part, err
    return None


#: file name endings of the TIFF files a ``BinaryOnly`` element may name (any other: a companion XML)
_TIFF_ENDINGS = (".tif", ".tiff", ".tf8", ".btf")


def _binary_only_metadata(tif, path):
    """The file holding the OME-XML of a multi-file OME-TIFF whose file ``path``
    holds only pixels (its OME-XML is ``<BinaryOnly MetadataFile=...>``), or None."""
    if not tif.is_ome:
        return None
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(tif.ome_metadata)
    except (ET.ParseError, TypeError, ValueError):
        return None
    for element in root:
        if _local(element.tag) == "BinaryOnly" and element.get("MetadataFile"):
            return os.path.join(os.path.dirname(os.path.abspath(path)), element.get("MetadataFile"))
    return None


def _binary_only_layout(path, series, metadata_file):
    """The layout of a file holding only pixels of a multi-file OME-TIFF: that of
    the set, from the OME-XML of ``metadata_file`` (another TIFF of the set, or a
    companion XML file)."""
    if not os.path.isfile(metadata_file):
        raise FileNotFoundError(f"TIFF file {path} holds pixels of a multi-file OME-TIFF whose metadata "
                                f"are in {metadata_file}, which does not exist")
    if metadata_file.lower().endswith(_TIFF_ENDINGS):
        layout = read_tif_layout(metadata_file, series=series)
    else:
        try:
            with open(metadata_file, encoding="utf-8") as fh:
                omexml = fh.read()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"Cannot read the OME-XML companion file {metadata_file} of TIFF file "
                             f"{path}: {err}") from err
        layout = _read_layout(path, series, omexml=omexml)
    if layout["parts"] is None or os.path.abspath(path) not in layout["members"]:
        raise ValueError(f"TIFF file {path} says its metadata are in {metadata_file}, but that OME-XML "
                         f"stores no planes in it")
    return layout


def _ome_references(tif, path):
    """The files an OME-XML's ``TiffData`` elements store planes in: absolute
    path -> UUID (None when not stated). A referenced file that does not
    exist is a ``FileNotFoundError`` naming it (tifffile would zero its planes)."""
    if not tif.is_ome:
        return {}
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(tif.ome_metadata)
    except (ET.ParseError, TypeError, ValueError):
        return {}
    folder = os.path.dirname(os.path.abspath(path))
    own_uuid, own_name = root.get("UUID"), os.path.basename(path).lower()
    references = {}
    for element in root.iter():
        if _local(element.tag) != "UUID" or not element.get("FileName"):
            continue
        uuid = (element.text or "").strip() or None
        if uuid is not None and uuid == own_uuid or element.get("FileName").lower() == own_name:
            continue   # this file (tifffile matches it by UUID, or by name without one)
        part = os.path.join(folder, element.get("FileName"))
        if not os.path.isfile(part):
            raise FileNotFoundError(
                f"TIFF file {path} is part of a multi-file OME-TIFF whose planes are also stored in "
                f"{part}, which does not exist")
        references[part] = uuid
    return references


def _set_members(path, references, parts, ser):
    """Every file of the multi-file OME-TIFF (or other multi-file series) ``path``
    belongs to, as absolute paths (empty for a file that stands alone); each part
    whose own OME-XML states a UUID must be the file the references name."""
    if parts is None:
        return frozenset(references) | {os.path.abspath(path)} if references else frozenset()
    parents = {}
    for p in ser.pages:
        parent = getattr(p, "parent", None)
        if parent is not None:
            parents.setdefault(os.path.abspath(parent.filehandle.path), parent)
    for part in parts["files"]:
        expected = references.get(part)
        parent = parents.get(part)
        if expected is None or parent is None:
            continue
        description = ""
        with contextlib.suppress(Exception):
            description = parent.pages.first.description or ""
        found = _OME_UUID.search(description)
        if found and found.group(1) != expected:
            raise ValueError(f"{part} has the UUID {found.group(1)}, but the OME-XML of {path} "
                             f"references it as {expected}: the files do not belong to one dataset")
    return frozenset(references) | frozenset(parts["files"]) | {os.path.abspath(path)}


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
    if getattr(ser, "is_multifile", False):
        dataoffset = None   # offsets in several files: never one contiguous block
    if dataoffset is not None and page.compression == 1:
        end = int(dataoffset) + npages * page_bytes
        if end > file_size:
            raise ValueError(f"file is truncated: the pixel data need {end} bytes, the file has {file_size}")
        offset = int(dataoffset)
    ifd_offsets = parts = None
    if offset is None:
        pages = list(ser.pages)
        if len(pages) != npages:
            raise ValueError(f"the series has {len(pages)} pages for its {npages} planes")
        ifd_offsets, parts = _page_locations(tif, pages, path, page_shape, dtype, ser.dtype)
        if parts is None:
            last = pages[-1]
            if isinstance(last, _tifffile().TiffPage):
                _check_page_data(last, file_size)
        else:
            _check_parts(pages, parts, _page_signature(page))
    return {
        "shape": shape, "axes": axes, "page_shape": page_shape, "page_axes": page_axes,
        "dtype": dtype, "npages": npages, "offset": offset, "ifd_offsets": ifd_offsets,
        "photometric": photometric, "signature": _page_signature(page), "parts": parts,
    }


def _page_locations(tif, pages, path, page_shape, dtype, series_dtype):
    """Where each page of a series is: its IFD offset, and, when the series
    spans several files, ``parts``: the files (in order of first use), the
    file number and the page number within that file of every page (None for
    a series in one file)."""
    tiff_page = _tifffile().TiffPage
    here = os.path.abspath(path)
    ifd_offsets, files, owner, numbers = [], {}, [], []
    for p in pages:
        if p is None:
            raise ValueError("the series has missing planes (no page for them)")
        parent = getattr(p, "parent", tif)
        part = here if parent is tif else os.path.abspath(parent.filehandle.path)
        if isinstance(p, tiff_page):
            same_dtype = np.dtype(p.dtype).newbyteorder("=") == dtype.newbyteorder("=")
            if tuple(p.shape) != page_shape or not same_dtype:
                where = "" if part == here else f" of {part}"
                raise ValueError(f"page {p.index}{where} has shape {tuple(p.shape)} and dtype {p.dtype}, "
                                 f"the series {page_shape} and {series_dtype}")
        ifd_offsets.append(int(p.offset))
        owner.append(files.setdefault(part, len(files)))
        numbers.append(int(p.index))
    if list(files) == [here]:
        return ifd_offsets, None
    return ifd_offsets, {"files": tuple(files), "owner": np.asarray(owner, np.int32),
                         "numbers": np.asarray(numbers, np.int64)}


def _check_parts(pages, parts, signature):
    """Check, from the headers, every file of a series spanning several files:
    its pages are stored like the series' first page and its last page's data
    lie within the file (messages name the file)."""
    tiff_page = _tifffile().TiffPage
    last = {}
    for k, p in enumerate(pages):
        last[int(parts["owner"][k])] = p
        if isinstance(p, tiff_page):
            try:
                _check_page_like(p, signature)
            except ValueError as err:
                raise ValueError(f"{parts['files'][parts['owner'][k]]}: {err}") from None
    for number, p in last.items():
        part = parts["files"][number]
        try:
            _check_page_data(p, os.path.getsize(part))
        except ValueError as err:
            raise ValueError(f"{part}: {err}") from None


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
