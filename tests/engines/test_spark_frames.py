"""Engine-level tests of SparkFrames / SparkBlockStore against numpy and the
local engine (session SparkContext local[2] from tests/conftest.py)."""

import glob
import os
import tempfile
import threading
import time

import numpy as np
import pytest

pytest.importorskip("pyspark")

from napari_thunder import images  # noqa: E402
from napari_thunder.engines.factory import min_chunks  # noqa: E402
from napari_thunder.engines.local import LocalFrames  # noqa: E402
from napari_thunder.engines.spark import (  # noqa: E402
    SparkBlockStore,
    SparkFrames,
    SparkTaskError,
    resolve_context,
    results,
    settings,
    streams,
)
from napari_thunder.io.source import ArraySource, CallableSource, FrameSource  # noqa: E402
from napari_thunder.kernels.moments import MomentAccumulator, ReduceAccumulator  # noqa: E402

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def stack():
    rng = np.random.default_rng(7)
    return rng.integers(-500, 500, size=(11, 6, 5)).astype(np.int16)


@pytest.fixture
def sc(spark_context):
    return spark_context


def _partition_keys(frames):
    """Keys of every partition, as lists (small data only)."""
    return frames.rdd.mapPartitions(lambda it: [[k[0] for k, _ in it]]).collect()


# -- picklable helpers (module level) -----------------------------------------------
def _plus_index(block, start):
    """Per-frame result depending on the frame's global index."""
    index = np.arange(start, start + block.shape[0], dtype=np.int64)
    return block.astype(np.int64) * 3 + index[:, None, None]


def _row_sums(block, start):
    return block.sum(axis=2).astype(np.float32)


def _block_sum(block, start):
    return int(block.astype(np.int64).sum())


def _slow_after_first(block, start):
    if start > 0:
        time.sleep(30)
    return start


