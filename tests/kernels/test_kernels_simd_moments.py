"""The AVX2 ``vpmaddwd`` sums of squares (16-bit frames) give the exact int64
sums, and through MomentAccumulator the same bits as the other loops."""

import pickle

import numpy as np
import pytest

from napari_thunder.kernels import block_moments, moments

pytest.importorskip("numba")
simd = block_moments.simd_module()
pytestmark = pytest.mark.skipif(simd is None, reason="needs numba on an x86-64 processor with AVX2")


def _extreme_stack(dtype, shape, seed=0):
    """Random values with whole columns at the dtype's min and max (the
    overflow edges: y = -32768 in all four frames of a group, 2**32 - 1 squares)."""
    info = np.iinfo(dtype)
    stack = np.random.default_rng(seed).integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    stack[:, :3] = info.min
    stack[:, 3:5] = info.max
    return stack


# the plain AVX2 loop everywhere; the fused (AVX-512 VNNI) loop where this processor has it
LOOPS = [False] + ([True] if simd.FUSED else [])


@pytest.mark.parametrize("fused", LOOPS)
@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
@pytest.mark.parametrize("shape", [(1, 16), (2, 33), (3, 48), (5, 1000), (6, 31), (37, 1000), (48, 4096),
                                   (131, 40000)])
def test_state_unpacks_to_the_exact_sums(fused, dtype, shape):
    # passes of PLAIN_ROWS / FUSED_ROWS frames (short rows, long rows), then 4 at a time (missing rows blank)
    flat = _extreme_stack(dtype, shape)
    offset = simd.offset(dtype)
    lanes = simd.state_size(shape[1])
    assert lanes == -(-shape[1] // 16) * 16
    state = tuple(np.zeros(lanes, dtype=t) for t in (np.int32, np.uint32, np.uint32))
    simd.square_moments(flat, offset, simd.neutral_row(offset), *state, fused)
    s1 = np.full(shape[1], 7, dtype=np.int64)  # unpack_into adds
    s2 = np.full(shape[1], 9, dtype=np.int64)
    simd.unpack_into(*state, simd.shift(dtype), shape[0], s1, s2)
    wide = flat.astype(np.int64)
    np.testing.assert_array_equal(s1, wide.sum(axis=0) + 7)
    np.testing.assert_array_equal(s2, (wide * wide).sum(axis=0) + 9)
    assert not any(part.any() for part in state)  # cleared for the next frames


@pytest.mark.parametrize("fused", LOOPS)
@pytest.mark.parametrize("width", [16, 8192])  # 16 rows a pass (short rows), 8 (long rows)
def test_all_zero_uint16_frames_carry_into_the_high_half(fused, width):
    # eight frames of 0: y = -32768, four pairs of 2**31 each: the low half wraps to 0 twice
    flat = np.zeros((8, width), dtype=np.uint16)
    state = tuple(np.zeros(width, dtype=t) for t in (np.int32, np.uint32, np.uint32))
    simd.square_moments(flat, -32768, simd.neutral_row(-32768), *state, fused)
    assert state[2].tolist() == [2] * width  # 8 * 2**30 = 2 * 2**32
    s1, s2 = np.zeros(width, np.int64), np.zeros(width, np.int64)
    simd.unpack_into(*state, 32768, 8, s1, s2)
    assert s1.tolist() == [0] * width and s2.tolist() == [0] * width


def test_fused_loop_is_chosen_from_the_processor_features():
    from llvmlite import binding

    features = binding.get_host_cpu_features()
    assert simd.FUSED == all(features.get(name, False) for name in ("avx512f", "avx512vl", "avx512vnni"))


def _stats(blocks, dtype, stats):
    acc = moments.MomentAccumulator(blocks[0].shape[1:], dtype, stats)
    for block in blocks:
        acc.add(block)
    return {stat: acc.finalize(stat) for stat in stats}, acc


@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
@pytest.mark.parametrize("pixels", [1000, 1024, 17])  # a tail of 8 pixels, none, 1
def test_accumulator_bits_equal_the_jit_loop(monkeypatch, dtype, pixels):
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    stack = _extreme_stack(dtype, (1203, pixels), seed=pixels)
    blocks = [stack[:128], stack[128:1101], stack[1101:]]
    with_simd, acc = _stats(blocks, dtype, moments.STATS)
    assert acc.packed is not None and acc.packed[0].size == simd.state_size(pixels)
    monkeypatch.setitem(block_moments.JIT_STATE, "simd", None)
    plain, acc = _stats(blocks, dtype, moments.STATS)
    assert acc.packed is None
    for stat in moments.STATS:
        np.testing.assert_array_equal(with_simd[stat], plain[stat], err_msg=stat)
    wide = stack.astype(np.float64)
    np.testing.assert_allclose(with_simd["var"], wide.var(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(with_simd["sum"], stack.sum(axis=0))


def test_state_settles_before_int32_sums_could_overflow(monkeypatch):
    # 32768 + 5 frames of 65535 (y = 32767): sum(y) passes 2**31 unless settled
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    stack = np.full((simd.MAX_FRAMES + 5, 32), 65535, dtype=np.uint16)
    stack[::3, 1] = 0
    result, _ = _stats([stack], np.uint16, ("mean", "var"))
    wide = stack.astype(np.float64)
    np.testing.assert_array_equal(result["mean"], wide.mean(axis=0))
    np.testing.assert_allclose(result["var"], wide.var(axis=0), rtol=1e-12, atol=0)


def test_pickled_mid_state_gives_the_same_result(monkeypatch):
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    stack = _extreme_stack(np.uint16, (90, 64))
    acc = moments.MomentAccumulator((64,), np.uint16, ("std",)).add(stack[:45])
    assert acc.pframes == 45
    copy = pickle.loads(pickle.dumps(acc))
    assert copy.packed is None and copy.pframes == 0  # settled: no partial state travels
    for part in (acc, copy):
        part.add(stack[45:])
    np.testing.assert_array_equal(acc.finalize("std"), copy.finalize("std"))
    np.testing.assert_allclose(acc.finalize("std"), stack.astype(np.float64).std(axis=0), rtol=1e-12)


def test_only_16_bit_blocks_with_contiguous_rows_take_it():
    assert block_moments.simd_squares(np.zeros((4, 32), np.uint16)) is simd
    assert block_moments.simd_squares(np.zeros((4, 32), np.uint8)) is None
    assert block_moments.simd_squares(np.zeros((4, 15), np.int16)) is None
    assert block_moments.simd_squares(np.zeros((4, 64), np.uint16)[:, ::2]) is None


@pytest.mark.parametrize("simd_on", [True, False])
@pytest.mark.parametrize("stats", [("mean",), ("sum",), ("std",), ("var", "min", "max")])
def test_partials_merge_and_finalize_like_settled_sums(monkeypatch, simd_on, stats):
    # one accumulator per thread, merged while both hold only partials (and
    # finalized from them): the same bits as settling into int64 sums first
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    if not simd_on:
        monkeypatch.setitem(block_moments.JIT_STATE, "simd", None)
    stack = _extreme_stack(np.uint16, (700, 1000), seed=5)
    first = moments.MomentAccumulator((1000,), np.uint16, stats).add(stack[:300])
    second = moments.MomentAccumulator((1000,), np.uint16, stats).add(stack[300:])
    assert first._only_partials() and second._only_partials()
    merged = first.merge(second)
    assert merged._only_partials() and merged.g1 is None  # no int64 sums formed
    fast = {stat: merged.finalize(stat) for stat in stats}
    merged._settle()
    assert not merged._only_partials()
    wide = stack.astype(np.float64)
    for stat in stats:
        np.testing.assert_array_equal(fast[stat], merged.finalize(stat), err_msg=stat)
        source = stack if stat in ("sum", "min", "max") else wide
        reference = getattr(source, stat)(axis=0)
        np.testing.assert_allclose(fast[stat], reference, rtol=1e-12, err_msg=stat)


def test_partials_past_the_frame_limit_are_settled_before_merging(monkeypatch):
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    stack = np.full((2 * simd.MAX_FRAMES - 10, 16), 65535, dtype=np.uint16)
    half = simd.MAX_FRAMES - 5
    parts = [moments.MomentAccumulator((16,), np.uint16, ("mean", "std")).add(stack[a:a + half])
             for a in (0, half)]
    assert not parts[0]._merge_partials(parts[1])  # 2 * (32768 - 5) frames: sum(y) could overflow int32
    merged = parts[0].merge(parts[1])
    np.testing.assert_array_equal(merged.finalize("mean"), np.full(16, 65535.0))
    np.testing.assert_array_equal(merged.finalize("std"), np.zeros(16))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16])
@pytest.mark.parametrize("shape", [(1, 32), (3, 33), (17, 1000), (16, 4096), (37, 4100), (9, 70000),
                                   (6, 65536 + 31)])
def test_plain_sums_add_the_exact_sums(dtype, shape):
    # short rows go 16 frames a pass, long ones 4 (several tiles for 70000),
    # leftover frames one at a time; a last partial group overlaps the one before
    flat = _extreme_stack(dtype, shape, seed=shape[1])
    sums = np.arange(shape[1], dtype=np.int32) - 500  # plain_sums adds
    simd.plain_sums(flat, sums, simd.tail_mask(shape[1]))
    expected = np.arange(shape[1], dtype=np.int64) - 500 + flat.sum(axis=0, dtype=np.int64)
    np.testing.assert_array_equal(sums, expected)


def test_tail_mask_keeps_only_the_pixels_past_the_last_whole_group():
    assert simd.tail_mask(1000).tolist() == [0] * 24 + [-1] * 8  # 1000 = 31 * 32 + 8
    assert not simd.tail_mask(64).any()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16])
