"""Local engine: mapped frames read and transformed without dask, piecewise
collect, one accumulator per worker run in aggregate."""

import threading
import time

import numpy as np
import pytest

from napari_thunder.engines import local
from napari_thunder.kernels.moments import MomentAccumulator, ReduceAccumulator


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(local, "chunk_bytes_target", lambda: 3 * 6 * 5 * 8)  # 3 float64 frames


def _no_dask(monkeypatch, frames):
    def fail(*args, **kwargs):
        raise AssertionError("dask used on the direct path")

    monkeypatch.setattr(type(frames.array), "to_delayed", fail)
    monkeypatch.setattr(type(frames.array), "compute", fail)


def test_map_chain_collects_without_dask(small_chunks, monkeypatch):
    stack = np.random.default_rng(0).random((11, 6, 5))
    frames = local.LocalFrames.from_array(stack)
    starts = []

    def plus_index(block, start):
        starts.append(start)
        return block + np.arange(start, start + len(block)).reshape(-1, 1, 1)

    mapped = frames.map(plus_index, (6, 5), np.float64).map(lambda b, s: b * 2, (6, 5), np.float64)
    projected = mapped.map(lambda b, s: b.max(axis=1), (5,), np.float64)
    _no_dask(monkeypatch, mapped)
    expected = (stack + np.arange(11).reshape(-1, 1, 1)) * 2
    np.testing.assert_array_equal(mapped.collect(), expected)
    np.testing.assert_array_equal(projected.collect(), expected.max(axis=1))
    acc = mapped.aggregate(MomentAccumulator((6, 5), np.float64, ("mean",)))
    np.testing.assert_allclose(acc.finalize("mean"), expected.mean(axis=0), rtol=1e-14)


def test_collect_in_pieces_equals_whole_chunks(small_chunks, monkeypatch):
    monkeypatch.setattr(local, "PIECE_BYTES", 6 * 5 * 2)  # one uint16 frame per piece
    stack = np.random.default_rng(1).integers(0, 1000, size=(10, 6, 5)).astype(np.uint16)
    frames = local.LocalFrames.from_array(stack)
    seen = []

    def minus_start(block, start):
        seen.append((start, len(block)))
        return block.astype(np.int32) - start

    out = frames.map(minus_start, (6, 5), np.int32).collect()
    np.testing.assert_array_equal(out, stack.astype(np.int32) - np.arange(10).reshape(-1, 1, 1))
    assert sorted(seen) == [(i, 1) for i in range(10)]


def test_mismatched_blocks_fall_back_to_dask(small_chunks):
    stack = np.arange(8 * 6 * 5, dtype=np.int16).reshape(8, 6, 5)
    frames = local.LocalFrames.from_array(stack)
    out = frames.map(lambda block, start: block * 0.5, (6, 5), np.int16).collect()
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, stack * 0.5)


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_aggregate_per_worker_runs_in_frame_order(small_chunks, monkeypatch, workers):
    monkeypatch.setattr(local, "worker_count", lambda: workers)
    stack = np.arange(13, dtype=np.float64).reshape(13, 1, 1)
    frames = local.LocalFrames.from_array(stack)
    order = frames.aggregate(ReduceAccumulator(lambda a, b: np.concatenate([a, b]).reshape(-1, 1)))
    np.testing.assert_array_equal(order.finalize().ravel(), np.arange(13))
    data = np.random.default_rng(2).integers(0, 4000, size=(13, 6, 5)).astype(np.uint16)
    acc = local.LocalFrames.from_array(data).aggregate(MomentAccumulator((6, 5), np.uint16, ("var", "sum")))
    np.testing.assert_allclose(acc.finalize("var"), data.var(axis=0), rtol=1e-13)
    np.testing.assert_array_equal(acc.finalize("sum"), data.sum(axis=0))