class _DriverForbiddenSource(FrameSource):
    """Raises if read in the process that created it (the driver)."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.driver_pid = os.getpid()

    def read(self, start, stop):
        if os.getpid() == self.driver_pid:
            raise AssertionError("pixels read on the driver")
        return self.array[start:stop].copy()


class _BrokenFileSource(FrameSource):
    def __init__(self):
        self.shape = (4, 3, 3)
        self.dtype = np.dtype(np.uint8)

    def read(self, start, stop):
        if stop > 2:
            raise ValueError("cannot decode /data/frame_0003.tif: truncated file")
        return np.zeros((stop - start, 3, 3), np.uint8)


class _Unpicklable(Exception):
    def __init__(self, a, b):  # pickle cannot rebuild it from args=(msg,)
        super().__init__(f"{a}-{b}")

    def __reduce__(self):
        raise TypeError("not picklable")


def _raise_unpicklable(block, start):
    raise _Unpicklable(1, 2)


def _raise_key_error(frame):
    raise KeyError("frame label missing")


def _items_to_frames(item):
    """Item ``(i, count)`` yields ``count`` frames full of ``10*i + j``."""
    i, count = item
    for j in range(count):
        yield j, np.full((2, 3), 10 * i + j, dtype=np.float32)


def _ragged_items(item):
    yield 0, np.zeros((2, 3) if item == 0 else (3, 3))


# -- construction and partitions ----------------------------------------------------
def test_from_array_roundtrip_and_partitions(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 3)
    assert frames.mode == "spark"
    assert frames.shape == stack.shape and frames.dtype == stack.dtype
    assert frames.npartitions() == 3 == frames.nchunks
    np.testing.assert_array_equal(frames.collect(), stack)
    assert _partition_keys(frames) == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9, 10]]
    # the executors hold the same frames as the driver-side copy
    on_executors = dict(frames.rdd.map(lambda r: (r[0][0], r[1])).collect())
    np.testing.assert_array_equal(np.stack([on_executors[i] for i in range(11)]), stack)
    stack_copy = stack.copy()
    frames = SparkFrames.from_array(stack_copy, sc, 2)
    stack_copy[0] = 0  # later changes of the user's array do not leak in
    np.testing.assert_array_equal(frames.collect()[0], stack[0])
    np.testing.assert_array_equal(frames.first(), stack[0])


def test_large_results_travel_in_pieces(sc, stack, monkeypatch):
    from napari_thunder.engines.spark import settings

    monkeypatch.setattr(settings, "RESULT_PIECE_BYTES", 100)
    frames = SparkFrames.from_array(stack, sc, 3).map(_plus_index, stack.shape[1:], np.int64)
    expected = stack.astype(np.int64) * 3 + np.arange(11)[:, None, None]
    np.testing.assert_array_equal(frames.collect(), expected)
    chunks = list(frames.iter_chunks(_identity_block))
    assert [(a, b) for a, b, _ in chunks] == [(0, 3), (3, 7), (7, 11)]
    for start, stop, block in chunks:
        np.testing.assert_array_equal(block, expected[start:stop])


def _identity_block(block, start):
    return block


def _result_dirs():
    """This process's result directories (other processes' tests may make theirs meanwhile)."""
    import glob
    import tempfile

    return set(glob.glob(os.path.join(tempfile.gettempdir(), f"napari-thunder-results-{os.getpid()}-*")))


def test_large_results_through_files_in_local_mode(sc, stack, monkeypatch):
    from napari_thunder.engines.spark import settings

    monkeypatch.setattr(settings, "FILE_RESULT_BYTES", 0)
    before = _result_dirs()
    frames = SparkFrames.from_array(stack, sc, 3).map(_plus_index, stack.shape[1:], np.int64)
    expected = stack.astype(np.int64) * 3 + np.arange(11)[:, None, None]
    np.testing.assert_array_equal(frames.collect(), expected)
    gen = frames.iter_chunks(_identity_block)
    start, stop, block = next(gen)
    np.testing.assert_array_equal(block, expected[start:stop])
    gen.close()  # unread results are removed with their directory
    # removal may finish a moment later (renamed away, then deleted): poll for the new ones only
    deadline = time.monotonic() + 20
    while _result_dirs() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _result_dirs() - before
    # accumulators (pickled, lambdas included) through files too
    moments = frames.aggregate(MomentAccumulator(stack.shape[1:], np.int64, ("mean", "var")))
    np.testing.assert_allclose(moments.finalize("var"), expected.var(axis=0), rtol=1e-12)
    last = frames.aggregate(ReduceAccumulator(lambda a, b: b)).finalize()
    np.testing.assert_array_equal(last, expected[-1])
    assert _result_dirs() == before


def test_stack_is_zero_copy_for_consecutive_views():
    from napari_thunder.engines.spark.records import _iter_blocks

    block = np.arange(6 * 4, dtype=np.float32).reshape(6, 2, 2)
    records = [((10 + k,), block[k]) for k in range(6)]
    (start, joined), = list(_iter_blocks(records, 2**20))
    assert start == 10 and np.shares_memory(joined, block)
    np.testing.assert_array_equal(joined, block)
    # not consecutive in memory -> a copy with the right values
    shuffled = [((10 + k,), block[j]) for k, j in enumerate([0, 2, 1])]
    (_, joined), = list(_iter_blocks(shuffled, 2**20))
    assert not np.shares_memory(joined, block)
    np.testing.assert_array_equal(joined, block[[0, 2, 1]])
    # key gaps and the byte bound split blocks
    gaps = [((0,), block[0]), ((1,), block[1]), ((5,), block[2])]
    assert [(s, len(b)) for s, b in _iter_blocks(gaps, 2**20)] == [(0, 2), (5, 1)]
    assert [(s, len(b)) for s, b in _iter_blocks(records, 32)] == [(10, 2), (12, 2), (14, 2)]


def test_npartitions_default_and_capped(sc, stack):
    assert SparkFrames.from_array(stack, sc).npartitions() == sc.defaultParallelism
    assert SparkFrames.from_array(stack, sc, 50).npartitions() == stack.shape[0]
    assert SparkFrames.from_source(ArraySource(stack), sc, 4).npartitions() == 4
    for bad in (0, -2, 1.5, "3"):
        with pytest.raises(ValueError, match="npartitions"):
            SparkFrames.from_array(stack, sc, bad)


def test_from_source_reads_on_executors(sc, stack):
    source = _DriverForbiddenSource(stack)
    frames = SparkFrames.from_source(source, sc, 3)
    np.testing.assert_array_equal(frames.collect(), stack)
    np.testing.assert_array_equal(frames.first(), stack[0])
    pids = frames.map(_PidFrame(), (1,), np.int64).collect().ravel()
    assert os.getpid() not in set(pids.tolist())


class _PidFrame:
    def __call__(self, block, start):
        return np.full((block.shape[0], 1), os.getpid(), np.int64)


def test_read_error_reraised_as_value_error_naming_file(sc):
    frames = SparkFrames.from_source(_BrokenFileSource(), sc, 2)
    with pytest.raises(ValueError, match=r"frame_0003\.tif"):
        frames.collect()
    assert sc.parallelize([1, 2, 3]).count() == 3  # context still usable


# -- map ---------------------------------------------------------------------------------
def test_map_equals_local_and_numpy(sc, stack):
    spark = SparkFrames.from_array(stack, sc, 3).map(_plus_index, stack.shape[1:], np.int64)
    local = LocalFrames.from_array(stack).map(_plus_index, stack.shape[1:], np.int64)
    expected = stack.astype(np.int64) * 3 + np.arange(11)[:, None, None]
    result = spark.collect()
    assert result.dtype == np.int64 and spark.dtype == np.int64
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(result, local.collect())


def test_map_changes_value_shape_and_dtype(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 2).map(_row_sums, (6,), np.float32)
    assert frames.shape == (11, 6)
    out = frames.collect()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, stack.sum(axis=2).astype(np.float32))


def test_map_wrong_shape_raises_value_error(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 2).map(_row_sums, (5,), np.float32)
    with pytest.raises(ValueError, match="shape"):
        frames.collect()


def test_unpicklable_task_error_becomes_spark_task_error(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 2).map(_raise_unpicklable, stack.shape[1:], stack.dtype)
    with pytest.raises(SparkTaskError, match="_Unpicklable: 1-2"):
        frames.collect()


# -- take / filter / first ---------------------------------------------------------
@pytest.mark.parametrize("indices", [[1, 2, 5, 10], [3], [7, 1, 1, 10, 0, 7], list(range(10, -1, -1))])
def test_take_matches_numpy(sc, stack, indices):
    frames = SparkFrames.from_array(stack, sc, 3).take(indices)
    assert frames.shape == (len(indices),) + stack.shape[1:]
    np.testing.assert_array_equal(frames.collect(), stack[indices])
    keys = [k for part in _partition_keys(frames) for k in part]
    assert keys == list(range(len(indices)))  # re-keyed 0..m-1, in order
    np.testing.assert_array_equal(frames.first(), stack[indices[0]])


def test_take_empty_and_out_of_range(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 3)
    empty = frames.take([])
    assert empty.shape == (0,) + stack.shape[1:] and empty.collect().shape == (0, 6, 5)
    with pytest.raises(IndexError):
        frames.take([0, 11])


def test_filter_matches_numpy_and_local(sc, stack):
    def predicate(frame):
        return frame.sum() > 0

    spark = SparkFrames.from_array(stack, sc, 3).filter(predicate)
    local = LocalFrames.from_array(stack).filter(predicate)
    expected = stack[[i for i in range(11) if stack[i].sum() > 0]]
    assert 0 < expected.shape[0] < 11
    assert spark.count() == expected.shape[0] == local.count()
    np.testing.assert_array_equal(spark.collect(), expected)
    starts = [start for start, _, _ in spark.iter_chunks(_block_sum)]
    assert starts == sorted(starts) and starts[0] == 0
    none = SparkFrames.from_array(stack, sc, 3).filter(lambda frame: False)
    assert none.shape == (0, 6, 5) and none.collect().shape == (0, 6, 5)


def test_filter_predicate_error_keeps_type(sc, stack):
    with pytest.raises(KeyError, match="frame label missing"):
        SparkFrames.from_array(stack, sc, 2).filter(_raise_key_error)


def test_first_and_count(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 4)
    np.testing.assert_array_equal(frames.first(), stack[0])
    assert frames.count() == 11
    with pytest.raises(ValueError, match="empty"):
        frames.take([]).first()


def test_repartition_keeps_order(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 2).repartition(5)
    assert frames.npartitions() == 5
    np.testing.assert_array_equal(frames.collect(), stack)
    assert [len(p) for p in _partition_keys(frames)] == [2, 2, 2, 2, 3]


# -- iter_chunks -------------------------------------------------------------------------
def test_iter_chunks_order_and_results(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 4)
    chunks = list(frames.iter_chunks(_block_sum))
    assert [(a, b) for a, b, _ in chunks] == [(0, 2), (2, 5), (5, 8), (8, 11)]
    for start, stop, total in chunks:
        assert total == int(stack[start:stop].astype(np.int64).sum())
    local = [(a, b) for a, b, _ in LocalFrames.from_array(stack).iter_chunks(_block_sum)]
    assert local[0][0] == 0 and local[-1][1] == 11
    assert frames.nchunks == 4


def test_big_partitions_stream_in_bounded_blocks(sc, stack, monkeypatch):
    from napari_thunder.engines.spark import settings

    frame_bytes = stack[0].nbytes
    monkeypatch.setattr(settings, "BLOCK_BYTES", 2 * frame_bytes)
    frames = SparkFrames.from_array(stack, sc, 2)  # partitions of 5 and 6 frames

    def block_size(block, start):
        return block.shape[0]

    chunks = list(frames.iter_chunks(block_size))
    assert [(a, b) for a, b, _ in chunks] == [(0, 2), (2, 4), (4, 5), (5, 7), (7, 9), (9, 11)]
    assert all(size <= 2 for _, _, size in chunks) and frames.nchunks == 6
    np.testing.assert_array_equal(frames.map(_plus_index, (6, 5), np.int64).collect(),
                                  stack.astype(np.int64) * 3 + np.arange(11)[:, None, None])


def _wait_no_active_jobs(sc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sc.statusTracker().getActiveJobsIds():
            return True
        time.sleep(0.2)
    return False


def test_iter_chunks_close_cancels_jobs(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 4)
    gen = frames.iter_chunks(_slow_after_first, max_inflight=2)
    assert next(gen)[:2] == (0, 2)
    time.sleep(1.0)  # the next partitions' jobs are running now
    assert sc.statusTracker().getActiveJobsIds()
    began = time.monotonic()
    gen.close()
    assert time.monotonic() - began < 15
    assert _wait_no_active_jobs(sc)
    # the context is still usable
    assert SparkFrames.from_array(stack, sc, 2).map(_plus_index, (6, 5), np.int64).count() == 11
    np.testing.assert_array_equal(SparkFrames.from_array(stack, sc, 2).collect(), stack)


def test_iter_chunks_cancel_from_another_thread(sc, stack):
    """A worker thread iterates (like the GUI's thread worker); the main thread
    asks it to stop; the worker closes the generator: its jobs are cancelled."""
    frames = SparkFrames.from_array(stack, sc, 4)
    stop = threading.Event()
    seen = []
    state = {}

    def consume():
        gen = frames.iter_chunks(_slow_after_first, max_inflight=2)
        try:
            for chunk in gen:
                seen.append(chunk[:2])
                stop.wait(60)
                if stop.is_set():
                    began = time.monotonic()
                    gen.close()
                    state["close_seconds"] = time.monotonic() - began
                    return
        except BaseException as err:  # pragma: no cover - reported below
            state["error"] = err

    worker = threading.Thread(target=consume)
    worker.start()
    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    assert sc.statusTracker().getActiveJobsIds()
    stop.set()
    worker.join(30)
    assert not worker.is_alive()
    assert "error" not in state
    assert seen == [(0, 2)] and state["close_seconds"] < 15
    assert _wait_no_active_jobs(sc)
    assert sc.parallelize(range(10), 2).sum() == 45


def test_generator_closed_from_main_thread(sc, stack):
    """Iterated in one thread, closed from another (between yields)."""
    frames = SparkFrames.from_array(stack, sc, 4)
    gen = frames.iter_chunks(_slow_after_first, max_inflight=2)
    first = []
    reader = threading.Thread(target=lambda: first.append(next(gen)))
    reader.start()
    reader.join(60)
    assert first and first[0][:2] == (0, 2)
    time.sleep(1.0)
    gen.close()
    assert _wait_no_active_jobs(sc)


def test_cancel_streams_from_another_thread_is_immediate(sc, stack):
    """The GUI thread cancels while the worker thread waits inside next():
    the generator ends quietly without waiting for the slow partitions."""
    frames = SparkFrames.from_array(stack, sc, 4)
    seen, state = [], {}

    def consume():
        try:
            began = None
            for chunk in frames.iter_chunks(_slow_after_first, max_inflight=2):
                seen.append(chunk[:2])
                began = time.monotonic()
            state["seconds_after_first"] = time.monotonic() - began
        except BaseException as err:  # pragma: no cover - reported below
            state["error"] = err

    worker = threading.Thread(target=consume)
    worker.start()
    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the worker is now blocked waiting for partition 1 (30 s)
    assert frames.cancel_streams() == 1
    worker.join(20)
    assert not worker.is_alive()
    assert "error" not in state, state.get("error")
    assert seen == [(0, 2)] and state["seconds_after_first"] < 15
    assert _wait_no_active_jobs(sc)
    assert frames.cancel_streams() == 0
    assert sc.parallelize(range(4), 2).count() == 4


# -- block by block with a local master: every block's result in a file ----------------------
def _wait_for(marker, timeout=10.0):
    """Whether the file ``marker`` appeared within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.path.exists(marker)


class _WaitAtStarts:
    """Block function: the blocks starting at a frame of ``starts`` first
    wait for the file ``marker``; returns ``(start, whether it was there)``."""

    def __init__(self, marker, starts):
        self.marker = marker
        self.starts = starts

    def __call__(self, block, start):
        return start, start not in self.starts or _wait_for(self.marker)


class _WaitOnFrames:
    """Per-frame map: frames whose first value is in ``values`` first wait for
    the file ``marker``; one that waited in vain comes back as -1s."""

    def __init__(self, marker, values):
        self.marker = marker
        self.values = values

    def __call__(self, frame):
        if frame.flat[0] in self.values and not _wait_for(self.marker):
            return np.full_like(frame, -1)
        return frame


def _slow_after_first_frame(block, start):
    if start > 0:
        time.sleep(0.5)
    return block


def _our_result_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), f"{results.RESULT_DIR_PREFIX}{os.getpid()}-*")))


