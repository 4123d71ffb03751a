"""The position of index 0 of the x, y, z axes (``ImageMetadata.translate``) from what TIFF files
state unambiguously: OME ``Plane`` positions with their units, ImageJ ``xorigin``/``yorigin``/
``zorigin`` (pixels); and ``totif`` writing it back as OME ``Plane`` positions. Files are written
with tifffile's metadata options."""

import os
import xml.etree.ElementTree as ET

import numpy as np
import tifffile

from napari_thunder import images
from napari_thunder.io.tif import TifSource

DATA = np.random.default_rng(4).integers(0, 999, (3, 2, 8, 9), dtype=np.uint16)   # Z C Y X


def _ome(path, plane, sizes=True, axes="ZCYX", data=DATA):
    meta = {"axes": axes, "Plane": plane}
    if sizes:
        meta.update(PhysicalSizeX=0.5, PhysicalSizeXUnit="µm", PhysicalSizeY=0.25,
                    PhysicalSizeYUnit="µm", PhysicalSizeZ=2.0, PhysicalSizeZUnit="µm")
    tifffile.imwrite(path, data, metadata=meta)
    return path


def _positions(n, x, y, z, unit="µm", z_step=2.0):
    """Plane positions of ZC-ordered planes (C fastest), as a microscope writes them."""
    return {"PositionX": [x] * n, "PositionXUnit": [unit] * n, "PositionY": [y] * n,
            "PositionYUnit": [unit] * n, "PositionZ": [z + z_step * (i // 2) for i in range(n)],
            "PositionZUnit": [unit] * n}


def test_ome_plane_positions_are_the_translate(tmp_path):
    path = _ome(str(tmp_path / "a.ome.tif"), _positions(6, 120.5, -3.5, 7.0))
    imgs = images.fromtif(path)
    meta = imgs.metadata
    assert meta.names == ("t", "z", "c", "y", "x")
    assert meta.translate == (0.0, 7.0, 0.0, -3.5, 120.5)
    np.testing.assert_array_equal(np.asarray(imgs.toarray()).reshape(imgs.shape)[0], DATA)
    # napari places the layer there
    kwargs = meta.layer_kwargs()
    assert tuple(kwargs["translate"])[-2:] == (-3.5, 120.5)


def test_ome_positions_in_another_length_unit_are_converted(tmp_path):
    path = _ome(str(tmp_path / "mm.ome.tif"), _positions(6, 1.25, 0.5, 0.002, unit="mm", z_step=0.002))
    assert TifSource([path]).metadata.translate == (0.0, 2.0, 0.0, 500.0, 1250.0)


def test_ome_positions_without_unit_are_not_used(tmp_path):
    # the schema's default unit is the stage's reference frame: nothing about the image axes
    plane = {"PositionX": [5.0] * 6, "PositionY": [6.0] * 6}
    path = _ome(str(tmp_path / "nounit.ome.tif"), plane)
    assert TifSource([path]).metadata.translate == (0.0,) * 5


def test_ome_positions_on_axes_without_physical_size_are_not_used(tmp_path):
    path = _ome(str(tmp_path / "nosize.ome.tif"), _positions(6, 5.0, 6.0, 7.0), sizes=False)
    assert TifSource([path]).metadata.translate == (0.0,) * 5


def test_ome_time_series_uses_the_first_plane(tmp_path):
    movie = np.zeros((4, 8, 9), np.uint16)
    plane = {"PositionX": [10.0, 11.0, 12.0, 13.0], "PositionXUnit": ["µm"] * 4}   # stage drift
    path = str(tmp_path / "movie.ome.tif")
    tifffile.imwrite(path, movie, metadata={"axes": "TYX", "PhysicalSizeX": 1.0, "PhysicalSizeY": 1.0,
                                            "Plane": plane})
    assert TifSource([path]).metadata.translate == (0.0, 0.0, 10.0)


def test_imagej_origins_are_in_pixels(tmp_path):
    path = str(tmp_path / "ij.tif")
    tifffile.imwrite(path, DATA[:, 0].astype(np.uint8), imagej=True, resolution=(1 / 0.5, 1 / 0.25),
                     metadata={"axes": "ZYX", "unit": "um", "spacing": 3.0, "xorigin": 4, "yorigin": -2,
                               "zorigin": 1.5})
    meta = TifSource([path]).metadata
    assert meta.names == ("t", "z", "y", "x")
    # ImageJ's calibrated position of pixel i is (i - origin) * pixel size
    assert meta.translate == (0.0, -4.5, 0.5, -2.0)
    assert meta.scale == (1.0, 3.0, 0.25, 0.5)


def test_imagej_origin_without_calibration_is_in_pixels(tmp_path):
    path = str(tmp_path / "ij.tif")
    tifffile.imwrite(path, DATA[0, 0].astype(np.uint8), imagej=True, metadata={"xorigin": 3})
    meta = TifSource([path]).metadata
    assert meta.translate == (0.0, 0.0, -3.0) and meta.units[-1] is None


def test_totif_writes_the_translate_as_plane_positions_and_reads_it_back(tmp_path):
    stack = np.random.default_rng(1).integers(0, 999, (2, 3, 8, 9), dtype=np.uint16)
    imgs = images.fromarray(stack).with_metadata(
        names=("t", "z", "y", "x"), scale=(1.0, 2.0, 0.25, 0.5), translate=(0.0, 7.0, -3.5, 120.5),
        units=("second", "micrometer", "micrometer", "micrometer"))
    out = tmp_path / "out"
    imgs.totif(str(out))
    back = images.fromtif(str(out))
    assert back.metadata.translate == (0.0, 7.0, -3.5, 120.5)
    assert back.metadata.scale == (1.0, 2.0, 0.25, 0.5)
    np.testing.assert_array_equal(np.asarray(back.toarray()), stack)
    # what tifffile sees: one Plane per stored plane, z positions along z
    first = sorted(os.listdir(out))[0]
    with tifffile.TiffFile(str(out / first)) as tif:
        root = ET.fromstring(tif.ome_metadata)
    planes = [el for el in root.iter() if el.tag.endswith("}Plane")]
    assert len(planes) == 3
    for plane in planes:
        assert float(plane.get("PositionX")) == 120.5 and plane.get("PositionXUnit") == "µm"
        assert float(plane.get("PositionZ")) == 7.0 + 2.0 * int(plane.get("TheZ"))


def test_totif_of_a_slice_keeps_its_origin(tmp_path):
    imgs = images.fromarray(DATA[:, 0][np.newaxis].repeat(2, axis=0)).with_metadata(
        names=("t", "z", "y", "x"), scale=(1.0, 2.0, 0.25, 0.5),
        units=(None, "micrometer", "micrometer", "micrometer"))
    part = imgs[:, 1:, 2:, 3:]
    assert part.metadata.translate == (0.0, 2.0, 0.5, 1.5)
    part.totif(str(tmp_path / "part"))
    back = images.fromtif(str(tmp_path / "part"))
    assert back.metadata.translate == (0.0, 2.0, 0.5, 1.5)
    np.testing.assert_array_equal(np.asarray(back.toarray()), DATA[np.newaxis, 1:, 0, 2:, 3:].repeat(2, 0))


def test_totif_without_translate_writes_no_planes(tmp_path):
    imgs = images.fromarray(DATA[:, 0][np.newaxis]).with_metadata(
        names=("t", "z", "y", "x"), scale=(1.0, 2.0, 0.25, 0.5),
        units=(None, "micrometer", "micrometer", "micrometer"))
    imgs.totif(str(tmp_path / "o"))
    (name,) = os.listdir(tmp_path / "o")
    with tifffile.TiffFile(str(tmp_path / "o" / name)) as tif:
        assert "<Plane" not in tif.ome_metadata
