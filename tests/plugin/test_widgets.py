"""Every operation widget run as a user would, against the images API and numpy/scipy."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder import images
from napari_thunder.plugin import widgets as W


@pytest.fixture
def stack():
    """(8, 10, 12) float64 stack with structure (so filters change it)."""
    rng = np.random.default_rng(7)
    base = rng.normal(size=(10, 12))
    return np.stack([base * (1 + 0.1 * t) + rng.normal(scale=0.5, size=(10, 12)) for t in range(8)])


@pytest.fixture
def volumes():
    """(6, 3, 9, 11) int16 volume series."""
    rng = np.random.default_rng(8)
    return rng.integers(-300, 300, size=(6, 3, 9, 11)).astype(np.int16)


def run_widget(viewer, qtbot, cls, layer, **values):
    """Create the widget, pick ``layer``, set parameters, press Run, wait."""
    widget = cls(viewer)
    widget.image.value = layer
    for key, value in values.items():
        getattr(widget, key).value = value
    widget.run_button.clicked()  # what a click does
    job = widget.job
    assert job is not None, widget.status.value
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.status == "done", (job.status, job.error)
    assert widget.status.value.startswith("done")
    assert widget.progress.value == widget.progress.max
    return widget, job


def test_widget_classes_cover_every_operation():
    expected = {"gaussian_filter", "median_filter", "uniform_filter", "max_projection",
                "max_min_projection", "mean", "std", "var", "sum", "min", "max", "localcorr",
                "subsample", "subtract"}
    assert set(W.OPERATION_WIDGETS) == expected


def test_gaussian_filter_widget(make_napari_viewer_proxy, qtbot, stack):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    _, job = run_widget(viewer, qtbot, W.GaussianFilterWidget, layer, sigma="1.5", order=0)
    out = viewer.layers["movie gaussian(sigma=1.5)"].data
    ref = np.stack([ndi.gaussian_filter(f, 1.5) for f in stack])
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, images.fromarray(stack).gaussian_filter(1.5).toarray())
    assert job.partial_updates >= 2  # streamed in several chunks


def test_gaussian_per_axis_sigma_zero_is_plane_by_plane(make_napari_viewer_proxy, qtbot, volumes):
    viewer = make_napari_viewer_proxy()
    vol = volumes.astype(np.float32)
    layer = viewer.add_image(vol, name="vol")
    run_widget(viewer, qtbot, W.GaussianFilterWidget, layer, sigma="0, 1, 1")
    out = viewer.layers["vol gaussian(sigma=0,1,1)"].data
    ref = np.stack([[ndi.gaussian_filter(plane, 1.0) for plane in v] for v in vol])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)


def test_gaussian_order_derivative(make_napari_viewer_proxy, qtbot, stack):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    run_widget(viewer, qtbot, W.GaussianFilterWidget, layer, sigma="2", order=1)
    ref = np.stack([ndi.gaussian_filter(f, 2, order=1) for f in stack])
    np.testing.assert_allclose(viewer.layers["movie gaussian(sigma=2, order=1)"].data, ref, atol=1e-12)


@pytest.mark.parametrize("cls, func", [(W.MedianFilterWidget, ndi.median_filter),
                                        (W.UniformFilterWidget, ndi.uniform_filter)])
def test_median_and_uniform_filter_widgets(make_napari_viewer_proxy, qtbot, stack, cls, func):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    run_widget(viewer, qtbot, cls, layer, size="3")
    out = viewer.layers[f"movie {cls.short}(size=3)"].data
    ref = np.stack([func(f, 3) for f in stack])
    np.testing.assert_allclose(out, ref, atol=1e-12)
    api = getattr(images.fromarray(stack), cls.operation)(3).toarray()
    np.testing.assert_allclose(out, api)


@pytest.mark.parametrize("cls", [W.MaxProjectionWidget, W.MaxMinProjectionWidget])
def test_projection_widgets(make_napari_viewer_proxy, qtbot, volumes, cls):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(volumes, name="vol")
    run_widget(viewer, qtbot, cls, layer, axis=0)
    out = viewer.layers[f"vol {cls.short}(axis=z)"].data
    ref = volumes.max(axis=1)
    if cls is W.MaxMinProjectionWidget:
        ref = (volumes.max(axis=1) + volumes.min(axis=1)).astype(np.int16)  # max + min, dtype kept
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("name", ["mean", "std", "var", "sum", "min", "max"])
def test_statistic_widgets(make_napari_viewer_proxy, qtbot, stack, name):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    _, job = run_widget(viewer, qtbot, W.OPERATION_WIDGETS[name], layer)
    out = viewer.layers[f"movie {name}"].data
    assert out.shape == (10, 12)
    ref = getattr(np, name)(stack, axis=0)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out, getattr(images.fromarray(stack), name)().toarray(), rtol=1e-12)
    assert job.partial_updates >= 2


def test_mean_widget_shows_partial_estimate_first(make_napari_viewer_proxy, qtbot):
    viewer = make_napari_viewer_proxy()
    stack = np.arange(20 * 4 * 4, dtype=np.float64).reshape(20, 4, 4)
    layer = viewer.add_image(stack, name="ramp")
    widget = W.MeanWidget(viewer)
    widget.image.value = layer
    snapshots = []
    job = widget.run()
    job.progress_callbacks.append(lambda j: snapshots.append((j.done, np.array(j.layer.data))))
    qtbot.waitUntil(lambda: not job.running, timeout=30000)
    assert len(snapshots) >= 2
    first_done, first = snapshots[0]
    assert first_done < 20
    np.testing.assert_allclose(first, stack[:first_done].mean(axis=0))   # a real partial estimate
    assert not np.allclose(first, stack.mean(axis=0))
    np.testing.assert_allclose(snapshots[-1][1], stack.mean(axis=0))


def test_localcorr_widget(make_napari_viewer_proxy, qtbot, stack):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    run_widget(viewer, qtbot, W.LocalCorrWidget, layer, neighborhood=1)
    out = viewer.layers["movie localcorr(neighborhood=1)"].data
    # independent reference: Pearson r of each pixel with its 3x3 (reflect) mean series
    blurred = np.stack([ndi.uniform_filter(f, 3, mode="reflect") for f in stack])
    a = stack - stack.mean(axis=0)
    b = blurred - blurred.mean(axis=0)
    ref = (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out, images.fromarray(stack).localcorr(1), rtol=1e-12)


def test_subsample_widget(make_napari_viewer_proxy, qtbot, stack):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    run_widget(viewer, qtbot, W.SubsampleWidget, layer, factor="2, 3")
    np.testing.assert_array_equal(viewer.layers["movie subsample(factor=2,3)"].data, stack[:, ::2, ::3])


def test_subtract_number_and_layer(make_napari_viewer_proxy, qtbot, volumes):
    viewer = make_napari_viewer_proxy()
    stack = volumes[:, 0]  # (6, 9, 11) int16
    layer = viewer.add_image(stack, name="movie")
    run_widget(viewer, qtbot, W.SubtractWidget, layer, value="5")
    out = viewer.layers["movie subtract(5)"].data
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, stack - np.int16(5))
    background = viewer.add_image(stack.min(axis=0), name="background")
    widget, _ = run_widget(viewer, qtbot, W.SubtractWidget, layer, subtrahend=background)
    out2 = viewer.layers["movie subtract(background)"].data
    np.testing.assert_array_equal(out2, stack - stack.min(axis=0))
    np.testing.assert_array_equal(out2, images.fromarray(stack).subtract(stack.min(axis=0)).toarray())


def test_bad_parameters_notify_and_do_not_start(make_napari_viewer_proxy, stack, monkeypatch):
    import napari.utils.notifications as notifications

    messages = []
    monkeypatch.setattr(notifications, "show_error", lambda msg: messages.append(msg))
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    widget = W.GaussianFilterWidget(viewer)
    widget.image.value = layer
    widget.sigma.value = "two"
    assert widget.run() is None
    assert "sigma" in messages[-1]
    assert len(viewer.layers) == 1


def test_engine_error_becomes_notification(make_napari_viewer_proxy, qtbot, stack, monkeypatch):
    """A bad argument found by the engine (axis out of range) fails the job with a
    notification; the viewer keeps working."""
    import napari.utils.notifications as notifications

    messages = []
    monkeypatch.setattr(notifications, "show_error", lambda msg: messages.append(msg))
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(stack, name="movie")
    widget = W.GaussianFilterWidget(viewer)
    widget.image.value = layer
    widget.sigma.value = "-1"        # parsed in the GUI, refused by the images API
    job = widget.run()
    qtbot.waitUntil(lambda: not job.running, timeout=30000)
    assert job.status == "failed"
    assert isinstance(job.error, ValueError)
    assert any("gaussian" in m and "sigma" in m for m in messages)
    assert len(viewer.layers) == 1   # no half-made output layer
    assert widget.run_button.enabled and widget.status.value.startswith("failed")
    run_widget(viewer, qtbot, W.MaxWidget, layer)  # still usable


def test_cancel_widget_mid_run(make_napari_viewer_proxy, qtbot):
    from qtpy.QtCore import QThreadPool

    viewer = make_napari_viewer_proxy()
    rng = np.random.default_rng(0)
    big = rng.normal(size=(64, 128, 128)).astype(np.float32)
    layer = viewer.add_image(big, name="big")
    widget = W.MedianFilterWidget(viewer)
    widget.image.value = layer
    widget.size.value = "7"
    job = widget.run()
    qtbot.waitUntil(lambda: job.partial_updates >= 1, timeout=60000)
    widget.cancel_button.clicked()
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.status == "cancelled"
    assert job.done < 64
    assert QThreadPool.globalInstance().waitForDone(10000)
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    assert widget.run_button.enabled and widget.status.value.startswith("cancelled")
    run_widget(viewer, qtbot, W.MeanWidget, layer)  # the viewer and widgets still work
