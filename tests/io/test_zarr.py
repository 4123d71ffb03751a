"""Zarr / OME-Zarr: fromzarr and Images.tozarr against ome-zarr-py, zarr-python and numpy."""

import os
import warnings

import numpy as np
import pytest

from napari_thunder import images
from napari_thunder.io.writing import OutputExistsError

zarr = pytest.importorskip("zarr")
pytest.importorskip("ome_zarr")


def _stack(shape, dtype=np.uint16, seed=0):
    rng = np.random.RandomState(seed)
    if np.dtype(dtype).kind == "f":
        return rng.rand(*shape).astype(dtype)
    return rng.randint(0, 4000, shape).astype(dtype)


def _write_with_ome_zarr_py(path, data, axes, version, scale, units):
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    fmt, zarr_format = (FormatV04(), 2) if version == "0.4" else (FormatV05(), 3)
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_image(data, group, scale_factors=(2, 4), axes=axes, fmt=fmt, scale=scale,
                    axes_units=units)
    return group


def _box_mean_reference(frames, factor):
    """Mean of factor x factor boxes over the last two axes, by explicit loops
    (an independent reference for even shapes)."""
    n_y, n_x = frames.shape[-2] // factor, frames.shape[-1] // factor
    out = np.empty(frames.shape[:-2] + (n_y, n_x))
    for i in range(n_y):
        for j in range(n_x):
            box = frames[..., i * factor:(i + 1) * factor, j * factor:(j + 1) * factor]
            out[..., i, j] = box.mean(axis=(-2, -1))
    return out


# ---------------------------------------------------------------------------
# stores written by ome-zarr-py, read by us
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_reads_ome_zarr_py_store_all_levels(tmp_path, engine, version):
    data = _stack((6, 2, 5, 32, 40), np.float32)
    path = tmp_path / "theirs.zarr"
    group = _write_with_ome_zarr_py(path, data, "tczyx", version,
                                    {"t": 2.0, "z": 0.5, "y": 0.3, "x": 0.3},
                                    {"t": "second", "z": "micrometer", "y": "micrometer",
                                     "x": "micrometer"})
    imgs = images.fromzarr(path, engine=engine)
    assert imgs.shape == data.shape
    np.testing.assert_array_equal(imgs.frames.collect(), data)
    meta = imgs.metadata
    assert meta.names == ("t", "c", "z", "y", "x")
    assert meta.scale == pytest.approx((2.0, 1.0, 0.5, 0.3, 0.3))
    assert meta.units == ("second", None, "micrometer", "micrometer", "micrometer")
    lowest = images.fromzarr(path, level=-1, engine=engine)
    np.testing.assert_array_equal(lowest.frames.collect(), group["s2"][:])
    assert lowest.metadata.scale == pytest.approx((2.0, 1.0, 0.5, 1.2, 1.2))
    assert images.fromzarr(path, level=1).shape == group["s1"].shape


def test_reads_ome_zarr_py_zyx_as_one_volume(tmp_path):
    data = _stack((5, 24, 20))
    path = tmp_path / "vol.zarr"
    _write_with_ome_zarr_py(path, data, "zyx", "0.5", None, None)
    imgs = images.fromzarr(path)
    assert imgs.shape == (1, 5, 24, 20)
    assert imgs.metadata.names == ("t", "z", "y", "x")
    np.testing.assert_array_equal(imgs.frames.collect()[0], data)


