"""Engines: where frames live and work runs.

:mod:`napari_thunder.engines.factory` says what every ``engine=`` value means
(``None``/``'local'``: the embedded dask engine; a SparkContext or a Spark
master: Spark; a ``distributed.Client`` or a scheduler address:
dask.distributed). Only this package knows dask, Spark or distributed; their
packages are imported when an engine is first used.
"""

from __future__ import annotations

from napari_thunder.engines.factory import Engine, engine_kind, resolve_engine

__all__ = ["Engine", "engine_kind", "frames_from_array", "frames_from_source", "resolve_engine"]


def frames_from_source(source, engine=None, npartitions=None):
    """Frames reading ``source`` (a ``FrameSource``) on the engine ``engine`` means.

    Parameters
    ----------
    source : napari_thunder.io.source.FrameSource
    engine : object
        Any value :func:`resolve_engine` accepts.
    npartitions : int, optional

    Returns
    -------
    napari_thunder.engines.base.Frames
    """
    return resolve_engine(engine).frames_from_source(source, npartitions)


def frames_from_array(array, engine=None, npartitions=None):
    """Frames holding ``array`` (ndarray or dask array, axis 0 = frames).

    Parameters
    ----------
    array : array-like
    engine : object
        Any value :func:`resolve_engine` accepts.
    npartitions : int, optional

    Returns
    -------
    napari_thunder.engines.base.Frames
    """
    return resolve_engine(engine).frames_from_array(array, npartitions)
