"""PNG frame sources."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_thunder.io.png import PngSource
from napari_thunder.io.tif import TifSource

DATA = Path(__file__).resolve().parent.parent / "data"
PNGS = sorted(str(p) for p in (DATA / "singlelayer_png").glob("*.png"))
TIFS = sorted(str(p) for p in (DATA / "singlelayer_tif").glob("*.tif"))


def test_real_grey_pngs_equal_the_tifs():
    src = PngSource(PNGS)
    assert src.shape == (3, 70, 75) and src.dtype == np.uint8
    frames = src.read(0, 3)
    assert [int(s) for s in frames.reshape(3, -1).sum(axis=1)] == [1233881, 1212169, 1191300]
    np.testing.assert_array_equal(frames, TifSource(TIFS).read(0, 3))
    np.testing.assert_array_equal(src.read(1, 2), frames[1:2])


def test_16bit_grey(tmp_path):
    images = np.random.default_rng(3).integers(0, 65535, (2, 9, 13), dtype=np.uint16)
    files = []
    for i, img in enumerate(images):
        files.append(str(tmp_path / f"g{i}.png"))
        Image.fromarray(img).save(files[-1])
    src = PngSource(files)
    assert src.shape == (2, 9, 13) and src.dtype == np.uint16
    np.testing.assert_array_equal(src.read(0, 2), images)


@pytest.mark.parametrize("mode, channels", [("RGB", 3), ("RGBA", 4)])
def test_colour(tmp_path, mode, channels):
    images = np.random.default_rng(4).integers(0, 255, (2, 6, 5, channels), dtype=np.uint8)
    files = []
    for i, img in enumerate(images):
        files.append(str(tmp_path / f"c{i}.png"))
        Image.fromarray(img, mode=mode).save(files[-1])
    src = PngSource(files)
    assert src.shape == (2, 6, 5, channels) and src.dtype == np.uint8
    np.testing.assert_array_equal(src.read(0, 2), images)


def test_palette_becomes_rgb(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:2] = (255, 0, 0)
    rgb[2:] = (0, 0, 255)
    path = str(tmp_path / "p.png")
    Image.fromarray(rgb, mode="RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(path)
    assert Image.open(path).mode == "P"
    src = PngSource([path])
    assert src.shape == (1, 4, 4, 3)
    np.testing.assert_array_equal(src.read(0, 1)[0], rgb)


def test_palette_with_transparency_becomes_rgba(tmp_path):
    image = Image.new("P", (3, 2))
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    image.putpixel((1, 1), 1)
    path = str(tmp_path / "t.png")
    image.save(path, transparency=0)
    src = PngSource([path])
    assert src.shape == (1, 2, 3, 4)
    frame = src.read(0, 1)[0]
    np.testing.assert_array_equal(frame[1, 1], [10, 20, 30, 255])
    assert frame[0, 0, 3] == 0


def test_files_must_agree(tmp_path):
    a, b = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(a)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(b)
    with pytest.raises(ValueError, match=r"b\.png"):
        PngSource([a, b])


def test_not_an_image_names_the_file(tmp_path):
    path = tmp_path / "junk.png"
    path.write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"junk\.png"):
        PngSource([str(path)])


def test_truncated_png_fails_in_read_naming_the_file(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (64, 64), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    src = PngSource([str(path)])  # the header is intact
    with pytest.raises(ValueError, match=r"cut\.png"):
        src.read(0, 1)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        PngSource([str(tmp_path / "absent.png")])


def test_pickle_round_trip():
    clone = pickle.loads(pickle.dumps(PngSource(PNGS)))
    np.testing.assert_array_equal(clone.read(0, 3), TifSource(TIFS).read(0, 3))
