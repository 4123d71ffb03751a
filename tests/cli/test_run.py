"""``napari-thunder run`` and ``info``: results equal the API and numpy/scipy
references computed directly; progress bars on stderr."""

import json
import os

import numpy as np
import pytest
from scipy import ndimage

from napari_thunder import cli, sample_data


def test_run_gaussian_then_mean_matches_api_and_scipy(tmp_path, run_cli, mouse, read_tif_dir):
    from napari_thunder import images

    out = tmp_path / "out"
    code, stdout, err = run_cli("run", "example:mouse", "-p", "gaussian_filter:sigma=2", "-p", "mean",
                                "-o", out)
    assert code == 0, err
    written = read_tif_dir(out)
    assert written.shape == (1, 64, 64) and written.dtype == np.float64
    # independent reference: scipy per frame (int16 kept, as Thunder), then numpy mean
    reference = np.array([ndimage.gaussian_filter(f, 2) for f in mouse]).mean(axis=0)
    np.testing.assert_allclose(written[0], reference, rtol=1e-12)
    api = images.fromexample("mouse").gaussian_filter(2).mean().toarray()
    # correlations in [-1, 1]: the streamed run merges chunks in another order (last-bit rounding)
    np.testing.assert_allclose(written[0], api, rtol=1e-12, atol=1e-13)
    assert "(1, 64, 64)" in stdout and "float64" in stdout and str(out) in stdout
    assert "local engine" in stdout and "gaussian_filter(sigma=2) -> mean()" in stdout


def test_run_localcorr_matches_api(tmp_path, run_cli, mouse, read_tif_dir):
    from napari_thunder import images

    out = tmp_path / "corr"
    code, _, err = run_cli("run", "example:mouse", "-p", "localcorr:neighborhood=2", "-o", out)
    assert code == 0, err
    written = read_tif_dir(out)
    assert written.shape == (1, 64, 64)
    api = images.fromexample("mouse").localcorr(neighborhood=2)
    # correlations in [-1, 1]: the streamed run merges chunks in another order (last-bit rounding)
    np.testing.assert_allclose(written[0], api, rtol=1e-12, atol=1e-13)
    # and against a direct numpy computation (5x5 box mean, Pearson)
    a = mouse.astype(np.float64)
    b = ndimage.uniform_filter(a, size=(1, 5, 5), mode="reflect")
    a -= a.mean(0)
    b -= b.mean(0)
    reference = (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))
    np.testing.assert_allclose(written[0], reference, rtol=1e-9, atol=1e-12)


def test_run_localcorr_of_a_volume_keeps_its_shape(tmp_path, run_cli, read_tif_dir):
    from napari_thunder import images

    for flag in ([], ["--no-progress"]):  # streamed and direct paths
        out = tmp_path / f"corr{len(flag)}"
        code, _, err = run_cli("run", "example:fish", "-p", "localcorr:2", "-o", out, *flag)
        assert code == 0, err
        written = read_tif_dir(out)
        assert written.shape == (1, 2, 76, 87)
        np.testing.assert_allclose(written[0], images.fromexample("fish").localcorr(2), rtol=1e-12,
                                   atol=1e-13, equal_nan=True)


def test_run_per_frame_pipeline_to_binary(tmp_path, run_cli, mouse, read_binary_dir):
    out = tmp_path / "bin"
    code, _, err = run_cli(
        "run", "example:mouse", "-p", "subtract:val=100", "-p", "subsample:factor=2",
        "-p", "median_filter:size=3", "-o", out, "--to", "binary",
    )
    assert code == 0, err
    assert (out / "SUCCESS").exists()
    written = read_binary_dir(out)
    reference = np.array([ndimage.median_filter((f - 100)[::2, ::2], size=3) for f in mouse])
    assert written.dtype == np.int16
    np.testing.assert_array_equal(written, reference)


def test_run_volume_projection_from_tif_directory(tmp_path, run_cli, fish, read_tif_dir):
    out = tmp_path / "proj"
    code, _, err = run_cli("run", sample_data.path("fish"), "-p", "max_projection:axis=0", "-o", out)
    assert code == 0, err
    written = read_tif_dir(out)
    np.testing.assert_array_equal(written, fish.max(axis=1))
    assert written.dtype == np.uint8


