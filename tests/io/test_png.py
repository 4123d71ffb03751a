"""PNG frame sources."""

import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_thunder import images
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


# -- PNG files written byte by byte (an encoder independent of the decoder under test) ----------------------
def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_png(path, pixels, colour_type, bit_depth=None, extra=()):
    """A PNG of ``pixels`` (rows of samples, big-endian as the format stores them), filter 0."""
    pixels = np.asarray(pixels)
    bit_depth = bit_depth or pixels.dtype.itemsize * 8
    height, width = pixels.shape[:2]
    raw = pixels.astype(pixels.dtype.newbyteorder(">")).reshape(height, -1).view(np.uint8)
    if bit_depth < 8:   # pack low-depth samples, most significant bits first
        per_byte = 8 // bit_depth
        rows = []
        for row in pixels.reshape(height, width):
            padded = np.zeros(-(-width // per_byte) * per_byte, np.uint8)
            padded[:width] = row
            packed = np.zeros(len(padded) // per_byte, np.uint8)
            for k in range(per_byte):
                packed |= padded[k::per_byte] << (8 - bit_depth * (k + 1))
            rows.append(packed)
        raw = np.array(rows)
    body = b"".join(b"\x00" + row.tobytes() for row in raw)
    data = (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
            + b"".join(_chunk(kind, payload) for kind, payload in extra)
            + _chunk(b"IDAT", zlib.compress(body)) + _chunk(b"IEND", b""))
    Path(path).write_bytes(data)
    return str(path)


@pytest.mark.parametrize("colour_type, samples", [(2, 3), (6, 4), (4, 2), (0, 1)])
def test_16_bit_files_keep_16_bits(tmp_path, colour_type, samples):
    shape = (7, 9, samples) if samples > 1 else (7, 9)
    pixels = np.random.default_rng(colour_type).integers(0, 65535, shape, dtype=np.uint16)
    path = _write_png(tmp_path / "deep.png", pixels, colour_type)
    src = PngSource([path])
    assert src.shape == (1,) + shape and src.dtype == np.uint16
    np.testing.assert_array_equal(src.read(0, 1)[0], pixels)
    imgs = images.frompng(path)
    assert imgs.metadata.rgb == (samples in (3, 4))
    if samples == 2:
        assert imgs.metadata.names == ("t", "y", "x", "c") and imgs.metadata.channel_axis == 3


def test_16_bit_rgb_written_by_imagecodecs_and_pillow_grey(tmp_path):
    import imagecodecs

    rgb = np.random.default_rng(8).integers(0, 65535, (5, 6, 3), dtype=np.uint16)
    path = tmp_path / "rgb16.png"
    path.write_bytes(imagecodecs.png_encode(rgb))
    np.testing.assert_array_equal(PngSource([str(path)]).read(0, 1)[0], rgb)
    grey = np.random.default_rng(9).integers(0, 65535, (5, 6), dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    np.testing.assert_array_equal(PngSource([str(tmp_path / "grey16.png")]).read(0, 1)[0], grey)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_low_bit_depth_grey_is_scaled_to_8_bits_like_pillow(tmp_path, depth):
    pixels = np.random.default_rng(depth).integers(0, 2 ** depth, (5, 11), dtype=np.uint8)
    path = _write_png(tmp_path / f"g{depth}.png", pixels, 0, bit_depth=depth)
    out = PngSource([path]).read(0, 1)[0]
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels.astype(np.int32) * 255 // (2 ** depth - 1))
    reference = np.asarray(Image.open(path).convert("L"))
    np.testing.assert_array_equal(out, reference)


def test_palette_of_low_depth_to_rgb(tmp_path):
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 8, 7]], np.uint8)
    index = np.random.default_rng(3).integers(0, 4, (6, 5), dtype=np.uint8)
    path = _write_png(tmp_path / "p2.png", index, 3, bit_depth=2, extra=[(b"PLTE", palette.tobytes())])
    np.testing.assert_array_equal(PngSource([path]).read(0, 1)[0], palette[index])
    assert images.frompng(path).metadata.rgb


def test_grey_with_transparency_gains_alpha(tmp_path):
    pixels = np.array([[0, 7], [7, 200]], np.uint8)
    path = _write_png(tmp_path / "gt.png", pixels, 0, extra=[(b"tRNS", struct.pack(">H", 7))])
    out = PngSource([path]).read(0, 1)[0]
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out[..., 0], pixels)
    np.testing.assert_array_equal(out[..., 1], np.where(pixels == 7, 0, 255))


def test_animated_png_is_refused(tmp_path):
    path = _write_png(tmp_path / "anim.png", np.zeros((3, 3), np.uint8), 0,
                      extra=[(b"acTL", struct.pack(">II", 4, 0))])
    with pytest.raises(ValueError, match=r"anim\.png is animated \(4 frames\)"):
        PngSource([path])


def test_png_written_by_imageio(tmp_path):
    import imageio.v3 as iio

    rgba = np.random.default_rng(11).integers(0, 255, (6, 8, 4), dtype=np.uint8)
    path = str(tmp_path / "io.png")
    iio.imwrite(path, rgba)
    np.testing.assert_array_equal(images.frompng(path).toarray(), iio.imread(path))


def test_jpeg_named_png_names_the_file(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path, format="JPEG")
    with pytest.raises(ValueError, match=r"photo\.png.*not a PNG"):
        PngSource([str(path)])
