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
