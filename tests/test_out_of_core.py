"""Out-of-core paths of the local engine give the in-memory values.

Small stacks on disk (multipage TIF, uncompressed and LZW, and flat binary
files) are read with chunks forced to a few frames by patching
``engines.local.chunk_bytes_target``; every result is compared with numpy or
scipy on the in-memory array.
"""

import json
import os

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile

from napari_thunder import images
from napari_thunder.engines import local
from napari_thunder.io.source import ArraySource

SHAPE = (37, 24, 20)
FRAME_BYTES = SHAPE[1] * SHAPE[2] * 2  # uint16


@pytest.fixture
def stack():
    """uint16 frames with a large offset and a small spread (cancellation-prone)."""
    rng = np.random.default_rng(11)
    return (60000 + rng.integers(0, 300, size=SHAPE)).astype(np.uint16)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of at most 3 frames."""
    monkeypatch.setattr(local, "chunk_bytes_target", lambda: 3 * FRAME_BYTES)
    return 3


def _write_tif(path, stack, compression=None):
    tifffile.imwrite(path, stack, photometric="minisblack", compression=compression)
    return path


def _write_binary_dir(path, stack):
    os.makedirs(path)
    for i, frame in enumerate(stack):
        frame.tofile(os.path.join(path, f"image-{i:05d}.bin"))
    with open(os.path.join(path, "conf.json"), "w", encoding="utf-8") as fh:
        json.dump({"shape": list(stack.shape[1:]), "dtype": str(stack.dtype)}, fh)
    return path


@pytest.fixture(params=["tif", "tif-lzw", "binary"])
def on_disk(request, tmp_path, stack):
    """Images reading ``stack`` from disk, in the three on-disk layouts."""
    if request.param == "tif":
        path = _write_tif(str(tmp_path / "stack.tif"), stack)
        return lambda: images.fromtif(path, nplanes=1)
    if request.param == "tif-lzw":
        path = _write_tif(str(tmp_path / "stack.tif"), stack, compression="lzw")
        return lambda: images.fromtif(path, nplanes=1)
    path = _write_binary_dir(str(tmp_path / "bin"), stack)
    return lambda: images.frombinary(path)


def _reference_localcorr(stack, neighborhood):
    """Pearson r of each pixel with its float64 box mean, vectorised numpy."""
    size = 2 * neighborhood + 1
    x = stack.astype(np.float64)
    y = np.stack([ndi.uniform_filter(f, size, mode="reflect") for f in x])
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    return (xc * yc).sum(axis=0) / np.sqrt((xc * xc).sum(axis=0) * (yc * yc).sum(axis=0))


def test_chunks_are_small_when_forced(small_chunks, on_disk):
    imgs = on_disk()
    assert imgs.frames.nchunks == -(-SHAPE[0] // small_chunks)
    assert max(stop - start for start, stop in imgs.frames.chunk_bounds()) == small_chunks


@pytest.mark.parametrize("stat", ["mean", "std", "var"])
def test_moments_from_disk_match_numpy(small_chunks, on_disk, stack, stat):
    result = getattr(on_disk(), stat)().toarray()
    expected = getattr(stack.astype(np.float64), stat)(axis=0)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("stat", ["sum", "min", "max"])
def test_exact_statistics_from_disk(small_chunks, on_disk, stack, stat):
    result = getattr(on_disk(), stat)().toarray()
    expected = getattr(stack, stat)(axis=0)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


def test_localcorr_from_disk_matches_reference(small_chunks, on_disk, stack):
    result = on_disk().localcorr(neighborhood=2)
    np.testing.assert_allclose(result, _reference_localcorr(stack, 2), rtol=0, atol=1e-9)


def test_filter_from_disk_matches_scipy(small_chunks, on_disk, stack):
    result = on_disk().gaussian_filter(1.5).toarray()
    expected = np.stack([ndi.gaussian_filter(f, 1.5, mode="reflect") for f in stack])
    np.testing.assert_array_equal(result, expected)


def test_streamed_estimate_ends_at_numpy_value(small_chunks, on_disk, stack):
    steps = list(on_disk().stream_statistic("std"))
    assert [done for done, _, _ in steps] == [min(SHAPE[0], 3 * (k + 1)) for k in range(len(steps))]
    np.testing.assert_allclose(steps[-1][2], stack.astype(np.float64).std(axis=0), rtol=1e-12)


def test_write_and_read_back_through_chunks(small_chunks, on_disk, stack, tmp_path):
    on_disk().totif(str(tmp_path / "out-tif"))
    on_disk().tobinary(str(tmp_path / "out-bin"))
    np.testing.assert_array_equal(images.fromtif(str(tmp_path / "out-tif")).toarray(), stack)
    np.testing.assert_array_equal(images.frombinary(str(tmp_path / "out-bin")).toarray(), stack)
    assert len(os.listdir(tmp_path / "out-tif")) == SHAPE[0]


class _RecordingSource(ArraySource):
    """ArraySource remembering every ``read(start, stop)`` range."""

    def __init__(self, array, calls):
        super().__init__(array)
        self.calls = calls

    def read(self, start, stop):
        self.calls.append((int(start), int(stop)))
        return super().read(start, stop)


@pytest.mark.parametrize("action", ["mean", "std", "localcorr"])
def test_actions_read_each_frame_once_in_bounded_chunks(small_chunks, stack, action):
    calls = []
    frames = local.LocalFrames.from_source(_RecordingSource(stack, calls))
    from napari_thunder.data.images import Images

    imgs = Images(frames)
    result = imgs.localcorr(2) if action == "localcorr" else getattr(imgs, action)().toarray()
    assert result.shape == SHAPE[1:]
    assert max(stop - start for start, stop in calls) <= small_chunks
    covered = sorted(calls)
    assert covered[0][0] == 0 and covered[-1][1] == SHAPE[0]
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))  # each frame once


def test_chunk_target_follows_available_memory(monkeypatch):
    psutil = pytest.importorskip("psutil")

    class Memory:
        def __init__(self, available):
            self.available = available

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Memory(64 * 2**30))
    large = local.chunk_bytes_target()
    monkeypatch.setattr(psutil, "virtual_memory", lambda: Memory(512 * 2**20))
    small = local.chunk_bytes_target()
    assert local.MIN_CHUNK_BYTES <= small < large <= local.MAX_CHUNK_BYTES


def test_frames_per_chunk_bounds(monkeypatch):
    monkeypatch.setattr(local, "chunk_bytes_target", lambda: 10 * 2**20)
    # bounded by memory: 1 MiB frames, 10 per chunk at most
    assert local.frames_per_chunk(2**20, 10_000) == 10
    # a frame larger than the target still makes a chunk of one frame
    assert local.frames_per_chunk(50 * 2**20, 100) == 1
    # few frames: split so that every worker has work
    assert local.frames_per_chunk(1024, 8) == -(-8 // (2 * local.worker_count()))


def test_compressed_multipage_pages_read_by_cached_ifd_offsets(tmp_path, stack):
    from napari_thunder.io.tif import TifSource

    path = _write_tif(str(tmp_path / "stack.tif"), stack, compression="lzw")
    source = TifSource([path], nplanes=1)
    assert source.contiguous == [None]
    assert len(source.ifd_offsets[0]) == SHAPE[0]  # every page's IFD known up front
    for start, stop in [(30, 37), (0, 3), (17, 18)]:
        np.testing.assert_array_equal(source.read(start, stop), stack[start:stop])