@pytest.mark.parametrize("pixels", [1000, 1024, 40])
def test_mean_and_sum_bits_equal_the_jit_loop(monkeypatch, dtype, pixels):
    monkeypatch.setattr(block_moments, "JIT_MIN_VALUES", 1)
    stack = _extreme_stack(dtype, (803, pixels), seed=pixels)
    blocks = [stack[:128], stack[128:701], stack[701:]]
    assert block_moments.simd_sums(stack) is simd
    with_simd, _ = _stats(blocks, dtype, ("mean", "sum"))
    monkeypatch.setitem(block_moments.JIT_STATE, "simd", None)
    plain, _ = _stats(blocks, dtype, ("mean", "sum"))
    for stat in ("mean", "sum"):
        np.testing.assert_array_equal(with_simd[stat], plain[stat], err_msg=stat)
    np.testing.assert_array_equal(with_simd["sum"], stack.sum(axis=0))
    np.testing.assert_array_equal(with_simd["mean"], stack.astype(np.float64).sum(axis=0) / 803)


def test_only_8_and_16_bit_blocks_of_32_contiguous_pixels_take_the_plain_sums():
    assert block_moments.simd_sums(np.zeros((4, 32), np.uint8)) is simd
    assert block_moments.simd_sums(np.zeros((4, 31), np.int16)) is None
    assert block_moments.simd_sums(np.zeros((4, 64), np.int32)) is None
    assert block_moments.simd_sums(np.zeros((4, 128), np.uint16)[:, ::2]) is None
