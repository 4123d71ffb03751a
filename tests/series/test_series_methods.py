"""Every Series method against numpy/scipy written directly on the records x values
matrix, on every engine (the ``engine`` fixture)."""

import numpy as np
import pytest
from scipy.ndimage import percentile_filter

from napari_thunder import Series, images, series

RNG = np.random.default_rng(12)
X = RNG.integers(0, 1000, (3, 4, 12)).astype(np.uint16)  # 3 x 4 records of 12 values
M = X.reshape(-1, 12).astype(np.float64)
F = RNG.standard_normal((5, 16))  # float records
SIGNAL = np.sin(np.arange(12) / 2.0)


def _rows(func, m=M):
    return np.stack([np.atleast_1d(func(r)) for r in m])


def _corr(x, s):
    return np.corrcoef(x, s)[0, 1]


def _window_exact(x, w, p):
    n = len(x)
    return np.array([np.percentile(x[max(0, i - w // 2): min(n, i - w // 2 + w)], p) for i in range(n)])


def _crosscorr(x, s, lag):
    s = s - s.mean()
    s = s / np.linalg.norm(s)
    y = x - x.mean()
    y = y / np.linalg.norm(y)
    out = []
    for sh in range(-lag, lag + 1):
        t = np.roll(s, sh)
        if sh < 0:
            t[len(s) + sh:] = 0
        if sh > 0:
            t[:sh] = 0
        out.append(t @ y)
    return np.array(out)


def _detrend(x, order):
    t = np.arange(len(x))
    p = np.polyfit(t, x, order)
    p[-1] = 0
    return x - np.polyval(p, t)


def _fourier(x, f):
    y = x - x.mean()
    ft = np.fft.fft(y)[: len(y) // 2]
    amp = 2 * np.abs(ft) / len(y)
    ph = -(np.pi / 2) - np.angle(ft[f])
    return np.array([amp[f] / np.sqrt((amp ** 2).sum()), ph + 2 * np.pi if ph < 0 else ph])


# (name, method on the Series, reference on the records matrix, expected index or None)
PER_RECORD = [
    ("center", lambda s: s.center(), lambda m: m - m.mean(1, keepdims=True), None),
    ("center0", lambda s: s.center(0), lambda m: m - m.mean(0), None),
    ("standardize", lambda s: s.standardize(), lambda m: m / m.std(1, keepdims=True), None),
    ("standardize0", lambda s: s.standardize(0), lambda m: m / m.std(0), None),
    ("zscore", lambda s: s.zscore(), lambda m: (m - m.mean(1, keepdims=True)) / m.std(1, keepdims=True),
     None),
    ("zscore0", lambda s: s.zscore(0), lambda m: (m - m.mean(0)) / m.std(0), None),
    ("squelch", lambda s: s.squelch(900), lambda m: np.where(m.max(1, keepdims=True) < 900, 0, m), None),
    ("correlate", lambda s: s.correlate(SIGNAL), lambda m: _rows(lambda r: _corr(r, SIGNAL), m), [1]),
    ("correlate2", lambda s: s.correlate(np.stack([SIGNAL, SIGNAL ** 2])),
     lambda m: _rows(lambda r: [_corr(r, SIGNAL), _corr(r, SIGNAL ** 2)], m), [0, 1]),
    ("mean_by_panel", lambda s: s.mean_by_panel(4), lambda m: m.reshape(len(m), 3, 4).mean(1), [0, 1, 2, 3]),
    ("mean_by_window", lambda s: s.mean_by_window([3, 8], 4),
     lambda m: (m[:, 1:5] + m[:, 6:10]) / 2, [0, 1, 2, 3]),
    ("subsample", lambda s: s.subsample(5), lambda m: m[:, ::5], [0, 5, 10]),
    ("downsample", lambda s: s.downsample(5), lambda m: m[:, :10].reshape(len(m), 2, 5).mean(2), [0, 1]),
    ("fourier", lambda s: s.fourier(2), lambda m: _rows(lambda r: _fourier(r, 2), m),
     ["coherence", "phase"]),
    ("convolve", lambda s: s.convolve([1, 2, 0.5]),
     lambda m: _rows(lambda r: np.convolve(r, [1, 2, 0.5], "full"), m), list(range(14))),
    ("convolve_same", lambda s: s.convolve([1, 2, 0.5, 3], "same"),
     lambda m: _rows(lambda r: np.convolve(r, [1, 2, 0.5, 3], "same"), m), list(range(12))),
    ("convolve_valid", lambda s: s.convolve([1, 2, 0.5], "valid"),
     lambda m: _rows(lambda r: np.convolve(r, [1, 2, 0.5], "valid"), m), list(range(10))),
    ("crosscorr", lambda s: s.crosscorr(SIGNAL, lag=2),
     lambda m: _rows(lambda r: _crosscorr(r, SIGNAL, 2), m), [-2, -1, 0, 1, 2]),
    ("crosscorr0", lambda s: s.crosscorr(SIGNAL),
     lambda m: _rows(lambda r: _crosscorr(r, SIGNAL, 0), m), [0]),
    ("detrend", lambda s: s.detrend(), lambda m: _rows(lambda r: _detrend(r, 1), m), None),
    ("detrend_nonlinear", lambda s: s.detrend("nonlinear", order=3),
     lambda m: _rows(lambda r: _detrend(r, 3), m), None),
    ("normalize", lambda s: s.normalize(),
     lambda m: (m - np.percentile(m, 20, 1, keepdims=True)) / (np.percentile(m, 20, 1, keepdims=True) + 0.1),
     None),
    ("normalize_mean", lambda s: s.normalize("mean", offset=1),
     lambda m: (m - m.mean(1, keepdims=True)) / (m.mean(1, keepdims=True) + 1), None),
    ("normalize_window", lambda s: s.normalize("window", window=5, perc=30),
     lambda m: _rows(lambda r: (r - percentile_filter(r, 30, 5, mode="nearest"))
                     / (percentile_filter(r, 30, 5, mode="nearest") + 0.1), m), None),
    ("normalize_window_exact", lambda s: s.normalize("window-exact", window=4, perc=50),
     lambda m: _rows(lambda r: (r - _window_exact(r, 4, 50)) / (_window_exact(r, 4, 50) + 0.1), m), None),
    ("series_mean", lambda s: s.series_mean(), lambda m: m.mean(1, keepdims=True), ["mean"]),
    ("series_median", lambda s: s.series_median(), lambda m: np.median(m, 1, keepdims=True), ["median"]),
    ("series_std", lambda s: s.series_std(), lambda m: m.std(1, keepdims=True), ["std"]),
    ("series_max", lambda s: s.series_max(), lambda m: m.max(1, keepdims=True), ["max"]),
    ("series_min", lambda s: s.series_min(), lambda m: m.min(1, keepdims=True), ["min"]),
    ("series_sum", lambda s: s.series_sum(), lambda m: m.sum(1, keepdims=True), ["sum"]),
    ("series_var", lambda s: s.series_var(), lambda m: m.var(1, keepdims=True), ["var"]),
    ("series_count", lambda s: s.series_count(), lambda m: np.full((len(m), 1), 12), ["count"]),
    ("times_matrix", lambda s: s.times(np.arange(24.0).reshape(12, 2)),
     lambda m: m @ np.arange(24.0).reshape(12, 2), [0, 1]),
    ("times_vector", lambda s: s.times(np.arange(12.0)), lambda m: (m @ np.arange(12.0))[:, None], [0]),
    ("times_scalar", lambda s: s.times(3), lambda m: m * 3, None),
    ("plus", lambda s: s.plus(2), lambda m: m + 2, None),
    ("minus_array", lambda s: s.minus(X), lambda m: m * 0, None),
    ("dottimes", lambda s: s.dottimes(2), lambda m: m * 2, None),
    ("dotdivide", lambda s: s.dotdivide(4), lambda m: m / 4, None),
    ("clip", lambda s: s.clip(100, 800), lambda m: np.clip(m, 100, 800), None),
    ("astype", lambda s: s.astype(np.float32), lambda m: m.astype(np.float32), None),
    ("map", lambda s: s.map(lambda r: r[::-1] * 2), lambda m: m[:, ::-1] * 2, None),
    ("map_scalar", lambda s: s.map(lambda r: r.sum()), lambda m: m.sum(1, keepdims=True), None),
    ("map_index", lambda s: s.map(lambda r: r[:3], index=["a", "b", "c"]),
     lambda m: m[:, :3], ["a", "b", "c"]),
    ("map_with_keys", lambda s: s.map(lambda kv: kv[1] + 10 * kv[0][0] + kv[0][1], with_keys=True),
     lambda m: m + (10 * np.repeat(np.arange(3), 4) + np.tile(np.arange(4), 3))[:, None], None),
    ("select_list", lambda s: s.select([1, 3, 7]), lambda m: m[:, [1, 3, 7]], [1, 3, 7]),
    ("select_func", lambda s: s.select(lambda i: i % 4 == 0), lambda m: m[:, ::4], [0, 4, 8]),
    ("between", lambda s: s.between(2, 5), lambda m: m[:, 2:5], [2, 3, 4]),
]


@pytest.mark.parametrize("name,method,reference,index", PER_RECORD, ids=[c[0] for c in PER_RECORD])
def test_per_record_method(name, method, reference, index, engine):
    s = series.fromarray(X, engine=engine)
    out = method(s)
    assert isinstance(out, Series) and out.mode == s.mode
    expected = reference(M)
    assert out.shape == (3, 4, expected.shape[1])
    got = out.toarray()
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-10, atol=1e-9)
    if index is not None:
        assert list(out.index) == list(index)
    elif expected.shape[1] == 12:
        np.testing.assert_array_equal(out.index, np.arange(12))


def test_dtypes_follow_numpy(engine):
    s = series.fromarray(X, engine=engine)
    assert s.squelch(900).dtype == np.uint16  # kept (Thunder: float64 only when some record squelched)
    assert s.normalize().dtype == np.float64
    assert s.astype("float32").dtype == np.float32
    assert s.plus(2).dtype == (X + 2).dtype
    assert s.center().dtype == np.float64
    with pytest.raises(TypeError, match="casting"):
        s.astype(np.uint8, casting="safe")


STATS = ["mean", "var", "std", "sum", "max", "min"]


@pytest.mark.parametrize("stat", STATS)
def test_statistics_across_records(stat, engine):
    s = series.fromarray(X, engine=engine, index=np.arange(12) * 2)
    out = getattr(s, stat)()
    assert out.shape == (1, 1, 12)
    np.testing.assert_allclose(out.toarray(), getattr(M, stat)(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(out.index, np.arange(12) * 2)  # kept (Thunder: reset)


def test_stream_stat_progress(engine):
    s = series.fromarray(F, engine=engine)
    steps = list(s.stream_stat("mean"))
    assert steps[-1][0] == steps[-1][1] == 5
    np.testing.assert_allclose(steps[-1][2], F.mean(0))


def test_reduce_count_first(engine):
    s = series.fromarray(X, engine=engine)
    assert s.count() == 12
    np.testing.assert_array_equal(s.first(), X[0, 0])
    np.testing.assert_array_equal(s.reduce(np.maximum).toarray(), X.reshape(-1, 12).max(0))


@pytest.mark.parametrize("stat", ["sum", "mean", "median", "stdev", "max", "min", "count"])
def test_stat_by_index(stat, engine):
    index = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 5])
    s = series.fromarray(X, index=index, engine=engine)
    out = s.stat_by_index(stat)
    funcs = {"sum": np.sum, "mean": np.mean, "median": np.median, "stdev": np.std, "max": np.max,
             "min": np.min, "count": np.size}
    expected = np.stack([[funcs[stat](r[index == g]) for g in (0, 1, 2, 5)] for r in M])
    np.testing.assert_allclose(out.toarray().reshape(-1, 4), expected)
    np.testing.assert_array_equal(out.index, [0, 1, 2, 5])
    named = getattr(s, {"stdev": "std"}.get(stat, stat) + "_by_index")()
    np.testing.assert_allclose(named.toarray(), out.toarray())


def test_aggregate_and_select_by_multi_index(engine):
    index = [[a, b] for a in range(3) for b in range(4)]  # 12 values, 2 levels
    s = series.fromarray(X, index=index, engine=engine)
    agg = s.aggregate_by_index(np.max, level=0)
    np.testing.assert_array_equal(agg.toarray().reshape(-1, 3), M.reshape(-1, 3, 4).max(2))
    np.testing.assert_array_equal(agg.index, [0, 1, 2])
    agg2 = s.aggregate_by_index(np.sum, level=[1])
    np.testing.assert_array_equal(agg2.toarray().reshape(-1, 4), M.reshape(-1, 3, 4).sum(1))
    sel = s.select_by_index(1, level=0)
    np.testing.assert_array_equal(sel.toarray().reshape(-1, 4), M[:, 4:8])
    np.testing.assert_array_equal(sel.index, [[1, b] for b in range(4)])
    sq = s.select_by_index(1, level=0, squeeze=True)
    np.testing.assert_array_equal(sq.index, [0, 1, 2, 3])
    filt, mask = s.select_by_index([[0, 2], [3]], level=[0, 1], filter=True, return_mask=True)
    assert mask.sum() == 10 and not mask[3] and not mask[11]
    np.testing.assert_array_equal(filt.toarray().reshape(-1, 10), M[:, mask])


def test_gramian_cov(engine):
    s = series.fromarray(F, engine=engine)
    np.testing.assert_allclose(s.gramian().toarray(), F.T @ F)
    np.testing.assert_allclose(s.cov().toarray(), np.cov(F, rowvar=False))
    assert s.gramian().shape == (16, 16)


def test_indexing_keeps_axes(engine):
    s = series.fromarray(X, engine=engine, labels=np.arange(12).reshape(3, 4))
    assert s[1, 2].shape == (1, 1, 12)
    np.testing.assert_array_equal(s[1, 2].toarray(), X[1, 2])
    np.testing.assert_array_equal(s[1].toarray(), X[1])
    np.testing.assert_array_equal(s[:, 1:3].toarray(), X[:, 1:3])
    np.testing.assert_array_equal(s[[0, 2], [1, 3]].toarray(), X[np.ix_([0, 2], [1, 3])])
    np.testing.assert_array_equal(s[-1, :, 2:5].toarray(), X[-1, :, 2:5])
    np.testing.assert_array_equal(s[[0, 2], [1, 3]].labels, [[1, 3], [9, 11]])
    with pytest.raises(IndexError, match="out of bounds"):
        s[3]
    with pytest.raises(IndexError, match="too many"):
        s[0, 0, 0, 0]


def test_filter_flatten_reshape_sample(engine):
    s = series.fromarray(X, engine=engine, labels=np.arange(12).reshape(3, 4))
    f = s.filter(lambda r: r.max() > 900)
    keep = M.max(1) > 900
    assert f.shape == (int(keep.sum()), 12)
    np.testing.assert_array_equal(f.toarray().reshape(-1, 12), M[keep])
    np.testing.assert_array_equal(f.labels, np.arange(12)[keep])
    assert s.flatten().shape == (12, 12)
    assert s.reshape(2, 6, 12).shape == (2, 6, 12)
    np.testing.assert_array_equal(s.reshape(2, 6, 12).toarray(), X.reshape(2, 6, 12))
    with pytest.raises(ValueError, match="last dimension"):
        s.reshape(3, 8, 6)
    with pytest.raises(ValueError, match="number of elements"):
        s.reshape(5, 12)
    smp = s.sample(5, seed=1)
    assert smp.shape == (5, 12)
    rows = {tuple(r) for r in M}
    assert all(tuple(r) in rows for r in smp.toarray().astype(float))


def test_tolocal_and_mode(engine):
    s = series.fromarray(X, engine=engine, index=list("abcdefghijkl"))
    local = s.tolocal()
    assert local.mode == "local"
    np.testing.assert_array_equal(local.toarray(), X)
    assert list(local.index) == list("abcdefghijkl")
    if s.mode == "local":
        assert isinstance(s.values, np.ndarray) and s.values.shape == X.shape
        with pytest.raises(NotImplementedError, match="Spark only"):
            s.cache()


def test_images_round_trip(engine):
    stack = RNG.integers(0, 60000, (7, 5, 6)).astype(np.uint16)
    s = images.fromarray(stack, engine=engine).toseries()
    assert s.shape == (5, 6, 7) and s.dtype == np.uint16
    np.testing.assert_array_equal(s.toarray(), np.moveaxis(stack, 0, -1))
    back = s.zscore().toimages()
    ref = np.moveaxis(stack, 0, -1).astype(float)
    ref = (ref - ref.mean(-1, keepdims=True)) / ref.std(-1, keepdims=True)
    np.testing.assert_allclose(back.toarray(), np.moveaxis(ref, -1, 0))


def test_errors_same_on_every_engine(engine):
    s = series.fromarray(X, engine=engine)
    with pytest.raises(ValueError, match="Length of signal"):
        s.correlate(np.ones(5))
    with pytest.raises(ValueError, match="evenly divide"):
        s.mean_by_panel(5)
    with pytest.raises(ValueError, match="method"):
        s.normalize("median")
    with pytest.raises(ValueError, match="No indices"):
        s.select([100])
    with pytest.raises(ValueError, match="sample_factor"):
        s.subsample(0)
    with pytest.raises(ValueError, match="too high"):
        s.fourier(6)
    with pytest.raises(ValueError, match="exceeds"):
        s.mean_by_window([11], 4)
    with pytest.raises(ValueError, match="shapes"):
        s.plus(np.ones((2, 12)))
    with pytest.raises(ValueError, match="Length of new index"):
        s.index = [1, 2]
    with pytest.raises(ValueError, match="Labels shape"):
        s.labels = np.arange(5)
    with pytest.raises(ValueError, match="expected 12 values"):
        s.map(lambda r: r[:3], value_shape=12, dtype=float).toarray()


def test_toseries_many_partitions_and_chunks(engine, monkeypatch):
    from napari_thunder.engines import transpose

    monkeypatch.setattr(transpose, "SPARK_TILE_BYTES", 40 * 7 * 2)  # several column tiles per partition
    stack = RNG.integers(0, 60000, (40, 9, 11)).astype(np.uint16)
    imgs = images.fromarray(stack, npartitions=3, engine=engine)
    s = imgs.toseries()
    np.testing.assert_array_equal(s.toarray(), np.moveaxis(stack, 0, -1))
    np.testing.assert_array_equal(s[4, 7].toarray(), stack[:, 4, 7])
    np.testing.assert_allclose(s.mean().toarray(), np.moveaxis(stack, 0, -1).reshape(-1, 40).mean(0))
    np.testing.assert_array_equal(s.toimages().toarray(), stack)
    np.testing.assert_array_equal(s.subsample(3).toimages().toarray(), stack[::3])


def test_timeseries_repr_and_conversions(engine):
    from napari_thunder import TimeSeries

    s = series.fromarray(X, engine=engine, index=np.arange(12) + 100)
    ts = s.totimeseries()
    assert isinstance(ts, TimeSeries) and ts.shape == X.shape
    np.testing.assert_array_equal(ts.index, np.arange(12) + 100)
    assert isinstance(ts.zscore(), TimeSeries)  # methods keep the class
    assert type(ts.toseries()) is Series
    text = repr(s)
    assert text.startswith("Series\nmode: ") and "shape: (3, 4, 12)" in text and "dtype: uint16" in text
    assert np.asarray(s).shape == X.shape


def test_local_toseries_of_lazy_and_file_stacks(tmp_path):
    import dask.array as da
    import tifffile

    stack = RNG.integers(0, 60000, (9, 6, 7)).astype(np.uint16)
    lazy = images.fromarray(da.from_array(stack, chunks=(2, 6, 7)))
    np.testing.assert_array_equal(lazy.toseries().toarray(), np.moveaxis(stack, 0, -1))
    for i, frame in enumerate(stack):
        tifffile.imwrite(tmp_path / f"f{i:02d}.tif", frame)
    files = images.fromtif(str(tmp_path))
    s = files.toseries()
    np.testing.assert_array_equal(s.toarray(), np.moveaxis(stack, 0, -1))
    np.testing.assert_array_equal(s.toimages().toarray(), stack)
    # records of an in-memory stack transpose back without a copy of the stack
    mem = images.fromarray(stack).toseries()
    np.testing.assert_array_equal(mem.toimages().toarray(), stack)
    np.testing.assert_array_equal(mem[2:4].toimages().toarray(), stack[:, 2:4])


def test_image_metadata_survive_toseries_and_toimages(engine):
    """Pixel sizes, units and axis names come back from the pixel series; the frame interval
    only while the records keep their length; records of other pixels get the defaults."""
    from napari_thunder.metadata import Axis

    rng = np.random.default_rng(5)
    movie = rng.normal(10, 2, (8, 3, 4))
    imgs = images.fromarray(movie, engine=engine).with_metadata(scale=(0.5, 2.0, 0.25),
                                                                units=("second", "micrometer", "micrometer"))
    ser = imgs.toseries()
    back = ser.zscore().toimages()
    assert back.metadata == imgs.metadata
    mean, std = movie.mean(axis=0), movie.std(axis=0)
    np.testing.assert_allclose(back.toarray(), (movie - mean) / std, rtol=1e-12)
    assert ser.totimeseries().toimages().metadata == imgs.metadata
    assert ser.tolocal().toimages().metadata == imgs.metadata
    blocks = imgs.toblocks((2, 2))
    assert blocks.toimages().metadata == imgs.metadata
    assert blocks.toseries().toimages().metadata == imgs.metadata
    halved = blocks.map(lambda b: b[::2]).toimages()
    assert halved.metadata.axes[0] == Axis("t") and halved.metadata.axes[1:] == imgs.metadata.axes[1:]
    np.testing.assert_array_equal(halved.toarray(), movie[::2])
    part = ser.select(range(2, 6)).toimages()               # 4 of the 8 frames: interval unknown
    assert part.metadata.axes[0] == Axis("t")
    assert part.metadata.axes[1:] == imgs.metadata.axes[1:]
    np.testing.assert_array_equal(part.toarray(), movie[2:6])
    assert ser.series_mean().toimages().metadata.axes[1:] == imgs.metadata.axes[1:]
    assert ser[0:2].toimages().metadata.axes[1].scale == 1.0  # other pixels: the defaults
    assert series.fromarray(movie.transpose(1, 2, 0), engine=engine).toimages().metadata.axes[1].scale == 1.0


def test_series_of_no_records_to_images_is_one_clear_error(engine):
    """An emptied Series (a filter that keeps nothing) back to images: the same ValueError on every
    engine (was a numpy reshape error, a RuntimeError on Spark, ZeroDivisionError on distributed)."""
    empty = series.fromarray(M, engine=engine).filter(lambda record: False)
    assert empty.count() == 0
    with pytest.raises(ValueError, match=r"^no records to turn into images \(count\(\) is 0\)"):
        empty.toimages()


def test_fourier_negative_frequency_says_so():
    s = series.fromarray(M)
    with pytest.raises(ValueError, match="freq must be at least 0, got -1"):
        s.fourier(-1)
    with pytest.raises(ValueError, match="too high"):
        s.fourier(6)
    np.testing.assert_allclose(s.fourier(0).toarray()[:, 0], 0.0, atol=1e-12)  # the mean is removed


def test_first_of_no_records_names_the_series(engine):
    empty = series.fromarray(M, engine=engine).filter(lambda record: False)
    with pytest.raises(ValueError, match=r"^no records: first\(\) of an empty Series"):
        empty.first()


@pytest.mark.parametrize("call, error, words", [
    (lambda s: s.subsample(True), TypeError, "sample_factor"),
    (lambda s: s.subsample(1.5), ValueError, "sample_factor"),
    (lambda s: s.downsample(0), ValueError, "sample_factor"),
    (lambda s: s.mean_by_panel(1.5), ValueError, "length"),      # was int(1.5): panels of 1, silently
    (lambda s: s.mean_by_panel(True), TypeError, "length"),
    (lambda s: s.mean_by_window([5], 2.5), ValueError, "window"),
    (lambda s: s.mean_by_window([5], 0), ValueError, "window"),
    (lambda s: s.sample(True), TypeError, "n must"),
    (lambda s: s.sample(2.5), ValueError, "n must"),
    (lambda s: s.squelch("a"), TypeError, "threshold"),
    (lambda s: s.normalize(perc="a"), TypeError, "perc"),
    (lambda s: s.normalize("window", window=2.5), ValueError, "window"),
    (lambda s: s.detrend("nonlinear", order=1.5), ValueError, "order"),
    (lambda s: s.detrend("nonlinear", order=True), TypeError, "order"),
    (lambda s: s.center(True), TypeError, "axis"),
    (lambda s: s.zscore(1.0 + 0.5), ValueError, "axis"),
    (lambda s: s.crosscorr(np.arange(12.0), lag=-1), ValueError, "lag"),
    (lambda s: s.crosscorr(np.arange(12.0), lag=1.5), ValueError, "lag"),
    (lambda s: s.crosscorr(np.ones(5)), ValueError, "Size of signal"),
])
def test_series_arguments_follow_the_validation_policy(call, error, words):
    """Bools are TypeErrors, fractions ValueErrors, every message names the argument
    (several were truncated with int() or failed inside numpy)."""
    s = series.fromarray(M)
    with pytest.raises(error, match=words):
        call(s)


def test_checked_series_arguments_still_accept_integral_values():
    s = series.fromarray(M)
    panels = M.reshape(-1, 2, 6).mean(axis=1)
    np.testing.assert_allclose(s.mean_by_panel(6.0).toarray(), panels)
    np.testing.assert_allclose(s.subsample(np.int64(3)).toarray(), M[:, ::3])
    np.testing.assert_allclose(s.center(0).toarray(), M - M.mean(axis=0))