class _Recording:
    """An accumulator noting, when each chunk's fold starts, how many partials
    the calling thread had merged by then."""

    def __init__(self, log, merged):
        self.log = log
        self.merged = merged  # one shared list: a count of the merges so far
        self.starts = []

    def empty(self):
        return _Recording(self.log, self.merged)

    def add(self, block, start=0):
        self.log.append((start, len(self.merged)))
        time.sleep(0.002)
        self.starts.append(start)
        return self

    def merge(self, other):
        self.merged.append(1)
        self.starts += other.starts
        return self


@pytest.mark.parametrize("workers", [2, 3])
def test_ordered_fold_keeps_a_bounded_window_of_partials(small_chunks, monkeypatch, workers):
    monkeypatch.setattr(local, "worker_count", lambda: workers)
    frames = local.LocalFrames.from_array(np.zeros((60, 6, 5)))  # 20 chunks of 3 frames
    log = []
    total = frames.aggregate(_Recording(log, []))
    assert total.starts == list(range(0, 60, 3))  # every chunk once, merged in frame order
    # chunk i starts only once the partials before i - (workers + 1) are merged
    assert all(start // 3 - merged <= workers + 1 for start, merged in log)
    assert max(start // 3 - merged for start, merged in log) >= 2  # the threads do run ahead


@pytest.mark.parametrize("failing", [0, 3, 9])
def test_ordered_fold_raises_the_error_of_a_chunk(small_chunks, monkeypatch, failing):
    monkeypatch.setattr(local, "worker_count", lambda: 2)

    def fail_at(block, start):
        if start == failing:
            raise ValueError(f"frame {start} cannot be read")
        return block

    frames = local.LocalFrames.from_array(np.ones((12, 6, 5))).map(fail_at, (6, 5), np.float64)
    with pytest.raises(ValueError, match=f"frame {failing} cannot be read"):
        frames.aggregate(MomentAccumulator((6, 5), np.float64, ("var",)))


@pytest.mark.parametrize("dtype", [np.float64, np.uint16])
def test_an_aggregate_nested_in_a_folding_thread_does_not_wait_forever(small_chunks, monkeypatch, dtype):
    # the lasting pool has one thread on two cores: an aggregate inside a
    # chunk it folds must not wait for that same thread
    monkeypatch.setattr(local, "worker_count", lambda: 2)
    stack = np.random.default_rng(4).integers(0, 100, size=(12, 6, 5)).astype(dtype)

    def with_inner_mean(block, start):
        inner = local.LocalFrames.from_array(block.astype(dtype))
        mean = inner.aggregate(MomentAccumulator((6, 5), dtype, ("mean",))).finalize("mean")
        return block - mean

    frames = local.LocalFrames.from_array(stack).map(with_inner_mean, (6, 5), np.float64)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault(
        "acc", frames.aggregate(MomentAccumulator((6, 5), np.float64, ("sum",)))), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the nested aggregate waits for its own thread"
    expected = sum(b - b.mean(axis=0) for b in np.split(stack.astype(np.float64), 4))
    np.testing.assert_allclose(result["acc"].finalize("sum"), expected.sum(axis=0), atol=1e-9)


def test_contiguous_runs_cover_every_chunk_once():
    for nchunks in (1, 2, 5, 8, 9):
        bounds = [(3 * i, 3 * i + 3) for i in range(nchunks)]
        for workers in (1, 2, 4, 16):
            runs = local._contiguous_runs(bounds, workers)
            assert [i for run in runs for i in run] == list(range(nchunks))
            assert len(runs) == min(workers, nchunks) and all(runs)


def test_equal_shares_split_frames_evenly():
    for nframes in (1, 2, 7, 1000):
        for workers in (1, 2, 3, 16):
            shares = local._equal_shares(nframes, workers)
            assert shares[0][0] == 0 and shares[-1][1] == nframes
            assert all(a < b for a, b in shares) and all(b == c for (_, b), (c, _) in zip(shares, shares[1:]))
            lengths = [b - a for a, b in shares]
            assert len(shares) == min(workers, nframes) and max(lengths) - min(lengths) <= 1


def test_order_free_aggregate_over_equal_shares_is_exact(small_chunks, monkeypatch):
    """Shares that cut through chunks (3 workers over 5-frame chunks) still
    fold every frame once: exact sums and numpy's min/max."""
    monkeypatch.setattr(local, "worker_count", lambda: 3)
    data = np.random.default_rng(5).integers(0, 65536, size=(29, 6, 5)).astype(np.uint16)
    frames = local.LocalFrames.from_array(data)
    assert frames.chunk_reader is not None and frames.nchunks == 6  # 5-frame chunks
    acc = frames.aggregate(MomentAccumulator((6, 5), np.uint16, ("sum", "min", "max")))
    np.testing.assert_array_equal(acc.finalize("sum"), data.sum(axis=0, dtype=np.int64))
    np.testing.assert_array_equal(acc.finalize("min"), data.min(axis=0))
    np.testing.assert_array_equal(acc.finalize("max"), data.max(axis=0))


def test_order_free_accumulators_only_take_the_per_worker_path():
    assert MomentAccumulator((2,), np.uint16, ("var",)).order_free(1000)
    assert MomentAccumulator((2,), np.uint16, ("var",)).order_free(10**6)  # one exact group: 2**31 - 1
    assert not MomentAccumulator((2,), np.uint16, ("var",)).order_free(2**31)  # past it
    assert MomentAccumulator((2,), np.uint16, ("mean", "sum")).order_free(10**6)
    assert MomentAccumulator((2,), np.int32, ("sum", "max")).order_free(10)
    assert not MomentAccumulator((2,), np.int32, ("mean",)).order_free(10)
    assert not MomentAccumulator((2,), np.float64, ("max",)).order_free(10)


def test_float_aggregate_equals_the_streamed_merge_bits(small_chunks, monkeypatch):
    from napari_thunder.kernels.correlation import LocalCorrAccumulator

    monkeypatch.setattr(local, "worker_count", lambda: 2)
    stack = np.random.default_rng(3).random((14, 6, 5))
    frames = local.LocalFrames.from_array(stack)
    for acc in (MomentAccumulator((6, 5), np.float64, ("var",)), LocalCorrAccumulator((6, 5), 1)):
        direct = frames.aggregate(acc)
        streamed = list(frames.stream_aggregate(acc))[-1][2]
        if isinstance(acc, MomentAccumulator):
            np.testing.assert_array_equal(direct.finalize("var"), streamed.finalize("var"))
        else:
            np.testing.assert_array_equal(direct.finalize(), streamed.finalize())


class _IntoKernel:
    """A block function in the shape of ``Images``' kernel wrapper."""

    def __init__(self, kernel, **kwargs):
        self.kernel = kernel
        self.kwargs = kwargs

    def __call__(self, block, start):
        return self.kernel(block, **self.kwargs)


def test_collect_lets_the_last_kernel_write_into_the_output(small_chunks, monkeypatch):
    from napari_thunder.kernels import filters

    monkeypatch.setattr(local, "PIECE_BYTES", 6 * 5 * 8 * 2)
    stack = np.random.default_rng(4).random((9, 6, 5))
    calls = []

    def spy(block, value, out=None):
        calls.append(out is not None)
        return filters.subtract_block(block, value, out=out)

    spy.accepts_out = True
    frames = local.LocalFrames.from_array(stack)
    out = frames.map(_IntoKernel(spy, value=0.25), (6, 5), np.float64).collect()
    np.testing.assert_array_equal(out, stack - 0.25)
    assert calls and all(calls)
    # a kernel refusing the output (another dtype) falls back to the copy
    calls.clear()
    ints = local.LocalFrames.from_array((stack * 100).astype(np.int16))
    out = ints.map(_IntoKernel(spy, value=np.int16(3)), (6, 5), np.float32).collect()
    np.testing.assert_array_equal(out, (stack * 100).astype(np.int16) - np.int16(3))
