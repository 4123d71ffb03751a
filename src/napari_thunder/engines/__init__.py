"""Engines: where frames live. ``None`` -> local (dask); a SparkContext, a
Spark master URL (``'local[4]'``, ``'spark://host:7077'``) -> Spark.

Only this package knows dask or Spark; pyspark is imported lazily.
"""

from __future__ import annotations

import sys


def is_spark_engine(engine) -> bool:
    """True if ``engine`` asks for Spark (a SparkContext or a master URL)."""
    if engine is None:
        return False
    if isinstance(engine, str):
        return True
    pyspark = sys.modules.get("pyspark")
    return pyspark is not None and isinstance(engine, pyspark.SparkContext)


def frames_from_source(source, engine=None, npartitions=None):
    """Frames reading ``source`` (a ``FrameSource``) on the chosen engine."""
    if is_spark_engine(engine):
        from napari_thunder.engines.spark import SparkFrames, resolve_context

        return SparkFrames.from_source(source, resolve_context(engine), npartitions)
    from napari_thunder.engines.local import LocalFrames

    return LocalFrames.from_source(source, npartitions)


def frames_from_array(array, engine=None, npartitions=None):
    """Frames holding ``array`` (ndarray or dask array, axis 0 = frames)."""
    if is_spark_engine(engine):
        from napari_thunder.engines.spark import SparkFrames, resolve_context

        return SparkFrames.from_array(array, resolve_context(engine), npartitions)
    from napari_thunder.engines.local import LocalFrames

    return LocalFrames.from_array(array, npartitions)