def test_blocks_arrive_while_their_partitions_job_runs(sc, stack, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "BLOCK_BYTES", 2 * stack[0].nbytes)
    frames = SparkFrames.from_array(stack, sc, 2)  # blocks (0, 2) (2, 4) (4, 5) | (5, 7) (7, 9) (9, 11)
    marker = tmp_path / "first-block-received"
    gen = frames.iter_chunks(_WaitAtStarts(str(marker), {4, 9}))
    chunks = [next(gen)]
    marker.touch()  # only now can the last block of each partition be computed
    chunks += list(gen)
    assert [(a, b) for a, b, _ in chunks] == [(0, 2), (2, 4), (4, 5), (5, 7), (7, 9), (9, 11)]
    assert [result for _, _, result in chunks] == [(0, True), (2, True), (4, True), (5, True), (7, True),
                                                   (9, True)]


@pytest.mark.parametrize("file_bytes", [settings.FILE_RESULT_BYTES, None], ids=["files", "through-spark"])
def test_streamed_blocks_equal_the_collected_result(sc, stack, monkeypatch, file_bytes):
    monkeypatch.setattr(settings, "BLOCK_BYTES", 2 * stack[0].size * 8)  # 2 frames of the int64 results
    monkeypatch.setattr(settings, "FILE_RESULT_BYTES", file_bytes)
    frames = SparkFrames.from_array(stack, sc, 3).map(_plus_index, stack.shape[1:], np.int64)
    expected = stack.astype(np.int64) * 3 + np.arange(11)[:, None, None]
    chunks = list(frames.iter_chunks(_identity_block))
    assert [(a, b) for a, b, _ in chunks] == [(0, 2), (2, 3), (3, 5), (5, 7), (7, 9), (9, 11)]
    assert len(chunks) == frames.nchunks
    np.testing.assert_array_equal(np.concatenate([block for _, _, block in chunks]), expected)
    np.testing.assert_array_equal(frames.collect(), expected)
    sums = list(frames.iter_chunks(_block_sum))  # not ndarrays: pickles
    assert [(a, b, total) for a, b, total in sums] == [(a, b, int(expected[a:b].sum())) for a, b, _ in chunks]


