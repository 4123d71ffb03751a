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