# ---------------------------------------------------------------------------
# our stores, read by ome-zarr-py and by zarr-python directly
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_our_store_read_by_ome_zarr_py_and_zarr(tmp_path, engine, version):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    data = _stack((7, 3, 20, 24), np.float64, seed=3)
    imgs = images.fromarray(data, engine=engine).with_metadata(
        names=("t", "c", "y", "x"), scale=(0.5, 1.0, 0.25, 0.25),
        units=("second", None, "um", "um"), channel_names=("a", "b", "c"))
    path = tmp_path / "ours.zarr"
    imgs.tozarr(path, levels=3, version=version)

    node = next(iter(Reader(parse_url(str(path)))()))
    assert len(node.data) == 3
    np.testing.assert_array_equal(np.asarray(node.data[0]), data)
    np.testing.assert_allclose(np.asarray(node.data[1]), _box_mean_reference(data, 2), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(node.data[2]), _box_mean_reference(data, 4), rtol=1e-12)
    axes = node.metadata["axes"]
    assert [a["name"] for a in axes] == ["t", "c", "y", "x"]
    assert [a.get("unit") for a in axes] == ["second", None, "micrometer", "micrometer"]
    transforms = node.metadata["coordinateTransformations"]
    assert transforms[0][0]["scale"] == [0.5, 1.0, 0.25, 0.25]
    assert transforms[2][0]["scale"] == [0.5, 1.0, 1.0, 1.0]
    assert transforms[2][1]["translation"] == [0.0, 0.0, 0.375, 0.375]

    group = zarr.open_group(str(path), mode="r")
    assert group.metadata.zarr_format == (2 if version == "0.4" else 3)
    np.testing.assert_array_equal(group["0"][:], data)
    assert group["2"].shape == (7, 3, 5, 6)
    back = images.fromzarr(path)
    assert back.metadata.channel_names == ("a", "b", "c")
    assert back.metadata.units == ("second", None, "micrometer", "micrometer")


def test_pyramid_odd_sizes_and_integers(tmp_path):
    data = _stack((4, 9, 7), np.uint8)
    path = tmp_path / "odd.zarr"
    images.fromarray(data).tozarr(path, levels=2)
    level1 = zarr.open_group(str(path), mode="r")["1"][:]
    # reference: the last row/column repeated to complete the boxes, then box means, rounded
    padded = np.concatenate([data, data[:, -1:]], axis=1)
    padded = np.concatenate([padded, padded[:, :, -1:]], axis=2).astype(np.float64)
    expected = np.rint(_box_mean_reference(padded, 2)).astype(np.uint8)
    assert level1.shape == (4, 5, 4)
    np.testing.assert_array_equal(level1, expected)
    nearest = tmp_path / "nearest.zarr"
    images.fromarray(data).tozarr(nearest, levels=2, method="nearest")
    np.testing.assert_array_equal(zarr.open_group(str(nearest), mode="r")["1"][:], data[:, ::2, ::2])


# ---------------------------------------------------------------------------
# round trips and chunking
# ---------------------------------------------------------------------------
def test_tif_to_zarr_to_images_exact_with_metadata(tmp_path, engine):
    import tifffile

    data = _stack((5, 3, 16, 18), np.uint16, seed=5)
    tifdir = tmp_path / "tifs"
    tifdir.mkdir()
    for i, volume in enumerate(data):
        tifffile.imwrite(tifdir / f"image-{i:05d}.tif", volume, photometric="minisblack")
    imgs = images.fromtif(tifdir, engine=engine).with_metadata(
        scale=(1.5, 2.0, 0.4, 0.4), translate=(0.0, 1.0, -3.0, 2.5),
        units=("second", "micrometer", "micrometer", "micrometer"))
    path = tmp_path / "stack.zarr"
    imgs.tozarr(path)
    back = images.fromzarr(path, engine=engine)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.frames.collect(), data)
    assert back.metadata == imgs.metadata


def test_imagej_tzcyx_hyperstack_stored_in_ngff_order(tmp_path, engine):
    """An ImageJ (t, z, c, y, x) movie is written as NGFF's (t, c, z, y, x):
    the values moved with their axis names, scales, units and channel names,
    and ome-zarr-py's reader sees the same array."""
    import tifffile
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    data = _stack((3, 4, 2, 10, 12), np.uint16, seed=8)
    tif = str(tmp_path / "hyper.tif")
    tifffile.imwrite(tif, data, imagej=True, resolution=(1 / 0.4, 1 / 0.4),
                     metadata={"axes": "TZCYX", "spacing": 2.5, "unit": "um", "finterval": 0.5,
                               "Labels": ["gcamp", "tdtomato"]})
    imgs = images.fromtif(tif, engine=engine)
    assert imgs.metadata.names == ("t", "z", "c", "y", "x")
    path = tmp_path / "hyper.zarr"
    imgs.tozarr(path, levels=2)
    back = images.fromzarr(path, engine=engine)
    expected = np.swapaxes(data, 1, 2)
    np.testing.assert_array_equal(back.frames.collect(), expected)
    meta = back.metadata
    assert meta.names == ("t", "c", "z", "y", "x")
    np.testing.assert_allclose(meta.scale, (0.5, 1.0, 2.5, 0.4, 0.4))
    assert meta.units == ("second", None, "micrometer", "micrometer", "micrometer")
    assert meta.channel_names == imgs.metadata.channel_names
    node = next(iter(Reader(parse_url(str(path)))()))
    np.testing.assert_array_equal(np.asarray(node.data[0]), expected)
    assert [a["name"] for a in node.metadata["axes"]] == ["t", "c", "z", "y", "x"]