@pytest.mark.parametrize("how", ["close", "cancel_streams"])
def test_cancel_in_the_middle_of_a_partition_leaves_no_files(sc, stack, monkeypatch, how):
    monkeypatch.setattr(settings, "BLOCK_BYTES", stack[0].nbytes)  # one frame per block
    frames = SparkFrames.from_array(stack, sc, 2)
    before = _our_result_dirs()
    gen = frames.iter_chunks(_slow_after_first_frame)
    assert next(gen)[:2] == (0, 1)  # the job of partition 0 (frames 0..4) still runs
    assert len(_our_result_dirs() - before) == 1
    if how == "close":
        gen.close()
    else:
        assert frames.cancel_streams() == 1
        assert list(gen) == []  # ends quietly
    assert _wait_no_active_jobs(sc)
    deadline = time.monotonic() + 10
    while _our_result_dirs() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _our_result_dirs() - before


def test_gui_progress_moves_block_by_block(sc, tmp_path, monkeypatch):
    """The plugin's statistic jobs show one step per ``stream_statistic``
    item: a 200-frame job on 2 partitions moves once per block, the first
    step while both partitions' jobs still run."""
    data = np.broadcast_to(np.arange(200.0)[:, None, None], (200, 4, 4)).copy()
    monkeypatch.setattr(settings, "BLOCK_BYTES", 10 * data[0].nbytes)
    marker = tmp_path / "first-step-shown"
    imgs = images.fromarray(data, engine=sc, npartitions=2).map(
        _WaitOnFrames(str(marker), {99.0, 199.0}), value_shape=(4, 4), dtype=np.float64)
    steps = []
    for done, total, estimate in imgs.stream_statistic("mean"):
        steps.append((done, total))
        last = estimate
        marker.touch()
    assert steps == [(done, 200) for done in range(10, 201, 10)]  # 20 steps, not 2
    assert len(steps) == imgs.frames.nchunks
    np.testing.assert_array_equal(last, data.mean(axis=0))  # frames 99 and 199 saw the marker


