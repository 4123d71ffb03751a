"""The compiled (numba) moment loops give exactly the numpy path's bits."""

import numpy as np
import pytest

from napari_thunder.kernels import block_moments, moments

pytest.importorskip("numba")


@pytest.fixture
def numpy_only(monkeypatch):
    """Run the numpy path: no compiled loops."""
    monkeypatch.setitem(block_moments.JIT_STATE, "module", None)


def _accumulate(blocks, dtype, stats):
    acc = moments.MomentAccumulator(blocks[0].shape[1:], dtype, stats)
    for block in blocks:
        acc.merge(acc.empty().add(block))
    return {stat: acc.finalize(stat) for stat in stats}


def _stack(dtype, frames=1100):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(3)
    return rng.integers(info.min, int(info.max) + 1, size=(frames, 8, 12), dtype=dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16])
@pytest.mark.parametrize("stats", [("mean",), ("sum",), ("var",), ("std",), moments.STATS])
def test_compiled_equals_numpy_bits(monkeypatch, dtype, stats):
    stack = _stack(dtype)
    blocks = [stack[:1050], stack[1050:]]  # a block with more than one exact group
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    assert block_moments.jit_loops(stack.reshape(len(stack), -1)) is not None
    compiled = _accumulate(blocks, dtype, stats)
    monkeypatch.setitem(block_moments.JIT_STATE, "module", None)
    plain = _accumulate(blocks, dtype, stats)
    for stat in stats:
        assert compiled[stat].dtype == plain[stat].dtype
        np.testing.assert_array_equal(compiled[stat], plain[stat])


@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
def test_compiled_matches_numpy_reference(monkeypatch, dtype):
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    stack = _stack(dtype)
    result = _accumulate([stack[:300], stack[300:]], dtype, moments.STATS)
    wide = stack.astype(np.float64)
    np.testing.assert_allclose(result["mean"], wide.mean(axis=0), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(result["var"], wide.var(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(result["sum"], stack.sum(axis=0))


def test_small_blocks_and_other_dtypes_skip_the_compiled_loops():
    assert block_moments.jit_loops(np.zeros((2, 3), np.uint16)) is None
    big = block_moments.JIT_MIN_VALUES
    assert block_moments.jit_loops(np.zeros((big, 1), np.float32)) is None
    assert block_moments.jit_loops(np.zeros((big, 1), np.int32)) is None
    assert block_moments.jit_loops(np.zeros((big, 1), np.bool_)) is None


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("NAPARI_THUNDER_NO_JIT", "1")
    monkeypatch.delitem(block_moments.JIT_STATE, "module", raising=False)
    assert block_moments.jit_loops(np.zeros((block_moments.JIT_MIN_VALUES, 1), np.uint16)) is None
    monkeypatch.delenv("NAPARI_THUNDER_NO_JIT")
    monkeypatch.delitem(block_moments.JIT_STATE, "module")
    assert block_moments.jit_loops(np.zeros((block_moments.JIT_MIN_VALUES, 1), np.uint16)) is not None


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("value_shape", [(40, 36), (6, 10, 12)])
def test_compiled_localcorr_equals_numpy_path(monkeypatch, dtype, value_shape):
    from napari_thunder.kernels import correlation

    rng = np.random.default_rng(5)
    stack = (rng.standard_normal((23,) + value_shape) * 40 + 500).astype(dtype)
    corner = (0,) * len(value_shape)
    stack[(slice(None),) + corner] = stack[(0,) + corner]  # a constant pixel: NaN either way

    def run():
        acc = correlation.LocalCorrAccumulator(value_shape, 2)
        return acc.add(stack[:10]).merge(acc.empty().add(stack[10:])).finalize()

    monkeypatch.setattr(correlation, "_JIT_MIN_VALUES", 1)
    assert correlation._jit_loops(stack) is not None
    compiled = run()
    monkeypatch.setitem(block_moments.JIT_STATE, "module", None)
    plain = run()
    assert np.isnan(compiled[corner]) and np.isnan(plain[corner])
    np.testing.assert_allclose(compiled, plain, rtol=0, atol=1e-12)


def test_compiled_chan_merge_equals_numpy_bits(monkeypatch):
    rng = np.random.default_rng(9)
    p = block_moments.JIT_MIN_VALUES // 4
    parts = [(rng.standard_normal(p) * 3 + 1e4, rng.random(p) * 50) for _ in range(2)]

    def merged():
        mean_a, m2_a = parts[0][0].copy(), parts[0][1].copy()
        block_moments.chan_merge(7, mean_a, m2_a, 13, parts[1][0], parts[1][1])
        return mean_a, m2_a

    assert block_moments.jit_module() is not None
    compiled = merged()
    monkeypatch.setitem(block_moments.JIT_STATE, "module", None)
    plain = merged()
    np.testing.assert_array_equal(compiled[0], plain[0])
    np.testing.assert_array_equal(compiled[1], plain[1])


def test_compiled_comoments_merge_equals_numpy_bits(monkeypatch):
    from napari_thunder.kernels import correlation

    rng = np.random.default_rng(10)
    p = correlation._JIT_MERGE_PIXELS + 3
    spread = ((3, 1e4), (2, -7), (50, 900), (40, 300), (9, 1))  # means x, y; cxx, cyy, cxy
    sets = [tuple(rng.standard_normal(p) * s + o for s, o in spread) for _ in range(2)]

    def merged():
        acc = correlation.LocalCorrAccumulator((p,), 2)
        acc._merge_moments(7, *(a.copy() for a in sets[0]))
        acc._merge_moments(13, *sets[1])
        return acc.mean_x, acc.mean_y, acc.cxx, acc.cyy, acc.cxy

    assert block_moments.jit_module() is not None
    compiled = merged()
    monkeypatch.setitem(block_moments.JIT_STATE, "module", None)
    plain = merged()
    for got, expected in zip(compiled, plain):
        np.testing.assert_array_equal(got, expected)
    # an independent reference: the co-moments of the union of 7 + 13 equal-weight sets
    n_a, n_b = 7, 13
    dx = sets[1][0] - sets[0][0]
    np.testing.assert_allclose(compiled[2], sets[0][2] + sets[1][2] + dx * dx * n_a * n_b / 20, rtol=1e-14)


@pytest.mark.parametrize("dtype, work", [(np.uint16, np.float32), (np.int16, np.float32),
                                         (np.float64, np.float64), (np.float32, np.float64)])
@pytest.mark.parametrize("shape", [(4, 17, 23), (3, 2, 3), (2, 1, 6), (2, 9, 1)])
@pytest.mark.parametrize("neighborhood", [0, 1, 2, 3])
def test_compiled_box_sum_equals_numpy_box_sum(dtype, work, shape, neighborhood):
    from napari_thunder.kernels import _jit, correlation

    rng = np.random.default_rng(2)
    frames = (rng.standard_normal(shape) * 1000).astype(dtype)
    out = np.empty(shape, work)
    _jit.box_sum_2d(frames, neighborhood, out)
    buffers = (np.empty(shape, work), np.empty(shape, work))
    np.testing.assert_array_equal(out, correlation.box_sum(frames, neighborhood, buffers))
