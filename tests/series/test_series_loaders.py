"""napari_thunder.series loaders and the series binary layout, on every engine."""

import json
import os

import numpy as np
import pytest

from napari_thunder import Series, images, series

X = np.random.RandomState(5).randint(0, 1000, (3, 4, 12)).astype("uint16")


def test_import_and_fromarray(engine):
    import napari_thunder

    assert napari_thunder.series is series
    s = series.fromarray(X, index=np.arange(12) * 10, labels=np.arange(12).reshape(3, 4), engine=engine)
    assert isinstance(s, Series) and s.shape == (3, 4, 12) and s.dtype == np.uint16
    assert s.baseshape == (3, 4) and s.baseaxes == (0, 1) and s.value_shape == (12,) and s.length == 12
    np.testing.assert_array_equal(s.toarray(), X)
    one = series.fromarray(np.arange(5.0), engine=engine)
    assert one.shape == (1, 5)
    with pytest.raises(ValueError, match="Index length"):
        series.fromarray(X, index=[1, 2], engine=engine)
    with pytest.raises(ValueError, match="Labels shape"):
        series.fromarray(X, labels=np.arange(3), engine=engine)


def test_fromlist_and_fromrandom(engine):
    s = series.fromlist([1, 2, 3], accessor=lambda k: np.arange(4) * k, engine=engine)
    np.testing.assert_array_equal(s.toarray(), np.arange(4)[None] * np.array([[1], [2], [3]]))
    r = series.fromrandom((6, 5), seed=3, engine=engine)
    assert r.shape == (6, 5)
    np.testing.assert_array_equal(r.toarray(), series.fromrandom((6, 5), seed=3).toarray())
    with pytest.raises(ValueError, match="empty"):
        series.fromlist([], engine=engine)


def test_tobinary_is_thunders_layout(tmp_path, engine):
    s = series.fromarray(X, engine=engine)
    out = tmp_path / "s"
    s.tobinary(str(out))
    names = sorted(os.listdir(out))
    assert "conf.json" in names and "SUCCESS" in names
    bins = [n for n in names if n.endswith(".bin")]
    assert bins[0] == "series-00000-00000.bin"  # Thunder's label of the first key
    data = b"".join(open(out / n, "rb").read() for n in bins)
    assert data == X.tobytes()
    # byte for byte the conf.json Thunder 1.4.2 writes
    assert (out / "conf.json").read_text() == json.dumps({"shape": [3, 4, 12], "dtype": "uint16"}, indent=2)
    back = series.frombinary(str(out), engine=engine)
    assert back.shape == X.shape and back.dtype == X.dtype
    np.testing.assert_array_equal(back.toarray(), X)
    with pytest.raises(FileExistsError):
        s.tobinary(str(out))
    s.plus(1).tobinary(str(out), overwrite=True)
    np.testing.assert_array_equal(series.frombinary(str(out)).toarray(), X + 1)


def test_frombinary_thunder_files_skip_and_errors(tmp_path, engine):
    # a Thunder-written directory: values only, in key order, several files
    d = tmp_path / "thunder"
    d.mkdir()
    flat = X.reshape(12, 12)
    withskip = np.concatenate([np.full((12, 2), 7, np.uint16), flat], axis=1)
    (d / "series-00000.bin").write_bytes(withskip[:5].tobytes())
    (d / "series-00005.bin").write_bytes(withskip[5:].tobytes())
    (d / "conf.json").write_text(json.dumps({"shape": [12, 14], "dtype": "uint16"}))
    s = series.frombinary(str(d), shape=[12, 12], skip=2, engine=engine)
    np.testing.assert_array_equal(s.toarray(), flat)
    with pytest.raises(ValueError, match="records"):
        series.frombinary(str(d), shape=[13, 14], engine=engine)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.bin").write_bytes(b"123")
    with pytest.raises(ValueError, match="dtype not specified"):
        series.frombinary(str(bad), engine=engine)
    with pytest.raises(ValueError, match="whole number of records"):
        series.frombinary(str(bad), dtype="uint16", shape=[1, 2], engine=engine)
    with pytest.raises(FileNotFoundError):
        series.frombinary(str(tmp_path / "missing"), dtype="uint8", shape=[1, 1], engine=engine)


def test_keys_past_99999_sorted_numerically(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    (d / "series-100000.bin").write_bytes(np.array([[2.0]]).tobytes())
    (d / "series-20000.bin").write_bytes(np.array([[1.0]]).tobytes())
    s = series.frombinary(str(d), dtype="float64", shape=[2, 1])
    np.testing.assert_array_equal(s.toarray(), [1.0, 2.0])


def test_fromtext(tmp_path, engine):
    p = tmp_path / "data.txt"
    p.write_text("\n".join(" ".join(str(v) for v in row) for row in X.reshape(12, 12)) + "\n")
    s = series.fromtext(str(p), shape=(3, 4, 12), engine=engine)
    np.testing.assert_array_equal(s.toarray(), X.astype(float))
    assert series.fromtext(str(p), skip=2).shape == (12, 10)


def test_fromexample_offline():
    assert series.fromexample() is None
    with pytest.raises(ValueError, match="not available"):
        series.fromexample("fish")


def test_thunder_style_script(engine):
    """A Thunder script, unchanged: labels, map(value_shape=, with_keys=True),
    toseries(chunk_size=).normalize().zscore(), toimages()."""
    stack = np.random.RandomState(0).randint(100, 200, (10, 6, 8)).astype("uint16")
    imgs = images.fromarray(stack, engine=engine)
    ts = imgs.toseries(chunk_size="50").normalize(method="percentile", perc=10).zscore()
    ts.labels = np.arange(48).reshape(6, 8)
    keyed = ts.map(lambda kv: kv[1] * (kv[0][0] + 1), value_shape=10, dtype="float64", with_keys=True)
    out = keyed.toimages().toarray()
    m = np.moveaxis(stack, 0, -1).astype(float)
    b = np.percentile(m, 10, axis=-1, keepdims=True)
    d = (m - b) / (b + 0.1)
    z = (d - d.mean(-1, keepdims=True)) / d.std(-1, keepdims=True)
    expected = np.moveaxis(z * (np.arange(6)[:, None, None] + 1), -1, 0)
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    assert keyed.labels.shape == (6, 8)
    corr = imgs.toseries().correlate(np.arange(10.0)).toarray()
    assert corr.shape == (6, 8)
