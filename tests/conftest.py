"""Shared fixtures: the engine each Images test runs on, a session Spark, a
session dask.distributed cluster."""

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


@pytest.fixture(scope="session")
def distributed_client():
    """A ``distributed.Client`` of one ``LocalCluster`` for the whole session:
    2 worker processes (1 thread each, with nannies) on 127.0.0.1, no
    dashboard, not dask's default scheduler (the local engine keeps its
    threads). Test modules are pickled by value, so the workers need not
    import them."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=40)
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(params=["local", pytest.param("spark", marks=pytest.mark.spark),
                        pytest.param("distributed", marks=pytest.mark.distributed)])
def engine(request):
    """``None`` (local engine), the session SparkContext or the session
    ``distributed.Client``."""
    if request.param == "local":
        return None
    if request.param == "distributed":
        return request.getfixturevalue("distributed_client")
    return request.getfixturevalue("spark_context")


@pytest.fixture(autouse=True)
def _tests_pickled_by_value(request):
    """Functions defined in a test module reach the dask workers by value
    (cloudpickle), as they do in a script run with ``python``."""
    callspec = getattr(request.node, "callspec", None)
    on_cluster = callspec is not None and callspec.params.get("engine") == "distributed"
    if not (on_cluster or any(name.startswith("distributed") for name in request.fixturenames)):
        yield
        return
    import cloudpickle

    module = request.module
    try:
        cloudpickle.register_pickle_by_value(module)
    except ValueError:  # not importable by name: already pickled by value
        yield
        return
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)
