"""Loaders: build an :class:`~napari_thunder.data.images.Images` from arrays or files.

Every loader takes ``engine``: ``None`` (default) for the local engine (lazy,
chunked, no setup), or a ``pyspark.SparkContext`` (or a Spark master URL such
as ``'local[4]'`` or ``'spark://host:7077'``) for Spark mode. File loaders list
the files and read their headers here; the pixels are read by the engine, when
an action needs them (in Spark mode, on the executors).

Examples
--------
>>> from napari_thunder import images
>>> imgs = images.fromrandom(shape=(4, 8, 8), seed=1)
>>> imgs.shape
(4, 8, 8)
"""

from __future__ import annotations

import numpy as np

from napari_thunder import validation
from napari_thunder.data.images import Images
from napari_thunder.engines.factory import resolve_engine
from napari_thunder.io.source import CallableSource

__all__ = [
    "fromarray", "frombinary", "fromexample", "fromlayer", "fromlist", "frompath",
    "frompng", "fromrandom", "fromrdd", "fromtif", "fromzarr",
]


def _from_source(source, engine, npartitions) -> Images:
    return Images(resolve_engine(engine).frames_from_source(source, npartitions))


def _from_file_source(source, engine, npartitions, labels) -> Images:
    """Images of a file ``source`` with the metadata it read from the files, and ``labels``."""
    return _labelled(_from_source(source, engine, npartitions).with_metadata(source.metadata), labels)


def _labelled(imgs: Images, labels) -> Images:
    """``imgs`` with ``labels`` set (checked: one per image)."""
    if labels is not None:
        imgs.labels = labels
    return imgs


def fromarray(values, npartitions=None, engine=None, labels=None) -> Images:
    """Load images from an array, or a list of equally shaped arrays.

    Parameters
    ----------
    values : array-like, dask array or list of arrays
        Axis 0 indexes images. A 2-D array is one image (shape ``(1, h, w)``).
        dtype is kept. Dask arrays stay lazy in local mode.
    npartitions : int, optional
        Number of Spark partitions (default: the context's parallelism).
    engine : None, SparkContext or str
        ``None`` for local mode, else Spark.
    labels : array-like, optional
        One label per image (Thunder's ``labels``), kept by the methods that
        keep the images; see :attr:`Images.labels`.

    Returns
    -------
    Images
    """
    npartitions = validation.check_npartitions(npartitions)
    engine = resolve_engine(engine)
    if isinstance(values, (list, tuple)):
        arrays = [np.asarray(v) for v in values]
        if arrays:
            first = arrays[0]
            for k, a in enumerate(arrays[1:], 1):
                if a.shape != first.shape:
                    raise ValueError(
                        f"Arrays must all be of same shape; got {first.shape} and {a.shape} "
                        f"(item {k})")
                if a.dtype != first.dtype:
                    raise ValueError(
                        f"Arrays must all be of same data type; got {first.dtype} and {a.dtype} "
                        f"(item {k})")
        values = np.stack(arrays) if arrays else np.asarray(values)
    elif not hasattr(values, "shape") or not hasattr(values, "dtype"):
        values = np.asarray(values)
    if values.dtype == object:
        raise ValueError("values must be a numeric array (ragged or object arrays are not images)")
    if values.ndim < 2:
        raise ValueError(f"Array for images must have at least 2 dimensions, got {values.ndim:g}")
    if values.ndim == 2:
        values = values[np.newaxis]
    return _labelled(Images(engine.frames_from_array(values, npartitions)), labels)


