"""``napari-thunder run`` with the calcium-imaging steps: summary images, ROI
traces (a Series written as CSV / NPY / series binary), ΔF/F and z-scores,
checked against scipy / numpy computed here on the synthetic movie."""

import json
import os

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile

from napari_thunder.sample_data.motion import calcium_movie


@pytest.fixture(scope="module")
def calcium(tmp_path_factory):
    """A small still synthetic movie as a multi-page TIF (read with --nplanes 1),
    its label image as .npy and .tif, and the arrays."""
    folder = tmp_path_factory.mktemp("calcium")
    truth = calcium_movie(n=24, shape=(40, 40), ncells=6, radius=3.0, max_shift=0.0, seed=3)
    movie = truth.movie
    labels = truth.labels
    tifffile.imwrite(folder / "movie.tif", movie)
    np.save(folder / "labels.npy", labels)
    tifffile.imwrite(folder / "labels.tif", labels)
    return {"dir": folder, "movie": movie, "labels": labels,
            "input": str(folder / "movie.tif"), "npy": str(folder / "labels.npy"),
            "tif": str(folder / "labels.tif")}


def _run(run_cli, calcium, *args):
    return run_cli("run", calcium["input"], "--nplanes", "1", "--no-progress", *args)


def _reference_traces(movie, labels):
    ids = np.unique(labels[labels > 0])
    return ids, np.array([ndi.mean(frame, labels, ids) for frame in movie]).T  # (n_rois, n_frames)


def _read_series_binary(path):
    conf = json.load(open(os.path.join(path, "conf.json")))
    files = sorted(f for f in os.listdir(path) if f.endswith(".bin"))
    flat = np.concatenate([np.fromfile(os.path.join(path, f), dtype=conf["dtype"]) for f in files])
    return flat.reshape(conf["shape"])


def test_traces_to_csv_equal_ndimage_mean(run_cli, calcium, tmp_path):
    out = tmp_path / "traces.csv"
    code, stdout, err = _run(run_cli, calcium, "-p", f"extract_traces:labels={calcium['npy']}",
                             "-o", out, "--to", "csv")
    assert code == 0, err
    ids, expected = _reference_traces(calcium["movie"], calcium["labels"])
    got = np.loadtxt(out, delimiter=",", ndmin=2)
    assert got.shape == (len(ids), len(calcium["movie"]))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert f"traces of {len(ids)} ROIs x {len(calcium['movie'])} frames" in stdout
    assert "(csv, 1 file)" in stdout


def test_csv_is_the_default_for_traces_and_tif_labels_work(run_cli, calcium, tmp_path):
    out = tmp_path / "traces.csv"
    code, _, err = _run(run_cli, calcium, "-p", f"extract_traces:{calcium['tif']}", "-o", out)
    assert code == 0, err
    _, expected = _reference_traces(calcium["movie"], calcium["labels"])
    np.testing.assert_allclose(np.loadtxt(out, delimiter=","), expected, rtol=1e-12)


def test_neuropil_traces_equal_a_ring_computed_here(run_cli, calcium, tmp_path):
    out = tmp_path / "traces.npy"
    code, _, err = _run(run_cli, calcium, "-p",
                        f"extract_traces:labels={calcium['npy']},neuropil=(1,5),neuropil_coefficient=0.5",
                        "-o", out, "--to", "npy")
    assert code == 0, err
    movie, labels = calcium["movie"].astype(np.float64), calcium["labels"]
    ids, cells = _reference_traces(movie, labels)
    expected = []
    for k, label in enumerate(ids):
        dist = ndi.distance_transform_edt(labels != label)
        ring = (dist > 1) & (dist <= 5) & (labels == 0)
        expected.append(cells[k] - 0.5 * movie[:, ring].mean(axis=1))
    np.testing.assert_allclose(np.load(out), np.array(expected), rtol=1e-10)


@pytest.mark.parametrize("step, options", [("normalize", {}), ("normalize:method='mean',offset=1.0",
                                                                {"mean": True, "offset": 1.0}),
                                           ("normalize:perc=10", {"perc": 10})])
def test_normalize_is_delta_f_over_f(run_cli, calcium, tmp_path, step, options):
    out = tmp_path / "dff.npy"
    code, _, err = _run(run_cli, calcium, "-p", f"extract_traces:labels={calcium['npy']}", "-p", step,
                        "-o", out, "--to", "npy")
    assert code == 0, err
    _, traces = _reference_traces(calcium["movie"], calcium["labels"])
    if options.get("mean"):
        base = traces.mean(axis=1, keepdims=True)
    else:
        base = np.percentile(traces, options.get("perc", 20), axis=1, keepdims=True)
    expected = (traces - base) / (base + options.get("offset", 0.1))
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-10, atol=1e-12)


