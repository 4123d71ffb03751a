"""The calcium widgets in napari (under Xvfb), against the Images API and numpy/scipy."""

import numpy as np
import pytest
import scipy.ndimage as ndi

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_thunder import images  # noqa: E402
from napari_thunder.kernels.traces import delta_f_over_f  # noqa: E402
from napari_thunder.sample_data.motion import calcium_movie  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _local_engine():
    from napari_thunder.plugin import settings

    settings.set_engine("local")
    yield
    settings.set_engine("local")


@pytest.fixture(scope="module")
def movie():
    return calcium_movie(n=30, shape=(128, 128), ncells=20, seed=3)


def _wait(qtbot, job):
    assert job is not None
    qtbot.waitUntil(lambda: not job.running, timeout=120000)
    assert job.status == "done", (job.status, job.error)


def test_motion_correction_widget_streams_movie_and_plots_shifts(make_napari_viewer_proxy, qtbot, movie):
    from napari_thunder.plugin.calcium_widgets import MotionCorrectionWidget

    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie.movie, name="moving")
    viewer.add_image(movie.still.mean(0), name="still mean")
    widget = MotionCorrectionWidget(viewer)
    widget.image.value = layer
    widget.reference.value = viewer.layers["still mean"]
    widget.max_shift.value = "6"
    seen = []
    widget.job = None
    job = widget.run()
    job.progress_callbacks.append(lambda j: seen.append(len(widget.axes.lines)))
    _wait(qtbot, job)
    assert widget.status.value.startswith("done")
    out = viewer.layers["moving registered(rigid, max_shift=6.0)"]
    expected = images.fromarray(movie.movie).register(reference=movie.still.mean(0), max_shift=6)
    np.testing.assert_allclose(out.data, expected.toarray(), rtol=1e-5, atol=1e-2)
    assert widget.shifts.shape == (30, 2)
    assert np.abs(widget.shifts - movie.shifts).max() <= 0.1
    np.testing.assert_array_equal(out.metadata["shifts"], widget.shifts)
    lines = widget.axes.lines
    assert [ln.get_label() for ln in lines] == ["y", "x"]
    np.testing.assert_allclose(lines[0].get_ydata(), widget.shifts[:, 0])
    assert job.partial_updates >= 2 and seen and seen[0] == 2  # plotted while streaming


def test_motion_correction_widget_default_reference_and_refusals(make_napari_viewer_proxy, qtbot, movie):
    from napari_thunder.plugin.calcium_widgets import MotionCorrectionWidget

    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie.movie[:12], name="moving")
    widget = MotionCorrectionWidget(viewer)
    widget.image.value = layer
    widget.nreference.value = 12
    _wait(qtbot, widget.run())
    _, shifts = images.fromarray(movie.movie[:12]).register(nreference=12, return_shifts=True)
    np.testing.assert_allclose(widget.shifts, shifts)
    viewer.add_image(np.zeros((5, 5)), name="small")
    widget.reference.value = viewer.layers["small"]
    assert widget.run() is None and "reference" in widget.status.value
    widget.reference.value = None
    widget.max_shift.value = "a"
    assert widget.run() is None and "max shift" in widget.status.value


@pytest.mark.parametrize("what", ["correlation", "pnr", "enhanced mean", "max"])
def test_summary_images_widget(make_napari_viewer_proxy, qtbot, movie, what):
    from napari_thunder.plugin.calcium_widgets import SummaryImagesWidget

    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie.movie, name="m")
    widget = SummaryImagesWidget(viewer)
    widget.image.value = layer
    widget.summary.value = what
    _wait(qtbot, widget.run())
    out = viewer.layers[-1]
    imgs = images.fromarray(movie.movie)
    expected = {"correlation": lambda: imgs.correlation_image(8), "pnr": lambda: imgs.pnr_image(),
                "enhanced mean": lambda: imgs.enhanced_mean(5.0),
                "max": lambda: imgs.max().first()}[what]()
    np.testing.assert_allclose(np.asarray(out.data), expected, rtol=1e-9, atol=1e-9)


