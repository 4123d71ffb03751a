"""Running the steps of ``napari-thunder run`` and writing the result, with progress bars.

Per-image steps stay lazy; a statistic or ``localcorr`` is computed when
reached, streamed chunk by chunk (``Images.stream_statistic`` /
``Images.stream_localcorr``) so its bar advances; the result is then written
by the ``Images`` writer block by block, its bar advancing per written block.
Nothing is computed twice and the whole result is never held in memory just
to draw a bar.
"""

from __future__ import annotations

import sys

from .steps import STATISTICS

#: ``--to`` format -> Images writer method
WRITERS = {"tif": "totif", "png": "topng", "binary": "tobinary", "zarr": "tozarr"}


def progress_bar(total, desc, enabled):
    """A tqdm bar on stderr counting frames (a no-op bar when not ``enabled``)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not enabled, leave=False)


def _follow(bar, stream):
    """Advance ``bar`` along ``(done, total, value)`` items; return the last value."""
    value = None
    for done, total, value in stream:  # noqa: B007 (the last value is the result)
        bar.total = total
        bar.update(done - bar.n)
    return value


def _one_image(array, imgs, engine):
    """Wrap one image (``imgs``'s image shape, or that shape squeezed) as an Images of one frame."""
    import numpy as np

    from napari_thunder import images

    array = np.asarray(array).reshape(tuple(imgs.shape[1:]))
    return images.fromarray(array[np.newaxis], engine=engine)


def _statistic(imgs, name, engine, progress):
    """``imgs.<name>()``, streamed with a progress bar if ``progress``."""
    if not progress:
        return getattr(imgs, name)()
    with progress_bar(imgs.count(), name, progress) as bar:
        estimate = _follow(bar, imgs.stream_statistic(name))
    return _one_image(estimate, imgs, engine)


def _localcorr(imgs, kwargs, engine, progress):
    """``imgs.localcorr(...)`` (an ndarray) wrapped back into Images."""
    if not progress:
        return _one_image(imgs.localcorr(**kwargs), imgs, engine)
    with progress_bar(imgs.count(), "localcorr", progress) as bar:
        corr = _follow(bar, imgs.stream_localcorr(**kwargs))
    return _one_image(corr, imgs, engine)


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
    Images
    """
    for name, kwargs in steps:
        if name in STATISTICS:
            imgs = _statistic(imgs, name, engine, progress)
        elif name == "localcorr":
            imgs = _localcorr(imgs, kwargs, engine, progress)
        else:
            imgs = getattr(imgs, name)(**kwargs)
    return imgs


def write_result(imgs, fmt, path, overwrite=False, progress=False):
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
    """
    writer = getattr(imgs, WRITERS[fmt])
    count = imgs.count()
    if not progress or count <= 1:
        writer(path, overwrite=overwrite)
        return
    with progress_bar(count, "writing", progress) as bar:
        def advance(done, total):
            bar.total = total
            bar.update(done - bar.n)

        writer(path, overwrite=overwrite, progress=advance)
