"""Multi-file OME-TIFF (Micro-Manager, bfconvert): one OME-XML describing planes stored in several
files, linked by ``TiffData`` ``UUID``/``FileName``. The sets are written here with tifffile, plane by
plane, so every expected value is the numpy array written (and tifffile reading the set)."""

import os
import pickle
import uuid

import numpy as np
import pytest
import tifffile

from napari_thunder import images
from napari_thunder.io.tif import TifSource

T, Z, C, Y, X = 4, 3, 2, 10, 12


def _ome_xml(own_uuid, names, uuids, per_file, sizes, order="XYCZT", pixel_type="uint16",
             physical=True, plane_position=None):
    """OME-XML of one image of ``sizes`` (dict) whose planes, in ``order``, are stored
    ``per_file`` a file in ``names`` (one TiffData a file)."""
    size = dict(sizes)
    letters = order[2:]            # fastest first
    counts = [size[a] for a in letters]
    tiffdata = []
    for k, (name, file_uuid) in enumerate(zip(names, uuids)):
        first = np.unravel_index(k * per_file, counts[::-1])[::-1]
        attrs = " ".join(f'First{a}="{int(i)}"' for a, i in zip(letters, first))
        tiffdata.append(f'<TiffData IFD="0" {attrs} PlaneCount="{per_file}">'
                        f'<UUID FileName="{name}">{file_uuid}</UUID></TiffData>')
    phys = ('PhysicalSizeX="0.25" PhysicalSizeXUnit="µm" PhysicalSizeY="0.5" PhysicalSizeYUnit="µm" '
            'PhysicalSizeZ="2.0" PhysicalSizeZUnit="µm" TimeIncrement="1.5" TimeIncrementUnit="s" '
            if physical else "")
    channels = "".join(f'<Channel ID="Channel:0:{c}" Name="{name}" SamplesPerPixel="1"/>'
                       for c, name in enumerate(["GFP", "RFP", "DAPI"][:size["C"]]))
    plane = "" if plane_position is None else (
        '<Plane TheC="0" TheT="0" TheZ="0" PositionX="{}" PositionXUnit="µm" PositionY="{}" '
        'PositionYUnit="µm" PositionZ="{}" PositionZUnit="µm"/>'.format(*plane_position))
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" UUID="{own_uuid}">'
            f'<Image ID="Image:0" Name="set"><Pixels ID="Pixels:0" DimensionOrder="{order}" '
            f'Type="{pixel_type}" SizeX="{size["X"]}" SizeY="{size["Y"]}" SizeC="{size["C"]}" '
            f'SizeZ="{size["Z"]}" SizeT="{size["T"]}" {phys}>'
            f'{channels}{"".join(tiffdata)}{plane}</Pixels></Image></OME>')


def _utf8(xml):
    """OME-XML as UTF-8 bytes (tifffile writes str descriptions as 7-bit ASCII only)."""
    return None if xml is None else xml.encode("utf-8")


def _binary_only(own_uuid, metadata_file):
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" UUID="{own_uuid}">'
            f'<BinaryOnly MetadataFile="{metadata_file}" UUID="urn:uuid:{uuid.uuid4()}"/></OME>')


