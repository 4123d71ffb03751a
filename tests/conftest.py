"""Shared fixtures: the engine each Images test runs on, a session Spark."""

import os
import sys

import pytest


@pytest.fixture(scope="session")
def spark_context():
    """One ``SparkContext('local[2]')`` for the whole session (driver on
    127.0.0.1, UI off, workers on this interpreter)."""
    pyspark = pytest.importorskip("pyspark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = (
        pyspark.SparkConf()
        .setMaster("local[2]")
        .setAppName("napari-thunder-tests")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.ui.enabled", "false")
        .set("spark.ui.showConsoleProgress", "false")
    )
    sc = pyspark.SparkContext.getOrCreate(conf)
    sc.setLogLevel("ERROR")
    yield sc
    sc.stop()


@pytest.fixture(params=["local", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request):
    """``None`` (local engine) or the session SparkContext."""
    if request.param == "local":
        return None
    return request.getfixturevalue("spark_context")
