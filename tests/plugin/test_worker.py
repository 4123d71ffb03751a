"""The background engine with fake streams: partial results, cancellation, errors."""

import threading
import time

import numpy as np
import pytest

from napari_thunder.plugin import result_layers


class FakeResult:
    """Minimal Images-like result: ``iter_chunks`` yields (start, stop, block)."""

    def __init__(self, array, chunk=2, delay=0.0, fail_at=None):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.chunk = chunk
        self.delay = delay
        self.fail_at = fail_at
        self.closed = threading.Event()
        self.produced = 0

    def iter_chunks(self):
        try:
            for start in range(0, self.shape[0], self.chunk):
                stop = min(start + self.chunk, self.shape[0])
                if self.fail_at is not None and start >= self.fail_at:
                    raise RuntimeError(f"engine exploded at frame {start}")
                time.sleep(self.delay)
                self.produced += 1
                yield start, stop, self.array[start:stop]
        finally:
            self.closed.set()


def _wait(qtbot, job, timeout=20000):
    qtbot.waitUntil(lambda: not job.running, timeout=timeout)
    # the worker thread runs `finished` last; let the pool drain
    qtbot.waitUntil(lambda: not job.worker._running if hasattr(job.worker, "_running") else True,
                    timeout=timeout)


def test_frames_job_fills_layer_chunk_by_chunk(make_napari_viewer_proxy, qtbot):
    viewer = make_napari_viewer_proxy()
    data = np.arange(10 * 4 * 5, dtype=np.float32).reshape(10, 4, 5)
    fake = FakeResult(data, chunk=3)
    seen = []
    job = result_layers.start_frames_job(viewer, fake, "out")
    # snapshot of the layer after every partial update (main thread)
    job.progress_callbacks.append(lambda j: seen.append(np.array(j.layer.data)))
    _wait(qtbot, job)
    layer = viewer.layers["out"]
    assert job.status == "done"
    assert job.partial_updates == 4 and job.done == 10
    np.testing.assert_array_equal(layer.data, data)
    assert layer.metadata["thunder"]["complete"] is True
    # a partial result was visible before the final one: the layer appears
    # with the first chunk filled and the rest still zero
    assert len(seen) == 4
    np.testing.assert_array_equal(seen[0][:3], data[:3])
    assert not seen[0][3:].any()
    # contrast: the union of the chunks' 0.5..99.5 percentiles
    assert layer.contrast_limits[0] == pytest.approx(np.percentile(data[:3], 0.5))
    assert layer.contrast_limits[1] == pytest.approx(np.percentile(data[9:], 99.5))
    assert fake.closed.is_set()


def test_estimate_job_refines_to_final(make_napari_viewer_proxy, qtbot):
    viewer = make_napari_viewer_proxy()
    rng = np.random.default_rng(0)
    data = rng.normal(size=(8, 6, 7))

    def running_mean():
        for k in range(1, 9):
            yield k, 8, data[:k].mean(axis=0, keepdims=True)

    estimates = []
    job = result_layers.start_estimate_job(viewer, running_mean(), "mean", total=8)
    job.progress_callbacks.append(lambda j: estimates.append(np.array(j.layer.data)))
    _wait(qtbot, job)
    assert job.status == "done"
    assert len(estimates) == 8
    np.testing.assert_allclose(estimates[0], data[0])          # a partial estimate first
    np.testing.assert_allclose(viewer.layers["mean"].data, data.mean(axis=0))
    assert viewer.layers["mean"].data.shape == (6, 7)
    assert job.done == 8
    assert job.progress is None  # a job of a moment adds no bar to napari's activity dock


def test_cancel_closes_stream_and_leaves_viewer_usable(make_napari_viewer_proxy, qtbot):
    from qtpy.QtCore import QThreadPool

    viewer = make_napari_viewer_proxy()
    data = np.ones((200, 8, 8), np.float64)
    fake = FakeResult(data, chunk=1, delay=0.02)
    job = result_layers.start_frames_job(viewer, fake, "slow")
    qtbot.waitUntil(lambda: job.partial_updates >= 2, timeout=10000)
    job.cancel()
    _wait(qtbot, job)
    assert job.status == "cancelled"
    assert fake.closed.wait(5), "the stream generator was not closed"
    assert fake.produced < 200
    assert QThreadPool.globalInstance().waitForDone(5000)
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    # viewer still works
    viewer.add_image(np.zeros((3, 3)), name="after")
    assert "after" in viewer.layers


def test_error_becomes_notification(make_napari_viewer_proxy, qtbot, monkeypatch):
    viewer = make_napari_viewer_proxy()
    messages = []
    import napari.utils.notifications as notifications

    monkeypatch.setattr(notifications, "show_error", lambda msg: messages.append(msg))
    fake = FakeResult(np.ones((6, 3, 3)), chunk=2, fail_at=2)
    job = result_layers.start_frames_job(viewer, fake, "broken")
    _wait(qtbot, job)
    assert job.status == "failed"
    assert isinstance(job.error, RuntimeError)
    assert any("engine exploded" in m and "broken" in m for m in messages)
    assert fake.closed.is_set()


def test_factory_runs_in_worker_thread(make_napari_viewer_proxy, qtbot):
    viewer = make_napari_viewer_proxy()
    data = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    threads = []

    def factory():
        threads.append(threading.current_thread())
        return FakeResult(data, chunk=1)

    job = result_layers.start_frames_job(viewer, factory, "built", total=3)
    _wait(qtbot, job)
    assert job.status == "done"
    assert threads and threads[0] is not threading.main_thread()
    np.testing.assert_array_equal(viewer.layers["built"].data, data)
    # uint8 too gets percentile limits (a dim uint8 stack is not shown dark)
    low, high = viewer.layers["built"].contrast_limits
    assert low == pytest.approx(np.percentile(data[:1], 0.5))
    assert high == pytest.approx(np.percentile(data[2:], 99.5))


def test_large_outputs_are_memory_mapped():
    small = result_layers.allocate_output((4, 8, 8), np.float32)
    assert type(small) is np.ndarray and not small.any()
    big = result_layers.allocate_output((4, 8, 8), np.float32, fraction=0.0)
    assert isinstance(big, np.memmap) and big.shape == (4, 8, 8) and not big.any()
    big[1:3] = 2.5
    assert float(big.sum()) == 2.5 * 2 * 64