def write_set(folder, nfiles=3, data=None, xml_in="all", prefix="set", compression=None, **xml):
    """Write ``data`` (T, Z, C, Y, X) as a multi-file OME-TIFF of ``nfiles`` files, planes in
    XYCZT order (C fastest), the OME-XML in every file (``'all'``, as bfconvert), only in the
    first (``'first'``), in the first with a ``BinaryOnly`` element pointing to it in the
    others (``'binaryonly'``), or in a companion file every TIFF points to (``'companion'``);
    returns the paths and the data."""
    if data is None:
        data = np.random.default_rng(3).integers(0, 60000, (T, Z, C, Y, X), dtype=np.uint16)
    t, z, c, y, x = data.shape
    planes = data.reshape(-1, y, x)
    per_file = len(planes) // nfiles
    names = [f"{prefix}_{k}.ome.tif" if k else f"{prefix}.ome.tif" for k in range(nfiles)]
    uuids = [f"urn:uuid:{uuid.uuid4()}" for _ in names]
    sizes = {"T": t, "Z": z, "C": c, "Y": y, "X": x}
    paths = []
    if xml_in == "companion":
        with open(os.path.join(folder, f"{prefix}.companion.ome"), "w", encoding="utf-8") as fh:
            fh.write(_ome_xml(f"urn:uuid:{uuid.uuid4()}", names, uuids, per_file, sizes,
                              pixel_type=str(data.dtype), **xml))
    for k, name in enumerate(names):
        path = os.path.join(folder, name)
        description = None
        if xml_in == "companion":
            description = _binary_only(uuids[k], f"{prefix}.companion.ome")
        elif k == 0 or xml_in == "all":
            description = _ome_xml(uuids[k], names, uuids, per_file, sizes,
                                   pixel_type=str(data.dtype), **xml)
        elif xml_in == "binaryonly":
            description = _binary_only(uuids[k], names[0])
        tifffile.imwrite(path, planes[k * per_file:(k + 1) * per_file], description=_utf8(description),
                         metadata=None, ome=False, photometric="minisblack", compression=compression)
        paths.append(path)
    return paths, data


@pytest.mark.parametrize("xml_in, opened", [("all", 0), ("all", 1), ("all", 2), ("first", 0),
                                            ("binaryonly", 1), ("binaryonly", 2), ("companion", 0),
                                            ("companion", 2)])
def test_any_file_of_the_set_gives_the_whole_series(tmp_path, opened, xml_in):
    paths, data = write_set(str(tmp_path), xml_in=xml_in)
    src = TifSource([paths[opened]])
    assert src.shape == data.shape and src.dtype == np.uint16
    np.testing.assert_array_equal(src.read(0, T), data)
    np.testing.assert_array_equal(src.read(1, 3), data[1:3])      # frames from two files
    np.testing.assert_array_equal(src.read(3, 4), data[3:4])      # the last file only
    with tifffile.TiffFile(paths[0]) as tif:                      # tifffile reads the same
        if xml_in != "companion":
            np.testing.assert_array_equal(tif.series[0].asarray(), data)


def test_file_without_ome_xml_opened_alone_is_its_own_pages(tmp_path):
    # nothing in it says it belongs to a set: it is the volume of its own pages (in a folder with
    # the first file, the set is read once, below)
    paths, data = write_set(str(tmp_path), xml_in="first")
    src = TifSource([paths[1]])
    assert src.shape == (1, 8, Y, X)
    np.testing.assert_array_equal(src.read(0, 1)[0], data.reshape(-1, Y, X)[8:16])


@pytest.mark.parametrize("xml_in", ["all", "companion"])
def test_metadata_of_the_set(tmp_path, xml_in):
    paths, _ = write_set(str(tmp_path), xml_in=xml_in)
    meta = TifSource([paths[1]]).metadata
    assert meta.names == ("t", "z", "c", "y", "x")
    assert meta.scale == (1.5, 2.0, 1.0, 0.5, 0.25)
    assert meta.units == ("second", "micrometer", None, "micrometer", "micrometer")
    assert meta.channel_names == ("GFP", "RFP")


@pytest.mark.parametrize("xml_in", ["all", "first", "binaryonly", "companion"])
@pytest.mark.parametrize("reverse", [False, True])
def test_folder_of_a_set_is_one_series_not_one_stack_a_file(tmp_path, xml_in, reverse):
    paths, data = write_set(str(tmp_path), xml_in=xml_in)
    files = paths[::-1] if reverse else paths
    src = TifSource(files)
    assert src.shape == data.shape
    np.testing.assert_array_equal(src.read(0, T), data)
    imgs = images.fromtif(str(tmp_path))
    assert imgs.shape == data.shape
    np.testing.assert_array_equal(np.asarray(imgs.toarray()), data)
    assert imgs.metadata.channel_names == ("GFP", "RFP")


