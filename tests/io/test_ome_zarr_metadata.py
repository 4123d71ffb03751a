"""NGFF metadata <-> ImageMetadata, without any store."""

import pytest

from napari_thunder.io.ome_zarr import (
    check_ome_axes,
    metadata_for_level,
    multiscales_attrs,
    ngff_unit,
    parse_multiscales,
)
from napari_thunder.metadata import ImageMetadata


@pytest.mark.parametrize("names", [("t", "y", "x"), ("t", "c", "z", "y", "x"), ("c", "y", "x"),
                                   ("p", "z", "y", "x"), ("y", "x")])
def test_valid_axes(names):
    check_ome_axes(ImageMetadata.from_names(names))


@pytest.mark.parametrize("names, word", [
    (("t", "y", "x", "c"), "space axes at the end"),
    (("y", "t", "x"), "space axes"),
    (("c", "t", "y", "x"), "time axis not first"),
    (("t", "p", "c", "y", "x"), "more than one"),
    (("t", "dim_1", "dim_2"), "space axes"),
    (("t", "a", "b", "z", "y", "x"), "6 axes"),
])
def test_invalid_axes_name_the_rule(names, word):
    with pytest.raises(ValueError, match=word) as info:
        check_ome_axes(ImageMetadata.from_names(names))
    assert "ome=False" in str(info.value)


def test_rgb_refused():
    with pytest.raises(ValueError, match="RGB"):
        check_ome_axes(ImageMetadata.default(4, rgb=True))


def test_units_translated_and_unknown_warned():
    assert ngff_unit("um", "space") == "micrometer"
    assert ngff_unit("µm", "space") == "micrometer"
    assert ngff_unit("ms", "time") == "millisecond"
    assert ngff_unit(None, "space") is None
    with pytest.warns(UserWarning, match="furlong"):
        assert ngff_unit("furlong", "space") == "furlong"


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_attrs_round_trip(version):
    meta = ImageMetadata.from_names(("t", "c", "y", "x"), scale=(2.0, 1.0, 0.5, 0.5),
                                    translate=(0.0, 0.0, 1.0, -1.0),
                                    units=("second", None, "micrometer", "micrometer"),
                                    channel_names=("gfp", "rfp"))
    transforms = [(list(meta.scale), list(meta.translate)), ([2.0, 1.0, 1.0, 1.0], [0, 0, 1.25, -0.75])]
    attrs = multiscales_attrs(meta, ["0", "1"], transforms, version=version, name="img", method="mean")
    if version == "0.5":
        assert attrs["ome"]["version"] == "0.5" and "multiscales" not in attrs
    else:
        assert attrs["multiscales"][0]["version"] == "0.4"
    info = parse_multiscales(attrs)
    assert info.version == version and info.paths == ["0", "1"] and info.name == "img"
    assert metadata_for_level(info, 0, (3, 2, 8, 8)) == meta
    level1 = metadata_for_level(info, 1, (3, 2, 4, 4))
    assert level1.scale == (2.0, 1.0, 1.0, 1.0) and level1.translate == (0.0, 0.0, 1.25, -0.75)
    assert level1.channel_names == ("gfp", "rfp")


def test_parse_multiscale_wide_transform_and_old_versions():
    attrs = {"multiscales": [{
        "version": "0.4",
        "axes": [{"name": "t", "type": "time"}, {"name": "y", "type": "space"},
                 {"name": "x", "type": "space"}],
        "datasets": [{"path": "s0", "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, 0.5, 0.5]},
            {"type": "translation", "translation": [0.0, 1.0, 2.0]}]}],
        "coordinateTransformations": [{"type": "scale", "scale": [3.0, 2.0, 2.0]}],
    }]}
    info = parse_multiscales(attrs)
    assert info.transforms[0] == ([3.0, 1.0, 1.0], [0.0, 2.0, 4.0])
    old = parse_multiscales({"multiscales": [{"version": "0.3", "axes": ["t", "y", "x"],
                                              "datasets": [{"path": "0"}]}]})
    assert old.names == ("t", "y", "x") and old.transforms[0] == ([1.0] * 3, [0.0] * 3)
    v01 = parse_multiscales({"multiscales": [{"version": "0.1", "datasets": [{"path": "0"}]}]})
    assert v01.names == ("t", "c", "z", "y", "x")
    assert parse_multiscales({"other": 1}) is None


@pytest.mark.parametrize("attrs, word", [
    ({"multiscales": [{"axes": ["y", "x"], "datasets": []}]}, "no datasets"),
    ({"multiscales": "x"}, "list of objects"),
    ({"multiscales": [{"axes": ["y", "x"], "datasets": [{"path": "0", "coordinateTransformations": [
        {"type": "affine", "affine": []}]}]}]}, "affine"),
    ({"multiscales": [{"axes": ["y", "x"], "datasets": [{"path": "0", "coordinateTransformations": [
        {"type": "scale", "scale": [1.0]}]}]}]}, "1 axes for 2"),
])
def test_malformed_multiscales(attrs, word):
    with pytest.raises(ValueError, match=word):
        parse_multiscales(attrs, "the store")


@pytest.mark.parametrize("names, order", [
    (("t", "z", "c", "y", "x"), (0, 2, 1, 3, 4)),
    (("t", "c", "z", "y", "x"), (0, 1, 2, 3, 4)),
    (("t", "y", "x", "c"), (0, 3, 1, 2)),
    (("t", "y", "x"), (0, 1, 2)),
])
def test_ngff_axis_order_moves_non_space_axes_before_space(names, order):
    from napari_thunder.io.ome_zarr import ngff_axis_order

    meta = ImageMetadata.from_names(names, scale=[1.0 + k for k in range(len(names))])
    assert ngff_axis_order(meta) == order
    moved = meta.transposed(order)
    assert moved.names == tuple(names[k] for k in order)
    assert moved.scale == tuple(meta.scale[k] for k in order)
    with pytest.raises(ValueError, match="permutation"):
        meta.transposed(order[:-1])
