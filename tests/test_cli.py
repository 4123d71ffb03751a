"""The ``napari-thunder`` command: pipelines equal the API and numpy/scipy
references; bad input gives one error line and exit code 2."""

import json
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import tifffile
from scipy import ndimage

from napari_thunder import cli, sample_data


# ------------------------------------------------------------------ helpers
def _mouse():
    folder = sample_data.path("mouse")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".bin"))
    return np.array(
        [np.fromfile(os.path.join(folder, f), dtype=np.int16).reshape((64, 64), order="F") for f in files]
    )


def _fish():
    folder = sample_data.path("fish")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".tif"))
    return np.array([tifffile.imread(os.path.join(folder, f)) for f in files])


def _read_tif_dir(path):
    files = sorted(f for f in os.listdir(path) if f.endswith(".tif"))
    return np.array([tifffile.imread(os.path.join(path, f)) for f in files])


def _read_binary_dir(path):
    conf = json.load(open(os.path.join(path, "conf.json")))
    files = sorted(f for f in os.listdir(path) if f.endswith(".bin"))
    return np.array(
        [np.fromfile(os.path.join(path, f), dtype=conf["dtype"]).reshape(conf["shape"]) for f in files]
    )


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _assert_bad_input(code, err, *words):
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("napari-thunder: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


# ------------------------------------------------------------------ step parsing
@pytest.mark.parametrize(
    "text, expected",
    [
        ("mean", ("mean", {})),
        ("gaussian_filter:sigma=2", ("gaussian_filter", {"sigma": 2})),
        ("gaussian_filter:1.5", ("gaussian_filter", {"sigma": 1.5})),
        ("gaussian_filter:sigma=(2,2,0),order=0", ("gaussian_filter", {"sigma": (2, 2, 0), "order": 0})),
        ("median_filter:size=[3, 3]", ("median_filter", {"size": [3, 3]})),
        ("subsample:factor=2", ("subsample", {"factor": 2})),
        ("subtract:val=-100", ("subtract", {"val": -100})),
        ("localcorr:neighborhood=2", ("localcorr", {"neighborhood": 2})),
        ("max_projection:axis=0", ("max_projection", {"axis": 0})),
    ],
)
def test_parse_step(text, expected):
    assert cli.parse_step(text) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ("blur", ["'blur'", "gaussian_filter"]),
        ("gaussian_filter:size=2", ["'size'", "sigma"]),
        ("mean:2", ["'mean'", "no arguments"]),
        ("subsample:factor=2,factor=3", ["'factor'", "twice"]),
        ("subsample:factor=2,", ["empty"]),
    ],
)
def test_parse_step_errors(text, words):
    with pytest.raises(cli.CLIError) as info:
        cli.parse_step(text)
    for word in words:
        assert word in str(info.value)


# ------------------------------------------------------------------ run: results
def test_run_gaussian_then_mean_matches_api_and_scipy(tmp_path, capsys):
    from napari_thunder import images

    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "run", "example:mouse", "-p", "gaussian_filter:sigma=2", "-p", "mean", "-o", out)
    assert code == 0, err
    written = _read_tif_dir(out)
    assert written.shape == (1, 64, 64) and written.dtype == np.float64
    # independent reference: scipy per frame (int16 kept, as Thunder), then numpy mean
    movie = _mouse()
    reference = np.array([ndimage.gaussian_filter(f, 2) for f in movie]).mean(axis=0)
    np.testing.assert_allclose(written[0], reference, rtol=1e-12)
    api = images.fromexample("mouse").gaussian_filter(2).mean().toarray()
    np.testing.assert_allclose(written[0], api, rtol=1e-12)
    assert "(1, 64, 64)" in stdout and "float64" in stdout and str(out) in stdout


def test_run_localcorr_matches_api(tmp_path, capsys):
    from napari_thunder import images

    out = tmp_path / "corr"
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "localcorr:neighborhood=2", "-o", out)
    assert code == 0, err
    written = _read_tif_dir(out)
    assert written.shape == (1, 64, 64)
    api = images.fromexample("mouse").localcorr(neighborhood=2)
    np.testing.assert_allclose(written[0], api, rtol=1e-12)
    # and against a direct numpy computation (5x5 box mean, Pearson)
    a = _mouse().astype(np.float64)
    b = ndimage.uniform_filter(a, size=(1, 5, 5), mode="reflect")
    a -= a.mean(0)
    b -= b.mean(0)
    reference = (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))
    np.testing.assert_allclose(written[0], reference, rtol=1e-9, atol=1e-12)