def test_run_wildcard_pattern_input(tmp_path, run_cli, fish, read_tif_dir):
    """A pattern is told by the files it matches (here 5 of the 20 fish volumes)."""
    out = tmp_path / "some"
    pattern = os.path.join(sample_data.path("fish"), "image-0000[0-4].*")
    code, stdout, err = run_cli("run", pattern, "-p", "max", "-o", out)
    assert code == 0, err
    assert "via fromtif" in stdout
    np.testing.assert_array_equal(read_tif_dir(out)[0], fish[:5].max(axis=0))


def test_run_statistics_after_filter_and_max_min(tmp_path, run_cli, fish, read_tif_dir):
    for step, reference in [
        ("std", fish.std(axis=0)),
        ("sum", fish.sum(axis=0)),
        ("max", fish.max(axis=0)),
    ]:
        out = tmp_path / step
        code, _, err = run_cli("run", "example:fish", "-p", step, "-o", out)
        assert code == 0, err
        written = read_tif_dir(out)
        assert written.shape == (1, 2, 76, 87)
        assert written.dtype == reference.dtype, step
        np.testing.assert_allclose(written[0], reference, rtol=1e-12)
    out = tmp_path / "maxmin"
    code, _, err = run_cli("run", "example:fish", "-p", "max_min_projection:axis=0", "-o", out)
    assert code == 0, err
    expected = fish.max(axis=1) + fish.min(axis=1)  # uint8, as Thunder (wraps on overflow)
    np.testing.assert_array_equal(read_tif_dir(out), expected)


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_statistic_dtype_with_and_without_streaming(tmp_path, run_cli, mouse, read_tif_dir, flag):
    """The streamed statistic keeps numpy's dtype rule (sum of int16 is int64, min keeps int16)."""
    for step, reference in [("sum", mouse.sum(axis=0)), ("min", mouse.min(axis=0))]:
        out = tmp_path / step
        code, _, err = run_cli("run", "example:mouse", "-p", step, "-o", out, *flag)
        assert code == 0, err
        written = read_tif_dir(out)
        assert written.dtype == reference.dtype
        np.testing.assert_array_equal(written[0], reference)


def test_run_png_input_and_output(tmp_path, run_cli):
    from PIL import Image

    src = tmp_path / "pngs"
    src.mkdir()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 20, 30), dtype=np.uint8)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(src / f"f{i}.png")
    out = tmp_path / "out"
    code, _, err = run_cli("run", src, "-p", "max", "-o", out, "--to", "png")
    assert code == 0, err
    files = sorted(os.listdir(out))
    assert len(files) == 1 and files[0].endswith(".png")
    np.testing.assert_array_equal(np.asarray(Image.open(out / files[0])), frames.max(axis=0))


def test_run_nplanes_binary_file(tmp_path, run_cli):
    src = tmp_path / "raw"
    src.mkdir()
    data = np.arange(2 * 3 * 4 * 6, dtype=np.uint16).reshape(2, 3, 4, 6)
    for i, vol in enumerate(data):
        vol.tofile(src / f"v{i}.bin")
    (src / "conf.json").write_text(json.dumps({"dims": [3, 4, 6], "dtype": "uint16"}))
    code, out, err = run_cli("info", src, "--nplanes", "2")
    assert code == 0, err
    assert "(6, 3, 4, 2)" in out and "uint16" in out


def test_overwrite_replaces_output(tmp_path, run_cli, mouse, read_tif_dir):
    out = tmp_path / "out"
    assert run_cli("run", "example:mouse", "-p", "max", "-o", out)[0] == 0
    first = read_tif_dir(out)
    code, _, err = run_cli("run", "example:mouse", "-p", "min", "-o", out, "--overwrite")
    assert code == 0, err
    second = read_tif_dir(out)
    np.testing.assert_array_equal(second[0], mouse.min(axis=0))
    assert not np.array_equal(first, second)


def test_progress_bar_on_stderr(tmp_path, run_cli):
    """The bar is drawn (tqdm on stderr) while a statistic streams."""
    out = tmp_path / "out"
    code, _, err = run_cli("run", "example:mouse", "-p", "mean", "-o", out)
    assert code == 0
    assert "mean" in err and "frame" in err
    code, _, err = run_cli("run", "example:mouse", "-p", "mean", "-o", out, "--overwrite", "--no-progress")
    assert code == 0 and err == ""


