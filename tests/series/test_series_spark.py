"""Spark-only parts of the Series API: fromrdd, tordd, partitions, caching."""

import numpy as np
import pytest

from napari_thunder import series

pytestmark = pytest.mark.spark

X = np.random.RandomState(2).randint(0, 50, (2, 3, 5)).astype("int32")


def test_fromrdd_tordd(spark_context):
    flat = X.reshape(6, 5)
    rdd = spark_context.parallelize([((i // 3, i % 3), flat[i]) for i in range(6)], 2)
    s = series.fromrdd(rdd, shape=(2, 3, 5), index=list("abcde"))
    assert s.mode == "spark" and s.shape == (2, 3, 5)
    np.testing.assert_array_equal(s.toarray(), X)
    assert list(s.index) == list("abcde")
    pairs = sorted(s.tordd().collect(), key=lambda kv: kv[0])
    assert [k for k, _ in pairs] == [(a, b) for a in range(2) for b in range(3)]
    np.testing.assert_array_equal(np.stack([v for _, v in pairs]), flat)
    ints = series.fromrdd(spark_context.parallelize([(i, flat[i]) for i in range(6)], 3))
    assert ints.shape == (6, 5)
    np.testing.assert_array_equal(ints.toarray(), flat)


def test_partitions_and_cache(spark_context):
    s = series.fromarray(X, engine=spark_context, npartitions=3)
    assert s.npartitions() == 3
    r = s.repartition(2)
    assert r.npartitions() == 2 and r.shape == X.shape
    np.testing.assert_array_equal(r.toarray(), X)
    assert s.coalesce(1).npartitions() == 1
    with pytest.raises(ValueError, match="increase"):
        s.coalesce(5)
    assert s.cache() is s and s.iscached()
    s.compute()
    assert not s.uncache().iscached()
    local = s.tolocal()
    assert local.mode == "local"
    back = local.tospark(spark_context)
    assert back.mode == "spark"
    np.testing.assert_array_equal(back.toarray(), X)
    with pytest.raises(ValueError, match="SparkContext"):
        local.tospark()
