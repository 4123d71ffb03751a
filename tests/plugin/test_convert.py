"""Images <-> napari layers in a viewer: round trips, the README console example."""

import numpy as np

from napari_thunder import images
from napari_thunder.plugin import convert


def test_single_image_becomes_2d_layer_and_round_trips(make_napari_viewer_proxy):
    viewer = make_napari_viewer_proxy()
    stack = np.arange(5 * 6 * 7, dtype=np.int32).reshape(5, 6, 7)
    mean = images.fromarray(stack).mean()
    layer = mean.to_layer(viewer, name="mean")          # Images.to_layer -> convert
    assert layer.data.shape == (6, 7)
    np.testing.assert_allclose(np.asarray(layer.data), stack.mean(axis=0))
    back = images.fromlayer(layer)
    assert back.shape == (1, 6, 7)
    np.testing.assert_allclose(back.toarray(), stack.mean(axis=0))


def test_stack_round_trip_keeps_axes(make_napari_viewer_proxy):
    viewer = make_napari_viewer_proxy()
    vol = np.random.default_rng(1).random((4, 3, 5, 6)).astype(np.float32)
    imgs = images.fromarray(vol)
    layer = convert.add_images_to_viewer(imgs, viewer, name="vol", colormap="magma")
    assert layer.colormap.name == "magma"
    assert layer.data.shape == (4, 3, 5, 6)
    assert viewer.dims.ndim == 4          # images and z are sliders, (y, x) on the canvas
    back = convert.layer_to_images(layer)
    assert back.shape == vol.shape and back.dtype == vol.dtype
    np.testing.assert_array_equal(back.toarray(), vol)


def test_console_example_in_docs_runs(make_napari_viewer_proxy, data_dir):
    """The napari-console example of the README, as written (file path swapped)."""
    import re
    from pathlib import Path

    from napari_thunder.plugin.samples import mouse

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(b for b in blocks if "images.fromlayer(viewer.layers['mouse'])" in b)
    code = code.replace("/data/stack.tif", str(data_dir / "multilayer_tif" / "dotdotdot_lzw.tif"))
    viewer = make_napari_viewer_proxy()
    data, kwargs, _ = mouse()[0]
    viewer.add_image(data, **kwargs)
    exec(code, {"viewer": viewer})
    ref = images.fromexample("mouse")
    np.testing.assert_allclose(viewer.layers["smoothed mean"].data,
                               ref.gaussian_filter(1).toarray().mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(viewer.layers["localcorr"].data, ref.localcorr(2))
    assert viewer.layers["stack"].data.shape == (3, 70, 75)  # one volume: image axis dropped


def test_layer_scale_translate_units_round_trip(make_napari_viewer_proxy):
    viewer = make_napari_viewer_proxy()
    data = np.random.default_rng(4).random((5, 3, 8, 9)).astype(np.float32)
    layer = viewer.add_image(data, scale=(1, 5, 0.4, 0.4), translate=(0, 2, 10, 20),
                             units=("s", "um", "um", "um"), axis_labels=("t", "z", "y", "x"))
    imgs = images.fromlayer(layer)
    assert imgs.metadata.scale == (1.0, 5.0, 0.4, 0.4)
    assert imgs.metadata.translate == (0.0, 2.0, 10.0, 20.0)
    assert imgs.metadata.names == ("t", "z", "y", "x")
    assert imgs.metadata.units[1] == "micrometer"
    out = imgs.gaussian_filter(1).to_layer(viewer, name="smooth")
    assert tuple(out.scale) == tuple(layer.scale) and tuple(out.translate) == tuple(layer.translate)
    assert [str(u) for u in out.units] == [str(u) for u in layer.units]
    np.testing.assert_allclose(out.data_to_world((1, 1, 2, 3)), layer.data_to_world((1, 1, 2, 3)))
    mean = imgs.mean().to_layer(viewer, name="mean")          # the image axis is dropped
    assert tuple(mean.scale) == (5.0, 0.4, 0.4) and tuple(mean.translate) == (2.0, 10.0, 20.0)


def test_rgb_layer_is_one_colour_image(make_napari_viewer_proxy):
    viewer = make_napari_viewer_proxy()
    rgb = np.random.default_rng(5).integers(0, 256, size=(12, 14, 3)).astype(np.uint8)
    layer = viewer.add_image(rgb, rgb=True, scale=(0.5, 0.5))
    imgs = images.fromlayer(layer)
    assert imgs.shape == (1, 12, 14, 3) and imgs.metadata.rgb and imgs.metadata.names[-1] == "c"
    from scipy import ndimage as ndi

    out = imgs.gaussian_filter(1).toarray()
    ref = np.stack([ndi.gaussian_filter(rgb[..., k], 1, mode="reflect") for k in range(3)], axis=-1)
    np.testing.assert_array_equal(out, ref)               # channels filtered one by one
    back = imgs.gaussian_filter(1).to_layer(viewer, name="smooth")
    assert back.rgb and tuple(back.scale) == (0.5, 0.5)
