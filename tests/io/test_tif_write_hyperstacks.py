"""TIFF images of more than 3 axes (``(z, c, y, x)`` images of a ``(t, z, c, y, x)`` stack) are
written as OME-TIFF naming every axis, and read back exactly by napari-thunder and tifffile."""

import numpy as np
import pytest
import tifffile

from napari_thunder.io.tif import TifSource, tif_write_options
from napari_thunder.io.writing import check_export_ndim, write_tif_frame
from napari_thunder.metadata import ImageMetadata

FRAME = np.random.default_rng(6).integers(0, 60000, (3, 2, 8, 9), dtype=np.uint16)    # Z C Y X


def _metadata(names=("t", "z", "c", "y", "x")):
    return ImageMetadata.from_names(
        names, scale=(0.5, 2.0, 1.0, 0.25, 0.5), translate=(0.0, 4.0, 0.0, 1.0, -2.0),
        units=("second", "micrometer", None, "micrometer", "micrometer"), channel_names=("GFP", "RFP"))


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (1, 0, 2, 3)])
def test_zcyx_and_czyx_images_round_trip_with_their_metadata(tmp_path, order):
    frame = FRAME.transpose(order)
    names = ("t",) + tuple(np.array(["z", "c", "y", "x"])[list(order)])
    meta = _metadata(names) if order[0] == 0 else ImageMetadata.from_names(
        names, scale=(0.5, 1.0, 2.0, 0.25, 0.5), translate=(0.0, 0.0, 4.0, 1.0, -2.0),
        units=("second", None, "micrometer", "micrometer", "micrometer"), channel_names=("GFP", "RFP"))
    options = tif_write_options(meta, frame.shape, frame.dtype)
    check_export_ndim(frame.shape, "tif", options)
    path = str(tmp_path / "img.tif")
    write_tif_frame(frame, path, options)
    with tifffile.TiffFile(path) as tif:
        assert tif.series[0].axes == "".join(names[1:]).upper()
        np.testing.assert_array_equal(tif.series[0].asarray(), frame)
    src = TifSource([path])
    assert src.shape == (1,) + frame.shape
    np.testing.assert_array_equal(src.read(0, 1)[0], frame)
    assert src.metadata.names == names
    assert src.metadata.scale[1:] == meta.scale[1:]
    assert src.metadata.translate == meta.translate
    assert src.metadata.units[1:] == meta.units[1:]
    assert src.metadata.channel_names == ("GFP", "RFP")


def test_four_axes_without_names_are_refused_with_the_reason():
    meta = ImageMetadata.default(5)
    options = tif_write_options(meta, FRAME.shape, FRAME.dtype)
    with pytest.raises(ValueError, match=r"images are 4-dimensional\. Images of more axes are written as "
                                         r"OME-TIFF when their axes are named"):
        check_export_ndim(FRAME.shape, "tif", options)


def test_four_axes_of_a_dtype_ome_cannot_store_are_refused(tmp_path):
    frame = FRAME.astype(np.int64)
    options = tif_write_options(_metadata(), frame.shape, frame.dtype)
    with pytest.raises(ValueError, match=r"images are 4-dimensional"):
        write_tif_frame(frame, str(tmp_path / "x.tif"), options)


def test_rgb_volume_four_axes(tmp_path):
    frame = np.random.default_rng(7).integers(0, 255, (2, 8, 9, 3), dtype=np.uint8)   # Z Y X RGB
    meta = ImageMetadata.from_names(("t", "z", "y", "x", "c"), rgb=True,
                                    scale=(1.0, 3.0, 0.5, 0.5, 1.0),
                                    units=(None, "micrometer", "micrometer", "micrometer", None))
    options = tif_write_options(meta, frame.shape, frame.dtype)
    path = str(tmp_path / "rgb.tif")
    write_tif_frame(frame, path, options)
    src = TifSource([path])
    np.testing.assert_array_equal(src.read(0, 1)[0], frame)
    assert src.metadata.rgb and src.metadata.names == ("t", "z", "y", "x", "c")


def test_tzcyx_stack_written_by_the_block_writer_reads_back_with_fromtif(tmp_path):
    from napari_thunder import images
    from napari_thunder.io import writing

    stack = np.random.default_rng(0).integers(0, 999, (4, 3, 2, 8, 9), dtype=np.uint16)
    imgs = images.fromarray(stack).with_metadata(
        names=("t", "z", "c", "y", "x"), scale=(0.5, 2.0, 1.0, 0.25, 0.25),
        units=("second", "micrometer", None, "micrometer", "micrometer"), channel_names=("a", "b"))
    options = tif_write_options(imgs.metadata, imgs.value_shape, imgs.dtype)
    out = str(tmp_path / "out")
    with writing.atomic_output_dir(out, overwrite=False) as tmp:
        imgs.frames.foreach_block(writing.BlockWriter(tmp, "tif", "image", tif_options=options))
    back = images.fromtif(out)
    assert back.metadata == imgs.metadata
    np.testing.assert_array_equal(np.asarray(back.toarray()), stack)
    np.testing.assert_array_equal(tifffile.imread(str(tmp_path / "out" / "image-00002.tif")), stack[2])