def test_run_per_frame_pipeline_to_binary(tmp_path, capsys):
    out = tmp_path / "bin"
    code, _, err = _run(
        capsys, "run", "example:mouse", "-p", "subtract:val=100", "-p", "subsample:factor=2",
        "-p", "median_filter:size=3", "-o", out, "--to", "binary",
    )
    assert code == 0, err
    assert (out / "SUCCESS").exists()
    written = _read_binary_dir(out)
    reference = np.array([ndimage.median_filter((f - 100)[::2, ::2], size=3) for f in _mouse()])
    assert written.dtype == np.int16
    np.testing.assert_array_equal(written, reference)


def test_run_volume_projection_from_tif_directory(tmp_path, capsys):
    out = tmp_path / "proj"
    code, _, err = _run(capsys, "run", sample_data.path("fish"), "-p", "max_projection:axis=0", "-o", out)
    assert code == 0, err
    written = _read_tif_dir(out)
    np.testing.assert_array_equal(written, _fish().max(axis=1))
    assert written.dtype == np.uint8


def test_run_statistics_after_filter_and_max_min(tmp_path, capsys):
    fish = _fish()
    for step, reference in [
        ("std", fish.std(axis=0)),
        ("sum", fish.sum(axis=0)),
        ("max", fish.max(axis=0)),
    ]:
        out = tmp_path / step
        code, _, err = _run(capsys, "run", "example:fish", "-p", step, "-o", out)
        assert code == 0, err
        written = _read_tif_dir(out)
        assert written.shape == (1, 2, 76, 87)
        assert written.dtype == reference.dtype, step
        np.testing.assert_allclose(written[0], reference, rtol=1e-12)
    out = tmp_path / "maxmin"
    code, _, err = _run(capsys, "run", "example:fish", "-p", "max_min_projection:axis=0", "-o", out)
    assert code == 0, err
    expected = fish.max(axis=1) + fish.min(axis=1)  # uint8, as Thunder (wraps on overflow)
    np.testing.assert_array_equal(_read_tif_dir(out), expected)


def test_run_png_input_and_output(tmp_path, capsys):
    from PIL import Image

    src = tmp_path / "pngs"
    src.mkdir()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 20, 30), dtype=np.uint8)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(src / f"f{i}.png")
    out = tmp_path / "out"
    code, _, err = _run(capsys, "run", src, "-p", "max", "-o", out, "--to", "png")
    assert code == 0, err
    files = sorted(os.listdir(out))
    assert len(files) == 1 and files[0].endswith(".png")
    np.testing.assert_array_equal(np.asarray(Image.open(out / files[0])), frames.max(axis=0))


def test_run_nplanes_binary_file(tmp_path, capsys):
    src = tmp_path / "raw"
    src.mkdir()
    data = np.arange(2 * 3 * 4 * 6, dtype=np.uint16).reshape(2, 3, 4, 6)
    for i, vol in enumerate(data):
        vol.tofile(src / f"v{i}.bin")
    (src / "conf.json").write_text(json.dumps({"dims": [3, 4, 6], "dtype": "uint16"}))
    code, out, err = _run(capsys, "info", src, "--nplanes", "2")
    assert code == 0, err
    assert "(6, 3, 4, 2)" in out and "uint16" in out


def test_overwrite_replaces_output(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(capsys, "run", "example:mouse", "-p", "max", "-o", out)[0] == 0
    first = _read_tif_dir(out)
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "min", "-o", out, "--overwrite")
    assert code == 0, err
    second = _read_tif_dir(out)
    np.testing.assert_array_equal(second[0], _mouse().min(axis=0))
    assert not np.array_equal(first, second)


