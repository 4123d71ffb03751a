"""Series dock widgets under Xvfb: the trace under the cursor (raw and ΔF/F /
z-score equal to numpy), and Series maps as image layers."""

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")
pytest.importorskip("matplotlib")

pytestmark = pytest.mark.gui

DOCS = Path(__file__).resolve().parents[2] / "docs"

RNG = np.random.default_rng(8)
N = 40
STIM = (np.arange(N) % 10 < 3).astype(float)
ON = 80 * STIM[:, None, None] * (np.arange(20) > 9)
STACK = (100 + 20 * RNG.random((N, 16, 20)) + ON).astype(np.uint16)


def _dff(x, perc=20.0):
    b = np.percentile(x, perc)
    return (x - b) / (b + 0.1)


def test_pixel_trace_widget(make_napari_viewer_proxy, qtbot, tmp_path):
    from napari_thunder.plugin.series_widgets import PixelTraceWidget

    viewer = make_napari_viewer_proxy()
    viewer.add_image(STACK, name="stack")
    widget = PixelTraceWidget(viewer)
    viewer.window.add_dock_widget(widget, name="pixel series", area="right")
    raw, dff = widget.show_trace_at((0, 5, 12))
    np.testing.assert_array_equal(raw, STACK[:, 5, 12].astype(float))
    np.testing.assert_allclose(dff, _dff(STACK[:, 5, 12].astype(float)))
    widget.box.setValue(1)
    raw, _ = widget.show_trace_at((5, 12))
    np.testing.assert_allclose(raw, STACK[:, 4:7, 11:14].reshape(N, -1).mean(1))
    widget.method.setCurrentText("z-score")
    raw, z = widget.show_trace_at((5, 12))
    np.testing.assert_allclose(z, (raw - raw.mean()) / raw.std())
    assert widget.show_trace_at((0, 99, 99)) is None  # outside the image

    class Move:  # a mouse move at world (t, 3, 7): the widget follows the cursor
        position = (0.0, 3.0, 7.2)

    widget._on_move(viewer, Move())
    np.testing.assert_allclose(widget.ax_raw.lines[0].get_ydata(),
                               STACK[:, 2:5, 6:9].reshape(N, -1).mean(1))
    widget.method.setCurrentText("ΔF/F (percentile baseline)")
    widget.show_trace_at((0, 5, 12))
    qtbot.wait(200)
    shot = viewer.screenshot(canvas_only=False, flash=False)
    from PIL import Image

    # docs/pixel_trace.png is (re)made when missing or with NAPARI_THUNDER_SCREENSHOTS=1
    target = DOCS / "pixel_trace.png"
    if os.environ.get("NAPARI_THUNDER_SCREENSHOTS") == "1" or not target.exists():
        DOCS.mkdir(exist_ok=True)
    else:
        target = tmp_path / "pixel_trace.png"
    Image.fromarray(shot).save(target)
    assert shot.shape[0] > 300 and shot.shape[1] > 300
    assert widget.ax_raw.lines and widget.ax_proc.lines


def test_series_map_widget(make_napari_viewer_proxy, qtbot):
    from napari_thunder.plugin.series_widgets import SeriesMapWidget

    viewer = make_napari_viewer_proxy()
    viewer.add_image(STACK, name="stack", scale=(1, 2, 3))
    widget = SeriesMapWidget(viewer)
    widget.stimulus.setText(", ".join(str(v) for v in STIM))
    layer = widget.run(wait=True)
    m = np.moveaxis(STACK, 0, -1).reshape(-1, N).astype(float)
    expected = np.array([np.corrcoef(r, STIM)[0, 1] for r in m]).reshape(16, 20)
    np.testing.assert_allclose(layer.data, expected)
    assert layer.name == "stack_correlation" and tuple(layer.scale) == (2, 3)
    widget.map.setCurrentText("peak ΔF/F")
    peak = widget.compute()
    np.testing.assert_allclose(peak, np.array([_dff(r).max() for r in m]).reshape(16, 20))
    widget.map.setCurrentText("correlation with the stimulus")
    widget.stimulus.setText("1, 2")
    with pytest.raises(ValueError, match="40 values"):
        widget.compute()
    assert widget.run() is None and "40 values" in widget.status.text()
    # streamed in a thread: partial maps, then the exact map
    widget.map.setCurrentText("mean")
    seen = []
    worker = widget.run()
    finished = []
    worker.yielded.connect(lambda update: seen.append(update[0]))
    worker.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=20000)
    qtbot.wait(100)
    assert "stack_mean" in viewer.layers, widget.status.text()
    streamed = viewer.layers["stack_mean"]
    np.testing.assert_allclose(streamed.data, STACK.mean(axis=0))
    assert seen and seen[-1] == 16 * 20