def test_two_sets_in_a_folder_are_two_datasets_in_listing_order(tmp_path):
    rng = np.random.default_rng(5)
    first = rng.integers(0, 999, (T, Z, C, Y, X), dtype=np.uint16)
    second = rng.integers(0, 999, (T, Z, C, Y, X), dtype=np.uint16)
    write_set(str(tmp_path), data=first, prefix="a")
    write_set(str(tmp_path), data=second, prefix="b", nfiles=2)
    imgs = images.fromtif(str(tmp_path))
    np.testing.assert_array_equal(np.asarray(imgs.toarray()), np.concatenate([first, second]))


def test_nplanes_cuts_the_series_pages_in_ome_order(tmp_path):
    paths, data = write_set(str(tmp_path))
    src = TifSource([paths[2]], nplanes=1)
    assert src.shape == (T * Z * C, Y, X)
    np.testing.assert_array_equal(src.read(0, len(src)), data.reshape(-1, Y, X))


def test_compressed_set_and_pickled_source(tmp_path):
    paths, data = write_set(str(tmp_path), compression="zlib")
    src = pickle.loads(pickle.dumps(TifSource([paths[0]])))
    np.testing.assert_array_equal(src.read(0, T), data)


def test_time_not_slowest_is_moved_to_axis_zero(tmp_path):
    # XYCTZ: z is the slowest axis, so each file holds whole time series of one z
    data = np.random.default_rng(8).integers(0, 999, (Z, T, C, Y, X), dtype=np.uint16)
    names = ["ztc.ome.tif", "ztc_1.ome.tif", "ztc_2.ome.tif"]
    uuids = [f"urn:uuid:{uuid.uuid4()}" for _ in names]
    planes = data.reshape(-1, Y, X)
    per_file = len(planes) // 3
    for k, name in enumerate(names):
        xml = _ome_xml(uuids[k], names, uuids, per_file, {"T": T, "Z": Z, "C": C, "Y": Y, "X": X},
                       order="XYCTZ")
        tifffile.imwrite(str(tmp_path / name), planes[k * per_file:(k + 1) * per_file],
                         description=_utf8(xml), metadata=None, photometric="minisblack")
    src = TifSource([str(tmp_path / names[1])])
    assert src.metadata.names == ("t", "z", "c", "y", "x")
    np.testing.assert_array_equal(src.read(0, T), data.transpose(1, 0, 2, 3, 4))
    np.testing.assert_array_equal(src.read(2, 3), data.transpose(1, 0, 2, 3, 4)[2:3])


def test_missing_file_of_the_set_is_an_error_naming_it_at_load_time(tmp_path):
    paths, _ = write_set(str(tmp_path))
    os.remove(paths[2])
    with pytest.raises(FileNotFoundError, match=r"set_2\.ome\.tif, which does not exist"):
        TifSource([paths[0]])
    with pytest.raises(FileNotFoundError, match=r"set_2\.ome\.tif, which does not exist"):
        images.fromtif(str(tmp_path))


@pytest.mark.parametrize("xml_in", ["binaryonly", "companion"])
def test_missing_metadata_file_is_an_error_naming_it(tmp_path, xml_in):
    paths, _ = write_set(str(tmp_path), xml_in=xml_in)
    missing = "set.companion.ome" if xml_in == "companion" else "set.ome.tif"
    os.remove(str(tmp_path / missing))
    with pytest.raises(FileNotFoundError, match=rf"metadata are in \S*{missing}, which does not exist"):
        TifSource([paths[1]])


def test_binary_only_file_the_metadata_store_nothing_in_is_refused(tmp_path):
    paths, _ = write_set(str(tmp_path), xml_in="binaryonly")
    stray = str(tmp_path / "stray.ome.tif")
    tifffile.imwrite(stray, np.zeros((2, Y, X), np.uint16), description=_utf8(_binary_only("urn:uuid:1",
                     "set.ome.tif")), metadata=None, ome=False, photometric="minisblack")
    with pytest.raises(ValueError, match=r"stray\.ome\.tif says its metadata are in .*stores no planes"):
        TifSource([stray])