def test_progress_bar_on_stderr(tmp_path, capsys, monkeypatch):
    """The bar is drawn (tqdm on stderr) while a statistic streams."""
    out = tmp_path / "out"
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "mean", "-o", out)
    assert code == 0
    assert "mean" in err and "frame" in err
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "mean", "-o", out, "--overwrite", "--no-progress")
    assert code == 0 and err == ""


def test_info(capsys):
    code, out, err = _run(capsys, "info", "example:fish")
    assert code == 0, err
    assert "(20, 2, 76, 87)" in out and "uint8" in out and "count   20" in out


# ------------------------------------------------------------------ bad input
def test_missing_input(tmp_path, capsys):
    missing = tmp_path / "nothere"
    code, _, err = _run(capsys, "run", missing, "-p", "mean", "-o", tmp_path / "out")
    _assert_bad_input(code, err, str(missing))
    assert not (tmp_path / "out").exists()


def test_bad_step_name(tmp_path, capsys):
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "blur:sigma=2", "-o", tmp_path / "out")
    _assert_bad_input(code, err, "blur")


def test_bad_argument_value_from_api(tmp_path, capsys):
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "subsample:factor=0", "-o", tmp_path / "out")
    _assert_bad_input(code, err, "factor")
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "max_projection:axis=5", "-o", tmp_path / "out")
    _assert_bad_input(code, err, "axis")
    assert not (tmp_path / "out").exists()


def test_existing_output_without_overwrite_is_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "mean", "-o", out)
    _assert_bad_input(code, err, "already exists", "--overwrite")
    assert os.listdir(out) == ["keep.txt"]