def _block_length(block, start):
    """Per-frame map whose frames tell the length of the map's block."""
    return np.full(block.shape, float(block.shape[0]))


@pytest.fixture(scope="module")
def movie():
    return np.random.default_rng(12).normal(100, 20, size=(200, 16, 16))  # 2 KiB frames


def test_min_chunks_cuts_spark_streams_into_about_count_blocks(sc, movie):
    """Inside ``min_chunks(50, small)`` (what GUI jobs run in) a 200-frame
    stack on 2 partitions streams in 50 blocks, not 2; same values; outside,
    the default blocks again."""
    imgs = images.fromarray(movie, engine=sc, npartitions=2)
    plain = list(imgs.gaussian_filter(1.0).iter_chunks())
    plain_steps = list(imgs.stream_statistic("mean"))
    assert len(plain) == len(plain_steps) == imgs.gaussian_filter(1.0).frames.nchunks == 2
    with min_chunks(50, 1024):
        filtered = imgs.gaussian_filter(1.0)
        assert filtered.frames.nchunks == 50
        chunks = list(filtered.iter_chunks())
        steps = list(imgs.stream_statistic("mean"))
    assert len(chunks) >= 40 and len(steps) >= 40
    assert [(a, b) for a, b, _ in chunks] == [(a, a + 4) for a in range(0, 200, 4)]
    assert [done for done, _, _ in steps] == list(range(4, 201, 4))
    np.testing.assert_array_equal(np.concatenate([c for _, _, c in chunks]),
                                  np.concatenate([c for _, _, c in plain]))
    np.testing.assert_allclose(steps[-1][2], plain_steps[-1][2], rtol=1e-12)
    np.testing.assert_allclose(steps[-1][2], movie.mean(axis=0), rtol=1e-12)
    assert imgs.gaussian_filter(1.0).frames.nchunks == 2  # the default again


