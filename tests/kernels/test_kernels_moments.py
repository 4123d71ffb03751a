"""MomentAccumulator / ReduceAccumulator vs numpy on the whole stack."""

import functools
import pickle
import warnings

import numpy as np
import pytest

from napari_thunder.kernels import block_moments
from napari_thunder.kernels.moments import STATS, MomentAccumulator, ReduceAccumulator

DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]
SHAPES = [(37, 13, 11), (23, 6, 5, 4)]


def make_stack(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 50 + 10).astype(dtype)


def one_pass(stack, stats=STATS):
    return MomentAccumulator(stack.shape[1:], stack.dtype, stats).add(stack, 0)


def split_pass(stack, bounds, stats=STATS):
    """Accumulate each [a, b) piece separately, then merge in a tree-ish order."""
    acc = MomentAccumulator(stack.shape[1:], stack.dtype, stats)
    parts = [acc.empty().add(stack[a:b], a) for a, b in zip(bounds[:-1], bounds[1:])]
    # merge pairwise (like a tree reduction), through pickle like Spark
    while len(parts) > 1:
        merged = []
        for i in range(0, len(parts), 2):
            if i + 1 < len(parts):
                left = pickle.loads(pickle.dumps(parts[i]))
                merged.append(left.merge(pickle.loads(pickle.dumps(parts[i + 1]))))
            else:
                merged.append(parts[i])
        parts = merged
    return acc.empty().merge(parts[0])


def tolerance(dtype):
    return dict(rtol=2e-6, atol=0) if np.dtype(dtype) == np.float32 else dict(rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_one_pass_matches_numpy(shape, dtype):
    stack = make_stack(shape, dtype)
    acc = one_pass(stack)
    for stat in STATS:
        got = acc.finalize(stat)
        ref = getattr(stack, stat)(axis=0)
        assert got.dtype == ref.dtype, stat
        assert got.shape == shape[1:]
        if stat in ("sum", "min", "max") and np.issubdtype(dtype, np.integer):
            np.testing.assert_array_equal(got, ref)
        elif stat in ("mean", "var", "std") and np.issubdtype(dtype, np.integer):
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
        elif dtype == np.float32:
            # ours is float64 inside, rounded once: compare with the float64 computation
            # (numpy's float32 accumulation is the less accurate of the two)
            exact = getattr(stack.astype(np.float64), stat)(axis=0)
            np.testing.assert_allclose(got, exact, rtol=1e-6, atol=1e-6 * np.abs(exact).max(), err_msg=stat)
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(exact).max(), err_msg=stat)
        else:
            np.testing.assert_allclose(got, ref, **tolerance(dtype), err_msg=stat)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "bounds", [[0, 1, 37], [0, 10, 11, 30, 37], list(range(38)), [0, 36, 37], [0, 0, 5, 37]]
)
def test_merge_of_partials_equals_one_pass(dtype, bounds):
    stack = make_stack((37, 9, 7), dtype, seed=3)
    whole = one_pass(stack)
    merged = split_pass(stack, bounds)
    assert merged.count == 37
    for stat in STATS:
        a, b = whole.finalize(stat), merged.finalize(stat)
        assert a.dtype == b.dtype
        if stat in ("sum", "min", "max"):
            if np.issubdtype(dtype, np.integer):
                np.testing.assert_array_equal(a, b)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-13)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-12)


def test_many_frames_cross_group_and_tile_boundaries(monkeypatch):
    # small tiles/groups so a modest stack crosses every boundary of the tiling
    monkeypatch.setattr(block_moments, "TILE_FRAMES", 4)
    monkeypatch.setattr(block_moments, "TILE_PIXELS", 7)
    monkeypatch.setattr(block_moments, "_EXACT_GROUP", 8)
    for dtype in (np.uint16, np.float64):
        stack = make_stack((45, 6, 5), dtype, seed=5)
        acc = one_pass(stack)
        np.testing.assert_allclose(acc.finalize("var"), stack.var(axis=0), rtol=1e-12)
        np.testing.assert_allclose(acc.finalize("mean"), stack.mean(axis=0), rtol=1e-12)


