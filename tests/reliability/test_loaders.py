"""Bad files and folders given to every loader, on every engine: the
specified exception (``FileNotFoundError`` for nothing there, ``ValueError``
naming the file otherwise), the same type on Spark and dask.distributed (the
files are read by their workers), never an allocation the file cannot back,
never a hang (symbolic-link loops)."""

import json
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_thunder import images


def _write_tifs(folder, frames):
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        tifffile.imwrite(folder / f"image-{i:05d}.tif", frame)
    return folder


def _binary(folder, conf, nbytes=16, raw=False):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.json").write_bytes(conf if raw else conf.encode())
    (folder / "image-00000.bin").write_bytes(b"\0" * nbytes)
    return folder


# -- nothing there -----------------------------------------------------------------------------------
@pytest.mark.parametrize("loader", ["fromtif", "frompng", "frombinary"])
def test_missing_path_names_it(tmp_path, engine, loader):
    missing = tmp_path / "no-such-folder"
    kwargs = {"shape": (4, 4), "dtype": "uint8"} if loader == "frombinary" else {}
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        getattr(images, loader)(str(missing), engine=engine, **kwargs).count()


@pytest.mark.parametrize("loader", ["fromtif", "frompng"])
def test_empty_folder(tmp_path, engine, loader):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        getattr(images, loader)(str(tmp_path / "empty"), engine=engine).count()


# -- files that are not what they say ----------------------------------------------------------------
def _garbage_tif(root):
    (root / "g.tif").write_bytes(bytes(range(256)) * 2)
    return root / "g.tif"


def _empty_tif(root):
    (root / "e.tif").write_bytes(b"")
    return root / "e.tif"


def _truncated_stack(root):
    tifffile.imwrite(root / "full.tif", np.ones((50, 64, 64), np.uint16))
    data = (root / "full.tif").read_bytes()
    (root / "t.tif").write_bytes(data[: len(data) // 2])
    return root / "t.tif"


def _truncated_frame(root):
    tifffile.imwrite(root / "one.tif", np.ones((64, 64), np.uint16))
    (root / "t1.tif").write_bytes((root / "one.tif").read_bytes()[:3000])
    return root / "t1.tif"


def _header_claims_8_gib(root):
    path = root / "huge.tif"
    tifffile.imwrite(path, shape=(65535, 65535), dtype="uint16")  # header + a sparse 8 GiB
    os.truncate(path, 4096)
    return path


def _mixed_shapes(root):
    folder = root / "mixed"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.ones((6, 7), np.uint8))
    tifffile.imwrite(folder / "b.tif", np.ones((6, 8), np.uint8))
    return folder / "b.tif"


def _mixed_dtypes(root):
    folder = root / "mixed"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.ones((6, 7), np.uint8))
    tifffile.imwrite(folder / "b.tif", np.full((6, 7), 300, np.uint16))
    return folder / "b.tif"


BAD_TIFS = {"garbage": _garbage_tif, "empty": _empty_tif, "truncated stack": _truncated_stack,
            "truncated frame": _truncated_frame, "header claims 8 GiB": _header_claims_8_gib,
            "mixed shapes": _mixed_shapes, "mixed dtypes": _mixed_dtypes}


@pytest.mark.parametrize("name", list(BAD_TIFS))
def test_bad_tif_names_the_file(tmp_path, engine, name):
    bad = BAD_TIFS[name](tmp_path)
    target = bad.parent if name.startswith("mixed") else bad
    with pytest.raises(ValueError) as info:
        images.fromtif(str(target), engine=engine).toarray()
    assert bad.name in str(info.value), str(info.value)


@pytest.mark.parametrize("name", ["garbage", "rgb beside grey"])
def test_bad_png_names_the_file(tmp_path, engine, name):
    if name == "garbage":
        bad = tmp_path / "g.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
        target = bad
    else:
        target = tmp_path / "mixed"
        target.mkdir()
        Image.fromarray(np.ones((6, 7), np.uint8)).save(target / "a.png")
        bad = target / "b.png"
        Image.fromarray(np.ones((6, 7, 3), np.uint8)).save(bad)
    with pytest.raises(ValueError) as info:
        images.frompng(str(target), engine=engine).toarray()
    assert bad.name in str(info.value), str(info.value)


# -- conf.json ------------------------------------------------------------------------------------------
BAD_CONFS = {
    "malformed": ("{shape: [4, 4]", "conf.json"),
    "a list": ("[4, 4]", "conf.json"),
    "not utf-8": (b'{"shape": [4, 4], "dtype": "\xff"}', "conf.json"),
    "no shape": ('{"dtype": "uint8"}', "shape"),
    "negative dims": ('{"shape": [-4, 4], "dtype": "uint8"}', "shape"),
    "zero dims": ('{"shape": [0, 4], "dtype": "uint8"}', "shape"),
    "fractional dims": ('{"shape": [4.5, 4], "dtype": "uint8"}', "shape"),
    "boolean dims": ('{"shape": [true, 4], "dtype": "uint8"}', "shape"),
    "NaN dims": ('{"shape": [NaN, 4], "dtype": "uint8"}', "shape"),
    "infinite dims": ('{"shape": [1e400, 4], "dtype": "uint8"}', "shape"),
    "string shape": ('{"shape": "4,4", "dtype": "uint8"}', "shape"),
    "empty shape": ('{"shape": [], "dtype": "uint8"}', "shape"),
    "bigger than the file": ('{"shape": [8, 8], "dtype": "uint8"}', "image-00000.bin"),
    "huge dims": ('{"shape": [65536, 65536], "dtype": "uint8"}', "image-00000.bin"),
    "bad dtype": ('{"shape": [4, 4], "dtype": "float99"}', "dtype"),
    "object dtype": ('{"shape": [4, 4], "dtype": "O"}', "dtype"),
    "void dtype": ('{"shape": [4, 4], "dtype": "V0"}', "dtype"),
}


