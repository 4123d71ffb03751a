"""Images as layer data without napari: lazy data, explicit cheap contrast limits."""

import threading

import dask.array as da
import numpy as np
import pytest

from napari_thunder import images
from napari_thunder.data import layers as convert


class CountingFrame:
    """Picklable frame function that counts the frames it is asked for."""

    def __init__(self, ref):
        self.ref = ref
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, i):
        with self.lock:
            self.calls.append(i)
        return self.ref[i]


def test_layer_data_is_lazy_and_limits_sample_few_frames():
    from napari_thunder.data.images import Images
    from napari_thunder.engines import resolve_engine
    from napari_thunder.io.source import CallableSource

    ref = np.random.default_rng(0).normal(size=(40, 16, 16))
    frame = CountingFrame(ref)
    source = CallableSource(40, frame, (16, 16), ref.dtype)
    imgs = Images(resolve_engine(None).frames_from_source(source, None))
    data, kwargs, kind = convert.images_to_layer_data(imgs, name="x")
    assert kind == "image" and kwargs["name"] == "x"
    assert isinstance(data, da.Array) and data.shape == (40, 16, 16)
    # no scan: only the chunks holding the sampled frames 0, 20, 39 are read
    bounds = imgs.frames.chunk_bounds()
    sampled_chunks = {b for b in bounds if any(b[0] <= i < b[1] for i in (0, 20, 39))}
    assert len(sampled_chunks) < len(bounds)
    allowed = {i for lo, hi in sampled_chunks for i in range(lo, hi)}
    assert {0, 20, 39} <= set(frame.calls) <= allowed
    sample = ref[[0, 20, 39]]
    assert kwargs["contrast_limits"] == (sample.min(), sample.max())
    info = dict(kwargs["metadata"]["thunder"])
    assert info.pop("axes")["axes"][0]["name"] == "t"
    assert info == {"shape": (40, 16, 16), "dtype": "float64", "mode": "local"}
    assert kwargs["scale"] == (1.0, 1.0, 1.0) and kwargs["axis_labels"] == ("t", "y", "x")
    assert kwargs["rgb"] is False
    frame.calls.clear()
    np.testing.assert_array_equal(np.asarray(data[7]), ref[7])   # what napari does for one slice
    lo, hi = next(b for b in bounds if b[0] <= 7 < b[1])
    assert 7 in frame.calls and set(frame.calls) <= set(range(lo, hi))  # one chunk at most


def test_contrast_limits_rules():
    assert convert.contrast_limits_for(np.zeros((3, 4, 4), np.uint8)) == (0.0, 255.0)
    assert convert.contrast_limits_for(np.zeros((3, 4, 4), bool)) == (0.0, 1.0)
    assert convert.contrast_limits_for(np.full((3, 4, 4), 7, np.int16)) == (7.0, 8.0)  # widened
    nan = np.array([[np.nan, 1.0], [2.0, np.inf]])
    assert convert.contrast_limits_for(nan) == (1.0, 2.0)


def test_to_layer_without_viewer_gives_layer_data_tuple():
    imgs = images.fromarray(np.zeros((2, 3, 3), np.uint8))
    data, kwargs, kind = imgs.to_layer(name="t")
    assert kind == "image" and kwargs["contrast_limits"] == (0.0, 255.0)
    assert data.shape == (2, 3, 3)


def test_rgb_png_images_are_rgb_layers():
    rgb = np.random.default_rng(2).integers(0, 256, size=(2, 5, 6, 3)).astype(np.uint8)
    _, kwargs, _ = convert.images_to_layer_data(images.fromarray(rgb))
    assert kwargs["rgb"] is True


@pytest.mark.spark
def test_spark_images_are_collected(spark_context):
    ref = np.arange(24, dtype=np.float64).reshape(4, 2, 3)
    imgs = images.fromarray(ref, engine=spark_context, npartitions=2)
    data, kwargs, _ = convert.images_to_layer_data(imgs)
    assert isinstance(data, np.ndarray)
    np.testing.assert_array_equal(data, ref)
    assert kwargs["metadata"]["thunder"]["mode"] == "spark"


def test_display_array_reads_only_the_frame_shown():
    from napari_thunder.data.images import Images
    from napari_thunder.engines import resolve_engine
    from napari_thunder.io.source import CallableSource

    ref = np.random.default_rng(3).normal(size=(30, 8, 9))
    frame = CountingFrame(ref)
    source = CallableSource(30, frame, (8, 9), ref.dtype)
    frames = resolve_engine(None).frames_from_source(source, None)
    frames.source = source  # what the local engine keeps for file sources
    data, kwargs, _ = convert.images_to_layer_data(Images(frames))
    assert sorted(set(frame.calls)) == [0, 15, 29]        # contrast sample: 3 frames
    frame.calls.clear()
    np.testing.assert_array_equal(np.asarray(data[7]), ref[7])
    assert frame.calls == [7]
    np.testing.assert_array_equal(np.asarray(data[3:6, 2, ::2]), ref[3:6, 2, ::2])
    np.testing.assert_array_equal(np.asarray(data), ref)