def test_spark_blocks_are_decided_where_the_stream_or_map_is_made(sc, movie):
    """A stream made inside ``min_chunks`` keeps its blocks when consumed
    outside it, on another thread (the GUI's worker); one made outside keeps
    the default inside; a ``map`` made inside computes small blocks."""
    frames = SparkFrames.from_array(movie, sc, 2)
    acc = MomentAccumulator(movie.shape[1:], movie.dtype, ("mean",))
    with min_chunks(50, 1024):
        made_inside = frames.iter_chunks(_identity_block)
        folds_inside = frames.stream_aggregate(acc)
        mapped = frames.map(_block_length, movie.shape[1:], np.float64)
    made_outside = frames.iter_chunks(_identity_block)
    seen = {}

    def consume():
        seen["inside"] = [(a, b) for a, b, _ in made_inside]
        seen["folds"] = [done for done, _, _ in folds_inside]

    worker = threading.Thread(target=consume)
    worker.start()
    worker.join(60)
    assert seen["inside"] == [(a, a + 4) for a in range(0, 200, 4)]
    assert seen["folds"] == list(range(4, 201, 4))
    with min_chunks(50, 1024):
        assert [(a, b) for a, b, _ in made_outside] == [(0, 100), (100, 200)]
    lengths = list(mapped.iter_chunks(_identity_block))  # streamed in default blocks
    assert [(a, b) for a, b, _ in lengths] == [(0, 100), (100, 200)]
    np.testing.assert_array_equal(np.concatenate([c for _, _, c in lengths]), 4.0)  # mapped 4 at a time


def test_block_bytes_of_min_chunks(monkeypatch):
    """``streams.block_bytes``: ``settings.BLOCK_BYTES`` outside
    ``min_chunks``; inside, whole frames of about total / count, at least
    ``min_bytes``, at most ``BLOCK_BYTES`` (and one frame)."""
    frame = 2048
    assert streams.block_bytes(200, frame) == settings.BLOCK_BYTES
    with min_chunks(50, 1024):
        assert streams.block_bytes(200, frame) == 4 * frame
        assert streams.block_bytes(201, frame) == 5 * frame
    with min_chunks(50, 256 * 2**10):  # 128 frames of 2 KiB at least
        assert streams.block_bytes(200, frame) == 128 * frame
    with min_chunks(0):
        assert streams.block_bytes(200, frame) == settings.BLOCK_BYTES
    monkeypatch.setattr(settings, "BLOCK_BYTES", 3 * frame)
    with min_chunks(50, 1024):
        assert streams.block_bytes(10_000, frame) == 3 * frame
        assert streams.block_bytes(10, 10 * frame) == 10 * frame  # one frame bigger than a block
        assert streams.block_bytes(10, 0) == 3 * frame


def test_a_retried_tasks_blocks_are_delivered_once_in_order(tmp_path):
    """Spark re-runs a failed task under a new attempt number (the session's
    local[2] master allows no retries, so the files are written here as the
    task would): every frame range is read once, the newest attempt's."""
    folder = str(tmp_path)

    def write(attempt, start, stop, part=0):
        results._write_block_file(np.full(stop - start, attempt), folder, part, start, stop, attempt)

    def taken(start):
        return [(a, b, value.tolist()) for a, b, value in results._ready_blocks(folder, 0, start)]

    write(0, 0, 2)
    assert taken(0) == [(0, 2, [0, 0])]
    write(0, 2, 4)  # attempt 0 fails after its second block; attempt 1 starts again
    write(1, 0, 2)
    write(1, 2, 4)
    write(1, 4, 5)
    write(0, 5, 7, part=1)
    open(os.path.join(folder, ".unfinished.tmp"), "wb").close()
    assert taken(2) == [(2, 4, [1, 1]), (4, 5, [1])]
    assert taken(5) == []  # partition 1's files are not partition 0's
    assert sorted(os.listdir(folder)) == [".unfinished.tmp", "0-0-2-1.npy", "1-5-7-0.npy"]
    # the driver's check: blocks must continue where the last one stopped, within the partition
    chain = streams._checked([(0, 2, None), (3, 5, None)], 0, [0, 5], 0)
    assert next(chain)[:2] == (0, 2)
    with pytest.raises(RuntimeError, match=r"partition 0 does not hold frames 0\.\.4"):
        next(chain)