def test_zscore_after_traces_to_series_binary(run_cli, calcium, tmp_path):
    out = tmp_path / "zs"
    code, stdout, err = _run(run_cli, calcium, "-p", f"extract_traces:labels={calcium['npy']}",
                             "-p", "zscore", "-o", out, "--to", "binary")
    assert code == 0, err
    _, traces = _reference_traces(calcium["movie"], calcium["labels"])
    expected = (traces - traces.mean(axis=1, keepdims=True)) / traces.std(axis=1, keepdims=True)
    np.testing.assert_allclose(_read_series_binary(out), expected, rtol=1e-10, atol=1e-12)
    from napari_thunder import series

    np.testing.assert_allclose(series.frombinary(str(out)).toarray(), expected, rtol=1e-10, atol=1e-12)
    assert "(binary," in stdout


def test_register_then_traces(run_cli, calcium, tmp_path):
    """The still movie registers to (nearly) itself, so the traces stay those of the movie."""
    out = tmp_path / "traces.csv"
    code, _, err = _run(run_cli, calcium, "-p", "register", "-p", f"extract_traces:labels={calcium['npy']}",
                        "-o", out)
    assert code == 0, err
    _, expected = _reference_traces(calcium["movie"], calcium["labels"])
    got = np.loadtxt(out, delimiter=",")
    assert got.shape == expected.shape
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=0.05)


def test_series_writers_refuse_to_overwrite(run_cli, assert_bad_input, calcium, tmp_path):
    out = tmp_path / "traces.csv"
    out.write_text("keep me\n")
    step = f"extract_traces:labels={calcium['npy']}"
    code, _, err = _run(run_cli, calcium, "-p", step, "-o", out)
    assert_bad_input(code, err, "already exists", "--overwrite")
    assert out.read_text() == "keep me\n"
    code, _, err = _run(run_cli, calcium, "-p", step, "-o", out, "--overwrite")
    assert code == 0, err
    assert np.loadtxt(out, delimiter=",").shape[1] == len(calcium["movie"])
    folder = tmp_path / "bin"
    folder.mkdir()
    code, _, err = _run(run_cli, calcium, "-p", step, "-o", folder, "--to", "binary")
    assert_bad_input(code, err, "--overwrite")
    code, _, err = _run(run_cli, calcium, "-p", step, "-o", folder, "--to", "csv")
    assert_bad_input(code, err, "directory")


def _reference_correlation_image(movie):
    x = movie.astype(np.float64)
    z = (x - x.mean(0)) / x.std(0)
    total = np.zeros(x.shape[1:])
    count = np.zeros(x.shape[1:])
    h, w = x.shape[1:]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            ys, yd = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
            xs, xd = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
            total[ys, xs] += (z[:, ys, xs] * z[:, yd, xd]).mean(0)
            count[ys, xs] += 1
    return total / count


def test_summary_images(run_cli, calcium, tmp_path, read_tif_dir):
    movie = calcium["movie"].astype(np.float64)
    code, _, err = _run(run_cli, calcium, "-p", "correlation_image", "-o", tmp_path / "corr")
    assert code == 0, err
    np.testing.assert_allclose(read_tif_dir(tmp_path / "corr")[0], _reference_correlation_image(movie),
                               rtol=1e-9, atol=1e-12)
    code, _, err = _run(run_cli, calcium, "-p", "pnr_image", "-o", tmp_path / "pnr")
    assert code == 0, err
    noise = np.diff(movie, axis=0).std(axis=0) / np.sqrt(2)
    np.testing.assert_allclose(read_tif_dir(tmp_path / "pnr")[0], (movie.max(0) - movie.mean(0)) / noise,
                               rtol=1e-9)
    code, _, err = _run(run_cli, calcium, "-p", "enhanced_mean:sigma=3", "-o", tmp_path / "em")
    assert code == 0, err
    em = read_tif_dir(tmp_path / "em")[0]
    assert em.shape == movie.shape[1:] and np.nanmin(em) >= 0 and np.nanmax(em) <= 1
    from napari_thunder.kernels.summary import enhanced_mean

    np.testing.assert_allclose(em, enhanced_mean(movie.mean(0), 3.0), rtol=1e-9)


def test_summary_image_with_progress_bar_equals_without(run_cli, calcium, tmp_path, read_tif_dir):
    argv = ("run", calcium["input"], "--nplanes", "1", "-p", "correlation_image:4")
    assert run_cli(*argv, "-o", tmp_path / "a")[0] == 0
    assert run_cli(*argv, "--no-progress", "-o", tmp_path / "b")[0] == 0
    np.testing.assert_array_equal(read_tif_dir(tmp_path / "a"), read_tif_dir(tmp_path / "b"))