@pytest.mark.parametrize("chunk_frames", [1, 4, 5])
def test_chunks_shared_between_blocks_written_exactly(tmp_path, engine, chunk_frames):
    data = _stack((23, 12, 10), np.int32, seed=7)
    imgs = images.fromarray(data, npartitions=3, engine=engine).subtract(1)
    path = tmp_path / "shared.zarr"
    imgs.tozarr(path, chunks=chunk_frames, levels=2)
    group = zarr.open_group(str(path), mode="r")
    assert group["0"].chunks == (chunk_frames, 12, 10)
    np.testing.assert_array_equal(group["0"][:], data - 1)
    np.testing.assert_array_equal(group["1"][:], np.rint(_box_mean_reference(data - 1.0, 2)))


@pytest.mark.spark
def test_reading_is_chunk_aligned(tmp_path, spark_context):
    data = _stack((22, 8, 8))
    path = tmp_path / "aligned.zarr"
    images.fromarray(data).tozarr(path, chunks=(4, 8, 8))
    local = images.fromzarr(path)
    starts = [a for a, _ in local.frames.chunk_bounds()]
    assert all(s % 4 == 0 for s in starts)
    spark = images.fromzarr(path, npartitions=3, engine=spark_context)
    assert all(b % 4 == 0 for b in spark.frames._bounds[:-1])
    np.testing.assert_array_equal(spark.frames.collect(), data)
    np.testing.assert_array_equal(local.frames.collect(), data)


@pytest.mark.distributed
@pytest.mark.parametrize("npartitions", [None, 3, 22])
def test_reading_is_chunk_aligned_on_the_cluster(tmp_path, distributed_client, npartitions):
    """The workers each read whole storage chunks (never a chunk read by two
    tasks), whatever the partitions asked for."""
    data = _stack((22, 8, 8))
    path = tmp_path / "aligned.zarr"
    images.fromarray(data).tozarr(path, chunks=(4, 8, 8))
    imgs = images.fromzarr(path, npartitions=npartitions, engine=distributed_client)
    bounds = imgs.frames.chunk_bounds()
    assert bounds[0][0] == 0 and bounds[-1][1] == 22
    assert all(a % 4 == 0 for a, _ in bounds) and all(b % 4 == 0 for _, b in bounds[:-1])
    if npartitions == 3:
        assert len(bounds) == 3
    np.testing.assert_array_equal(imgs.frames.collect(), data)
    np.testing.assert_allclose(imgs.mean().toarray(), data.mean(axis=0), rtol=1e-12)


def test_lazy_until_an_action(tmp_path):
    data = _stack((6, 8, 8))
    path = tmp_path / "lazy.zarr"
    images.fromarray(data).tozarr(path, chunks=1)
    imgs = images.fromzarr(path)
    os.remove(path / "0" / "c" / "3" / "0" / "0")  # a missing chunk reads as fill value 0
    np.testing.assert_array_equal(imgs.frames.collect()[3], 0)
    np.testing.assert_array_equal(imgs.frames.collect()[2], data[2])