def test_large_offset_small_variance():
    # 1e6 + tiny noise: the naive E[x^2]-E[x]^2 formula would lose every digit
    rng = np.random.default_rng(1)
    stack = 1e6 + rng.standard_normal((200, 8, 8)) * 1e-3
    ref_var = ((stack - stack.mean(axis=0)) ** 2).mean(axis=0)
    acc = split_pass(stack, [0, 17, 64, 150, 200], stats=("var", "std", "mean"))
    np.testing.assert_allclose(acc.finalize("var"), ref_var, rtol=1e-7)
    np.testing.assert_allclose(acc.finalize("std"), np.sqrt(ref_var), rtol=1e-7)
    naive = (stack ** 2).mean(axis=0) - stack.mean(axis=0) ** 2
    assert np.abs(naive - ref_var).max() > 1e-3 * ref_var.max()  # the trap is real


def test_large_offset_uint16_exact():
    # values near the top of uint16 with variance 0.25: exact integer path
    stack = np.full((1000, 4, 3), 65534, np.uint16)
    stack[::2] = 65535
    acc = one_pass(stack, stats=("var",))
    np.testing.assert_array_equal(acc.finalize("var"), np.full((4, 3), 0.25))
    np.testing.assert_array_equal(acc.finalize("var"), stack.var(axis=0))


def test_only_requested_stats_are_computed():
    stack = make_stack((10, 4, 4), np.uint16)
    acc = one_pass(stack, stats=("mean",))
    assert acc.m2 is None and acc.low is None and acc.high is None and acc.total is None
    np.testing.assert_allclose(acc.finalize("mean"), stack.mean(axis=0), rtol=1e-15)
    with pytest.raises(ValueError, match="stat"):
        acc.finalize("var")
    acc = one_pass(stack, stats="max")
    assert acc.mean is None and acc.sum64 is None
    np.testing.assert_array_equal(acc.finalize("max"), stack.max(axis=0))


@pytest.mark.parametrize(
    "dtype,expected",
    [(np.int16, np.int64), (np.uint8, np.uint64), (np.uint16, np.uint64), (np.float32, np.float32),
     (np.bool_, np.int64), (np.int64, np.int64)],
)
def test_sum_dtype_and_exactness(dtype, expected):
    stack = make_stack((30, 5, 4), np.int16).astype(dtype) if dtype != np.bool_ else make_stack(
        (30, 5, 4), np.uint8) > 100
    got = one_pass(stack).finalize("sum")
    assert got.dtype == expected == stack.sum(axis=0).dtype
    if dtype == np.float32:
        np.testing.assert_allclose(got, stack.sum(axis=0), rtol=1e-5)
    else:
        np.testing.assert_array_equal(got, stack.sum(axis=0))


def test_bool_and_float16_stats():
    mask = make_stack((20, 5, 4), np.uint8) > 120
    acc = one_pass(mask)
    for stat in STATS:
        ref = getattr(mask, stat)(axis=0)
        assert acc.finalize(stat).dtype == ref.dtype
        np.testing.assert_allclose(acc.finalize(stat).astype(float), ref.astype(float), rtol=1e-12)
    half = make_stack((20, 5, 4), np.float32).astype(np.float16)
    acc = one_pass(half, stats=("mean", "std"))
    assert acc.finalize("mean").dtype == np.float16 == half.mean(axis=0).dtype
    np.testing.assert_allclose(acc.finalize("std").astype(float), half.astype(float).std(axis=0), rtol=2e-3)


def test_nan_propagates_like_numpy():
    stack = make_stack((6, 3, 3), np.float64)
    stack[2, 1, 1] = np.nan
    acc = split_pass(stack, [0, 3, 6])
    for stat in STATS:
        got, ref = acc.finalize(stat), getattr(stack, stat)(axis=0)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))


def test_constant_stack_has_zero_variance():
    stack = np.full((50, 3, 3), 0.1)
    acc = split_pass(stack, [0, 7, 50])
    assert np.all(acc.finalize("var") >= 0)
    np.testing.assert_allclose(acc.finalize("std"), 0, atol=1e-15)


def test_partial_accumulator_gives_running_estimate():
    stack = make_stack((20, 4, 4), np.uint16)
    acc = MomentAccumulator((4, 4), np.uint16)
    acc.add(stack[:5], 0)
    np.testing.assert_allclose(acc.finalize("mean"), stack[:5].mean(axis=0), rtol=1e-14)
    acc.add(stack[5:], 5)
    np.testing.assert_allclose(acc.finalize("std"), stack.std(axis=0), rtol=1e-12)