def fromlist(items, accessor=None, keys=None, dims=None, dtype=None, npartitions=None,
             engine=None, labels=None) -> Images:
    """Load images from a list of items, each turned into an image by ``accessor``.

    Parameters
    ----------
    items : sequence
        The images themselves, or anything ``accessor`` turns into one.
    accessor : callable, optional
        ``accessor(item) -> ndarray``; runs on the executors in Spark mode.
    keys, dims, dtype : optional
        Spark hints (``dims``/``dtype`` skip probing the first item); ignored
        locally. ``keys`` is accepted for compatibility; images are always
        indexed ``0 .. n-1`` in list order.
    npartitions : int, optional
        Number of partitions (default: the engine's parallelism).
    engine : None, str, SparkContext or dask.distributed.Client
        Where the frames live (see :func:`napari_thunder.engines.factory.resolve_engine`):
        ``None``/``'local'`` the embedded dask engine, a SparkContext or ``'spark://...'``
        Spark, a Client or ``'tcp://...'`` a dask.distributed cluster.
    labels : array-like, optional
        One label per image (Thunder's ``labels``), kept by the methods that
        keep the images; see :attr:`Images.labels`.

    Returns
    -------
    Images

    Raises
    ------
    TypeError
        If ``accessor`` is given and not callable.
    ValueError
        If ``items`` is empty, or the images are not all of one shape and dtype.
    """
    npartitions = validation.check_npartitions(npartitions)
    items = list(items)
    if accessor is not None and not callable(accessor):
        raise TypeError(f"accessor must be callable, got {type(accessor).__name__}")
    engine = resolve_engine(engine)
    if engine.kind == "local":
        values = [accessor(i) for i in items] if accessor is not None else items
        return fromarray(values, labels=labels)
    if not items:
        raise ValueError("items is empty: no images to load")
    if dims is None or dtype is None:
        probe = np.asarray(accessor(items[0]) if accessor is not None else items[0])
        dims = probe.shape if dims is None else dims
        dtype = probe.dtype if dtype is None else dtype
    dims = tuple(int(d) for d in dims)
    if len(dims) < 2:
        raise ValueError(f"images must have at least 2 dimensions, got dims={dims}")
    source = CallableSource(len(items), _ItemAccessor(items, accessor), dims, dtype)
    return _labelled(_from_source(source, engine, npartitions), labels)


class _ItemAccessor:
    def __init__(self, items, accessor):
        self.items = items
        self.accessor = accessor

    def __call__(self, i):
        item = self.items[i]
        return np.asarray(self.accessor(item) if self.accessor is not None else item)


def frompath(path, accessor=None, ext=None, start=None, stop=None, recursive=False,
             npartitions=None, dims=None, dtype=None, recount=False, engine=None,
             credentials=None, labels=None) -> Images:
    """Load images from files with a custom reader.

    Parameters
    ----------
    path : str
        Directory, file or glob pattern.
    accessor : callable
        ``accessor((index, buffer, filename))`` returning an iterable of
        ``(key, ndarray)`` pairs: a file may give any number of images. Keys
        are ignored: images are numbered in file order, then yield order.
    ext : str, optional
        Extension to keep when ``path`` is a directory.
    start, stop : int, optional
        Slice of the sorted file list.
    recursive : bool
        Walk subdirectories.
    npartitions, dims, dtype, recount, credentials :
        Accepted for compatibility (Spark hints; remote stores are not
        supported).
    engine : None, str, SparkContext or dask.distributed.Client
        Where the frames live (see :func:`napari_thunder.engines.factory.resolve_engine`):
        ``None``/``'local'`` the embedded dask engine, a SparkContext or ``'spark://...'``
        Spark, a Client or ``'tcp://...'`` a dask.distributed cluster.
    labels : array-like, optional
        One label per image (Thunder's ``labels``), kept by the methods that
        keep the images; see :attr:`Images.labels`.

    Returns
    -------
    Images

    Raises
    ------
    FileNotFoundError
        If no file matches.
    ValueError
        If ``accessor`` is not callable, or it yields no images.
    """
    from napari_thunder.io.listing import list_files

    if accessor is None or not callable(accessor):
        raise ValueError("accessor must be a callable returning (key, array) pairs for each file")
    npartitions = validation.check_npartitions(npartitions)
    files = list_files(path, ext=ext, start=start, stop=stop, recursive=recursive)
    items = list(enumerate(files))
    engine = resolve_engine(engine)
    try:
        frames = engine.frames_from_items(items, _ReadAndAccess(accessor), npartitions)
    except ValueError as err:
        if str(err).startswith("no frames"):
            raise ValueError(f"accessor yielded no images from the {len(files)} files in {path}") from None
        raise
    return _labelled(Images(frames), labels)


