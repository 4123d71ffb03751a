"""Running the steps of ``napari-thunder run`` and writing the result, with progress bars.

Per-image steps stay lazy; a statistic or ``localcorr`` is computed when
reached, streamed chunk by chunk (``Images.stream_statistic`` /
``Images.stream_localcorr``) so its bar advances; the result is then written
by the ``Images`` writer block by block, its bar advancing per written block.
Summary images (``correlation_image``, ``pnr_image``) stream the same way.
``extract_traces`` makes a ``Series`` of traces (one record per ROI), which
only ``Series`` steps may follow and only :data:`SERIES_WRITERS` write.
Nothing is computed twice and the whole result is never held in memory just
to draw a bar.
"""

from __future__ import annotations

import itertools
import os
import sys

from .errors import CLIError
from .steps import SERIES_STEPS, STATISTICS, SUMMARY_IMAGES, TRACES, load_labels

#: ``--to`` format -> Images writer method
WRITERS = {"tif": "totif", "png": "topng", "binary": "tobinary", "zarr": "tozarr"}
#: ``--to`` formats of a Series result (traces): a CSV or NPY file, or Thunder's series binary directory
SERIES_WRITERS = ("csv", "npy", "binary")
#: summary image step -> its streaming method
_STREAMED_SUMMARIES = {"correlation_image": "stream_correlation_image", "pnr_image": "stream_pnr_image"}


def progress_bar(total, desc, enabled):
    """A tqdm bar on stderr counting frames (a no-op bar when not ``enabled``)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not enabled, leave=False)


def _follow(total, desc, enabled, stream):
    """Run ``stream`` (``(done, total, value)`` items) under a progress bar; return the last value.

    The first item is taken before the bar is drawn: a generator checks its arguments when
    first advanced, and a bad argument must be one error line, not a bar and then an error.
    """
    items = iter(stream)
    first = next(items, None)
    if first is None:
        return None
    value = first[2]
    with progress_bar(total, desc, enabled) as bar:
        for done, total_now, value in itertools.chain([first], items):  # noqa: B007 (last = result)
            bar.total = total_now
            bar.update(done - bar.n)
    return value


def _one_image(array, imgs, engine):
    """Wrap one image (``imgs``'s image shape, or that shape squeezed) as an Images of one frame,
    with ``imgs``'s metadata (axis names, pixel sizes, units, channels), as a statistic keeps them."""
    import numpy as np

    from napari_thunder import images

    array = np.asarray(array).reshape(tuple(imgs.shape[1:]))
    md = imgs.metadata
    return images.fromarray(array[np.newaxis], engine=engine).with_metadata(
        names=md.names, scale=[a.scale for a in md.axes], translate=[a.translate for a in md.axes],
        units=[a.unit for a in md.axes], channel_names=md.channel_names, rgb=md.rgb)


def _statistic(imgs, name, engine, progress):
    """``imgs.<name>()``, streamed with a progress bar if ``progress``."""
    if not progress:
        return getattr(imgs, name)()
    estimate = _follow(imgs.count(), name, progress, imgs.stream_statistic(name))
    return _one_image(estimate, imgs, engine)


def _localcorr(imgs, kwargs, engine, progress):
    """``imgs.localcorr(...)`` (an ndarray) wrapped back into Images."""
    if not progress:
        return _one_image(imgs.localcorr(**kwargs), imgs, engine)
    corr = _follow(imgs.count(), "localcorr", progress, imgs.stream_localcorr(**kwargs))
    return _one_image(corr, imgs, engine)


def _summary(imgs, name, kwargs, engine, progress):
    """A summary image (``correlation_image``, ``pnr_image``, ``enhanced_mean``) as an Images of one."""
    stream = _STREAMED_SUMMARIES.get(name)
    if not progress or stream is None:
        return _one_image(getattr(imgs, name)(**kwargs), imgs, engine)
    image = _follow(imgs.count(), name, progress, getattr(imgs, stream)(**kwargs))
    return _one_image(image, imgs, engine)


def _traces(imgs, kwargs, engine, progress):
    """``imgs.extract_traces(labels, ...)`` with the labels read from ``kwargs['labels']`` (a path);
    with ``progress``, streamed (``Images.stream_traces``) with a bar counting frames."""
    kwargs = dict(kwargs)
    path = kwargs.pop("labels")
    labels = load_labels(path, imgs.shape[1:])
    try:
        if not progress:
            return imgs.extract_traces(labels, **kwargs)
        stream = imgs.stream_traces(labels, **kwargs)  # arguments checked before any frame is read
        traces = _follow(imgs.count(), TRACES, progress, stream)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"step {TRACES!r} (labels {path!r}): {exc}") from None
    from napari_thunder import series

    return series.fromarray(traces, engine=engine)