@pytest.mark.parametrize("fmt", ["tif", "png", "zarr"])
def test_image_formats_refused_for_traces(run_cli, assert_bad_input, calcium, tmp_path, fmt):
    code, _, err = _run(run_cli, calcium, "-p", f"extract_traces:labels={calcium['npy']}",
                        "-o", tmp_path / "out", "--to", fmt)
    assert_bad_input(code, err, f"--to {fmt}", "extract_traces", "csv")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("steps, to, words", [
    (["normalize"], None, ("'normalize'", "after", "extract_traces")),
    (["mean", "zscore"], None, ("'zscore'", "extract_traces")),
    (["extract_traces:labels={npy}", "gaussian_filter:2"], None, ("'gaussian_filter'", "traces")),
    (["extract_traces:labels={npy}", "extract_traces:labels={npy}"], None, ("twice",)),
    (["extract_traces"], None, ("'extract_traces'", "labels=PATH")),
    (["extract_traces:neuropil=(2,8)"], None, ("'extract_traces'", "labels=PATH")),
    (["mean"], "csv", ("--to csv", "images", "extract_traces")),
    ([], "npy", ("--to npy", "images")),
    (["extract_traces:labels={dir}/nope.npy"], None, ("extract_traces", "nope.npy")),
    (["extract_traces:labels={dir}/movie.png"], None, ("extract_traces", ".npy")),
    (["extract_traces:labels=3"], None, ("extract_traces", "labels must be a file path")),
    (["extract_traces:labels={dir}/wrong.npy"], None, ("extract_traces", "wrong.npy", "shape")),
    (["extract_traces:labels={dir}/float.npy"], None, ("extract_traces", "float.npy")),
    (["extract_traces:labels={npy},neuropil=(8,2)"], None, ("extract_traces", "neuropil")),
    (["extract_traces:labels={npy}", "normalize:method='nope'"], None, ("'normalize'", "method")),
    (["extract_traces:labels={npy}", "normalize:perc=200"], None, ("'normalize'", "perc")),
    (["extract_traces:labels={npy}", "zscore:scale=2"], None, ("'zscore'", "scale")),
])
def test_bad_calcium_pipelines_exit_2(run_cli, assert_bad_input, calcium, tmp_path, steps, to, words):
    folder = calcium["dir"]
    (folder / "movie.png").write_bytes(b"")
    np.save(folder / "wrong.npy", np.ones((5, 5), np.int32))
    np.save(folder / "float.npy", calcium["labels"].astype(np.float64))
    argv = []
    for step in steps:
        argv += ["-p", step.format(npy=calcium["npy"], dir=folder)]
    if to:
        argv += ["--to", to]
    out = tmp_path / "out"
    code, _, err = _run(run_cli, calcium, *argv, "-o", out)
    assert_bad_input(code, err, *words)
    assert not out.exists()


def test_a_missing_labels_file_is_refused_before_loading(run_cli, assert_bad_input, calcium, tmp_path):
    code, stdout, err = _run(run_cli, calcium, "-p", f"extract_traces:labels={tmp_path}/none.tif",
                             "-o", tmp_path / "t.csv")
    assert_bad_input(code, err, "no labels file", "none.tif")
    assert stdout == ""  # the input was never loaded


@pytest.mark.parametrize("step", ["extract_traces:labels={npy}",
                                  "extract_traces:labels={npy},neuropil=(1,5)"])
def test_traces_with_progress_bar_equal_without(run_cli, calcium, tmp_path, step):
    argv = ("run", calcium["input"], "--nplanes", "1", "-p", step.format(npy=calcium["npy"]),
            "-p", "normalize", "--to", "npy")
    code, _, err = run_cli(*argv, "-o", tmp_path / "a.npy")
    assert code == 0, err
    assert run_cli(*argv, "--no-progress", "-o", tmp_path / "b.npy")[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_one_roi_stays_one_row_and_a_leading_axis_of_one_is_dropped(run_cli, calcium, tmp_path):
    labels = (calcium["labels"] == 2).astype(np.int32)[np.newaxis]  # (1, y, x): one ROI, label 1
    np.save(tmp_path / "one.npy", labels)
    out = tmp_path / "one.csv"
    code, _, err = _run(run_cli, calcium, "-p", f"extract_traces:labels={tmp_path / 'one.npy'}", "-o", out)
    assert code == 0, err
    got = np.loadtxt(out, delimiter=",", ndmin=2)
    expected = calcium["movie"][:, calcium["labels"] == 2].mean(axis=1)
    assert got.shape == (1, len(calcium["movie"]))
    assert len(out.read_text().splitlines()) == 1
    np.testing.assert_allclose(got[0], expected, rtol=1e-12)


def test_traces_without_to_follow_the_output_extension(run_cli, calcium, tmp_path):
    """``-o traces.npy`` without ``--to`` is a real .npy file (not CSV text under a .npy name)."""
    out = tmp_path / "traces.npy"
    code, stdout, err = _run(run_cli, calcium, "-p", f"extract_traces:labels={calcium['npy']}", "-o", out)
    assert code == 0, err
    _, expected = _reference_traces(calcium["movie"], calcium["labels"])
    np.testing.assert_allclose(np.load(out, allow_pickle=False), expected, rtol=1e-12)
    assert "(npy, 1 file)" in stdout
