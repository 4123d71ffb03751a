"""The output methods of :class:`~napari_thunder.data.images.Images`: writers and layers.

``tobinary``, ``totif`` and ``topng`` write one file per image into a new directory
(atomically, never over existing data unless ``overwrite=True``), ``tozarr`` an
OME-Zarr image or a plain Zarr array, and ``to_layer`` adds the images to a napari
viewer. They are a mixin that ``Images`` inherits; the file formats live in
:mod:`napari_thunder.io`, the layer data in :mod:`napari_thunder.data.layers`.
"""

from __future__ import annotations


class ImageOutputMethods:
    """Writers (binary, TIFF, PNG, Zarr) and the napari layer (mixed into ``Images``)."""

    def tozarr(self, path, chunks=None, levels=1, method="mean", ome=True, version="0.5",
               compressors="auto", name=None, overwrite=False, progress=None) -> str:
        """Write the images as an OME-Zarr image (or a plain Zarr array).

        The engine's workers write the chunks of their blocks in parallel;
        the store appears at ``path`` only once complete (written to a hidden
        sibling, then renamed). The metadata become NGFF axes, scale,
        translation and units; ``fromzarr(path)`` reads the images back.
        OME-Zarr stores the axes in the order ``[t,] [c,] [z,] y, x``: image
        axes in another order are written in that one (an ImageJ ``(t, z, c,
        y, x)`` hyperstack is stored, and read back, as ``(t, c, z, y, x)``,
        each axis with its name, scale and unit; per-axis ``chunks`` are
        then given in the stored order).

        Parameters
        ----------
        path : str or os.PathLike
            Output folder (e.g. ``'out.zarr'``); must not exist unless
            ``overwrite``.
        chunks : int or tuple, optional
            Frames per chunk along axis 0, or one chunk size per axis
            (``-1`` = whole axis). Default: one frame per chunk, small frames
            grouped to about 1 MiB, frames above 8 MiB split spatially.
        levels : int
            Resolution levels (1 = none); each further level halves ``y``
            and ``x``, computed in the same pass.
        method : {'mean', 'nearest'}
            Downsampling of the pyramid levels.
        ome : bool
            OME-Zarr (default) or one plain Zarr v3 array.
        version : {'0.5', '0.4'}
            OME-NGFF version (0.5 on Zarr v3, 0.4 on Zarr v2).
        compressors : optional
            zarr-python ``compressors`` (``'auto'``: zarr's default).
        name : str, optional
            Image name stored in the metadata.
        overwrite : bool
            Replace an existing store.
        progress : callable, optional
            ``progress(done, total)`` after each written block.

        Returns
        -------
        str
            ``path``.

        Raises
        ------
        napari_thunder.io.writing.OutputExistsError
            ``path`` exists and ``overwrite`` is false.
        ValueError
            Axes OME-NGFF cannot describe (``ome=False`` writes them), bad
            ``chunks``, ``levels``, ``method`` or ``version``.
        """
        from napari_thunder.io.zarr_write import write_zarr

        return write_zarr(self.frames, self._metadata, path, chunks=chunks, levels=levels,
                          method=method, ome=ome, version=version, compressors=compressors,
                          name=name, overwrite=overwrite, progress=progress)

    def to_layer(self, viewer=None, name=None, **kwargs):
        """Show the images in napari.

        Parameters
        ----------
        viewer : napari.Viewer, optional
            With a viewer, an image layer is added to it (lazy in local mode)
            and returned; without, the layer data tuple is returned.
        name : str, optional
            Layer name (default ``'thunder'``).
        **kwargs
            Extra ``viewer.add_image`` arguments; they override the computed
            ones (``contrast_limits``, ``rgb``, ``metadata``...).

        Returns
        -------
        napari.layers.Image or tuple
            The new layer, or ``(data, add_image_kwargs, 'image')``.
        """
        from napari_thunder.data.layers import images_to_layer_data

        data, add_kwargs, kind = images_to_layer_data(self, name=name, **kwargs)
        if viewer is None:
            return data, add_kwargs, kind
        return viewer.add_image(data, **add_kwargs)

    def _write(self, path, fmt: str, prefix: str, overwrite: bool, progress=None) -> None:
        from napari_thunder.io import writing

        tif_options = None
        if fmt == "tif":
            from napari_thunder.io.tif import tif_write_options

            tif_options = tif_write_options(self._metadata, self.value_shape, self.dtype)
        if fmt in ("tif", "png"):
            writing.check_export_ndim(self.value_shape, fmt, tif_options)
        with writing.atomic_output_dir(path, overwrite=overwrite) as tmp:
            writer = writing.BlockWriter(tmp, fmt, prefix, tif_options=tif_options)
            if progress is None:
                self.frames.foreach_block(writer)
            else:  # blocks come back in frame order as they are written
                done, total = 0, self.count()
                for start, stop, _ in self.frames.iter_chunks(writer):
                    done += stop - start
                    progress(done, total)
            if fmt == "bin":
                meta = None if self._metadata.is_default() else self._metadata.to_dict()
                writing.write_binary_conf(tmp, self.value_shape, self.dtype, metadata=meta)

    def tobinary(self, path, prefix: str = "image", overwrite: bool = False, progress=None) -> None:
        """Write one flat binary file per image into the directory ``path``.

        Files are named ``<prefix>-00000.bin``, ... in image order. Values are raw, C order, native byte
        order, and a ``conf.json`` (shape, dtype) plus a ``SUCCESS`` marker are written beside them;
        ``frombinary(path)`` reads them back exactly. The
        directory appears only once complete (written to a temporary sibling, then
        renamed), and an existing ``path`` is never touched unless
        ``overwrite=True``.

        Parameters
        ----------
        path : str or path-like
            Output directory.
        prefix : str
            File name prefix.
        overwrite : bool
            Replace an existing ``path``.
        progress : callable, optional
            ``progress(done, total)``, called on this process after each block is
            written (``done`` of ``total`` images).

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is false.
        ValueError
            ``path`` is empty or names a file.
        """
        self._write(path, "bin", prefix, overwrite, progress)

    def totif(self, path, prefix: str = "image", overwrite: bool = False, progress=None) -> None:
        """Write one TIFF per image into the directory ``path``.

        Files are named ``<prefix>-00000.tif``, ... in image order. Volumes become multipage TIFFs
        (pages = the first image axis); images of more than 3 axes are written as OME-TIFF when their
        axes are named ``z``, ``c``, ``y``, ``x`` (:meth:`with_metadata`), the axes stated in the
        OME-XML; ``fromtif(path)`` reads them back exactly, dtype and metadata included. The
        directory appears only once complete (written to a temporary sibling, then
        renamed), and an existing ``path`` is never touched unless
        ``overwrite=True``.

        Parameters
        ----------
        path : str or path-like
            Output directory.
        prefix : str
            File name prefix.
        overwrite : bool
            Replace an existing ``path``.
        progress : callable, optional
            ``progress(done, total)``, called on this process after each block is
            written (``done`` of ``total`` images).

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is false.
        ValueError
            Images with more than 3 image axes that are not named as OME-TIFF axes, or an empty
            ``path``.
        """
        self._write(path, "tif", prefix, overwrite, progress)

    def topng(self, path, prefix: str = "image", overwrite: bool = False, progress=None) -> None:
        """Write one PNG per image into the directory ``path``.

        Files are named ``<prefix>-00000.png``, ... in image order. uint8 images are written as they
        are, other dtypes rescaled per image to 0..255; volumes with 3 or 4 planes on the last axis are
        written as RGB(A). The
        directory appears only once complete (written to a temporary sibling, then
        renamed), and an existing ``path`` is never touched unless
        ``overwrite=True``.

        Parameters
        ----------
        path : str or path-like
            Output directory.
        prefix : str
            File name prefix.
        overwrite : bool
            Replace an existing ``path``.
        progress : callable, optional
            ``progress(done, total)``, called on this process after each block is
            written (``done`` of ``total`` images).

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is false.
        ValueError
            Images PNG cannot hold (more than 2 image axes other than RGB(A) samples), or an empty ``path``.
        """
        self._write(path, "png", prefix, overwrite, progress)
