"""Format detection by name and folder content (reader and CLI share it)."""

import json

from napari_thunder.io.formats import classify_path


def test_classify_files_and_folders(tmp_path):
    (tmp_path / "a.TIF").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "c.bin").write_bytes(b"")
    assert classify_path(str(tmp_path / "a.TIF")) == "tif"
    assert classify_path(str(tmp_path / "b.png")) == "png"
    assert classify_path(str(tmp_path / "c.bin")) is None  # no conf.json: shape unknown
    (tmp_path / "conf.json").write_text(json.dumps({"shape": [2, 2]}))
    assert classify_path(str(tmp_path / "c.bin")) == "binary"
    assert classify_path(str(tmp_path)) == "binary_dir"  # conf.json + .bin wins
    tifs = tmp_path / "tifs"
    tifs.mkdir()
    (tifs / ".hidden.png").write_bytes(b"")
    assert classify_path(str(tifs)) is None  # hidden files do not count
    (tifs / "x.tiff").write_bytes(b"")
    assert classify_path(str(tifs)) == "tif_dir"
    assert classify_path(str(tmp_path / "missing.tif")) is None
    assert classify_path(str(tmp_path / "notes.txt")) is None


def test_classify_wildcard_patterns(tmp_path):
    for name in ("a.tif", "b.TIFF", "c.png", ".hidden.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.tif").mkdir()  # a folder matched by the pattern does not count
    pattern = str(tmp_path / "*.ti*")
    assert classify_path(pattern) is None  # patterns only when asked for
    assert classify_path(pattern, patterns=True) == "tif"
    assert classify_path(str(tmp_path / "?.png"), patterns=True) == "png"
    assert classify_path(str(tmp_path / "*"), patterns=True) is None  # tif and png mixed
    assert classify_path(str(tmp_path / "*.jpg"), patterns=True) is None  # matches nothing
    bins = tmp_path / "bins"
    bins.mkdir()
    (bins / "x0.bin").write_bytes(b"")
    (bins / "x1.bin").write_bytes(b"")
    assert classify_path(str(bins / "x[01].bin"), patterns=True) is None  # no conf.json
    (bins / "conf.json").write_text(json.dumps({"dims": [1]}))
    assert classify_path(str(bins / "x[01].bin"), patterns=True) == "binary"
    # an existing path with a wildcard character in its name is that path, not a pattern
    odd = tmp_path / "odd[1].png"
    odd.write_bytes(b"")
    assert classify_path(str(odd), patterns=True) == "png"
    assert classify_path(str(tmp_path), patterns=True) == "tif_dir"
