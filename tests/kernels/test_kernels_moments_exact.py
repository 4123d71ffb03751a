"""Exact integer moments (int64 sums, cache-blocked compiled loops) vs numpy."""

import math
import pickle
from fractions import Fraction

import numpy as np
import pytest

from napari_thunder.kernels import block_moments, moments

INT_DTYPES = [np.uint8, np.int8, np.uint16, np.int16]


def _stack(dtype, shape, seed=0):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)


def _fold(blocks, dtype, stats, merge=True):
    acc = moments.MomentAccumulator(blocks[0].shape[1:], dtype, stats)
    for block in blocks:
        if merge:
            acc.merge(acc.empty().add(block))
        else:
            acc.add(block)
    return acc


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    if request.param == "compiled":
        pytest.importorskip("numba")
        monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    else:
        monkeypatch.setitem(block_moments.JIT_STATE, "module", None)
    return request.param


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("merge", [True, False])
def test_integer_stats_match_numpy(path, dtype, merge):
    # 66002 pixels: more than one tile of the compiled loops plus a remainder;
    # 23 frames: not a multiple of 4
    stack = _stack(dtype, (23, 2, 33001))
    acc = _fold([stack[:9], stack[9:10], stack[10:]], dtype, moments.STATS, merge)
    wide = stack.astype(np.float64)
    np.testing.assert_array_equal(acc.finalize("sum"), stack.sum(axis=0))
    assert acc.finalize("sum").dtype == stack.sum(axis=0).dtype
    np.testing.assert_array_equal(acc.finalize("min"), stack.min(axis=0))
    np.testing.assert_array_equal(acc.finalize("max"), stack.max(axis=0))
    np.testing.assert_array_equal(acc.finalize("mean"), stack.mean(axis=0))
    np.testing.assert_allclose(acc.finalize("var"), wide.var(axis=0), rtol=1e-13)
    np.testing.assert_allclose(acc.finalize("std"), wide.std(axis=0), rtol=1e-13)


def test_var_is_the_exact_integer_result_rounded():
    from fractions import Fraction

    stack = _stack(np.uint16, (37, 2, 3), seed=2)
    got = _fold([stack[:20], stack[20:]], np.uint16, ("var",)).finalize("var")
    for index in np.ndindex(2, 3):
        x = [int(v) for v in stack[(slice(None),) + index]]
        n = len(x)
        exact = Fraction(n * sum(v * v for v in x) - sum(x) ** 2, n * n)
        assert abs(Fraction(float(got[index])) - exact) <= abs(exact) * Fraction(1, 2**51)


@pytest.mark.parametrize("dtype", [np.uint16, np.int8])
def test_groups_spill_into_float_moments(path, monkeypatch, dtype):
    # a tiny group limit: blocks split across groups, merges of spilled partials
    monkeypatch.setattr(block_moments, "exact_group_limit", lambda dtype: 5)
    stack = _stack(dtype, (41, 3, 4), seed=3)
    wide = stack.astype(np.float64)
    for merge in (True, False):
        acc = _fold([stack[:3], stack[3:17], stack[17:18], stack[18:]], dtype,
                    ("mean", "var", "sum"), merge)
        assert acc.base is not None
        np.testing.assert_allclose(acc.finalize("var"), wide.var(axis=0), rtol=1e-12)
        np.testing.assert_array_equal(acc.finalize("sum"), stack.sum(axis=0))
        np.testing.assert_array_equal(acc.finalize("mean"), stack.mean(axis=0))
    left = _fold([stack[:23]], dtype, ("var",))
    right = _fold([stack[23:]], dtype, ("var",))
    np.testing.assert_allclose(left.merge(right).finalize("var"), wide.var(axis=0), rtol=1e-12)


def test_group_limits_keep_int64_exact():
    for dtype in (np.uint16, np.int16, np.uint8, np.int8, np.bool_):
        n = block_moments.exact_group_limit(np.dtype(dtype))
        largest = 1 if dtype == np.bool_ else max(abs(int(np.iinfo(dtype).min)), int(np.iinfo(dtype).max))
        assert n * largest * largest < 2**63 and n < 2**31  # S2 in int64; the limbs' bound
        narrow = block_moments.narrow_group_limit(np.dtype(dtype))
        assert narrow * narrow * largest * largest < 2**62  # n * S2 in int64
    assert block_moments.exact_group_limit(np.dtype(np.uint16)) == 2**31 - 1
    assert block_moments.narrow_group_limit(np.dtype(np.uint16)) == 32768


