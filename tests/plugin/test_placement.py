"""Widget results land where their input is: world coordinates, RGB pictures, names."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.plugin import widgets as W


def run(viewer, qtbot, cls, layer, **values):
    widget = cls(viewer)
    widget.image.value = layer
    for key, value in values.items():
        getattr(widget, key).value = value
    job = widget.run()
    assert job is not None, widget.status.value
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.status == "done", (job.status, job.error)
    return job.layer


@pytest.fixture
def volume():
    rng = np.random.default_rng(3)
    return rng.normal(size=(5, 4, 12, 10)).astype(np.float32)


SCALE = (1.0, 5.0, 0.4, 0.4)
TRANSLATE = (0.0, 10.0, -3.0, 2.0)


def world(layer, index):
    return np.asarray(layer.data_to_world(index), dtype=float)


@pytest.mark.parametrize("cls, values", [
    (W.GaussianFilterWidget, {"sigma": "1"}),
    (W.MedianFilterWidget, {"size": "3"}),
    (W.UniformFilterWidget, {"size": "3"}),
    (W.SubtractWidget, {"value": "1"}),
])
def test_same_shape_results_keep_scale_and_translate(make_napari_viewer_proxy, qtbot, volume,
                                                     cls, values):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(volume, name="vol", scale=SCALE, translate=TRANSLATE)
    out = run(viewer, qtbot, cls, layer, **values)
    np.testing.assert_allclose(out.scale, SCALE)
    np.testing.assert_allclose(out.translate, TRANSLATE)
    for index in [(0, 0, 0, 0), (4, 3, 11, 9), (2, 1, 5, 7)]:
        np.testing.assert_allclose(world(out, index), world(layer, index))


def test_statistic_drops_the_time_axis_in_world(make_napari_viewer_proxy, qtbot, volume):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(volume, name="vol", scale=SCALE, translate=TRANSLATE)
    out = run(viewer, qtbot, W.MeanWidget, layer)
    assert out.data.shape == (4, 12, 10)
    np.testing.assert_allclose(out.scale, SCALE[1:])
    np.testing.assert_allclose(out.translate, TRANSLATE[1:])
    # voxel (z, y, x) of the mean sits on voxel (t, z, y, x) of the input
    np.testing.assert_allclose(world(out, (3, 11, 9)), world(layer, (0, 3, 11, 9))[1:])
    np.testing.assert_allclose(out.data, volume.astype(np.float64).mean(axis=0), rtol=1e-6, atol=1e-7)


def test_localcorr_in_world_and_magma(make_napari_viewer_proxy, qtbot):
    viewer = make_napari_viewer_proxy()
    movie = np.random.default_rng(2).normal(size=(6, 9, 8))
    layer = viewer.add_image(movie, name="m", scale=(1, 0.5, 0.5), translate=(0, 4, -2))
    out = run(viewer, qtbot, W.LocalCorrWidget, layer, neighborhood=1)
    assert out.name == "m localcorr(neighborhood=1)"
    assert out.colormap.name == "magma"
    np.testing.assert_allclose(out.scale, (0.5, 0.5))
    np.testing.assert_allclose(out.translate, (4, -2))


def test_projection_drops_z_in_world(make_napari_viewer_proxy, qtbot, volume):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(volume, name="vol", scale=SCALE, translate=TRANSLATE)
    widget = W.MaxProjectionWidget(viewer)
    widget.image.value = layer
    assert widget.axis.value == 0                     # z of (t, z, y, x)
    out = run(viewer, qtbot, W.MaxProjectionWidget, layer)
    assert out.name == "vol max projection(axis=z)"
    assert out.data.shape == (5, 12, 10)
    np.testing.assert_array_equal(out.data, volume.max(axis=1))
    np.testing.assert_allclose(out.scale, (1.0, 0.4, 0.4))
    np.testing.assert_allclose(out.translate, (0.0, -3.0, 2.0))


def test_projection_axis_choices_follow_the_layer(make_napari_viewer_proxy):
    viewer = make_napari_viewer_proxy()
    vol = viewer.add_image(np.zeros((3, 2, 5, 6)), name="vol")
    movie = viewer.add_image(np.zeros((3, 5, 6)), name="movie")
    widget = W.MaxProjectionWidget(viewer)
    widget.image.value = vol
    assert len(widget.axis.choices) == 3                      # z, y, x of each volume
    assert widget.axis.native.itemText(0).startswith("z")
    widget.image.value = movie
    assert len(widget.axis.choices) == 2                      # y, x only (no 0..8 spinbox)
    assert "over images" in widget.status.value               # points to Maximum over time


def test_subsample_rescales_in_world(make_napari_viewer_proxy, qtbot, volume):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(volume, name="vol", scale=SCALE, translate=TRANSLATE)
    out = run(viewer, qtbot, W.SubsampleWidget, layer, factor="1, 2, 3")
    np.testing.assert_array_equal(out.data, volume[:, :, ::2, ::3])
    np.testing.assert_allclose(out.scale, (1.0, 5.0, 0.8, 1.2))
    np.testing.assert_allclose(out.translate, TRANSLATE)
    # pixel (t, z, i, j) of the result is pixel (t, z, 2i, 3j) of the input, in the world
    for t, z, i, j in [(0, 0, 0, 0), (4, 3, 5, 3), (2, 1, 3, 2)]:
        np.testing.assert_allclose(world(out, (t, z, i, j)), world(layer, (t, z, 2 * i, 3 * j)))


def test_rotated_layer_result_keeps_rotation(make_napari_viewer_proxy, qtbot):
    viewer = make_napari_viewer_proxy()
    movie = np.random.default_rng(4).normal(size=(4, 8, 9))
    layer = viewer.add_image(movie, name="m", scale=(1, 0.5, 0.5), rotate=30)
    out = run(viewer, qtbot, W.GaussianFilterWidget, layer, sigma="1")
    np.testing.assert_allclose(world(out, (1, 3, 4)), world(layer, (1, 3, 4)), atol=1e-9)


# -- RGB ------------------------------------------------------------------------------------
@pytest.fixture
def rgb_movie():
    rng = np.random.default_rng(9)
    return rng.integers(0, 256, size=(4, 16, 18, 3)).astype(np.uint8)


def test_rgb_filtered_per_channel(make_napari_viewer_proxy, qtbot, rgb_movie):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(rgb_movie, name="rgb", rgb=True)
    assert layer.rgb
    out = run(viewer, qtbot, W.GaussianFilterWidget, layer, sigma="1.5")
    assert out.rgb and out.data.shape == rgb_movie.shape
    ref = np.stack([np.stack([ndi.gaussian_filter(f[..., c], 1.5) for c in range(3)], axis=-1)
                    for f in rgb_movie])
    np.testing.assert_array_equal(out.data, ref)            # colours never mixed
    assert tuple(out.contrast_limits) == (0, 255)


def test_single_rgb_picture_is_one_image(make_napari_viewer_proxy, qtbot, rgb_movie):
    viewer = make_napari_viewer_proxy()
    picture = rgb_movie[0]
    layer = viewer.add_image(picture, name="pic", rgb=True)
    out = run(viewer, qtbot, W.MedianFilterWidget, layer, size="3")
    assert out.rgb and out.data.shape == picture.shape
    ref = np.stack([ndi.median_filter(picture[..., c], 3) for c in range(3)], axis=-1)
    np.testing.assert_array_equal(out.data, ref)


def test_rgb_mean_over_time_stays_colour(make_napari_viewer_proxy, qtbot, rgb_movie):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(rgb_movie, name="rgb", rgb=True)
    out = run(viewer, qtbot, W.MeanWidget, layer)
    assert out.rgb and out.data.shape == rgb_movie.shape[1:]
    np.testing.assert_allclose(out.data, rgb_movie.mean(axis=0))


def test_rgb_projection_never_offers_the_colour_axis(make_napari_viewer_proxy, rgb_movie):
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(rgb_movie, name="rgb", rgb=True)
    widget = W.MaxProjectionWidget(viewer)
    widget.image.value = layer
    assert len(widget.axis.choices) == 2                      # y, x; not the 3 samples
