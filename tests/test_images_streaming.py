"""Streaming: chunk-wise results in order, running estimates, cancel by close."""

import threading
import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_thunder import images
from napari_thunder.engines import local


@pytest.fixture
def small_chunks(monkeypatch):
    """Force many small chunks so streaming has several steps."""
    monkeypatch.setattr(local, "chunk_bytes_target", lambda: 4096)


def test_iter_chunks_cover_everything_in_order(small_chunks, engine):
    stack = np.random.default_rng(0).random((40, 8, 8))
    imgs = images.fromarray(stack, engine=engine).gaussian_filter(1)
    chunks = list(imgs.iter_chunks())
    assert len(chunks) > 1
    assert chunks[0][0] == 0 and chunks[-1][1] == 40
    for (_a0, b0, _), (a1, _, _) in zip(chunks, chunks[1:]):
        assert b0 == a1
    got = np.concatenate([block for _, _, block in chunks])
    np.testing.assert_array_equal(got, np.stack([ndi.gaussian_filter(f, 1) for f in stack]))


def test_stream_statistic_refines_to_exact(small_chunks, engine):
    stack = np.random.default_rng(1).random((40, 5, 5))
    steps = list(images.fromarray(stack, engine=engine).stream_statistic("mean"))
    assert len(steps) > 1
    done, total, first = steps[0]
    assert 0 < done < total == 40
    np.testing.assert_allclose(first, stack[:done].mean(axis=0))
    assert steps[-1][0] == 40
    np.testing.assert_allclose(steps[-1][2], stack.mean(axis=0))
    with pytest.raises(ValueError, match="name"):
        next(images.fromarray(stack).stream_statistic("median"))


def test_stream_localcorr_final_equals_localcorr(small_chunks):
    stack = np.random.default_rng(2).random((30, 6, 6))
    imgs = images.fromarray(stack)
    steps = list(imgs.stream_localcorr(1))
    assert len(steps) > 1
    np.testing.assert_allclose(steps[-1][2], imgs.localcorr(1))


def test_closing_the_stream_stops_the_work(small_chunks):
    calls = []
    lock = threading.Lock()

    def slow(frame):
        with lock:
            calls.append(1)
        time.sleep(0.01)
        return frame

    stack = np.zeros((200, 16, 16))
    imgs = images.fromarray(stack).map(slow, dims=(16, 16), dtype=np.float64)
    gen = imgs.iter_chunks()
    next(gen)
    gen.close()
    time.sleep(0.3)
    assert len(calls) < 200  # the remaining chunks never ran