def test_empty_and_bad_input():
    acc = MomentAccumulator((4, 4), np.float32)
    with pytest.raises(ValueError, match="zero frames"):
        acc.finalize("mean")
    assert acc.add(np.zeros((0, 4, 4), np.float32)).count == 0
    with pytest.raises(ValueError, match="block must have shape"):
        acc.add(np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match="stats"):
        MomentAccumulator((4, 4), np.float32, stats=("median",))
    with pytest.raises(TypeError, match="dtype"):
        MomentAccumulator((4, 4), np.complex64)
    with pytest.raises(ValueError, match="different"):
        acc.merge(MomentAccumulator((4, 4), np.float64))
    # merging empties keeps it empty; empty into full is a no-op
    full = one_pass(make_stack((3, 4, 4), np.float32))
    before = full.finalize("var").copy()
    full.merge(acc.empty())
    np.testing.assert_array_equal(full.finalize("var"), before)


def test_merge_into_empty_does_not_alias():
    stack = make_stack((8, 3, 3), np.float64)
    part = one_pass(stack[:4])
    total = part.empty().merge(part)
    total.add(stack[4:])
    np.testing.assert_allclose(part.finalize("mean"), stack[:4].mean(axis=0))
    np.testing.assert_allclose(total.finalize("mean"), stack.mean(axis=0))


def test_block_with_strides_is_accepted():
    stack = make_stack((10, 8, 8), np.int16)
    view = stack[:, ::2, 1:]
    np.testing.assert_allclose(one_pass(view).finalize("var"), view.var(axis=0), rtol=1e-12)


def test_temporaries_are_bounded():
    # the float64 work buffer must not scale with the block's frame count
    assert block_moments.TILE_FRAMES * block_moments.TILE_PIXELS * 8 <= 16 * 2**20


# -- ReduceAccumulator ----------------------------------------------------------------------------


@pytest.mark.parametrize("bounds", [[0, 12], [0, 5, 12], [0, 1, 2, 7, 12]])
def test_reduce_ufunc_and_callable(bounds):
    stack = make_stack((12, 4, 5), np.int16)
    acc = ReduceAccumulator(np.add, value_shape=(4, 5))
    total = acc.empty()
    for a, b in zip(bounds[:-1], bounds[1:]):
        total = total.merge(pickle.loads(pickle.dumps(acc.empty().add(stack[a:b], a))))
    got = total.finalize()
    ref = np.add.reduce(stack, axis=0)  # Thunder local: ufunc.reduce(axis=0) -> int64
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)

    acc = ReduceAccumulator(np.maximum)
    for a, b in zip(bounds[:-1], bounds[1:]):
        acc.merge(acc.empty().add(stack[a:b]))
    np.testing.assert_array_equal(acc.finalize(), stack.max(axis=0))

    # associative but not commutative: the merge order must be frame order
    for func, expected in ((lambda x, y: y, stack[-1]), (lambda x, y: x, stack[0])):
        acc = ReduceAccumulator(func)
        for a, b in zip(bounds[:-1], bounds[1:]):
            acc.merge(acc.empty().add(stack[a:b]))
        np.testing.assert_array_equal(acc.finalize(), expected)
        np.testing.assert_array_equal(acc.finalize(), functools.reduce(func, stack))


def test_reduce_errors():
    with pytest.raises(ValueError, match="zero frames"):
        ReduceAccumulator(np.add).finalize()
    acc = ReduceAccumulator(lambda a, b: (a + b).sum(), value_shape=(3, 3)).add(np.ones((3, 3, 3)))
    with pytest.raises(ValueError, match="reduce did not yield an array with valid dimensions"):
        acc.finalize()
    with pytest.raises(TypeError, match="func"):
        ReduceAccumulator(3)


def test_no_runtime_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_pass(np.full((5, 3, 3), 7, np.uint8)).finalize("std")


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.uint8, np.int8, np.bool_])
def test_small_integer_sums_exact_at_extremes(dtype):
    # 600 frames at the dtype's extremes: float32 tiles of 256 frames stay exact
    if dtype == np.bool_:
        stack = np.ones((600, 3, 4), dtype=bool)
    else:
        info = np.iinfo(dtype)
        stack = np.full((600, 3, 4), info.max, dtype=dtype)
        stack[:, 0] = info.min
        stack[::7, 1] = info.max - 1
    acc = one_pass(stack, stats=("sum", "mean"))
    np.testing.assert_array_equal(acc.finalize("sum"), stack.sum(axis=0))
    np.testing.assert_array_equal(acc.finalize("mean"), stack.mean(axis=0))