class _ReadAndAccess:
    def __init__(self, accessor):
        self.accessor = accessor

    def __call__(self, item):
        index, filename = item
        with open(filename, "rb") as f:
            buf = f.read()
        return [(k, np.asarray(v)) for k, v in self.accessor((index, buf, filename))]


def frombinary(path, shape=None, dtype=None, ext="bin", start=None, stop=None, recursive=False,
               nplanes=None, npartitions=None, conf="conf.json", order="C", engine=None,
               credentials=None, stack=False, labels=None) -> Images:
    """Load images from flat binary files (one image per file).

    Parameters
    ----------
    path : str
        Directory of ``*.<ext>`` files, a file, or a glob pattern.
    shape : tuple of int, optional
        Shape of each file's array; ``conf.json`` beside the files overrides
        it (keys ``shape`` or ``dims``).
    dtype : str, optional
        Data type; ``conf.json`` ``dtype`` overrides it; default ``int16``.
    ext : str
        Extension of the files when ``path`` is a directory.
    start, stop : int, optional
        Slice of the sorted file list.
    recursive : bool
        Walk subdirectories.
    nplanes : int, optional
        Split each file along its last axis into images of ``nplanes``
        planes (1 drops that axis).
    npartitions : int, optional
        Spark partitions.
    conf : str
        Name of the configuration file.
    order : {'C', 'F'}
        Memory order of the files.
    engine : None, SparkContext or str
    stack : bool
        Each file holds any number of images of ``shape`` back to back (a
        headerless movie such as suite2p's ``data.bin``: ``shape=(Ly, Lx)``,
        ``dtype='int16'``); the file sizes give the image counts and must be
        whole multiples of one image. Not with ``nplanes``.
    labels : array-like, optional
        One label per image (Thunder's ``labels``), kept by the methods that
        keep the images; see :attr:`Images.labels`.

    Returns
    -------
    Images
        With the ``metadata`` that :meth:`Images.tobinary` stores in
        ``conf.json`` (axis names, scale, units), when present.

    Raises
    ------
    FileNotFoundError
        No file matches.
    ValueError
        No shape given; ``nplanes`` not positive or not dividing the last
        axis; a file is smaller than the shape requires; Thunder *Series*
        binary files (``series-00000-00000.bin``), which hold time courses,
        not images.
    """
    from napari_thunder.io.binary import (
        BinarySource,
        BinaryStackSource,
        binary_metadata,
        check_not_series,
        resolve_binary_args,
    )
    from napari_thunder.io.listing import list_files

    npartitions = validation.check_npartitions(npartitions)
    recursive = validation.check_bool(recursive, "recursive")
    files = list_files(path, ext=ext, start=start, stop=stop, recursive=recursive)
    check_not_series(files)
    shape, dtype = resolve_binary_args(path, shape=shape, dtype=dtype, conf=conf)
    if validation.check_bool(stack, "stack"):
        if nplanes is not None:
            raise ValueError("stack=True reads whole images of shape from each file: nplanes does not apply")
        source = BinaryStackSource(files, shape, dtype, order=order)
    else:
        source = BinarySource(files, shape, dtype, order=order, nplanes=nplanes)
    imgs = _from_source(source, engine, npartitions)
    meta = binary_metadata(path, conf, imgs.shape, nplanes=nplanes)
    return _labelled(imgs if meta is None else imgs.with_metadata(meta), labels)