def test_writing_progress_per_block(tmp_path, run_cli, mouse, read_tif_dir, monkeypatch):
    """A per-image result is not computed ahead: the writer writes it block by
    block and the bar advances after each block, up to the image count."""
    from napari_thunder import Images

    calls = []
    original = Images._write

    def spy(self, path, fmt, prefix, overwrite, progress=None):
        def record(done, total):
            calls.append((done, total))
            progress(done, total)

        assert progress is not None
        return original(self, path, fmt, prefix, overwrite, record)

    monkeypatch.setattr(Images, "_write", spy)
    for name in ("toarray", "iter_chunks"):  # what computing the whole result ahead would use
        monkeypatch.setattr(Images, name,
                            lambda self, _name=name: pytest.fail(f"{_name}: result materialised"))
    out = tmp_path / "out"
    code, _, err = run_cli("run", "example:mouse", "-p", "uniform_filter:size=3", "-o", out,
                           "--npartitions", "4")
    assert code == 0, err
    assert "writing" in err
    assert len(calls) >= 2 and calls[-1] == (20, 20)
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})  # strictly increasing
    reference = np.array([ndimage.uniform_filter(f, 3) for f in mouse])
    np.testing.assert_array_equal(read_tif_dir(out), reference)


def test_info(run_cli):
    code, out, err = run_cli("info", "example:fish")
    assert code == 0, err
    assert "(20, 2, 76, 87)" in out and "uint8" in out and "count   20" in out
    assert "engine  local engine" in out


@pytest.mark.spark
@pytest.mark.parametrize("engine", ["local[2]", "spark:local[2]"])
def test_run_on_spark_engine(tmp_path, run_cli, mouse, read_tif_dir, spark_context, engine):
    """A Spark ``--engine`` naming the running master reuses the session's
    SparkContext (and leaves it running) and gives the local result."""
    out = tmp_path / "out"
    code, stdout, err = run_cli("run", "example:mouse", "-p", "gaussian_filter:sigma=1", "-p", "var",
                                "-o", out, "--engine", engine, "--npartitions", "3")
    assert code == 0, err
    reference = np.array([ndimage.gaussian_filter(f, 1) for f in mouse]).var(axis=0)
    np.testing.assert_allclose(read_tif_dir(out)[0], reference, rtol=1e-9)
    assert "Spark" in stdout
    assert not spark_context._jsc.sc().isStopped()
    imgs, _ = cli.load_input("example:mouse", engine=spark_context, npartitions=3)
    assert imgs.mode == "spark" and imgs.npartitions() == 3


@pytest.mark.spark
def test_per_frame_result_written_on_spark_with_progress(tmp_path, run_cli, mouse, read_binary_dir,
                                                         spark_context):
    out = tmp_path / "out"
    code, _, err = run_cli("run", "example:mouse", "-p", "subsample:2", "-o", out, "--to", "binary",
                           "--engine", "local[2]", "--npartitions", "4")
    assert code == 0, err
    assert "writing" in err
    np.testing.assert_array_equal(read_binary_dir(out), mouse[:, ::2, ::2])


@pytest.mark.parametrize("step", ["mean", "localcorr:neighborhood=1", "correlation_image", "pnr_image"])
@pytest.mark.parametrize("progress", [True, False])
def test_one_image_results_keep_pixel_size_with_or_without_progress(tmp_path, run_cli, step, progress):
    """The pixel size and units of the input reach the written statistic / map, progress bar or not."""
    import tifffile

    from napari_thunder import images

    movie = np.random.default_rng(2).integers(0, 1000, (6, 10, 12)).astype(np.uint16)
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, movie, imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"axes": "TYX", "unit": "um", "finterval": 0.1})
    out = tmp_path / "out"
    code, _, err = run_cli("run", path, "-p", step, "-o", out, *([] if progress else ["--no-progress"]))
    assert code == 0, err
    back = images.fromtif(str(out))
    assert [(a.name, a.scale, a.unit) for a in back.metadata.axes[1:]] == [("y", 0.5, "micrometer"),
                                                                          ("x", 0.5, "micrometer")]
    if step == "mean":
        np.testing.assert_allclose(back.toarray(), movie.mean(axis=0))
