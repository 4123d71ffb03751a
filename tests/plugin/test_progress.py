"""Progress a user can follow: a job on the local engine moves in steps of
about 2% (not the engine's default two chunks per core: 4 steps for 200
frames on 2 cores) when its chunks stay above ``GUI_MIN_CHUNK_BYTES``, the
results stay exact, estimates are repainted at most every
``REFRESH_INTERVAL`` (the final one always), and the images API keeps its
own chunking."""

import time

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder import images
from napari_thunder.engines import local
from napari_thunder.plugin import result_layers
from napari_thunder.plugin import widgets as W
from napari_thunder.plugin import worker as worker_mod


@pytest.fixture
def movie():
    rng = np.random.default_rng(11)
    return rng.normal(100, 20, size=(200, 128, 256))  # 256 KiB frames


def _steps(job):
    seen = []
    job.progress_callbacks.append(lambda j: seen.append(j.done))
    return seen


def test_frames_job_reports_about_fifty_steps(make_napari_viewer_proxy, qtbot, movie):
    viewer = make_napari_viewer_proxy()
    job = result_layers.start_frames_job(viewer, lambda: images.fromarray(movie).gaussian_filter(1.5),
                                      "out", total=200)
    seen = _steps(job)
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.status == "done"
    assert result_layers.GUI_MIN_CHUNKS == 50
    assert len(seen) == 50 and seen == sorted(seen) and seen[-1] == 200
    assert max(np.diff([0] + seen)) <= 4  # never more than 2% at once
    ref = np.stack([ndi.gaussian_filter(f, 1.5) for f in movie])
    np.testing.assert_allclose(viewer.layers["out"].data, ref, rtol=1e-12, atol=1e-12)


def test_estimate_job_steps_and_throttled_repaints(make_napari_viewer_proxy, qtbot, movie, monkeypatch):
    viewer = make_napari_viewer_proxy()
    monkeypatch.setattr(result_layers, "REFRESH_INTERVAL", 3600.0)  # only the first and the last repaint
    job = result_layers.start_estimate_job(viewer, lambda: images.fromarray(movie).stream_statistic("mean"),
                                        "mean", total=200)
    seen = _steps(job)
    shown = []
    job.progress_callbacks.append(lambda j: shown.append(np.array(j.layer.data)))
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.status == "done" and len(seen) == 50 and seen[-1] == 200
    np.testing.assert_allclose(shown[0], movie[:seen[0]].mean(axis=0), rtol=1e-12)
    assert all(np.array_equal(s, shown[0]) for s in shown[1:-1])  # not repainted in between
    np.testing.assert_allclose(viewer.layers["mean"].data, movie.mean(axis=0), rtol=1e-12)


def test_cancelled_estimate_shows_every_frame_it_folded_in(make_napari_viewer_proxy, qtbot, movie,
                                                           monkeypatch):
    viewer = make_napari_viewer_proxy()
    monkeypatch.setattr(result_layers, "REFRESH_INTERVAL", 3600.0)

    def slow_mean():
        for item in images.fromarray(movie).stream_statistic("mean"):
            time.sleep(0.02)
            yield item

    job = result_layers.start_estimate_job(viewer, slow_mean, "mean", total=200)
    job.progress_callbacks.append(lambda j: j.cancel() if j.done >= 60 else None)
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.status == "cancelled" and 60 <= job.done < 200
    layer = viewer.layers[worker_mod.cancelled_name("mean", job.done, 200)]
    np.testing.assert_allclose(layer.data, movie[:job.done].mean(axis=0), rtol=1e-12)


def test_widget_progress_bar_moves_in_small_steps(make_napari_viewer_proxy, qtbot, movie):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie.astype(np.float32), name="movie")  # 2 frames = 256 KiB
    widget = W.MedianFilterWidget(viewer)
    widget.image.value = layer
    values = []
    widget.progress.changed.connect(lambda v: values.append(v))
    widget.run_button.clicked()
    job = widget.job
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.status == "done", job.error
    distinct = sorted(set(values))
    assert len(distinct) >= 40 and distinct[-1] == 200, distinct
    out = viewer.layers[job.name].data
    size = widget.parameter_values()["size"]
    ref = np.stack([ndi.median_filter(f, size, mode="reflect") for f in movie.astype(np.float32)])
    np.testing.assert_array_equal(out, ref)


def _widget_job(viewer, qtbot, widget_class, layer, **values):
    widget = widget_class(viewer)
    widget.image.value = layer
    for name, value in values.items():
        getattr(widget, name).value = value
    job = widget.run()
    seen = _steps(job)
    qtbot.waitUntil(lambda: not job.running, timeout=120000)
    assert job.status == "done", job.error
    return job, seen


@pytest.mark.spark
def test_spark_widget_jobs_move_in_small_steps(make_napari_viewer_proxy, qtbot, spark_context):
    """On Spark (the session ``local[2]``, one partition per core) a widget
    job on 200 frames moves in 25 steps (blocks of 256 KiB at least), not
    one per partition, and
    gives the local engine's result."""
    from napari_thunder.plugin import settings

    movie = np.random.default_rng(12).normal(100, 20, size=(200, 64, 128)).astype(np.float32)  # 32 KiB
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie, name="movie")
    local_filter, _ = _widget_job(viewer, qtbot, W.GaussianFilterWidget, layer, sigma="1")
    local_mean, _ = _widget_job(viewer, qtbot, W.MeanWidget, layer)
    settings.set_engine("spark", spark_master=spark_context.master)
    spark_filter, filter_steps = _widget_job(viewer, qtbot, W.GaussianFilterWidget, layer, sigma="1")
    spark_mean, mean_steps = _widget_job(viewer, qtbot, W.MeanWidget, layer)
    for steps in (filter_steps, mean_steps):
        assert len(steps) > 10 and steps == sorted(steps) and steps[-1] == 200, steps  # 25
        assert max(np.diff([0] + steps)) <= 8, steps
    np.testing.assert_array_equal(spark_filter.layer.data, local_filter.layer.data)
    np.testing.assert_allclose(spark_mean.layer.data, local_mean.layer.data, rtol=1e-12)
    np.testing.assert_allclose(spark_mean.layer.data, movie.mean(axis=0, dtype=np.float64), rtol=1e-6)


def test_the_api_keeps_its_chunking(movie):
    default = [(a, b) for a, b, _ in images.fromarray(movie).iter_chunks()]
    assert len(default) == min(200, 2 * local.worker_count())
    with local.min_chunks(50):
        inside = images.fromarray(movie)
    assert len(list(inside.iter_chunks())) == 50
    assert len(list(images.fromarray(movie).iter_chunks())) == len(default)  # restored
    with local.min_chunks(1000):
        assert len(list(images.fromarray(movie).iter_chunks())) == 200  # one frame a chunk at most
    np.testing.assert_array_equal(inside.toarray(), movie)
    small = movie[:, :16, :16]  # 2 KiB frames: chunks of 128 frames at least
    with local.min_chunks(50, min_bytes=256 * 2**10):
        assert len(list(images.fromarray(small).iter_chunks())) == len(default)
    with local.min_chunks(50, min_bytes=8 * 2**10):
        assert len(list(images.fromarray(small).iter_chunks())) == 50