def test_cut_file_of_the_set_names_it(tmp_path):
    paths, _ = write_set(str(tmp_path))
    size = os.path.getsize(paths[1])
    with open(paths[1], "r+b") as fh:
        fh.truncate(size - 40)          # into the last IFD (tifffile writes it after the pixels)
    with pytest.raises(ValueError, match=r"Cannot read TIFF file \S*set_1\.ome\.tif \(part of the "
                                         r"multi-file OME-TIFF of \S*set\.ome\.tif\)"):
        TifSource([paths[0]])


def test_pixel_data_beyond_the_end_of_a_file_of_the_set_names_it(tmp_path):
    paths, _ = write_set(str(tmp_path))
    with tifffile.TiffFile(paths[2]) as tif:
        tag = tif.pages[-1].tags["StripOffsets"]
        where, kind = tag.valueoffset, tag.dtype
    assert kind == 4                   # LONG, stored in the IFD entry
    with open(paths[2], "r+b") as fh:
        fh.seek(where)
        fh.write(np.uint32(1 << 20).tobytes())    # the last page's pixels, far beyond the end
    with pytest.raises(ValueError, match=r"set_2\.ome\.tif: file is truncated: page 7 needs"):
        TifSource([paths[1]])


def test_file_of_the_set_with_other_pages_names_it(tmp_path):
    paths, data = write_set(str(tmp_path))
    names = [os.path.basename(p) for p in paths]
    with tifffile.TiffFile(paths[1]) as tif:
        xml = tif.pages.first.description
    # the second file rewritten with pages of another dtype, same OME-XML
    planes = data.reshape(-1, Y, X)[8:16].astype(np.uint8)
    tifffile.imwrite(paths[1], planes, description=_utf8(xml), metadata=None, photometric="minisblack")
    with pytest.raises(ValueError, match=rf"{names[1]}|page 0 of .*{names[1]}"):
        TifSource([paths[0]])


def test_part_replaced_by_a_file_of_another_set_is_refused(tmp_path):
    paths, data = write_set(str(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    other_paths, _ = write_set(str(other), data=data + 1)
    os.replace(other_paths[1], paths[1])        # same name, another dataset's UUID
    with pytest.raises(ValueError, match=r"set_1\.ome\.tif has the UUID .* do not belong to one dataset"):
        TifSource([paths[0]])


def test_page_corrupted_after_load_fails_in_read_naming_the_file(tmp_path):
    paths, data = write_set(str(tmp_path), compression="zlib")
    src = TifSource([paths[0]])
    with tifffile.TiffFile(paths[2]) as tif:
        offset = tif.pages[-1].dataoffsets[0]     # the last plane: frame T - 1
    with open(paths[2], "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xff" * 16)
    np.testing.assert_array_equal(src.read(0, 2), data[:2])     # the other files are intact
    with pytest.raises(ValueError, match=r"Cannot read pages .* of TIFF file .*set_2\.ome\.tif"):
        src.read(T - 1, T)


def test_single_file_ome_renamed_still_reads(tmp_path):
    # a one-file OME-TIFF renamed: its TiffData still names the old file, its UUID is its own
    data = np.random.default_rng(2).integers(0, 999, (T, Z, C, Y, X), dtype=np.uint16)
    paths, _ = write_set(str(tmp_path), nfiles=1, data=data)
    renamed = str(tmp_path / "renamed.ome.tif")
    os.rename(paths[0], renamed)
    src = TifSource([renamed])
    np.testing.assert_array_equal(src.read(0, T), data)


def test_command_line_reads_the_folder_of_a_set_once(tmp_path, capsys):
    from napari_thunder import cli

    paths, data = write_set(str(tmp_path))
    assert cli.main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "count   4" in out and "(4, 3, 2, 10, 12)" in out
    assert cli.main(["info", paths[2]]) == 0
    assert "(4, 3, 2, 10, 12)" in capsys.readouterr().out


def test_plane_position_of_the_set_is_the_translate(tmp_path):
    paths, _ = write_set(str(tmp_path), plane_position=(120.5, -3.5, 7.0))
    meta = TifSource([paths[2]]).metadata
    assert meta.translate == (0.0, 7.0, 0.0, -3.5, 120.5)
