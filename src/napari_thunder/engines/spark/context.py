"""Resolving or creating the SparkContext an ``engine=`` value names.

pyspark is imported inside the functions: importing this module does not
start Java.
"""

from __future__ import annotations

import os
import sys

_MASTER_PREFIXES = ("local", "spark://", "yarn", "k8s://", "mesos://")


def resolve_context(engine):
    """The SparkContext for ``engine``.

    Parameters
    ----------
    engine : SparkContext or str
        A SparkContext is returned as is. A master URL (``'local'``,
        ``'local[4]'``, ``'spark://host:7077'``, ``'yarn'``, ``'k8s://...'``)
        reuses the active SparkContext if it has that master, else creates one
        with the driver bound to 127.0.0.1 (unless ``spark.driver.host`` /
        ``SPARK_LOCAL_IP`` are configured) and the executors' Python set to
        this interpreter (unless ``PYSPARK_PYTHON`` is set).

    Returns
    -------
    pyspark.SparkContext

    Raises
    ------
    ValueError
        ``engine`` is not a SparkContext nor a master URL, or another
        SparkContext with a different master is already running.
    """
    import pyspark

    if isinstance(engine, pyspark.SparkContext):
        return engine
    if not isinstance(engine, str) or not engine.strip().startswith(_MASTER_PREFIXES):
        raise ValueError(
            "engine must be None, a SparkContext or a Spark master URL "
            f"('local[4]', 'spark://host:7077', ...), got {engine!r}"
        )
    master = engine.strip()
    active = pyspark.SparkContext._active_spark_context
    if active is not None:
        if active.master == master:
            return active
        raise ValueError(
            f"engine={master!r}: a SparkContext with master {active.master!r} is already "
            "running (one per process); pass it as engine or stop it first"
        )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = pyspark.SparkConf().setMaster(master)
    if not conf.contains("spark.app.name"):
        conf.setAppName("napari-thunder")
    if not conf.contains("spark.driver.host") and "SPARK_LOCAL_IP" not in os.environ:
        conf.set("spark.driver.host", "127.0.0.1")
        conf.set("spark.driver.bindAddress", "127.0.0.1")
    return pyspark.SparkContext.getOrCreate(conf)