@pytest.mark.parametrize("n", [32769, 262144, 10**8, 2**31 - 1])
def test_m2_numerator_past_the_narrow_limit_is_the_exact_integer_rounded(n):
    # sums of n uint16 frames up to the int64 bound of S2: n * S2 - S1**2
    # reaches 2**94; compared with Python's integers
    rng = np.random.default_rng(n % 1000)
    top = min(n * 65535, math.isqrt((2**63 - 1) * n))  # S1**2 / n <= S2 < 2**63
    s1 = np.concatenate([rng.integers(0, top, 200), [0, 1, top, n * 65535 // 2]]).astype(np.int64)
    s1 = np.minimum(s1, top)
    floor_s2 = -(-(s1.astype(object) ** 2) // n)  # Cauchy-Schwarz: S2 >= S1**2 / n
    room = [min(2**63 - 1, n * 65535**2) - int(f) for f in floor_s2]
    s2 = np.array([int(f) + int(rng.integers(0, max(r, 1))) if i % 3 else int(f)
                   for i, (f, r) in enumerate(zip(floor_s2, room))], dtype=np.int64)
    got = block_moments.m2_numerator(n, s1, s2, np.dtype(np.uint16))
    for a, b, value in zip(s1.tolist(), s2.tolist(), got.tolist()):
        exact = n * b - a * a
        assert exact >= 0
        assert abs(Fraction(value) - exact) <= 2 * np.spacing(float(exact)), (a, b)


def test_m2_numerator_within_the_narrow_limit_is_the_int64_result():
    s1 = np.array([5, -7, 123456], np.int64)
    s2 = np.array([30, 60, 10**10], np.int64)
    got = block_moments.m2_numerator(20, s1, s2, np.dtype(np.int16))
    np.testing.assert_array_equal(got, (s2 * 20 - s1 * s1).astype(np.float64))


def test_extreme_values(path):
    stack = np.full((9, 2, 4100), 65535, np.uint16)
    stack[::3] = 0
    acc = _fold([stack[:4], stack[4:]], np.uint16, moments.STATS)
    np.testing.assert_array_equal(acc.finalize("sum"), stack.sum(axis=0))
    np.testing.assert_array_equal(acc.finalize("var"), stack.astype(np.float64).var(axis=0))
    low = np.full((6, 4100), -128, np.int8)
    acc = _fold([low], np.int8, moments.STATS)
    np.testing.assert_array_equal(acc.finalize("sum"), low.sum(axis=0))
    np.testing.assert_array_equal(acc.finalize("var"), np.zeros(4100))


def test_bool_frames(path):
    mask = _stack(np.uint8, (15, 3, 5)) > 100
    acc = _fold([mask[:7], mask[7:]], np.bool_, moments.STATS)
    for stat in moments.STATS:
        ref = getattr(mask, stat)(axis=0)
        got = acc.finalize(stat)
        assert got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=1e-13)


def test_partial_pickles_and_merges(path):
    stack = _stack(np.int16, (12, 4, 4), seed=6)
    part = pickle.loads(pickle.dumps(_fold([stack[:5]], np.int16, moments.STATS)))
    total = part.merge(_fold([stack[5:]], np.int16, moments.STATS))
    np.testing.assert_allclose(total.finalize("var"), stack.astype(np.float64).var(axis=0), rtol=1e-13)
    np.testing.assert_array_equal(total.finalize("max"), stack.max(axis=0))


def test_compiled_and_numpy_paths_give_the_same_bits(monkeypatch):
    pytest.importorskip("numba")
    stack = _stack(np.uint16, (30, 5, 900), seed=7)

    def run():
        acc = _fold([stack[:11], stack[11:]], np.uint16, moments.STATS)
        return [acc.finalize(stat) for stat in moments.STATS]

    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    compiled = run()
    monkeypatch.setitem(block_moments.JIT_STATE, "module", None)
    plain = run()
    for a, b in zip(compiled, plain):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("stats", [("mean",), ("sum",), ("mean", "sum", "min")])
def test_repeated_adds_without_squares(path, stats):
    stack = _stack(np.uint16, (20, 3, 5), seed=8)
    acc = moments.MomentAccumulator((3, 5), np.uint16, stats)
    for i in range(0, 20, 3):
        acc = acc.add(stack[i:i + 3])
    for stat in stats:
        np.testing.assert_array_equal(acc.finalize(stat), getattr(stack, stat)(axis=0))


def test_compiled_finalize_equals_numpy_bits(monkeypatch):
    pytest.importorskip("numba")
    stack = _stack(np.uint16, (40, 3, 7), seed=9)
    acc = _fold([stack], np.uint16, ("var", "std"))
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    compiled = acc.finalize("var"), acc.finalize("std")
    monkeypatch.setitem(block_moments.JIT_STATE, "module", None)
    plain = acc.finalize("var"), acc.finalize("std")
    for a, b in zip(compiled, plain):
        np.testing.assert_array_equal(a, b)


def test_finalize_results_are_not_views_of_the_state():
    stack = _stack(np.int16, (6, 2, 3), seed=10)
    acc = _fold([stack], np.int16, ("sum", "mean"))
    total = acc.finalize("sum")
    total[...] = 0
    np.testing.assert_array_equal(acc.finalize("sum"), stack.sum(axis=0))


@pytest.mark.parametrize("dtype, value, frames", [(np.uint16, 65535, 40000), (np.int16, -32768, 70000),
                                                  (np.uint8, 255, 9000)])
def test_extreme_frames_past_the_int32_partial_limit(path, dtype, value, frames):
    # every frame at the dtype's extreme, more frames than the int32 partial
    # sums hold (uint16: 32768, int16: 65535): they must be settled in time
    stack = np.full((frames, 3, 5), value, dtype=dtype)
    stack[::7, 1, 2] = 0  # one pixel varies
    acc = moments.MomentAccumulator((3, 5), dtype, ("sum", "mean", "var"))
    plain = moments.MomentAccumulator((3, 5), dtype, ("sum",))  # one group: no spill
    for start in range(0, frames, 3001):  # blocks that straddle the limit
        acc.add(stack[start:start + 3001])
        plain.add(stack[start:start + 3001])
    wide = stack.astype(np.float64)
    expected_sum = stack.sum(axis=0, dtype=np.int64)
    assert expected_sum[0, 0] == value * frames  # beyond int32
    np.testing.assert_array_equal(acc.finalize("sum"), expected_sum)
    np.testing.assert_array_equal(plain.finalize("sum"), expected_sum)
    np.testing.assert_array_equal(acc.finalize("mean"), stack.mean(axis=0))
    # the exact variance, from Python integers (numpy's two-pass float64
    # result is itself ~1e-12 off here): ours is n * S2 - S1**2 formed
    # exactly past the int64 bound of n * S2, then divided twice
    column = [int(v) for v in stack[:, 1, 2]]
    n, s1, s2 = len(column), sum(column), sum(v * v for v in column)
    exact = float(Fraction(n * s2 - s1 * s1, n * n))
    var = acc.finalize("var")
    assert abs(var[1, 2] - exact) <= 4 * np.spacing(exact)
    np.testing.assert_allclose(var, wide.var(axis=0), rtol=2e-12, atol=0)
    assert var[0, 0] == 0.0


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("shape", [(7, 3, 5), (5, 1, 1), (3, 257, 3), (9, 1, 65537)])
def test_odd_shapes_match_numpy(path, dtype, shape):
    # frame counts below / not a multiple of the 4-frame step, pixel counts
    # below and just past one tile of the compiled loop
    stack = _stack(dtype, shape, seed=11)
    wide = stack.astype(np.float64)
    for stats in (("sum",), ("mean",), ("var", "sum", "mean")):
        acc = _fold([stack[:2], stack[2:]], dtype, stats, merge=False)
        for stat in stats:
            if stat == "var":
                np.testing.assert_allclose(acc.finalize("var"), wide.var(axis=0), rtol=1e-13)
            else:  # exact
                np.testing.assert_array_equal(acc.finalize(stat), getattr(stack, stat)(axis=0))


def test_partial_sums_survive_pickling_and_merging(path):
    # a partial accumulator (int32 sums not yet settled) pickled as Spark does,
    # then merged: nothing lost
    stack = _stack(np.uint16, (30, 4, 6), seed=12)
    first = moments.MomentAccumulator((4, 6), np.uint16, ("sum", "std")).add(stack[:13])
    second = pickle.loads(pickle.dumps(moments.MomentAccumulator((4, 6), np.uint16, ("sum", "std"))
                                       .add(stack[13:])))
    merged = first.merge(second)
    np.testing.assert_array_equal(merged.finalize("sum"), stack.sum(axis=0))
    np.testing.assert_allclose(merged.finalize("std"), stack.astype(np.float64).std(axis=0), rtol=1e-13)
    # finalize on a partial, then keep adding (the GUI's running estimates)
    acc = moments.MomentAccumulator((4, 6), np.uint16, ("sum",)).add(stack[:10])
    np.testing.assert_array_equal(acc.finalize("sum"), stack[:10].sum(axis=0))
    acc.add(stack[10:])
    np.testing.assert_array_equal(acc.finalize("sum"), stack.sum(axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_frames_keep_the_two_pass_moments(path, dtype):
    # floats never take the integer loops: mean/var within 1e-12 of numpy's
    # two-pass float64 result, sum as numpy's float64 sum
    rng = np.random.default_rng(13)
    stack = (rng.standard_normal((37, 5, 7)) * 3 + 1e3).astype(dtype)
    wide = stack.astype(np.float64)
    acc = _fold([stack[:11], stack[11:]], dtype, moments.STATS)
    assert acc.g1 is None and acc.p1 is None
    # float32 results: float64 moments rounded once to float32 (half an ulp)
    rtol = 1e-12 if dtype == np.float64 else 6e-8
    assert acc.finalize("mean").dtype == dtype
    np.testing.assert_allclose(acc.finalize("mean"), wide.mean(axis=0), rtol=rtol)
    np.testing.assert_allclose(acc.finalize("var"), wide.var(axis=0), rtol=rtol)
    np.testing.assert_array_equal(acc.finalize("min"), stack.min(axis=0))
