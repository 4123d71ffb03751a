"""What a user meets when things go wrong: no leftover layers, readable errors,
an unreachable Spark master said within seconds, Cancel while an engine starts,
status text that never widens the window, uint16 subtraction without wrap-around."""

import socket
import time

import numpy as np
import pytest

from napari_thunder.plugin import settings
from napari_thunder.plugin import widgets as W
from napari_thunder.plugin.messages import describe_error


@pytest.fixture
def errors(monkeypatch):
    from napari.utils import notifications

    messages = []
    monkeypatch.setattr(notifications, "show_error", lambda msg: messages.append(msg))
    return messages


def _closed_port():
    """A localhost port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(qtbot, job, timeout=60000):
    qtbot.waitUntil(lambda: not job.running, timeout=timeout)


class _FailAfter:
    """A map function raising ``exc`` on images with index >= ``at``."""

    def __init__(self, at, exc):
        self.at, self.exc = at, exc

    def __call__(self, kv):
        key, image = kv
        if key[0] >= self.at:
            raise self.exc
        return image


def test_failed_frames_job_leaves_no_layer_and_says_why(make_napari_viewer_proxy, qtbot, errors,
                                                        monkeypatch):
    viewer = make_napari_viewer_proxy()
    data = np.random.default_rng(0).normal(size=(16, 20, 20))
    layer = viewer.add_image(data, name="movie")
    monkeypatch.setattr(W.MedianFilterWidget, "apply",
                        lambda self, imgs, size: imgs.map(_FailAfter(9, MemoryError()), with_keys=True))
    widget = W.MedianFilterWidget(viewer)
    widget.image.value = layer
    job = widget.run()
    _wait(qtbot, job)
    assert job.status == "failed" and isinstance(job.error, MemoryError)
    assert [lay.name for lay in viewer.layers] == ["movie"]        # no black half result
    assert job.layer is None
    assert "out of memory" in widget.status.value                  # not "failed: "
    assert any("out of memory" in m for m in errors)


def test_failed_estimate_job_leaves_no_layer(make_napari_viewer_proxy, qtbot, errors, monkeypatch):
    viewer = make_napari_viewer_proxy()
    data = np.random.default_rng(1).normal(size=(16, 12, 12))
    layer = viewer.add_image(data, name="movie")

    def failing_stream(self, imgs):
        yield 4, 16, data[:4].mean(axis=0)
        raise RuntimeError("disk went away")

    monkeypatch.setattr(W.MeanWidget, "stream", failing_stream)
    widget = W.MeanWidget(viewer)
    widget.image.value = layer
    job = widget.run()
    _wait(qtbot, job)
    assert job.status == "failed"
    assert [lay.name for lay in viewer.layers] == ["movie"]
    assert widget.status.value == "failed: RuntimeError: disk went away"


class _Slow:
    """A map function taking ``delay`` seconds per image (so Cancel always lands mid-run)."""

    def __init__(self, delay):
        self.delay = delay

    def __call__(self, image):
        time.sleep(self.delay)
        return image


def test_cancelled_jobs_are_renamed_as_cancelled(make_napari_viewer_proxy, qtbot, monkeypatch):
    viewer = make_napari_viewer_proxy()
    big = np.random.default_rng(2).normal(size=(64, 128, 128)).astype(np.float32)
    layer = viewer.add_image(big, name="big")
    monkeypatch.setattr(W.MedianFilterWidget, "apply", lambda self, imgs, size: imgs.map(_Slow(0.05)))
    widget = W.MedianFilterWidget(viewer)
    widget.image.value = layer
    widget.size.value = "7"
    job = widget.run()
    qtbot.waitUntil(lambda: job.partial_updates >= 1, timeout=60000)
    widget.cancel_button.clicked()
    _wait(qtbot, job)
    assert job.status == "cancelled" and job.done < 64
    names = [lay.name for lay in viewer.layers]
    assert names == ["big", f"big median(size=7) (cancelled {job.done}/64)"]
    assert "partial result" in widget.status.value
    assert viewer.layers[1].metadata["thunder"]["complete"] is False


def test_cancel_while_the_engine_starts_is_immediate(make_napari_viewer_proxy, qtbot, monkeypatch):
    """A slow engine start (Spark's JVM) can be cancelled: the job ends at once,
    Run is enabled again and nothing is added when the start finally returns."""
    from napari_thunder.plugin import engine_check

    started = []

    def slow_start(choice, timeout=3.0):
        yield "starting Spark on local[2] (the first start launches Java: ~10-30 s)..."
        started.append(time.monotonic())
        time.sleep(3.0)

    monkeypatch.setattr(engine_check, "prepare_engine", slow_start)
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(np.ones((4, 8, 8)), name="m")
    widget = W.GaussianFilterWidget(viewer)
    widget.image.value = layer
    job = widget.run()
    qtbot.waitUntil(lambda: widget.status.value.startswith("starting Spark"), timeout=5000)
    t0 = time.monotonic()
    widget.cancel_button.clicked()
    assert job.status == "cancelled"
    assert time.monotonic() - t0 < 0.5
    assert widget.run_button.enabled and not widget.cancel_button.enabled
    assert widget.status.value.startswith("cancelled")
    qtbot.waitUntil(lambda: job.worker is not None and not job.worker.is_running
                    if hasattr(job.worker, "is_running") else True, timeout=10000)
    qtbot.wait(3500)                                    # the "engine" start returns
    assert [lay.name for lay in viewer.layers] == ["m"]


def test_unreachable_spark_master_fails_within_seconds(make_napari_viewer_proxy, qtbot, errors):
    master = f"spark://127.0.0.1:{_closed_port()}"
    settings.set_engine("spark", spark_master=master)
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(np.ones((4, 8, 8)), name="m")
    widget = W.MeanWidget(viewer)
    widget.image.value = layer
    t0 = time.monotonic()
    job = widget.run()
    _wait(qtbot, job, timeout=15000)
    assert time.monotonic() - t0 < 6
    assert job.status == "failed"
    assert "not reachable" in widget.status.value and master in widget.status.value
    assert "\n" not in widget.status.value and len(widget.status.value) < 300
    assert any("not reachable" in m and "Java" not in m for m in errors)
    assert [lay.name for lay in viewer.layers] == ["m"]


def test_engine_widget_checks_the_master_on_apply(make_napari_viewer_proxy, errors):
    viewer = make_napari_viewer_proxy()
    widget = settings.EngineWidget(viewer)
    widget.backend.value = "spark"
    widget.spark_master.value = master = f"spark://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    widget.apply()
    assert time.monotonic() - t0 < 3
    assert "not reachable" in widget.status.value
    assert errors and "not reachable" in errors[-1] and master in errors[-1]


def test_master_check_passes_for_a_listening_port_and_local():
    from napari_thunder.plugin.engine_check import check_master, master_addresses

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        check_master(f"spark://127.0.0.1:{port}")             # no error
        check_master(f"spark://127.0.0.1:{_closed_port()},127.0.0.1:{port}")  # a standby answers
    check_master("local[2]")
    assert master_addresses("spark://h1:7000,h2") == [("h1", 7000), ("h2", 7077)]
    with pytest.raises(ValueError, match="spark_master"):
        master_addresses("spark://:7077")


def test_prepare_engine_switches_masters_without_restart(monkeypatch):
    """A running context on another master is stopped before the new one starts."""
    from napari_thunder.engines import factory
    from napari_thunder.plugin import engine_check

    events = []
    state = {"master": "local[2]"}
    monkeypatch.setattr(factory, "active_spark_master", lambda: state["master"])
    monkeypatch.setattr(factory, "stop_spark_context",
                        lambda: (events.append(("stop", state["master"])), state.update(master=None)))

    class FakeEngine:
        @property
        def context(self):
            events.append(("start", "local[1]"))
            state["master"] = "local[1]"
            return object()

    monkeypatch.setattr(factory, "resolve_engine", lambda engine: FakeEngine())
    choice = settings.EngineChoice("spark", "local[1]", 0)
    messages = list(engine_check.prepare_engine(choice))
    assert events == [("stop", "local[2]"), ("start", "local[1]")]
    assert any("stopping Spark on local[2]" in m for m in messages)
    assert any("starting Spark" in m for m in messages)
    assert list(engine_check.prepare_engine(choice)) == []   # already running there


# -- status text --------------------------------------------------------------------------------
def test_long_status_text_does_not_widen_the_window(make_napari_viewer, qtbot):
    from qtpy.QtWidgets import QApplication

    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1200, 800)
    widget = W.LocalCorrWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="Local correlation", area="right")
    for _ in range(20):
        QApplication.processEvents()
    width, dock_width = window.width(), dock.width()
    widget.status.value = "failed: " + "a very long engine message " * 60
    for _ in range(20):
        QApplication.processEvents()
    assert window.width() == width and dock.width() == dock_width
    widget.status.value = "x" * 2000                         # one unbreakable word
    for _ in range(20):
        QApplication.processEvents()
    assert window.width() == width and dock.width() == dock_width
    assert widget.status.native.wordWrap()


def test_describe_error_is_one_readable_line():
    java = ("An error occurred while calling o35.collect.\n: org.apache.spark.SparkException: "
            "Job aborted\n\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages"
            "(DAGScheduler.scala:2898)\n" + "\tat some.Frame(Frame.java:1)\n" * 60 +
            "Caused by: java.net.ConnectException: Connection refused\n\tat x.y(Z.java:1)\n")
    Py4JJavaError = type("Py4JJavaError", (Exception,), {})
    line = describe_error(Py4JJavaError(java))
    assert "\n" not in line and len(line) <= 240
    assert line == "Spark failed: java.net.ConnectException: Connection refused"
    assert describe_error(MemoryError()).startswith("MemoryError: out of memory")
    long_path = "/very/long/folder/" + "sub/" * 40 + "stack.tif"
    line = describe_error(ValueError(f"{long_path}: truncated TIF (page 3 of 10 missing)"))
    assert line.startswith("ValueError: truncated TIF (page 3 of 10 missing) (stack.tif in")


# -- subtract ------------------------------------------------------------------------------------
@pytest.fixture
def dim_uint16():
    return np.random.default_rng(5).integers(0, 10, size=(6, 7, 8)).astype(np.uint16)


@pytest.mark.parametrize("mode, expected", [
    (W.OVERFLOW_CLIP, lambda d: np.clip(d.astype(np.int64) - 5, 0, 65535).astype(np.uint16)),
    (W.OVERFLOW_FLOAT, lambda d: d.astype(np.float32) - 5),
    (W.OVERFLOW_WRAP, lambda d: d - np.uint16(5)),
])
def test_subtract_uint16_modes(make_napari_viewer_proxy, qtbot, dim_uint16, mode, expected):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(dim_uint16, name="u")
    widget = W.SubtractWidget(viewer)
    widget.image.value = layer
    widget.value.value = "5"
    widget.overflow.value = mode
    job = widget.run()
    _wait(qtbot, job)
    assert job.status == "done", job.error
    ref = expected(dim_uint16)
    assert job.layer.data.dtype == ref.dtype
    np.testing.assert_array_equal(job.layer.data, ref)


def test_subtract_default_clips_integers(make_napari_viewer_proxy, dim_uint16):
    viewer = make_napari_viewer_proxy()
    widget = W.SubtractWidget(viewer)
    assert widget.overflow.value == W.OVERFLOW_CLIP


# -- localcorr ----------------------------------------------------------------------------------
def test_localcorr_refuses_a_single_image(make_napari_viewer_proxy, errors):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(np.random.default_rng(0).normal(size=(9, 9)), name="one")
    widget = W.LocalCorrWidget(viewer)
    widget.image.value = layer
    assert widget.run() is None
    assert "at least 2 images" in widget.status.value
    assert errors and "at least 2 images" in errors[-1]
    assert len(viewer.layers) == 1
