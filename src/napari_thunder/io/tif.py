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
  not match the series is a ``ValueError`` naming the file, never a cast;
* a multi-file OME-TIFF (Micro-Manager, bfconvert: one OME-XML whose
  ``TiffData`` elements store planes in several files, named by
  ``UUID``/``FileName``) is one series: opening any file holding the OME-XML
  gives the whole series in OME order, each frame read from the file and page
  that hold it; a file holding only pixels (``<BinaryOnly MetadataFile=...>``)
  is read with the OME-XML of the file it names (another TIFF of the set, or a
  companion XML file). A file the OME-XML names that is missing, unreadable, stored
  unlike the first page, or whose own UUID is not the one referenced is an
  error naming it when the files are opened. Among files listed together (a
  folder), the files of one set are one dataset, read once at the place of
  the first of them listed, never one stack per file; a file without OME-XML
  listed without the file holding the set's OME-XML is read on its own.

:class:`TifSource` reads only headers when built and decodes only the pages
a :meth:`TifSource.read` call needs; uncompressed contiguous data are read
with plain seeks. Physical pixel sizes, units, the frame interval and the
channel names (ImageJ, OME-XML, TIFF resolution tags) become the source's
:attr:`TifSource.metadata`.

The headers are read by :mod:`napari_thunder.io.tif_layout`, the metadata
parsed by :mod:`napari_thunder.io.tif_metadata`; what ``Images.totif``
writes is :mod:`napari_thunder.io.tif_write`.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings

import numpy as np

from napari_thunder.validation import check_nplanes

from .source import FrameSource, file_paths
from .tif_layout import (
    _check_page_data,
    _check_page_like,
    _frame_plan,
    read_tif_header,
    read_tif_layout,
)
from .tif_metadata import _page_perm, tif_metadata, unit_name
from .tif_write import tif_write_options

__all__ = ["TifSource", "read_tif_header", "read_tif_layout", "tif_metadata", "tif_write_options",
           "unit_name"]


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
        if offset is not None and layout["nseries"] == 1 and not layout["members"]:
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
        Files in frame order; the files of one multi-file OME-TIFF are one
        dataset, at the place of the first of them listed (see the module
        notes).
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
    files : list of str
        The files read, one a dataset (the other files of a multi-file
        OME-TIFF listed are dropped).
    metadata : napari_thunder.metadata.ImageMetadata
        Axis names, physical scale and units, channel names of the first
        file's series.

    Raises
    ------
    ValueError
        ``nplanes <= 0``; a file whose page count ``nplanes`` does not divide
        (unless ``discard_extra``); files whose page shape, dtype (or, without
        ``nplanes``, frame shape) differ from the first file's; a file that is
        not a readable TIFF, a series out of range, CMYK; a file of a
        multi-file OME-TIFF that is unreadable, stored unlike the series' first
        page or not the file its OME-XML references. Messages name the file.
    FileNotFoundError
        A file does not exist, or a file the OME-XML of a multi-file OME-TIFF
        stores planes in.
    """

    def __init__(self, files, nplanes=None, discard_extra=False, series=None):
        self.files = file_paths(files)
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
        #: per file: the files of a series stored in several files, the file and page number of
        #: every page (see read_tif_layout), or None
        self.parts = []
        frames_per_file = []
        first = None
        warned = False
        for file_index, (path, layout) in enumerate(self._layouts(series)):
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
            self.parts.append(layout["parts"])
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

    def _layouts(self, series):
        """``(path, layout)`` of every file to read, in order; the files of a
        multi-file OME-TIFF are one dataset, read once (at the place of the first
        of them listed) whichever of them the layout was read from: ``self.files``
        keeps that one only."""
        cache = _LayoutCache()
        layouts, claimed = [], set()
        for path in self.files:
            if os.path.abspath(path) in claimed:
                continue
            layout = cache.layout_of(path, series)
            claimed |= layout.get("members", frozenset())
            layouts.append((path, layout))
        # a file read alone before the set it belongs to was seen
        layouts = [(path, layout) for path, layout in layouts
                   if layout.get("members") or os.path.abspath(path) not in claimed]
        self.files = [path for path, _ in layouts]
        return layouts

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
        """Decode the stored pages ``pages`` of ``path`` into ``out`` (``(len(pages),) +
        page_shape``), from their IFDs at ``ifd_offsets`` (one each; None: walk the chain);
        each page is first checked to be stored like the series' first page (``signature``)."""
        import tifffile

        with tifffile.TiffFile(path) as tif:
            for k, index in enumerate(pages):
                index = int(index)
                if ifd_offsets is not None:
                    # straight to the page's IFD (no walk of the chain)
                    tif.filehandle.seek(ifd_offsets[k])
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
        pages = self._storage_pages(file_index, first_page, npages)
        parts = self.parts[file_index]
        if parts is None:
            self._read_file_pages(self.files[file_index], file_index, pages, pages, out)
            return
        # a series stored in several files: each run of pages from one file is read from it
        owner = parts["owner"][pages]
        k = 0
        while k < len(pages):
            run = int(np.argmax(owner[k:] != owner[k])) or len(pages) - k
            chunk = pages[k:k + run]
            self._read_file_pages(parts["files"][owner[k]], file_index, chunk, parts["numbers"][chunk],
                                  out[k:k + run])
            k += run

    def _read_file_pages(self, path, file_index, pages, numbers, out):
        """Read the series pages ``pages`` (page ``numbers`` of the file ``path``) into ``out``."""
        try:
            contiguous = self.contiguous[file_index]
            if contiguous is not None:
                self._read_contiguous(path, contiguous, pages, out)
            else:
                ifd_offsets = self.ifd_offsets[file_index]
                self._decode_pages(path, numbers, out,
                                   None if ifd_offsets is None else [ifd_offsets[int(i)] for i in pages],
                                   self.signatures[file_index])
        except FileNotFoundError:
            raise
        except Exception as err:
            raise ValueError(
                f"Cannot read pages {int(min(numbers))}..{int(max(numbers))} of TIFF file {path}: {err}"
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