def test_output_is_a_file(tmp_path, capsys):
    out = tmp_path / "file.tif"
    out.write_bytes(b"x")
    code, _, err = _run(capsys, "run", "example:mouse", "-o", out)
    _assert_bad_input(code, err, "is a file")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", "example:elephant", "-o", "{tmp}/o"], ["elephant", "mouse"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--engine", "yarn"], ["--engine", "yarn"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--to", "jpg"], ["--to", "jpg"]),
        (["run", "example:mouse", "-o", "{tmp}/o", "--npartitions", "x"], ["--npartitions"]),
        (["run", "example:mouse"], ["--output"]),
        (["run", "example:mouse", "-o", "{tmp}/no/such/parent"], ["parent"]),
        (["frobnicate"], ["frobnicate"]),
        (["info", "{tmp}"], ["format"]),
    ],
)
def test_argument_errors(tmp_path, capsys, argv, words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = _run(capsys, *argv)
    _assert_bad_input(code, err, *words)


def test_corrupt_tif_names_file(tmp_path, capsys):
    src = tmp_path / "bad"
    src.mkdir()
    (src / "broken.tif").write_bytes(b"II*\x00garbage")
    code, _, err = _run(capsys, "run", src, "-p", "mean", "-o", tmp_path / "out")
    _assert_bad_input(code, err, "broken.tif")


def test_subprocess_entry_point(tmp_path):
    """The installed console script (or ``python -m``) end to end, once."""
    exe = shutil.which("napari-thunder")
    base = [exe] if exe else [sys.executable, "-m", "napari_thunder.cli"]
    out = tmp_path / "out"
    done = subprocess.run(
        base + ["run", "example:mouse", "-p", "uniform_filter:size=3", "-p", "max", "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    reference = np.array([ndimage.uniform_filter(f, 3) for f in _mouse()]).max(axis=0)
    np.testing.assert_array_equal(_read_tif_dir(out)[0], reference)
    assert "wrote" in done.stdout
    bad = subprocess.run(base + ["run", str(tmp_path / "missing"), "-o", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("napari-thunder: error:") and "Traceback" not in bad.stderr


# ------------------------------------------------------------------ gui dispatch
def _fake_napari(monkeypatch, calls):
    fake = types.ModuleType("napari")
    fake.run = lambda: calls.append(("run",))
    monkeypatch.setitem(sys.modules, "napari", fake)
    return fake


@pytest.mark.parametrize("argv, target", [([], "mouse"), (["gui"], "mouse"), (["gui", "example:fish"], "fish"),
                                          (["gui", "some/dir"], "some/dir")])
def test_gui_calls_plugin_launch(monkeypatch, capsys, argv, target):
    calls = []
    _fake_napari(monkeypatch, calls)
    app = types.ModuleType("napari_thunder.plugin.app")
    app.launch = lambda path_or_example="mouse", show=True: calls.append(("launch", path_or_example, show))
    monkeypatch.setitem(sys.modules, "napari_thunder.plugin.app", app)
    code, _, err = _run(capsys, *argv)
    assert code == 0, err
    assert calls == [("launch", target, True), ("run",)]


def test_gui_without_napari(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "napari", None)  # import napari -> ImportError
    code, _, err = _run(capsys, "gui")
    _assert_bad_input(code, err, "napari")


# ------------------------------------------------------------------ spark engine
@pytest.mark.spark
def test_run_on_spark_engine(tmp_path, capsys, spark_context):
    """``--engine local[2]`` reuses the session's SparkContext and gives the
    local result."""
    pytest.importorskip("napari_thunder.engines.spark")
    out = tmp_path / "out"
    code, _, err = _run(capsys, "run", "example:mouse", "-p", "gaussian_filter:sigma=1", "-p", "var",
                        "-o", out, "--engine", "local[2]", "--npartitions", "3")
    assert code == 0, err
    reference = np.array([ndimage.gaussian_filter(f, 1) for f in _mouse()]).var(axis=0)
    np.testing.assert_allclose(_read_tif_dir(out)[0], reference, rtol=1e-9)
    assert not spark_context._jsc.sc().isStopped()
    imgs, _ = cli.load_input("example:mouse", engine=spark_context, npartitions=3)
    assert imgs.mode == "spark" and imgs.npartitions() == 3


@pytest.fixture
def real_napari(monkeypatch, make_napari_viewer):
    napari = pytest.importorskip("napari")
    monkeypatch.setattr(napari, "Viewer", lambda *a, **k: make_napari_viewer(*a, **k))
    monkeypatch.setattr(napari, "run", lambda *a, **k: None)
    return napari


@pytest.mark.gui
@pytest.mark.parametrize("argv, name, shape", [(["gui"], "mouse", (20, 64, 64)),
                                               (["gui", "example:fish"], "fish", (20, 2, 76, 87))])
def test_gui_fallback_opens_sample_in_real_napari(monkeypatch, capsys, real_napari, argv, name,
                                                   shape):
    """Without ``plugin.app.launch`` the command still opens napari with the
    example as a layer (the event loop is not entered in the test)."""
    napari = real_napari
    monkeypatch.setitem(sys.modules, "napari_thunder.plugin.app", None)  # launch not importable
    code, _, err = _run(capsys, *argv)
    viewer = napari.current_viewer()
    assert code == 0, err
    assert viewer is not None and len(viewer.layers) == 1
    layer = viewer.layers[0]
    assert layer.data.shape == shape
    expected = _mouse() if name == "mouse" else _fish()
    np.testing.assert_array_equal(np.asarray(layer.data), expected)
    from npe2 import PluginManager

    declared = PluginManager.instance().get_manifest("napari-thunder").contributions.widgets or []
    assert len(viewer.window.dock_widgets) >= len(declared), err


@pytest.mark.gui
def test_gui_with_plugin_launch_in_real_napari(capsys, real_napari):
    """``napari-thunder gui example:fish`` goes through ``plugin.app.launch``:
    the fish volume is loaded and the plugin's widgets are docked."""
    pytest.importorskip("napari_thunder.plugin.app")
    code, _, err = _run(capsys, "gui", "example:fish")
    viewer = real_napari.current_viewer()
    assert code == 0, err
    assert [layer.data.shape for layer in viewer.layers] == [(20, 2, 76, 87)]
    np.testing.assert_array_equal(np.asarray(viewer.layers[0].data), _fish())
    assert len(viewer.window.dock_widgets) >= 1


def test_gui_missing_input_is_bad_input(tmp_path, monkeypatch, capsys):
    pytest.importorskip("napari")
    pytest.importorskip("napari_thunder.plugin.app")
    missing = tmp_path / "nothing-here"
    code, _, err = _run(capsys, "gui", missing)
    _assert_bad_input(code, err, str(missing))


def test_help_and_version(capsys):
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and "run" in out and "info" in out and "gui" in out
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.startswith("napari-thunder ")