@pytest.mark.parametrize("name", list(BAD_CONFS))
def test_bad_conf_json(tmp_path, engine, name):
    conf, word = BAD_CONFS[name]
    folder = _binary(tmp_path / "bin", conf, raw=isinstance(conf, bytes))
    with pytest.raises(ValueError) as info:
        images.frombinary(str(folder), engine=engine).toarray()
    assert word in str(info.value), str(info.value)


OVERFLOWING = {
    # the size check multiplies in int64: 2**32 * 2**32 wraps to 0 bytes, and a 16-byte file passes
    "2**32 x 2**32": '{"shape": [4294967296, 4294967296], "dtype": "uint8"}',
    "2**40 x 2**40": '{"shape": [1099511627776, 1099511627776], "dtype": "uint8"}',
    "10**30 x 4": '{"shape": [1000000000000000000000000000000, 4], "dtype": "uint8"}',
    "nested 100000 deep": '{"shape": ' + "[" * 100000 + "]" * 100000 + ', "dtype": "uint8"}',
}


@pytest.mark.parametrize("name", list(OVERFLOWING))
def test_conf_json_that_overflows_is_refused_before_loading(tmp_path, name):
    folder = _binary(tmp_path / "bin", OVERFLOWING[name])
    with pytest.raises(ValueError):
        images.frombinary(str(folder))


# -- names and links ------------------------------------------------------------------------------------
def test_symlink_loop_with_recursive_does_not_hang(tmp_path, engine):
    data = np.arange(32, dtype=np.uint8).reshape(2, 4, 4)
    folder = _write_tifs(tmp_path / "top" / "sub", data)
    os.symlink("..", folder / "back")  # sub/back -> top: a loop
    os.symlink(str(folder / "image-00000.tif"), tmp_path / "top" / "loop-to-file.tif")
    imgs = images.fromtif(str(tmp_path / "top"), recursive=True, engine=engine)
    back = imgs.toarray()
    assert back.shape[1:] == (4, 4) and 2 <= back.shape[0] <= 3


def test_self_referencing_link_names_the_file(tmp_path, engine):
    os.symlink("self.tif", tmp_path / "self.tif")
    with pytest.raises((ValueError, FileNotFoundError, OSError), match="self.tif"):
        images.fromtif(str(tmp_path / "self.tif"), engine=engine).toarray()


@pytest.mark.parametrize("name", ["é日本-image.tif", os.fsdecode(b"\xff\xfe-latin1.tif"), "a b;'\".tif"])
def test_unicode_and_non_utf8_names(tmp_path, engine, name):
    data = np.arange(20, dtype=np.uint16).reshape(4, 5)
    folder = tmp_path / "names"
    folder.mkdir()
    tifffile.imwrite(os.path.join(folder, name), data)
    np.testing.assert_array_equal(images.fromtif(str(folder), engine=engine).toarray(), data)


# -- methods on bad data -----------------------------------------------------------------------------
@pytest.mark.parametrize("index", [3, -4, 10 ** 30, "a", 1.5, None])
def test_getitem_out_of_range(engine, index):
    imgs = images.fromarray(np.zeros((3, 4, 5)), engine=engine)
    with pytest.raises(IndexError):
        imgs[index]


def _ragged(frame):
    return frame[:2] if frame.flat[0] == 2 else frame


def test_map_with_inconsistent_shapes_says_so(engine):
    imgs = images.fromarray(np.arange(3)[:, None, None] * np.ones((3, 4, 5)), engine=engine)
    with pytest.raises(ValueError, match="shape") as info:
        imgs.map(_ragged).toarray()
    assert "map" in str(info.value)


def test_loaders_report_the_same_types_everywhere(tmp_path, engine):
    """The conf.json and TIF cases above, gathered: the exception type seen on
    this engine is the local one (no Py4JJavaError, no wrapper type)."""
    bad = _truncated_frame(tmp_path)
    kinds = []
    for call in (lambda: images.fromtif(str(bad), engine=engine).toarray(),
                 lambda: images.frombinary(str(_binary(tmp_path / "b", json.dumps({"shape": [8, 8],
                                                                                   "dtype": "uint8"}))),
                                           engine=engine).toarray()):
        with pytest.raises(Exception) as info:
            call()
        kinds.append(type(info.value))
    assert kinds == [ValueError, ValueError]
