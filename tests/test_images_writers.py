"""Writers: round trips, files readable by other tools, no silent overwrite."""

import json
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_thunder import images

STACK = np.random.default_rng(5).integers(-300, 300, (4, 6, 7)).astype(np.int16)
VOLS = np.random.default_rng(6).random((3, 2, 5, 3)).astype(np.float32)


def test_tobinary_layout_and_round_trip(tmp_path, engine):
    out = tmp_path / "bin"
    images.fromarray(STACK, engine=engine).tobinary(str(out))
    assert sorted(os.listdir(out)) == ["SUCCESS", "conf.json"] + [
        f"image-{i:05d}.bin" for i in range(4)]
    conf = json.loads((out / "conf.json").read_text())
    assert conf == {"shape": [6, 7], "dtype": "int16"}
    raw = np.fromfile(out / "image-00002.bin", dtype=np.int16).reshape(6, 7)
    np.testing.assert_array_equal(raw, STACK[2])
    back = images.frombinary(str(out), engine=engine)
    assert back.dtype == np.int16
    np.testing.assert_array_equal(back.toarray(), STACK)


def test_totif_round_trip_volumes(tmp_path, engine):
    out = tmp_path / "tif"
    images.fromarray(VOLS, engine=engine).totif(str(out), prefix="vol")
    files = sorted(os.listdir(out))
    assert files == [f"vol-{i:05d}.tif" for i in range(3)]
    np.testing.assert_array_equal(tifffile.imread(out / files[1]), VOLS[1])
    back = images.fromtif(str(out), engine=engine)
    assert back.shape == VOLS.shape and back.dtype == np.float32
    np.testing.assert_array_equal(back.toarray(), VOLS)


def test_topng_uint8_exact_and_rescaled_others(tmp_path, engine):
    u8 = (np.arange(2 * 4 * 5) % 256).astype(np.uint8).reshape(2, 4, 5)
    images.fromarray(u8, engine=engine).topng(str(tmp_path / "u8"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "u8" / "image-00001.png")), u8[1])
    ramp = np.arange(0, 80, 10, dtype=np.int16).reshape(1, 2, 4)
    images.fromarray(ramp, engine=engine).topng(str(tmp_path / "i16"))
    got = np.asarray(Image.open(tmp_path / "i16" / "image-00000.png"))
    np.testing.assert_array_equal(got.ravel(), [0, 36, 73, 109, 146, 182, 219, 255])


def test_totif_writes_named_zcyx_images_as_ome_tiff(tmp_path):
    stack = np.random.default_rng(4).integers(0, 4000, (3, 2, 2, 6, 7), dtype=np.uint16)
    imgs = images.fromarray(stack).with_metadata(
        names=("t", "z", "c", "y", "x"), scale=(1.0, 2.0, 1.0, 0.5, 0.5),
        units=(None, "micrometer", None, "micrometer", "micrometer"), channel_names=("gcamp", "tdtomato"))
    imgs.totif(str(tmp_path / "out"))
    back = images.fromtif(str(tmp_path / "out"))
    np.testing.assert_array_equal(back.toarray(), stack)
    assert back.metadata.names == ("t", "z", "c", "y", "x")
    assert back.metadata.channel_names == ("gcamp", "tdtomato")
    assert tuple(back.metadata.scale[1:]) == (2.0, 1.0, 0.5, 0.5)
    np.testing.assert_array_equal(tifffile.imread(str(tmp_path / "out" / "image-00001.tif")), stack[1])


def test_writers_refuse_4d_images(tmp_path):
    imgs = images.fromarray(np.zeros((2, 2, 2, 2, 2)))
    with pytest.raises(ValueError, match="Only 2D or 3D"):
        imgs.totif(str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_no_overwrite_without_flag(tmp_path, engine):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    imgs = images.fromarray(STACK, engine=engine)
    with pytest.raises(FileExistsError, match="already exists"):
        imgs.totif(str(out))
    with pytest.raises(ValueError, match="already exists"):  # the spec's exception type too
        imgs.tobinary(str(out))
    assert (out / "precious.txt").read_text() == "keep me"
    imgs.totif(str(out), overwrite=True)
    assert sorted(os.listdir(out)) == [f"image-{i:05d}.tif" for i in range(4)]


def test_writer_path_is_a_file_or_parent_missing(tmp_path):
    imgs = images.fromarray(STACK)
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ValueError, match="file.txt"):
        imgs.tobinary(str(target))
    assert target.read_text() == "x"
    with pytest.raises(FileNotFoundError):
        imgs.tobinary(str(tmp_path / "no" / "such" / "dir"))


def test_failed_write_leaves_old_output_intact(tmp_path):
    out = tmp_path / "out"
    images.fromarray(STACK).tobinary(str(out))
    before = sorted(os.listdir(out))

    def explode(x):
        if x[0, 0] == STACK[2, 0, 0]:
            raise RuntimeError("disk on fire")
        return x

    bad = images.fromarray(STACK).map(explode, dims=(6, 7), dtype=np.int16)
    with pytest.raises(RuntimeError, match="disk on fire"):
        bad.tobinary(str(out), overwrite=True)
    assert sorted(os.listdir(out)) == before
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no temporary directory left behind
    np.testing.assert_array_equal(images.frombinary(str(out)).toarray(), STACK)


@pytest.mark.parametrize("writer, ext", [("tobinary", ".bin"), ("totif", ".tif"), ("topng", ".png")])
def test_writers_report_progress_per_block(tmp_path, engine, writer, ext):
    """``progress(done, total)`` after each written block: increasing to the
    image count, called on this process, the files already on disk."""
    frames = np.random.default_rng(7).integers(0, 255, (10, 4, 5)).astype(np.uint8)
    out = tmp_path / "out"
    calls = []

    def progress(done, total):
        written = [f for d in os.listdir(tmp_path) for f in os.listdir(tmp_path / d) if f.endswith(ext)]
        calls.append((done, total, len(written)))

    getattr(images.fromarray(frames, npartitions=5, engine=engine), writer)(str(out), progress=progress)
    assert [c[1] for c in calls] == [10] * len(calls)
    dones = [c[0] for c in calls]
    assert len(calls) >= 2 and dones == sorted(set(dones)) and dones[-1] == 10
    assert all(written >= done for done, _, written in calls)  # reported after the write
    names = sorted(f for f in os.listdir(out) if f.endswith(ext))
    assert names == [f"image-{i:05d}{ext}" for i in range(10)]
    back = {"tobinary": images.frombinary, "totif": images.fromtif, "topng": images.frompng}[writer]
    np.testing.assert_array_equal(back(str(out)).toarray(), frames)


def test_writer_progress_error_leaves_no_output(tmp_path):
    def progress(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        images.fromarray(STACK, npartitions=2).totif(str(tmp_path / "out"), progress=progress)
    assert os.listdir(tmp_path) == []
