"""The command line with Zarr input and ``--to zarr`` output."""

import os

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")


def test_run_to_zarr_then_zarr_input(tmp_path, run_cli):
    from napari_thunder import images

    out = tmp_path / "smooth.zarr"
    code, stdout, _ = run_cli("run", "example:mouse", "-p", "gaussian_filter:sigma=1", "-o", out,
                              "--to", "zarr", "--no-progress")
    assert code == 0, stdout
    assert "(zarr, one store)" in stdout
    expected = images.fromexample("mouse").gaussian_filter(1).frames.collect()  # checked vs scipy in test_run
    group = zarr.open_group(str(out), mode="r")
    assert group.attrs["ome"]["multiscales"][0]["axes"][0]["name"] == "t"
    np.testing.assert_array_equal(group["0"][:], expected)

    mean_out = tmp_path / "mean.zarr"
    code, stdout, _ = run_cli("run", out, "-p", "mean", "-o", mean_out, "--to", "zarr", "--no-progress")
    assert code == 0, stdout
    assert "fromzarr(level=0)" in stdout
    np.testing.assert_allclose(zarr.open_group(str(mean_out), mode="r")["0"][:][0],
                               group["0"][:].mean(axis=0))


def test_zarr_level_input_and_info(tmp_path, run_cli):
    from napari_thunder import images

    data = np.arange(2 * 16 * 16, dtype=np.float32).reshape(2, 16, 16)
    images.fromarray(data).tozarr(tmp_path / "p.zarr", levels=2)
    code, stdout, _ = run_cli("info", tmp_path / "p.zarr", "--level", "1")
    assert code == 0
    assert "(2, 8, 8)" in stdout and "fromzarr(level=1)" in stdout
    out = tmp_path / "level1"
    code, _, _ = run_cli("run", tmp_path / "p.zarr", "--level", "1", "-o", out, "--to", "binary",
                         "--no-progress")
    assert code == 0
    low = zarr.open_group(str(tmp_path / "p.zarr"), mode="r")["1"][:]
    back = np.stack([np.fromfile(out / f"image-{i:05d}.bin", np.float32).reshape(8, 8) for i in range(2)])
    np.testing.assert_array_equal(back, low)


def test_run_writes_a_pyramid_with_levels(tmp_path, run_cli, assert_bad_input):
    from napari_thunder import images

    out = tmp_path / "pyr.zarr"
    code, stdout, _ = run_cli("run", "example:mouse", "-o", out, "--levels", "3")
    assert code == 0, stdout
    assert "(zarr, one store, 3 levels)" in stdout
    full = images.fromexample("mouse").frames.collect().astype(np.float64)
    group = zarr.open_group(str(out), mode="r")
    assert [d["path"] for d in group.attrs["ome"]["multiscales"][0]["datasets"]] == ["0", "1", "2"]
    np.testing.assert_array_equal(group["0"][:], full.astype(np.int16))
    # level 2: means of 4x4 boxes of y and x (the level shapes and the rounding as the writer states)
    assert group["2"].shape == (20, 16, 16)
    box = full.reshape(20, 16, 4, 16, 4).mean(axis=(2, 4))
    np.testing.assert_allclose(group["2"][:], box, atol=1)
    code, _, err = run_cli("run", "example:mouse", "-o", tmp_path / "t", "--levels", "2")
    assert_bad_input(code, err, "--levels", "Zarr")
    code, _, err = run_cli("run", "example:mouse", "-o", tmp_path / "z.zarr", "--levels", "0")
    assert_bad_input(code, err, "--levels", "at least 1")


def test_zarr_errors(tmp_path, run_cli, assert_bad_input):
    from napari_thunder import images

    images.fromarray(np.zeros((2, 4, 4), np.uint8)).tozarr(tmp_path / "a.zarr")
    code, _, err = run_cli("run", "example:mouse", "-o", tmp_path / "a.zarr", "--to", "zarr")
    assert_bad_input(code, err, "already exists", "--overwrite")
    code, _, err = run_cli("info", tmp_path / "a.zarr", "--nplanes", "2")
    assert_bad_input(code, err, "--nplanes")
    code, _, err = run_cli("info", "example:mouse", "--level", "1")
    assert_bad_input(code, err, "--level")
    code, _, err = run_cli("info", tmp_path / "a.zarr", "--level", "3")
    assert_bad_input(code, err, "level")


def test_engine_help_names_the_dask_scheduler_addresses(run_cli):
    code, stdout, _ = run_cli("run", "--help")
    assert code == 0
    text = " ".join(stdout.split())
    for value in ("tcp://host:8786", "dask://host:8786", "tls://host:8786", "distributed",
                  "spark:MASTER"):
        assert value in text


@pytest.mark.distributed
def test_tif_folder_to_zarr_on_the_cluster(tmp_path, run_cli, distributed_client):
    """The flow of docs/engines.md for a recording larger than memory: a TIF
    folder converted to OME-Zarr by the cluster's workers (through its
    scheduler address), then a statistic of the store, equal to tifffile/numpy."""
    import tifffile

    from napari_thunder import images

    data = np.random.default_rng(3).integers(0, 4000, (12, 20, 18)).astype(np.uint16)
    folder = tmp_path / "tifs"
    folder.mkdir()
    for i, frame in enumerate(data):
        tifffile.imwrite(folder / f"f{i:03d}.tif", frame)
    address = distributed_client.scheduler.address
    out = tmp_path / "rec.zarr"
    code, stdout, _ = run_cli("run", folder, "-o", out, "--to", "zarr", "--engine", address,
                              "--no-progress")
    assert code == 0, stdout
    assert address in stdout
    back = images.fromzarr(out)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.toarray(), data)
    std_out = tmp_path / "std.zarr"
    code, stdout, _ = run_cli("run", out, "-p", "std", "-o", std_out, "--to", "zarr",
                              "--engine", address.replace("tcp://", "dask://"), "--no-progress")
    assert code == 0, stdout
    np.testing.assert_allclose(zarr.open_group(str(std_out), mode="r")["0"][:][0],
                               data.astype(np.float64).std(axis=0), rtol=1e-10)


def test_images_without_to_follow_the_output_extension(tmp_path, run_cli, mouse, assert_bad_input):
    """``-o mean.zarr`` without ``--to`` writes a Zarr store, not a TIF folder named .zarr;
    ``-o mean.npy`` (a traces-only format) for images is refused before any work."""
    out = tmp_path / "mean.zarr"
    code, stdout, err = run_cli("run", "example:mouse", "-p", "mean", "-o", out, "--no-progress")
    assert code == 0, err
    assert "(zarr, one store)" in stdout
    np.testing.assert_allclose(zarr.open_group(str(out), mode="r")["0"][:][0], mouse.mean(axis=0))
    code, _, err = run_cli("run", "example:mouse", "-p", "mean", "-o", tmp_path / "mean.npy", "--no-progress")
    assert_bad_input(code, err, "npy")
    assert not os.path.exists(tmp_path / "mean.npy")