def fromtif(path, ext="tif", start=None, stop=None, recursive=False, nplanes=None,
            npartitions=None, engine=None, credentials=None, discard_extra=False,
            series=None, labels=None) -> Images:
    """Load images from TIF files (single or multipage, ImageJ hyperstacks,
    OME-TIFF, BigTIFF, any compression tifffile and imagecodecs read).

    The file's own layout decides the axes (see :mod:`napari_thunder.io.tif`):
    a time axis (ImageJ ``frames``, OME ``SizeT``) is the image axis, one
    image per time point; any other file is one image: a single page
    ``(h, w)``, a multipage file a volume ``(pages, h, w)``, a hyperstack
    without time its other axes (``(z, c, h, w)``...). Colour samples are the
    last axis, ``(h, w, 3)``. ``nplanes`` instead cuts every file's pages into
    images of ``nplanes`` pages (1 gives 2-D images). Axis names, pixel
    sizes, units, the frame interval and channel names from ImageJ/OME
    metadata or the resolution tags become :attr:`Images.metadata`. A
    multi-file OME-TIFF (Micro-Manager, bfconvert) is one series whichever of
    its files (or their folder) is given: its files are read once, in OME
    order, not as one stack per file.

    Parameters
    ----------
    path : str
        Directory, file, or glob pattern. ``ext='tif'`` also matches
        ``.tiff``.
    ext, start, stop, recursive : see :func:`frombinary`
    nplanes : int, optional
        Pages per image.
    npartitions : int, optional
    engine : None, SparkContext or str
    discard_extra : bool
        Drop the pages left over when ``nplanes`` does not divide a file's page
        count (with a warning) instead of raising ``ValueError``.
    series : int, optional
        The series (OME image, or group of pages of one shape and dtype) of
        each file to read; 0 by default (what ``tifffile.imread`` returns),
        with a ``UserWarning`` when a file holds more than one.
    labels : array-like, optional
        One label per image (Thunder's ``labels``), kept by the methods that
        keep the images; see :attr:`Images.labels`.

    Returns
    -------
    Images

    Raises
    ------
    FileNotFoundError
        No file matches.
    ValueError
        A file that cannot be read exactly (pages of another shape or dtype
        than its series, CMYK, a series out of range, a corrupt file), files
        that do not agree, ``nplanes`` not dividing the pages. The message
        names the file.
    """
    from napari_thunder.io.listing import list_files
    from napari_thunder.io.tif import TifSource

    npartitions = validation.check_npartitions(npartitions)
    recursive = validation.check_bool(recursive, "recursive")
    discard_extra = validation.check_bool(discard_extra, "discard_extra")
    files = list_files(path, ext=ext, start=start, stop=stop, recursive=recursive)
    source = TifSource(files, nplanes=nplanes, discard_extra=discard_extra, series=series)
    return _from_file_source(source, engine, npartitions, labels)


def frompng(path, ext="png", start=None, stop=None, recursive=False, npartitions=None,
            engine=None, credentials=None, labels=None) -> Images:
    """Load images from PNG files, one image per file.

    Decoded with libpng (imagecodecs), so 16-bit files keep 16 bits: grey
    ``(h, w)``, grey+alpha ``(h, w, 2)`` (a channel axis), RGB ``(h, w, 3)``
    and RGBA ``(h, w, 4)`` (colour pictures, ``metadata.rgb``), uint8 or
    uint16; palette files become RGB(A) uint8.

    Parameters
    ----------
    path : str
        Directory, file, or glob pattern.
    ext, start, stop, recursive : see :func:`frombinary`
    npartitions : int, optional
    engine : None, SparkContext or str
    labels : array-like, optional
        One label per image (Thunder's ``labels``), kept by the methods that
        keep the images; see :attr:`Images.labels`.

    Returns
    -------
    Images

    Raises
    ------
    FileNotFoundError
        No file matches.
    ValueError
        A file that is not a PNG, an animated PNG, or files of different
        sizes or pixel types (the message names the file).
    """
    from napari_thunder.io.listing import list_files
    from napari_thunder.io.png import PngSource

    npartitions = validation.check_npartitions(npartitions)
    files = list_files(path, ext=ext, start=start, stop=stop, recursive=recursive)
    source = PngSource(files)
    return _from_file_source(source, engine, npartitions, labels)