class _NoPickle:
    def __reduce__(self):
        raise TypeError("not picklable")


def test_block_files_appear_whole_or_not_at_all(tmp_path):
    results._write_block_file({"n": 3}, str(tmp_path), 2, 10, 12, 0)
    assert os.listdir(tmp_path) == ["2-10-12-0.pickle"]
    with pytest.raises(TypeError, match="not picklable"):
        results._write_block_file(_NoPickle(), str(tmp_path), 2, 12, 14, 0)
    assert os.listdir(tmp_path) == ["2-10-12-0.pickle"]
    assert list(results._ready_blocks(str(tmp_path), 2, 10)) == [(10, 12, {"n": 3})]
    assert os.listdir(tmp_path) == []


# -- aggregate ---------------------------------------------------------------------------
def test_aggregate_moments_equal_numpy_and_local(sc, stack):
    acc = MomentAccumulator(stack.shape[1:], stack.dtype)
    spark = SparkFrames.from_array(stack, sc, 3).aggregate(acc)
    local = LocalFrames.from_array(stack).aggregate(acc)
    for stat in ("mean", "var", "std", "sum", "min", "max"):
        expected = getattr(stack, stat)(axis=0)
        got = spark.finalize(stat)
        assert got.dtype == expected.dtype, stat
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=stat)
        np.testing.assert_allclose(got, local.finalize(stat), rtol=1e-12, err_msg=stat)


@pytest.mark.parametrize("npartitions, fan_in", [(3, 16), (11, 2)])
def test_aggregate_merges_in_frame_order(sc, npartitions, fan_in):
    """An associative but non-commutative reduce (keep the later frame) needs
    the partials merged in order; 11 partitions with fan_in 2 exercise a
    3-level merge tree on the executors."""
    stack = np.arange(40 * 2 * 2, dtype=np.float64).reshape(40, 2, 2)
    frames = SparkFrames.from_array(stack, sc, npartitions)
    last = frames.aggregate(ReduceAccumulator(lambda a, b: b), fan_in=fan_in).finalize()
    first = frames.aggregate(ReduceAccumulator(lambda a, b: a), fan_in=fan_in).finalize()
    np.testing.assert_array_equal(last, stack[-1])
    np.testing.assert_array_equal(first, stack[0])
    total = frames.aggregate(ReduceAccumulator(np.add), fan_in=fan_in).finalize()
    np.testing.assert_array_equal(total, stack.sum(axis=0))


def test_stream_aggregate_progress(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 4)
    steps = list(frames.stream_aggregate(MomentAccumulator(stack.shape[1:], stack.dtype, ("mean",))))
    assert [done for done, _, _ in steps] == [2, 5, 8, 11]
    assert all(total == 11 for _, total, _ in steps)
    np.testing.assert_allclose(steps[-1][2].finalize("mean"), stack.mean(axis=0), rtol=1e-12)


# -- blocks --------------------------------------------------------------------------------
def test_to_blocks_tiles_and_roundtrip(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 3)
    store = frames.to_blocks((4, 2))
    assert isinstance(store, SparkBlockStore)
    assert store.count() == 6 and store.shape == stack.shape and store.tile_shape == (4, 2)
    tiles = store.collect_blocks()
    local_tiles = LocalFrames.from_array(stack).to_blocks((4, 2)).collect_blocks()
    assert len(tiles) == len(local_tiles) == 6
    for got, want in zip(tiles, local_tiles):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(tiles[0], stack[:, 0:4, 0:2])
    np.testing.assert_array_equal(tiles[5], stack[:, 4:6, 4:5])
    np.testing.assert_array_equal(store.collect(), stack)
    back = store.to_frames()
    assert back.npartitions() == 3
    np.testing.assert_array_equal(back.collect(), stack)


def test_block_store_map_changes_length(sc, stack):
    store = SparkFrames.from_array(stack, sc, 3).to_blocks((3, 5))
    means = store.map(lambda tile: tile.mean(axis=0, keepdims=True), 1, np.float64)
    assert means.shape == (1, 6, 5)
    np.testing.assert_allclose(means.collect()[0], stack.mean(axis=0), rtol=1e-12)
    frames = means.to_frames()
    assert frames.shape == (1, 6, 5) and frames.npartitions() == 1
    np.testing.assert_allclose(frames.collect()[0], stack.mean(axis=0), rtol=1e-12)


