"""Local engine paths added for speed: no-copy fromarray, collect into one
array, aggregate without copying the first partial, ordered merges."""

import numpy as np
import pytest

from napari_thunder.engines import local
from napari_thunder.kernels.moments import MomentAccumulator, ReduceAccumulator


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(local, "chunk_bytes_target", lambda: 2 * 6 * 5 * 8)  # 2 float64 frames


def test_from_array_does_not_copy_the_stack(small_chunks):
    stack = np.arange(7 * 6 * 5, dtype=np.float64).reshape(7, 6, 5)
    frames = local.LocalFrames.from_array(stack)
    assert frames.nchunks == 4
    for start, stop, block in frames.iter_chunks(lambda block, start: block):
        assert np.shares_memory(block, stack)
        np.testing.assert_array_equal(block, stack[start:stop])


def test_collect_returns_a_new_array_equal_to_the_frames(small_chunks):
    stack = np.random.default_rng(0).random((7, 6, 5))
    frames = local.LocalFrames.from_array(stack)
    doubled = frames.map(lambda block, start: block * 2, (6, 5), np.float64)
    out = doubled.collect()
    assert not np.shares_memory(out, stack)
    np.testing.assert_array_equal(out, stack * 2)
    assert out.dtype == np.float64 and out.shape == stack.shape


def test_collect_falls_back_when_blocks_do_not_match_the_declared_dtype(small_chunks):
    stack = np.arange(7 * 6 * 5, dtype=np.int16).reshape(7, 6, 5)
    frames = local.LocalFrames.from_array(stack)
    # declared float32, but the block function returns float64 blocks
    mapped = frames.map(lambda block, start: block * 0.5, (6, 5), np.float32)
    out = mapped.collect()
    assert out.dtype == np.float64  # the blocks as computed, not silently cast
    np.testing.assert_array_equal(out, stack * 0.5)


def test_collect_of_no_frames():
    frames = local.LocalFrames.from_array(np.zeros((0, 3, 4), np.uint8))
    out = frames.collect()
    assert out.shape == (0, 3, 4) and out.dtype == np.uint8


def test_aggregate_matches_numpy_and_leaves_the_template_empty(small_chunks):
    stack = np.random.default_rng(1).integers(0, 1000, size=(9, 6, 5)).astype(np.uint16)
    frames = local.LocalFrames.from_array(stack)
    template = MomentAccumulator((6, 5), stack.dtype, ("std", "sum"))
    acc = frames.aggregate(template)
    assert template.count == 0 and acc is not template
    np.testing.assert_allclose(acc.finalize("std"), stack.std(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(acc.finalize("sum"), stack.sum(axis=0))


def test_aggregate_merges_in_frame_order(small_chunks):
    # string concatenation of frame indices: associative, not commutative
    stack = np.arange(9, dtype=np.float64).reshape(9, 1, 1)
    frames = local.LocalFrames.from_array(stack)
    order = frames.aggregate(ReduceAccumulator(lambda a, b: np.concatenate([a, b]).reshape(-1, 1)))
    np.testing.assert_array_equal(order.finalize().ravel(), np.arange(9))


def test_aggregate_of_no_frames_is_empty():
    frames = local.LocalFrames.from_array(np.zeros((0, 3, 4)))
    acc = frames.aggregate(MomentAccumulator((3, 4), np.float64, ("mean",)))
    assert acc.count == 0


def test_actions_on_untransformed_frames_read_without_dask(small_chunks, monkeypatch):
    stack = np.random.default_rng(2).random((7, 6, 5))
    frames = local.LocalFrames.from_array(stack)
    assert frames.reader is not None
    mapped = frames.map(lambda block, start: block + 1, (6, 5), np.float64)
    assert mapped.reader is None  # transformed: through dask

    def no_dask(*args, **kwargs):
        raise AssertionError("dask used for an untransformed stack")

    monkeypatch.setattr(type(frames.array), "to_delayed", no_dask)
    np.testing.assert_array_equal(frames.collect(), stack)
    acc = frames.aggregate(MomentAccumulator((6, 5), stack.dtype, ("mean",)))
    np.testing.assert_allclose(acc.finalize("mean"), stack.mean(axis=0), rtol=1e-14)


def test_file_frames_keep_their_source_for_frame_by_frame_display():
    import os

    import numpy as np

    from napari_thunder import images
    from napari_thunder.engines.local import source_dask_array

    folder = os.path.join(os.path.dirname(__file__), "..", "data", "singlelayer_tif")
    imgs = images.fromtif(folder)
    assert imgs.frames.source is not None
    assert imgs.gaussian_filter(1).frames.source is None  # transformed: no longer the files
    per_frame = source_dask_array(imgs.frames.source, 1)
    assert per_frame.chunks[0] == (1, 1, 1)
    np.testing.assert_array_equal(per_frame[2].compute(), imgs.toarray()[2])