def fromzarr(path, level=0, component=None, npartitions=None, engine=None) -> Images:
    """Load images from a Zarr array or an OME-Zarr image (NGFF 0.4 / 0.5), lazily.

    Only the store's metadata are read here; each engine worker reads the
    chunks of its own frames (partitions hold whole chunks along the image
    axis). OME axis names, scale, translation and units, and ``omero``
    channel labels, become the images' metadata.

    Parameters
    ----------
    path : str or os.PathLike
        Folder of the store (an OME-Zarr image, a ``bioformats2raw`` folder,
        a Zarr group or array).
    level : int
        Resolution level of a multiscale image: 0 = full resolution;
        negative counts from the lowest resolution (-1).
    component : str, optional
        Path of the array or image inside the store.
    npartitions : int, optional
        Spark partitions.
    engine : object, optional
        Any ``engine=`` value (see :mod:`napari_thunder.engines.factory`).

    Returns
    -------
    Images
        Axis 0 is the store's first axis, except for stores without a time
        or other leading axis (``zyx``, ``cyx``, ``yx``): those are one
        image, with a leading axis ``'t'`` of length 1.

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    ValueError
        Not a Zarr store, a group with neither an image nor exactly one
        array, ``level`` out of range, malformed OME metadata.
    TypeError
        ``level`` not an integer.
    """
    from napari_thunder.io.zarr import open_zarr

    path = validation.check_path(path)
    npartitions = validation.check_npartitions(npartitions)
    store = open_zarr(path, level=level, component=component)
    return _from_source(store.source, engine, npartitions).with_metadata(store.metadata)


class _RandomFrame:
    def __init__(self, seed, value_shape):
        self.seed = seed
        self.value_shape = tuple(value_shape)

    def __call__(self, i):
        return np.random.RandomState(self.seed + i).randn(*self.value_shape)