def test_traces_widget_plot_highlight_export(make_napari_viewer_proxy, qtbot, movie, tmp_path):
    from napari_thunder.plugin.calcium_traces import TracesWidget

    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie.movie, name="m")
    labels = viewer.add_labels(movie.labels, name="cells")
    widget = TracesWidget(viewer)
    widget.image.value = layer
    widget.labels.value = labels
    widget.dff.value = False
    job = widget.run()
    _wait(qtbot, job)
    ids = np.unique(movie.labels)[1:]
    expected = np.array([ndi.mean(f, movie.labels, ids) for f in movie.movie]).T
    np.testing.assert_allclose(widget.traces, expected, rtol=1e-10)
    assert len(widget.axes.lines) == len(ids)
    np.testing.assert_allclose(widget.axes.lines[4].get_ydata(), expected[4])
    widget.dff.value = True
    np.testing.assert_allclose(widget.axes.lines[4].get_ydata(), delta_f_over_f(expected)[4])
    # picking a ROI in the viewer highlights its trace
    labels.selected_label = int(ids[3])
    assert widget.highlighted == ids[3]
    assert widget.axes.lines[3].get_linewidth() > widget.axes.lines[0].get_linewidth()
    # export
    csv = widget.export(tmp_path / "t.csv")
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1:].T, delta_f_over_f(expected), rtol=1e-8)
    header = open(csv).readline().strip().split(",")
    assert header == ["frame"] + [f"roi_{i}" for i in ids]
    widget.dff.value = False
    npy = widget.export(str(tmp_path / "t.npy"))
    np.testing.assert_allclose(np.load(npy), expected)
    with pytest.raises(ValueError, match="csv"):
        widget.export(tmp_path / "t.txt")


def test_traces_widget_neuropil_and_refusals(make_napari_viewer_proxy, qtbot, movie):
    from napari_thunder.plugin.calcium_traces import TracesWidget

    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie.movie[:10], name="m")
    widget = TracesWidget(viewer)
    widget.image.value = layer
    assert widget.run() is None and "Labels" in widget.status.value
    labels = viewer.add_labels(np.zeros((128, 128), np.int32), name="empty")
    widget.labels.value = labels
    assert widget.run() is None and "no ROI" in widget.status.value
    viewer.add_labels(np.zeros((5, 5), np.int32), name="small")
    widget.labels.value = viewer.layers["small"]
    assert widget.run() is None and "shape" in widget.status.value
    widget.labels.value = viewer.add_labels(movie.labels, name="cells")
    widget.neuropil.value = True
    _wait(qtbot, widget.run())
    expected = images.fromarray(movie.movie[:10]).extract_traces(movie.labels, neuropil=(2.0, 8.0),
                                                                 neuropil_coefficient=0.7)
    np.testing.assert_allclose(widget.traces, expected.toarray(), rtol=1e-10)


def test_motion_sample(make_napari_viewer_proxy):
    from napari_thunder.plugin.calcium_widgets import motion_sample

    viewer = make_napari_viewer_proxy()
    (movie, kw, kind), (labels, lkw, lkind) = motion_sample()
    assert kind == "image" and lkind == "labels" and movie.shape == (200, 128, 128)
    assert kw["metadata"]["shifts"].shape == (200, 2) and labels.shape == (128, 128)
    image = viewer.add_image(movie, **kw)
    cells = viewer.add_labels(labels, **lkw)
    assert tuple(image.axis_labels) == ("t", "y", "x") and tuple(cells.axis_labels) == ("y", "x")
    assert tuple(viewer.dims.axis_labels) == ("t", "y", "x")  # the slider says t, not -3


@pytest.mark.spark
def test_motion_and_traces_widgets_on_spark(make_napari_viewer_proxy, qtbot, spark_context, movie):
    from napari_thunder.plugin import settings
    from napari_thunder.plugin.calcium_traces import TracesWidget
    from napari_thunder.plugin.calcium_widgets import MotionCorrectionWidget

    settings.set_engine("spark", spark_master=spark_context.master, npartitions=3)
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(movie.movie, name="moving")
    viewer.add_image(movie.still.mean(0), name="still mean")
    widget = MotionCorrectionWidget(viewer)
    widget.image.value = layer
    widget.reference.value = viewer.layers["still mean"]
    job = widget.run()
    _wait(qtbot, job)
    # GUI jobs on Spark cut the 3 partitions into finer blocks (progress in small steps),
    # the shifts plotted after each
    assert job.partial_updates > 3
    assert np.abs(widget.shifts - movie.shifts).max() <= 0.1
    local = images.fromarray(movie.movie).register(reference=movie.still.mean(0)).toarray()
    np.testing.assert_allclose(viewer.layers["moving registered(rigid)"].data, local, rtol=1e-5, atol=1e-2)
    traces = TracesWidget(viewer)
    traces.image.value = layer
    traces.labels.value = viewer.add_labels(movie.labels, name="cells")
    _wait(qtbot, traces.run())
    ids = np.unique(movie.labels)[1:]
    expected = np.array([ndi.mean(f, movie.labels, ids) for f in movie.movie]).T
    np.testing.assert_allclose(traces.traces, expected, rtol=1e-10)
