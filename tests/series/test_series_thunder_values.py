"""Literal values computed by Thunder 1.4.2 (Python 3.7, local mode) on the same
records, so these tests need no Thunder: record 5 of ``X`` below."""

import numpy as np
import pytest

from napari_thunder import series

X = np.random.RandomState(5).randint(0, 1000, (3, 4, 12)).astype("uint16")
SIG = np.sin(np.arange(12) / 2.0)
MI = np.array([[a, b] for a in range(3) for b in range(4)])

THUNDER = {
    "normalize": (lambda s: s.normalize(), [
        -0.2685231228, 0.3630034809, 3.3814022874, 0.2187966186, -0.3281949279, 3.3167578319,
        0.8105420189, 2.0885131775, 2.3321730482, -0.0546991546, 2.8741919443, 1.4420686226]),
    "normalize_window": (lambda s: s.normalize("window", window=5, perc=30), [
        0.0, 0.8633582597, 4.9898028552, 0.0, -0.4487964096, 2.5418196654, 0.0, 0.7058500412,
        0.8404284537, -0.6129097943, 0.5864386072, 0.0]),
    "detrend_nonlinear": (lambda s: s.detrend("nonlinear", order=3), [
        147.0, 149.7242757243, 669.5274725275, -22.8196248196, -164.5462315462, 555.1184371184,
        49.9451659452, 311.7047397047, 365.1679431679, -116.8944388944, 457.2883782884, 135.4871794872]),
    "crosscorr": (lambda s: s.crosscorr(SIG, lag=2),
                  [-0.2011571905, -0.2057173062, -0.1266675625, -0.0833833924, -0.0599361602]),
    "fourier": (lambda s: s.fourier(2), [0.066667607, 0.1944128316]),
    "mean_by_window": (lambda s: s.mean_by_window([3, 8], 5), [319.0, 751.0, 457.5, 162.5, 823.5]),
}


@pytest.mark.parametrize("name", sorted(THUNDER))
def test_equals_thunder_1_4_2(name, engine):
    method, expected = THUNDER[name]
    out = method(series.fromarray(X, engine=engine))
    np.testing.assert_allclose(out.toarray().reshape(12, -1)[5], expected, rtol=1e-8, atol=1e-9)


def test_multi_index_like_thunder():
    s = series.fromarray(X, index=MI)
    sel = s.select_by_index(1, level=0)
    assert sel.index.tolist() == [[1, 0], [1, 1], [1, 2], [1, 3]]
    assert sel.toarray()[0, 0].tolist() == [118, 400, 73, 8]
    assert s.select_by_index(1, level=0, squeeze=True).index.tolist() == [0, 1, 2, 3]
    agg = s.aggregate_by_index(np.max, level=0)
    assert agg.index.tolist() == [0, 1, 2] and agg.toarray()[0, 0].tolist() == [998, 400, 958]
    filt = s.select_by_index([[0, 2], [3]], level=[0, 1], filter=True)
    assert filt.toarray()[0, 0].tolist() == [867, 206, 701, 118, 400, 73, 8, 740, 743, 958]
    np.testing.assert_allclose(s.mean_by_index(level=1).toarray()[0, 0],
                               [575.0, 449.6666666666667, 577.3333333333334, 472.3333333333333])


def test_where_thunder_differs():
    s = series.fromarray(X)
    # Thunder's local uint16 gramian overflowed (dot of uint16); ours is float64
    m = X.reshape(12, 12).astype(float)
    np.testing.assert_array_equal(s.flatten().gramian().toarray(), m.T @ m)
    # reduce keeps one axis per key axis, like mean() (Thunder local gave (1, 12))
    assert s.reduce(np.maximum).shape == (1, 1, 12)
    # window-exact fails in Thunder on Python 3 (float slice bounds); ours: the centred window
    out = s.normalize("window-exact", window=3, perc=50).toarray().reshape(12, 12)[5]
    r = X.reshape(12, 12)[5].astype(float)
    base = np.array([np.median(r[max(0, i - 1): i + 2]) for i in range(12)])
    np.testing.assert_allclose(out, (r - base) / (base + 0.1))