def fromrandom(shape=(10, 50, 50), npartitions=1, seed=42, engine=None) -> Images:
    """Random images: image ``i`` is ``RandomState(seed + i).randn(*shape[1:])``.

    The values equal Thunder's; the global numpy random state is not touched.

    Parameters
    ----------
    shape : tuple of int
        ``(n,) + value_shape``, at least 3 entries.
    npartitions : int
        Spark partitions.
    seed : int
        Seed of image 0; image ``i`` uses ``seed + i``.
    engine : None, str, SparkContext or dask.distributed.Client
        Where the frames live (see :func:`napari_thunder.engines.factory.resolve_engine`):
        ``None``/``'local'`` the embedded dask engine, a SparkContext or ``'spark://...'``
        Spark, a Client or ``'tcp://...'`` a dask.distributed cluster.

    Returns
    -------
    Images

    Raises
    ------
    ValueError
        If ``shape`` has fewer than 3 entries or a negative one.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 3 or any(s < 0 for s in shape):
        raise ValueError(f"shape must be (n, ...) with at least 2 image axes, got {shape}")
    npartitions = validation.check_npartitions(npartitions)
    source = CallableSource(shape[0], _RandomFrame(hash(seed), shape[1:]), shape[1:], np.float64)
    return _from_source(source, engine, npartitions)


def fromexample(name=None, engine=None):
    """Load a bundled example dataset.

    The datasets are small synthetic stand-ins for Thunder's downloadable
    examples, shipped with the package (no network): ``'mouse'`` is a
    calcium-imaging-like movie ``(20, 64, 64)`` read from flat binary files,
    ``'fish'`` a volume time series ``(20, 2, 76, 87)`` read from TIFs.

    Parameters
    ----------
    name : str, optional
        Dataset name. ``None`` prints the available names and returns None.
    engine : None, str, SparkContext or dask.distributed.Client
        Where the frames live (see :func:`napari_thunder.engines.factory.resolve_engine`):
        ``None``/``'local'`` the embedded dask engine, a SparkContext or ``'spark://...'``
        Spark, a Client or ``'tcp://...'`` a dask.distributed cluster.

    Returns
    -------
    Images or None
        The dataset, or None when ``name`` is None.

    Raises
    ------
    ValueError
        Unknown ``name``.
    """
    from napari_thunder import sample_data

    names = list(sample_data.EXAMPLES)
    if name is None:
        print("Available example image datasets")
        for n in names:
            print(f"- {n}")
        return None
    if name not in names:
        raise ValueError(
            "Option must be one of {}, got '{}'".format(", ".join(repr(n) for n in names), name))
    loader, kwargs = sample_data.LOADERS[name]
    return globals()[loader](sample_data.path(name), npartitions=1, engine=engine, **kwargs)


def fromrdd(rdd, dims=None, nrecords=None, dtype=None, labels=None) -> Images:
    """Spark only: Images from an RDD of ``(key, ndarray)`` records.

    Int keys are promoted to 1-tuples; records whose keys are not ``0..n-1``
    in partition order are sorted by key and renumbered.

    Parameters
    ----------
    rdd : pyspark.RDD
        Records ``(key, image)``, every image of one shape and dtype.
    dims : tuple of int, optional
        Shape of one image.
    nrecords : int, optional
        Number of records.
    dtype : numpy dtype, optional
        With ``dims`` and ``nrecords`` too, no job runs to describe the records.
    labels : array-like, optional
        One label per image (Thunder's ``labels``), kept by the methods that
        keep the images; see :attr:`Images.labels`.

    Returns
    -------
    Images
        In Spark mode, on the RDD's context.

    Raises
    ------
    TypeError
        ``rdd`` is not a pyspark RDD.
    ValueError
        Images of different shapes or dtypes, or hints that contradict them.
    """
    context = getattr(rdd, "context", None)
    engine = resolve_engine(context) if context is not None else None
    if engine is None or engine.kind != "spark":
        raise TypeError(f"rdd must be a pyspark RDD, got {type(rdd).__name__}")
    return _labelled(Images(engine.frames_from_rdd(rdd, dims=dims, nrecords=nrecords, dtype=dtype)), labels)


def fromlayer(layer, npartitions=None, engine=None) -> Images:
    """Images from a napari image layer (or anything with ``.data``).

    The layer's data stays lazy in local mode (dask or numpy, not copied);
    for a multiscale layer the full-resolution level is used. Axis 0 of the
    layer becomes the image axis; a 2-D layer, or a single RGB(A) picture
    ``(h, w, 3|4)`` of a layer with ``rgb=True``, becomes one image. The
    layer's ``scale``, ``translate``, ``units`` and ``axis_labels`` become
    the images' metadata (``rgb`` too).

    Parameters
    ----------
    layer : napari.layers.Image
        Or any object with ``.data`` (and optionally those attributes).
    npartitions : int, optional
    engine : object, optional
        Any ``engine=`` value (see :mod:`napari_thunder.engines.factory`).

    Returns
    -------
    Images

    Raises
    ------
    ValueError
        ``layer`` has no ``.data``, or data of fewer than 2 axes.
    """
    from napari_thunder.data.layers import metadata_from_layer

    data = getattr(layer, "data", None)
    if data is None:
        raise ValueError(f"layer must have a .data array, got {type(layer).__name__}")
    if getattr(layer, "multiscale", False) or isinstance(data, (list, tuple)):
        data = data[0]
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    if bool(getattr(layer, "rgb", False)) and data.ndim == 3:
        data = data[np.newaxis]
    imgs = fromarray(data, npartitions=npartitions, engine=engine)
    return imgs.with_metadata(metadata_from_layer(layer, imgs.shape))