def test_volume_blocks(sc):
    volume = np.arange(5 * 4 * 3 * 2, dtype=np.uint16).reshape(5, 4, 3, 2)
    store = SparkFrames.from_array(volume, sc, 2).to_blocks((2, 2, 2))
    assert store.count() == 4
    np.testing.assert_array_equal(store.collect(), volume)
    np.testing.assert_array_equal(store.to_frames().collect(), volume)


# -- user RDDs and generic items ----------------------------------------------------------
def test_from_rdd_int_keys_and_probe(sc, stack):
    rdd = sc.parallelize([(i, stack[i]) for i in range(11)], 3)
    frames = SparkFrames.from_rdd(rdd)
    assert frames.shape == stack.shape and frames.dtype == stack.dtype
    np.testing.assert_array_equal(frames.collect(), stack)


def test_from_rdd_hints_skip_jobs_and_unordered_keys(sc, stack):
    records = [((i,), stack[i]) for i in range(11)][::-1]  # reversed order
    rdd = sc.parallelize(records, 2)
    frames = SparkFrames.from_rdd(rdd, dims=(6, 5), nrecords=11, dtype=np.int16)
    np.testing.assert_array_equal(frames.collect(), stack)
    np.testing.assert_array_equal(frames.take([4, 2]).collect(), stack[[4, 2]])


def test_from_rdd_keys_with_gaps_are_renumbered_in_key_order(sc, stack):
    records = [(6, stack[3]), (0, stack[0]), (4, stack[2]), (2, stack[1])]
    for frames in (SparkFrames.from_rdd(sc.parallelize(records, 2)),
                   SparkFrames.from_rdd(sc.parallelize(records, 2), dims=(6, 5), nrecords=4, dtype=np.int16)):
        assert frames.shape == (4, 6, 5)
        np.testing.assert_array_equal(frames.collect(), stack[:4])
        keys = [k for part in _partition_keys(frames) for k in part]
        assert keys == [0, 1, 2, 3]


def test_from_rdd_errors(sc, stack):
    ragged = sc.parallelize([(0, np.zeros((2, 2))), (1, np.zeros((3, 2)))], 2)
    with pytest.raises(ValueError, match="same shape"):
        SparkFrames.from_rdd(ragged)
    rdd = sc.parallelize([(i, stack[i]) for i in range(11)], 2)
    with pytest.raises(ValueError, match="nrecords"):
        SparkFrames.from_rdd(rdd, nrecords=12)
    with pytest.raises(ValueError, match="dims"):
        SparkFrames.from_rdd(rdd, dims=(5, 6))


def test_from_items_recount_order(sc):
    items = [(0, 2), (1, 0), (2, 3), (3, 1)]
    frames = SparkFrames.from_items(sc, items, _items_to_frames, npartitions=3, recount=True)
    assert frames.shape == (6, 2, 3) and frames.dtype == np.float32
    assert frames.npartitions() == 3
    values = frames.collect()[:, 0, 0]
    np.testing.assert_array_equal(values, [0, 1, 20, 21, 22, 30])
    keys = [k for part in _partition_keys(frames) for k in part]
    assert keys == list(range(6))


def test_from_items_errors(sc):
    with pytest.raises(ValueError, match="same shape"):
        SparkFrames.from_items(sc, [0, 1], _ragged_items, npartitions=2)
    with pytest.raises(ValueError, match="no frames"):
        SparkFrames.from_items(sc, [(0, 0), (1, 0)], _items_to_frames, npartitions=2)


def test_callable_source_partitions(sc):
    source = CallableSource(7, _Ramp(), (3, 4), np.float64)
    frames = SparkFrames.from_source(source, sc, 3)
    expected = np.stack([_Ramp()(i) for i in range(7)])
    np.testing.assert_array_equal(frames.collect(), expected)
    assert _partition_keys(frames) == [[0, 1], [2, 3], [4, 5, 6]]


class _Ramp:
    def __call__(self, i):
        return np.full((3, 4), float(i)) + np.arange(4)


def test_with_array_keeps_context_and_partitions(sc, stack):
    frames = SparkFrames.from_array(stack, sc, 3)
    other = frames.with_array(stack[:1] * 2)
    assert other.context is sc and other.npartitions() == 1
    np.testing.assert_array_equal(other.collect(), stack[:1] * 2)


# -- context resolution ---------------------------------------------------------------------
def test_resolve_context(sc):
    assert resolve_context(sc) is sc
    assert resolve_context(sc.master) is sc
    with pytest.raises(ValueError, match="already running"):
        resolve_context("local[3]" if sc.master != "local[3]" else "local[1]")
    with pytest.raises(ValueError, match="master URL"):
        resolve_context("gpu please")