# ---------------------------------------------------------------------------
# plain Zarr arrays
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_reads_plain_zarr_arrays(tmp_path, zarr_format):
    data = _stack((9, 10, 11), np.float32)
    path = tmp_path / "plain.zarr"
    arr = zarr.create_array(str(path), shape=data.shape, chunks=(2, 5, 11), dtype=data.dtype,
                            zarr_format=zarr_format)
    arr[:] = data
    imgs = images.fromzarr(path)
    np.testing.assert_array_equal(imgs.frames.collect(), data)
    assert imgs.frames.source.chunk_frames == 2
    one = tmp_path / "one.zarr"
    zarr.create_array(str(one), data=data[0], zarr_format=zarr_format)
    single = images.fromzarr(one)
    assert single.shape == (1, 10, 11)
    np.testing.assert_array_equal(single.first(), data[0])


def test_group_component_and_dimension_names(tmp_path):
    data = _stack((3, 4, 5, 6))
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("a", data=data, dimension_names=["t", "z", "y", "x"])
    group.create_array("b", data=data[0])
    with pytest.raises(ValueError, match="component"):
        images.fromzarr(tmp_path / "g.zarr")
    imgs = images.fromzarr(tmp_path / "g.zarr", component="a")
    assert imgs.metadata.names == ("t", "z", "y", "x")
    np.testing.assert_array_equal(imgs.frames.collect(), data)


def test_plain_array_round_trip_keeps_rgb_metadata(tmp_path, engine):
    data = _stack((4, 6, 7, 3), np.uint8)
    imgs = images.fromarray(data, engine=engine).with_metadata(
        names=("t", "y", "x", "c"), rgb=True, scale=(1.0, 0.2, 0.2, 1.0))
    with pytest.raises(ValueError, match="ome=False"):
        imgs.tozarr(tmp_path / "rgb.zarr")
    assert not (tmp_path / "rgb.zarr").exists()
    imgs.tozarr(tmp_path / "rgb.zarr", ome=False)
    assert zarr.open_array(str(tmp_path / "rgb.zarr"), mode="r").metadata.dimension_names == \
        ("t", "y", "x", "c")
    back = images.fromzarr(tmp_path / "rgb.zarr", engine=engine)
    np.testing.assert_array_equal(back.frames.collect(), data)
    assert back.metadata == imgs.metadata


# ---------------------------------------------------------------------------
# atomic writes and overwrite
# ---------------------------------------------------------------------------
def test_refuses_existing_store_unless_overwrite(tmp_path):
    path = tmp_path / "out.zarr"
    first = _stack((3, 8, 8), seed=1)
    second = _stack((5, 8, 8), seed=2)
    images.fromarray(first).tozarr(path)
    with pytest.raises(OutputExistsError, match="overwrite"):
        images.fromarray(second).tozarr(path)
    with pytest.raises(FileExistsError):
        images.fromarray(second).tozarr(path, ome=False)
    np.testing.assert_array_equal(images.fromzarr(path).frames.collect(), first)
    images.fromarray(second).tozarr(path, overwrite=True)
    np.testing.assert_array_equal(images.fromzarr(path).frames.collect(), second)
    assert sorted(os.listdir(tmp_path)) == ["out.zarr"]  # no temporary left


def test_failed_write_leaves_nothing(tmp_path):
    def boom(image):
        raise RuntimeError("worker failed")

    imgs = images.fromarray(_stack((4, 8, 8))).map(boom, dims=(8, 8), dtype=np.uint16)
    with pytest.raises(RuntimeError, match="worker failed"):
        imgs.tozarr(tmp_path / "x.zarr")
    assert os.listdir(tmp_path) == []


