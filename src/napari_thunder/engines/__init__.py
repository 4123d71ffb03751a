"""Engines: where frames live and work runs.

:mod:`napari_thunder.engines.factory` says what every ``engine=`` value means
(``None``/``'local'``: the embedded dask engine; a SparkContext or a Spark
master: Spark; a ``distributed.Client`` or a scheduler address:
dask.distributed). Only this package knows dask, Spark or distributed; their
packages are imported when an engine is first used.
"""

from __future__ import annotations

from napari_thunder.engines.factory import Engine, engine_kind, resolve_engine

__all__ = ["Engine", "engine_kind", "resolve_engine"]