def _series_step(series, name, kwargs):
    """``series.<name>(**kwargs)``; a bad argument's error names the step."""
    try:
        return getattr(series, name)(**kwargs)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"step {name!r}: {exc}") from None


def run_pipeline(imgs, steps, engine=None, progress=False):
    """Apply ``steps`` (``[(name, kwargs), ...]``) to ``imgs`` in order.

    Per-image steps stay lazy; statistics and ``localcorr`` are computed when
    reached (streamed with a progress bar if ``progress``); ``localcorr``'s
    ndarray is wrapped back into an Images of one frame.

    Parameters
    ----------
    imgs : Images
    steps : list of (str, dict)
        As returned by :func:`napari_thunder.cli.steps.parse_step`.
    engine : optional
        Engine of computed results (any ``engine=`` value of the loaders).
    progress : bool
        Show tqdm bars on stderr.

    Returns
    -------
    Images or Series
        A Series (one record per ROI) when ``extract_traces`` is among the steps.
    """
    for name, kwargs in steps:
        if name == TRACES:
            imgs = _traces(imgs, kwargs, engine, progress)
        elif name in SERIES_STEPS:
            imgs = _series_step(imgs, name, kwargs)
        elif name in SUMMARY_IMAGES:
            imgs = _summary(imgs, name, kwargs, engine, progress)
        elif name in STATISTICS:
            imgs = _statistic(imgs, name, engine, progress)
        elif name == "localcorr":
            imgs = _localcorr(imgs, kwargs, engine, progress)
        else:
            imgs = getattr(imgs, name)(**kwargs)
    return imgs


def write_result(imgs, fmt, path, overwrite=False, progress=False, **options):
    """Write ``imgs`` with the ``fmt`` writer, a bar advancing per written block.

    Parameters
    ----------
    imgs : Images
    fmt : {'tif', 'png', 'binary', 'zarr'}
    path : str
        Output directory (the writer checks it and writes atomically).
    overwrite : bool
    progress : bool
        Show a tqdm bar on stderr (only for more than one image).
    **options
        More keywords of the writer (``levels`` of ``tozarr``).
    """
    writer = getattr(imgs, WRITERS[fmt])
    count = imgs.count()
    if not progress or count <= 1:
        writer(path, overwrite=overwrite, **options)
        return
    with progress_bar(count, "writing", progress) as bar:
        def advance(done, total):
            bar.total = total
            bar.update(done - bar.n)

        writer(path, overwrite=overwrite, progress=advance, **options)


def check_series_output(path, fmt, overwrite):
    """Refuse an unusable output file of a Series result (``--to csv`` / ``npy``) before any work.

    Raises
    ------
    CLIError
        ``path`` exists and ``overwrite`` is false, or is a directory.
    FileNotFoundError
        The parent directory of ``path`` does not exist.
    """
    if os.path.isdir(path):
        raise CLIError(f"output {path!r} is a directory; --to {fmt} writes one file")
    if os.path.lexists(path) and not overwrite:
        raise CLIError(f"output file {path!r} already exists; use --overwrite to replace it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"parent directory of output {path!r} does not exist")


def series_array(series):
    """The records of ``series`` as a 2-D ndarray ``(n_records, n_values)`` (never squeezed)."""
    import numpy as np

    array = np.asarray(series.toarray()).reshape(tuple(series.shape))
    return array.reshape(-1, array.shape[-1]) if array.ndim != 2 else array


def write_series(series, fmt, path, overwrite=False):
    """Write a Series result: a CSV or NPY file, or Thunder's series binary directory.

    Parameters
    ----------
    series : Series
        E.g. traces, one record per ROI.
    fmt : {'csv', 'npy', 'binary'}
        ``'csv'``: one row per record, one comma-separated column per value
        (``%.17g``, read back exactly by ``numpy.loadtxt(path, delimiter=',')``);
        ``'npy'``: the ``(n_records, n_values)`` array (``numpy.save``);
        ``'binary'``: :meth:`Series.tobinary` into the directory ``path``.
    path : str
    overwrite : bool
        Replace an existing output.

    Raises
    ------
    CLIError
        ``path`` exists and ``overwrite`` is false, or ``fmt`` is unknown.
    """
    import tempfile

    import numpy as np

    if fmt == "binary":
        series.tobinary(path, overwrite=overwrite)
        return
    if fmt not in SERIES_WRITERS:
        raise CLIError(f"--to {fmt!r} cannot write a Series; choose {', '.join(SERIES_WRITERS)}")
    check_series_output(path, fmt, overwrite)
    array = series_array(series)
    parent = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=f".{fmt}", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if fmt == "csv":
                np.savetxt(f, array, delimiter=",", fmt="%.17g")
            else:
                np.save(f, array, allow_pickle=False)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; give it the usual mode
        os.replace(tmp, path)  # written whole or not at all
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