def test_sigkill_mid_write_leaves_no_store(tmp_path):
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    target = tmp_path / "killed.zarr"
    script = textwrap.dedent(f"""
        import time
        import numpy as np
        from napari_thunder import images

        def slow(image):
            time.sleep(0.05)
            return image

        imgs = images.fromarray(np.ones((400, 32, 32), np.uint16)).map(slow, dims=(32, 32),
                                                                         dtype=np.uint16)
        imgs.tozarr({str(target)!r}, chunks=1)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(os.path.dirname(__file__), "..", "..", "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.time() + 60
        temp = None
        while time.time() < deadline and temp is None:  # wait until chunks are being written
            for entry in os.listdir(tmp_path):
                chunks = tmp_path / entry / "0" / "c"
                if entry.startswith(".killed.zarr.writing-") and chunks.is_dir() \
                        and len(os.listdir(chunks)) >= 5:
                    temp = tmp_path / entry
            time.sleep(0.05)
        assert temp is not None, "the writer never started writing chunks"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()
    with pytest.raises(FileNotFoundError):
        images.fromzarr(target)
    # the hidden leftover is not an image: its OME metadata are written last
    with pytest.raises(ValueError, match="unfinished"):
        images.fromzarr(temp)
    with pytest.raises(ValueError, match="unfinished"):
        images.fromzarr(temp, component="0")


@pytest.mark.distributed
def test_sigkill_of_the_client_mid_write_on_the_cluster_leaves_no_store(tmp_path, distributed_client):
    """A client writing through the cluster is SIGKILLed: the workers finish
    (or drop) the chunks in flight, but nothing ever appears at the target and
    the hidden folder never loads; the cluster keeps working."""
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    target = tmp_path / "killed.zarr"
    address = distributed_client.scheduler.address
    script = textwrap.dedent(f"""
        import time
        import numpy as np
        from napari_thunder import images

        def slow(image):
            time.sleep(0.05)
            return image

        if __name__ == "__main__":
            imgs = images.fromarray(np.ones((300, 32, 32), np.uint16), engine={address!r},
                                    npartitions=60).map(slow, dims=(32, 32), dtype=np.uint16)
            imgs.tozarr({str(target)!r}, chunks=1)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(os.path.dirname(__file__), "..", "..", "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.time() + 90
        temp = None
        while time.time() < deadline and temp is None:  # wait until the workers write chunks
            for entry in os.listdir(tmp_path):
                chunks = tmp_path / entry / "0" / "c"
                if entry.startswith(".killed.zarr.writing-") and chunks.is_dir() \
                        and len(os.listdir(chunks)) >= 10:
                    temp = tmp_path / entry
            time.sleep(0.05)
        assert temp is not None, "the workers never started writing chunks"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # the scheduler drops the dead client's tasks; those running finish their chunks
    written, stable_since = -1, time.time()
    while time.time() - stable_since < 1.5 and time.time() < deadline + 30:
        now = len(os.listdir(temp / "0" / "c"))
        if now != written:
            written, stable_since = now, time.time()
        time.sleep(0.1)
    assert 10 <= written < 150        # the dead client's pending chunks were dropped, not run
    assert not target.exists()
    with pytest.raises(FileNotFoundError):
        images.fromzarr(target)
    with pytest.raises(ValueError, match="unfinished"):
        images.fromzarr(temp)
    data = _stack((6, 8, 8))
    np.testing.assert_array_equal(images.fromarray(data, engine=distributed_client).toarray(), data)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_argument_errors(tmp_path):
    imgs = images.fromarray(_stack((3, 8, 8)))
    with pytest.raises(FileNotFoundError, match="nothere"):
        images.fromzarr(tmp_path / "nothere.zarr")
    imgs.tozarr(tmp_path / "a.zarr", levels=2)
    with pytest.raises(ValueError, match="level"):
        images.fromzarr(tmp_path / "a.zarr", level=2)
    with pytest.raises(TypeError, match="level"):
        images.fromzarr(tmp_path / "a.zarr", level=True)
    with pytest.raises(ValueError, match="level"):
        images.fromzarr(tmp_path / "a.zarr", level=0.5)
    with pytest.raises(ValueError, match="ome=True"):
        imgs.tozarr(tmp_path / "b.zarr", levels=2, ome=False)
    with pytest.raises(ValueError, match="method"):
        imgs.tozarr(tmp_path / "b.zarr", levels=2, method="cubic")
    with pytest.raises(ValueError, match="version"):
        imgs.tozarr(tmp_path / "b.zarr", version="0.3")
    with pytest.raises(ValueError, match="chunks"):
        imgs.tozarr(tmp_path / "b.zarr", chunks=(1, 8))
    with pytest.raises(TypeError, match="overwrite"):
        imgs.tozarr(tmp_path / "b.zarr", overwrite="yes")
    with pytest.raises(ValueError, match="local folder"):
        imgs.tozarr("s3://bucket/b.zarr")
    assert sorted(os.listdir(tmp_path)) == ["a.zarr"]
