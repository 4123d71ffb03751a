"""The one engine factory: what every ``engine=`` value means, and what it refuses."""

import subprocess
import sys

import numpy as np
import pytest

from napari_thunder import images
from napari_thunder.engines.factory import (
    Engine,
    LocalEngine,
    SparkEngine,
    engine_kind,
    resolve_engine,
    spark_master_of,
)


@pytest.mark.parametrize("value", [None, "local", "dask", " LOCAL "])
def test_local_names_mean_the_embedded_dask_engine(value):
    engine = resolve_engine(value)
    assert isinstance(engine, LocalEngine) and engine.kind == "local"
    assert images.fromarray(np.zeros((2, 3, 3)), engine=value).mode == "local"


@pytest.mark.parametrize("value,master", [
    ("local[2]", "local[2]"), ("local[*]", "local[*]"), ("local[4,2]", "local[4,2]"),
    ("spark:local[2]", "local[2]"), ("spark:yarn", "yarn"), ("spark://head:7077", "spark://head:7077"),
    ("yarn", "yarn"), ("k8s://https://api:6443", "k8s://https://api:6443"),
])
def test_spark_strings(value, master):
    assert engine_kind(value) == "spark"
    assert spark_master_of(value) == master


@pytest.mark.parametrize("value", ["dask://127.0.0.1:8786", "tcp://10.0.0.1:8786", "tls://h:8786"])
def test_distributed_strings(value):
    assert engine_kind(value) == "distributed"


@pytest.mark.parametrize("value", [5, 2.0, True, False, object(), ["local"], b"local"])
def test_non_engine_types_are_type_errors(value):
    with pytest.raises(TypeError, match="engine"):
        resolve_engine(value)
    with pytest.raises(TypeError, match="engine"):
        images.fromarray(np.zeros((2, 3, 3)), engine=value)


@pytest.mark.parametrize("value", ["", "locale", "spark:", "local[x]", "http://host:80", "sparky"])
def test_unknown_strings_are_value_errors(value):
    with pytest.raises(ValueError, match="engine"):
        resolve_engine(value)


def test_an_engine_resolves_to_itself():
    engine = resolve_engine("local")
    assert resolve_engine(engine) is engine
    assert isinstance(engine, Engine) and "local" in engine.describe()


def test_naming_an_engine_starts_nothing():
    code = (
        "import sys\n"
        "from napari_thunder.engines.factory import engine_kind, resolve_engine\n"
        "assert engine_kind('spark://h:7077') == 'spark'\n"
        "assert engine_kind('dask://h:8786') == 'distributed'\n"
        "resolve_engine(None)\n"
        "print(sorted(m for m in ('pyspark', 'distributed') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.spark
def test_spark_context_and_its_master_name_give_spark(spark_context):
    engine = resolve_engine(spark_context)
    assert isinstance(engine, SparkEngine) and engine.context is spark_context
    assert not engine.owns_context
    by_name = resolve_engine(f"spark:{spark_context.master}")
    assert by_name.context is spark_context           # reused, not a second context
    engine.close()                                     # not ours: left running
    assert spark_context._jsc is not None
    imgs = images.fromarray(np.arange(8.0).reshape(2, 2, 2), engine=f"spark:{spark_context.master}")
    assert imgs.mode == "spark"
    np.testing.assert_array_equal(imgs.toarray(), np.arange(8.0).reshape(2, 2, 2))


@pytest.mark.spark
def test_another_spark_master_is_refused(spark_context):
    with pytest.raises(ValueError, match="engine"):
        images.fromarray(np.zeros((2, 3, 3)), engine="spark:local[1]")
