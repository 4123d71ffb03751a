"""The Zarr / OME-Zarr reader and writer through napari."""

import warnings

import numpy as np
import pytest

from napari_thunder import images
from napari_thunder.plugin import zarr_io

zarr = pytest.importorskip("zarr")
pytest.importorskip("ome_zarr")


PLUGIN = "napari-thunder"


def _ome_zarr_py_store(path, data):
    from ome_zarr.writer import write_image

    group = zarr.open_group(str(path), mode="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_image(data, group, scale_factors=(2,), axes="tyx",
                    scale={"t": 1.0, "y": 0.5, "x": 0.5},
                    axes_units={"y": "micrometer", "x": "micrometer"})
    return group


def test_get_zarr_reader_only_for_zarr_folders(tmp_path):
    store = tmp_path / "a.zarr"
    images.fromarray(np.zeros((2, 4, 4), np.uint8)).tozarr(store)
    (tmp_path / "plain").mkdir()
    (tmp_path / "x.tif").write_bytes(b"")
    assert zarr_io.get_zarr_reader(str(store)) is zarr_io.read_zarr
    assert zarr_io.get_zarr_reader([str(store)]) is zarr_io.read_zarr
    for path in [str(tmp_path / "plain"), str(tmp_path / "x.tif"), str(tmp_path / "missing.zarr"),
                 [str(store), str(store)], None, 42]:
        assert zarr_io.get_zarr_reader(path) is None


def test_open_ome_zarr_py_store_as_lazy_multiscale_layer(make_napari_viewer_proxy, tmp_path):
    import dask.array as da

    data = np.random.RandomState(0).randint(0, 1000, (5, 40, 36)).astype(np.uint16)
    group = _ome_zarr_py_store(tmp_path / "cells.zarr", data)
    viewer = make_napari_viewer_proxy()
    layers = viewer.open(str(tmp_path / "cells.zarr"), plugin=PLUGIN)
    assert len(layers) == 1
    layer = layers[0]
    assert layer.multiscale
    assert layer.name == "cells"
    assert [tuple(d.shape) for d in layer.data] == [(5, 40, 36), (5, 20, 18)]
    assert all(isinstance(d, da.Array) for d in layer.data)
    np.testing.assert_array_equal(np.asarray(layer.data[0]), data)
    np.testing.assert_array_equal(np.asarray(layer.data[1]), group["s1"][:])
    assert tuple(layer.scale) == pytest.approx((1.0, 0.5, 0.5))
    assert [str(u) for u in layer.units][1:] == ["micrometer", "micrometer"]
    low, high = layer.contrast_limits
    assert data.min() <= low < high <= data.max()


def test_save_layer_as_ome_zarr_and_refuse_overwrite(make_napari_viewer_proxy, tmp_path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    data = np.random.RandomState(1).rand(4, 3, 16, 12)
    viewer = make_napari_viewer_proxy()
    layer = viewer.add_image(data, name="vol", scale=(2.0, 0.8, 0.2, 0.2),
                             translate=(0.0, 1.0, 2.0, 3.0), axis_labels=("t", "z", "y", "x"),
                             units=("second", "micrometer", "micrometer", "micrometer"))
    out = tmp_path / "vol.zarr"
    written = viewer.layers.save(str(out), selected=False, plugin=PLUGIN)
    assert written == [str(out)]
    node = next(iter(Reader(parse_url(str(out)))()))
    np.testing.assert_array_equal(np.asarray(node.data[0]), data)
    back = images.fromzarr(out)
    assert back.metadata.names == ("t", "z", "y", "x")
    assert back.metadata.scale == pytest.approx((2.0, 0.8, 0.2, 0.2))
    assert back.metadata.translate == pytest.approx((0.0, 1.0, 2.0, 3.0))
    assert back.metadata.units == ("second", "micrometer", "micrometer", "micrometer")
    with pytest.raises(FileExistsError):
        zarr_io.write_ome_zarr(str(out), layer.data, {"name": "vol"})
    np.testing.assert_array_equal(images.fromzarr(out).frames.collect(), data)


def test_save_dialog_confirmed_overwrite_replaces_the_store(make_napari_viewer_proxy, tmp_path,
                                                           monkeypatch):
    """As the other writers: what napari's Save dialog confirmed is replaced
    (atomically, nothing left beside it); a script is refused in plain words."""
    from napari.plugins import _npe2
    from qtpy.QtWidgets import QFileDialog

    viewer = make_napari_viewer_proxy()
    viewer.add_image(np.zeros((3, 8, 6), np.uint16), name="z")
    out = tmp_path / "z.zarr"
    ext_str, _ = _npe2.file_extensions_string_for_layers(list(viewer.layers))
    chosen = [e for e in ext_str.split(";;") if e.startswith("Thunder OME-Zarr (")]
    assert len(chosen) == 1, ext_str
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), chosen[0]))
    viewer.window._qt_viewer._save_layers_dialog(selected=False)
    np.testing.assert_array_equal(images.fromzarr(out).toarray(), np.zeros((3, 8, 6)))
    second = np.arange(3 * 8 * 6, dtype=np.uint16).reshape(3, 8, 6)
    viewer.layers["z"].data = second
    viewer.window._qt_viewer._save_layers_dialog(selected=False)
    back = images.fromzarr(out)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.toarray(), second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.zarr"]      # no temporary left
    with pytest.raises(FileExistsError) as info:
        viewer.layers.save(str(out), selected=False, plugin=f"{PLUGIN}.write_ome_zarr")
    assert str(info.value).startswith("z.zarr already exists")
    assert "choose another name" in str(info.value)
    np.testing.assert_array_equal(images.fromzarr(out).toarray(), second)


def test_round_trip_through_reader_and_writer_keeps_pyramid(tmp_path):
    data = np.arange(3 * 32 * 32, dtype=np.float32).reshape(3, 32, 32)
    images.fromarray(data).with_metadata(scale=(1.0, 0.3, 0.3)).tozarr(tmp_path / "a.zarr", levels=3)
    layer_data, kwargs, kind = zarr_io.read_zarr(str(tmp_path / "a.zarr"))[0]
    assert kind == "image" and kwargs["multiscale"] is True and len(layer_data) == 3
    zarr_io.write_ome_zarr(str(tmp_path / "b.zarr"), layer_data, kwargs)
    group = zarr.open_group(str(tmp_path / "b.zarr"), mode="r")
    assert sorted(group.array_keys()) == ["0", "1", "2"]
    for k in range(3):
        np.testing.assert_array_equal(group[str(k)][:], np.asarray(layer_data[k]))
    assert images.fromzarr(tmp_path / "b.zarr").metadata.scale == pytest.approx((1.0, 0.3, 0.3))


def test_unreadable_store_notifies_and_adds_nothing(tmp_path, monkeypatch):
    from napari.utils import notifications

    messages = []
    monkeypatch.setattr(notifications, "show_error", messages.append)
    group = zarr.open_group(str(tmp_path / "empty.zarr"), mode="w")
    group.attrs["note"] = "no arrays"
    assert zarr_io.read_zarr(str(tmp_path / "empty.zarr")) == [(None,)]
    assert len(messages) == 1 and "empty.zarr" in messages[0]
