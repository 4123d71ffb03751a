"""What one Run costs the GUI thread, counted rather than timed (the wall
times are in docs/gui.md): a job adds its layer once and repaints it only
when new frames arrived since the last repaint, the widget's progress bar
waits for the window's next update instead of repainting the whole window at
once, and napari's activity bar (which processes Qt events at every step) is
only made for a job that runs longer than ``ACTIVITY_DELAY``."""

import numpy as np
import pytest
from qtpy.QtCore import QEvent, QObject

from napari_thunder.plugin import operation_widget, result_layers
from napari_thunder.plugin import worker as worker_mod

from .test_worker import FakeResult, _wait


class _PaintCounter(QObject):
    def __init__(self):
        super().__init__()
        self.paints = 0

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


@pytest.fixture
def counted_image_calls(monkeypatch):
    """Counts of ``add_image`` on any viewer and of ``refresh`` on image layers."""
    from napari.components import ViewerModel
    from napari.layers import Image

    counts = {"add_image": 0, "refresh": 0}
    add_image, refresh = ViewerModel.add_image, Image.refresh

    def counting_add_image(self, *args, **kwargs):
        counts["add_image"] += 1
        return add_image(self, *args, **kwargs)

    def counting_refresh(self, *args, **kwargs):
        counts["refresh"] += 1
        return refresh(self, *args, **kwargs)

    monkeypatch.setattr(ViewerModel, "add_image", counting_add_image)
    monkeypatch.setattr(Image, "refresh", counting_refresh)
    return counts


def _napari_own_refreshes(viewer, counts):
    """Refreshes napari makes itself when it adds an image layer (so the
    tests count only the job's)."""
    before = counts["refresh"]
    layer = viewer.add_image(np.zeros((2, 4, 4)))
    own = counts["refresh"] - before
    viewer.layers.remove(layer)
    counts.update(add_image=0, refresh=0)
    return own


def test_one_chunk_job_adds_its_layer_once_and_never_repaints_it(make_napari_viewer_proxy, qtbot,
                                                                  counted_image_calls):
    viewer = make_napari_viewer_proxy()
    own = _napari_own_refreshes(viewer, counted_image_calls)
    data = np.random.default_rng(1).normal(size=(10, 32, 32))
    job = result_layers.start_frames_job(viewer, FakeResult(data, chunk=10), "out")
    _wait(qtbot, job)
    assert job.status == "done"
    np.testing.assert_array_equal(viewer.layers["out"].data, data)  # shown as added
    assert counted_image_calls == {"add_image": 1, "refresh": own}
    assert job.progress is None


def test_repaints_only_for_frames_not_shown_yet(make_napari_viewer_proxy, qtbot, counted_image_calls,
                                                monkeypatch):
    monkeypatch.setattr(result_layers, "REFRESH_INTERVAL", 3600.0)
    viewer = make_napari_viewer_proxy()
    own = _napari_own_refreshes(viewer, counted_image_calls)
    data = np.arange(10 * 4 * 5, dtype=np.float32).reshape(10, 4, 5)
    job = result_layers.start_frames_job(viewer, FakeResult(data, chunk=3), "out")
    _wait(qtbot, job)
    assert job.status == "done" and job.partial_updates == 4
    np.testing.assert_array_equal(viewer.layers["out"].data, data)
    # chunks 2 and 3 wait for the last one's repaint; the end adds none
    assert counted_image_calls == {"add_image": 1, "refresh": own + 1}


def test_progress_bar_waits_for_the_next_window_update(qtbot):
    from magicgui.widgets import ProgressBar

    bar = ProgressBar(min=0, max=10, value=0)
    qtbot.addWidget(bar.native)
    bar.native.show()
    qtbot.waitExposed(bar.native)
    counter = _PaintCounter()
    bar.native.installEventFilter(counter)
    operation_widget.show_progress(bar, 4, 20)
    assert counter.paints == 0  # QProgressBar.setValue alone paints here, at once
    assert (bar.value, bar.max) == (4, 20)
    qtbot.waitUntil(lambda: counter.paints > 0, timeout=5000)  # ...and on the next update
    painted = counter.paints
    operation_widget.show_progress(bar, 99)
    assert bar.value == 20 and counter.paints == painted


def test_a_longer_job_gets_napari_s_activity_bar(make_napari_viewer_proxy, qtbot, monkeypatch):
    monkeypatch.setattr(worker_mod, "ACTIVITY_DELAY", 0.05)
    viewer = make_napari_viewer_proxy()
    data = np.ones((40, 8, 8))
    job = result_layers.start_frames_job(viewer, FakeResult(data, chunk=2, delay=0.02), "slow")
    qtbot.waitUntil(lambda: job.progress is not None, timeout=10000)
    _wait(qtbot, job)
    assert job.status == "done"
    assert job.progress.n == 40 and job.progress.total == 40
