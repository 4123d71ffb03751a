"""Shared fixtures: the engine each Images test runs on, a session Spark."""

import pytest


@pytest.fixture(scope="session")
def spark_context():
    """One ``SparkContext('local[2]')`` for the whole session, made by the
    engine's own ``get_or_create_context`` (driver on 127.0.0.1, UI and
    progress bars off, workers on this interpreter)."""
    pytest.importorskip("pyspark")
    from napari_thunder.engines.spark.context import get_or_create_context

    sc = get_or_create_context("local[2]", app_name="napari-thunder-tests")
    sc.setLogLevel("ERROR")
    yield sc
    sc.stop()


@pytest.fixture(params=["local", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request):
    """``None`` (local engine) or the session SparkContext."""
    if request.param == "local":
        return None
    return request.getfixturevalue("spark_context")
