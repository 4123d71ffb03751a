"""TIFF files (single and multipage, any compression tifffile + imagecodecs read).

Spec 3.5 with decision 2: a multipage file is a volume ``(pages, h, w)``
(pages first). :class:`TifSource` reads only headers when built and decodes
only the pages a :meth:`TifSource.read` call needs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings

import numpy as np

from napari_thunder.validation import check_nplanes

from .source import FrameSource


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
            "file is truncated: page %d needs %d bytes, the file has %d" % (page.index, max(ends), file_size)
        )


def _contiguous_offset(tif, npages, page_shape, dtype):
    """File offset of the pixel data when all pages are stored uncompressed,
    back to back, in page order (so pages can be read with one seek); else None."""
    try:
        if len(tif.series) != 1:
            return None
        series = tif.series[0]
        offset = series.dataoffset
        if offset is None:
            return None
        if int(np.prod(series.shape, dtype=np.int64)) != npages * int(np.prod(page_shape, dtype=np.int64)):
            return None
        if np.dtype(series.dtype).newbyteorder("=") != dtype.newbyteorder("="):
            return None
        end = offset + npages * int(np.prod(page_shape, dtype=np.int64)) * dtype.itemsize
        if end > tif.filehandle.size:
            return None
        return int(offset)
    except Exception:  # any doubt: decode page by page
        return None


def _ifd_offsets(tif, npages):
    """File offsets of the IFDs of all pages (known once tifffile has counted
    the pages), so a reader can go straight to page ``i`` instead of walking
    the IFD chain from the start; None when unavailable."""
    if npages < 2:
        return None
    try:
        offsets = [int(o) for o in tif.pages._offsets]
    except Exception:  # another tifffile layout: walk the chain as usual
        return None
    return offsets if len(offsets) == npages else None


def read_tif_layout(path):
    """Headers of a TIFF file: what :class:`TifSource` needs to read it.

    Returns
    -------
    dict
        ``npages``, ``page_shape`` (``(h, w)`` or ``(h, w, samples)``),
        ``dtype`` (byte order of the file) and ``offset``: the file offset of
        the pixel data when every page is uncompressed and stored contiguously
        in page order, else None; ``ifd_offsets``: for other multipage files,
        the file offset of every page's IFD (or None).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a readable TIFF file (message names the file).
    """
    tifffile = _tifffile()
    try:
        with _tifffile_errors() as logged, tifffile.TiffFile(path) as tif:
            npages = len(tif.pages)
            if logged:
                raise ValueError("; ".join(logged))
            if npages == 0:
                raise ValueError("no image pages")
            page = tif.pages[0]
            _check_page_data(page, tif.filehandle.size)
            page_shape = tuple(int(s) for s in page.shape)
            if page.dtype is None:
                raise ValueError("unsupported sample format")
            dtype = np.dtype(page.dtype).newbyteorder(tif.byteorder)
            if len(page_shape) < 2:
                raise ValueError(f"page shape {page_shape} is not an image")
            offset = _contiguous_offset(tif, npages, page_shape, dtype)
            ifd_offsets = None if offset is not None else _ifd_offsets(tif, npages)
    except FileNotFoundError:
        raise
    except Exception as err:  # tifffile raises many kinds (TiffFileError, struct.error, ValueError...)
        raise ValueError(f"Cannot read TIFF file {path}: {err}") from err
    return {"npages": npages, "page_shape": page_shape, "dtype": dtype, "offset": offset,
            "ifd_offsets": ifd_offsets}


def read_tif_header(path):
    """Page count, page shape and dtype of a TIFF file, from its headers only.

    Parameters
    ----------
    path : str
        The TIFF file.

    Returns
    -------
    tuple
        ``(npages, page_shape, dtype)``; ``page_shape`` is ``(h, w)`` or
        ``(h, w, samples)`` for RGB(A) pages; ``dtype`` in native byte order.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not a readable TIFF file (message names the file).
    """
    layout = read_tif_layout(path)
    return layout["npages"], layout["page_shape"], layout["dtype"].newbyteorder("=")


class TifSource(FrameSource):
    """Frames stored in TIFF files.

    Parameters
    ----------
    files : sequence of str
        Files in frame order.
    nplanes : int, optional
        None: every file is one frame, ``(h, w)`` (or ``(h, w, 3)`` for RGB)
        for a single page file, ``(pages, h, w)`` for a multipage file; all
        files must then have the same page count. An int ``p``: every file is
        cut into frames of ``p`` consecutive pages, ``(p, h, w)``, or
        ``(h, w)`` when ``p == 1``; files may then have different page
        counts.
    discard_extra : bool
        With ``nplanes``, drop the pages left over when ``p`` does not divide
        a file's page count (with a warning) instead of raising.

    Raises
    ------
    ValueError
        ``nplanes <= 0``; a file whose page count ``nplanes`` does not divide
        (unless ``discard_extra``); files whose page shape, dtype (or, without
        ``nplanes``, page count) differ from the first file's; a file that is
        not a readable TIFF. Messages name the file.
    FileNotFoundError
        A file does not exist.
    """

    def __init__(self, files, nplanes=None, discard_extra=False):
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        self.files = [os.fspath(f) for f in files]
        if not self.files:
            raise ValueError("files must hold at least one file")
        self.nplanes = check_nplanes(nplanes)
        self.discard_extra = bool(discard_extra)

        page_counts = []
        #: per file: (offset, stored dtype) of contiguous uncompressed pixel data, or None
        self.contiguous = []
        #: per file: IFD offset of every page (non-contiguous multipage files), or None
        self.ifd_offsets = []
        page_shape = dtype = None
        for path in self.files:
            layout = read_tif_layout(path)
            npages, shape, stored = layout["npages"], layout["page_shape"], layout["dtype"]
            dt = stored.newbyteorder("=")
            self.contiguous.append(None if layout["offset"] is None else (layout["offset"], stored.str))
            self.ifd_offsets.append(layout.get("ifd_offsets"))
            if page_shape is None:
                page_shape, dtype = shape, dt
            elif shape != page_shape or dt != dtype:
                raise ValueError(
                    f"TIFF file {path} has pages of shape {shape} and dtype {dt}, but {self.files[0]} has {page_shape} and {dtype}: all files must agree"
                )
            page_counts.append(npages)
        self.page_shape = page_shape
        self.page_counts = page_counts
        self.dtype = dtype.newbyteorder("=")

        if self.nplanes is None:
            for path, npages in zip(self.files, page_counts):
                if npages != page_counts[0]:
                    raise ValueError(
                        "TIFF file %s has %d pages, but %s has %d: without nplanes every file is one image, "
                        "so all files must have the same page count" % (path, npages, self.files[0], page_counts[0])
                    )
            self.pages_per_frame = page_counts[0]
            frames_per_file = [1] * len(self.files)
            value_shape = page_shape if page_counts[0] == 1 else (page_counts[0],) + page_shape
        else:
            p = self.nplanes
            self.pages_per_frame = p
            frames_per_file = []
            for path, npages in zip(self.files, page_counts):
                extra = npages % p
                if extra:
                    if not self.discard_extra:
                        raise ValueError(
                            "nplanes '%d' does not evenly divide '%d' pages in file %s "
                            "(pass discard_extra=True to drop the remainder)" % (p, npages, path)
                        )
                    warnings.warn(
                        "nplanes '%d' does not evenly divide '%d' pages in file %s: the last %d page(s) are discarded"
                        % (p, npages, path, extra),
                        stacklevel=2,
                    )
                frames_per_file.append(npages // p)
            value_shape = page_shape if p == 1 else (p,) + page_shape
        self.frames_per_file = frames_per_file
        self.file_starts = [0]
        for count in frames_per_file:
            self.file_starts.append(self.file_starts[-1] + count)
        n = self.file_starts[-1]
        if n == 0:
            raise ValueError(
                "No image left: every file has fewer than nplanes=%d pages (%s)" % (self.nplanes, self.files[0])
            )
        self.shape = (n,) + tuple(value_shape)

    def _locate(self, index):
        """File number and first frame within it of frame ``index``."""
        file_index = int(np.searchsorted(self.file_starts, index, side="right")) - 1
        return file_index, index - self.file_starts[file_index]

    def _read_contiguous(self, path, contiguous, first_page, npages, out):
        """Read uncompressed contiguous pages with one seek and one read."""
        offset, stored = contiguous
        stored = np.dtype(stored)
        page_items = int(np.prod(self.page_shape, dtype=np.int64))
        count = npages * page_items
        nbytes = count * stored.itemsize
        target = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
        with open(path, "rb") as fh:
            fh.seek(offset + first_page * page_items * stored.itemsize)
            got = fh.readinto(memoryview(target.reshape(-1).view(np.uint8)))
        if got != nbytes:
            raise ValueError("file is truncated: %d bytes read, %d expected" % (got, nbytes))
        if not stored.isnative and stored.itemsize > 1:
            target.byteswap(inplace=True)
        if target is not out:
            out[...] = target

    def _decode_pages(self, path, first_page, npages, out, contiguous=None, ifd_offsets=None):
        """Decode pages ``first_page .. first_page+npages-1`` into ``out``
        (shape ``(npages,) + page_shape``)."""
        tifffile = _tifffile()
        try:
            if contiguous is not None:
                self._read_contiguous(path, contiguous, first_page, npages, out)
                return
            with tifffile.TiffFile(path) as tif:
                for k in range(npages):
                    index = first_page + k
                    if ifd_offsets is not None and index > 0:
                        # straight to the page's IFD (no walk of the chain)
                        tif.filehandle.seek(ifd_offsets[index])
                        page = tifffile.TiffPage(tif, index=index)
                    else:
                        page = tif.pages[index]
                    _check_page_data(page, tif.filehandle.size)
                    data = page.asarray()
                    if data.shape != self.page_shape:
                        raise ValueError(
                            "page %d has shape %s, expected %s" % (index, data.shape, self.page_shape)
                        )
                    out[k] = data
        except FileNotFoundError:
            raise
        except Exception as err:
            raise ValueError(
                "Cannot read pages %d..%d of TIFF file %s: %s" % (first_page, first_page + npages - 1, path, err)
            ) from err

    def read(self, start, stop):
        """Frames ``[start, stop)`` as a new ndarray; only their pages are decoded."""
        n = len(self)
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= n:
            raise IndexError("frame range [%d, %d) outside [0, %d)" % (start, stop, n))
        ppf = self.pages_per_frame
        out = np.empty((stop - start,) + self.value_shape, self.dtype)
        pages_view = out.reshape(((stop - start) * ppf,) + self.page_shape)
        i = start
        while i < stop:
            file_index, first = self._locate(i)
            count = min(self.frames_per_file[file_index] - first, stop - i)
            row = (i - start) * ppf
            self._decode_pages(
                self.files[file_index], first * ppf, count * ppf, pages_view[row:row + count * ppf],
                self.contiguous[file_index], self.ifd_offsets[file_index],
            )
            i += count
        return out
