"""A real standalone Spark cluster on 127.0.0.1: one master and two workers
(1 core each) started with the launcher shipped inside pyspark.

* the public API pipeline (fromtif, gaussian_filter, mean/std, localcorr,
  totif) gives exactly the local-mode results;
* killing a worker (SIGKILL of its process group: worker, executor, Python
  workers) in the middle of a job does not change the result (lineage
  recovery with Spark's default retries).

Everything started is stopped in the fixture teardown, also on failure.
Run with ``pytest tests/cluster -m cluster``.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")
tifffile = pytest.importorskip("tifffile")

pytestmark = [pytest.mark.cluster, pytest.mark.spark]

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "singlelayer_tif"
SPARK_HOME = Path(pyspark.__file__).resolve().parent
DRIVER = HERE / "cluster_driver.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spark_env(tmp: Path) -> dict:
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(SPARK_HOME),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(tmp / "logs"),
        SPARK_WORKER_DIR=str(tmp / "work"),
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_NO_DAEMONIZE="1",
    )
    return env


def _launch(args, env, log: Path) -> subprocess.Popen:
    """Start ``spark-class args`` in its own process group."""
    handle = open(log, "wb")
    return subprocess.Popen(
        [str(SPARK_HOME / "bin" / "spark-class"), *args],
        env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
    )


def _kill_group(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _alive_workers(webui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{webui_port}/json", timeout=2) as resp:
            state = json.load(resp)
    except OSError:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``{'master': url, 'workers': [Popen, Popen], 'env': env}``; stopped at teardown."""
    tmp = tmp_path_factory.mktemp("spark-cluster")
    (tmp / "logs").mkdir()
    (tmp / "work").mkdir()
    env = _spark_env(tmp)
    port, webui = _free_port(), _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    procs = []
    try:
        procs.append(_launch(
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(webui)], env, tmp / "logs" / "master.log"))
        workers = []
        for k in range(2):
            worker = _launch(
                ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                 "--memory", "1g", "--port", str(_free_port()), "--webui-port", str(_free_port()),
                 "--work-dir", str(tmp / "work" / f"w{k}"), master_url],
                env, tmp / "logs" / f"worker{k}.log")
            procs.append(worker)
            workers.append(worker)
        deadline = time.monotonic() + 90
        while _alive_workers(webui) < 2:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in (tmp / "logs").iterdir())
                pytest.fail(f"standalone cluster did not start (2 workers):\n{logs}")
            time.sleep(0.5)
        yield {"master": master_url, "workers": workers, "env": env, "tmp": tmp, "webui": webui}
    finally:
        for proc in procs:
            _kill_group(proc, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                proc.wait(10)


@pytest.fixture(scope="module")
def tif_dir(tmp_path_factory):
    """16 frames 70x75 uint8: the 3 real dot*.tif files + 13 synthetic ones."""
    folder = tmp_path_factory.mktemp("tifs")
    for path in sorted(DATA.glob("*.tif")):
        shutil.copy(path, folder / path.name)
    rng = np.random.default_rng(3)
    base = tifffile.imread(DATA / "dot1_grey_lzw.tif").astype(np.int16)
    for i in range(13):
        noise = rng.integers(-12, 13, size=base.shape)
        frame = np.clip(base * (0.6 + 0.03 * i) + noise, 0, 255).astype(np.uint8)
        tifffile.imwrite(folder / f"frame_{i:02d}.tif", frame)
    return folder


def _run_driver(cluster, tif_dir, out_dir, task, marker_dir=None, timeout=150):
    args = [sys.executable, str(DRIVER), cluster["master"], str(tif_dir), str(out_dir), task]
    if marker_dir is not None:
        args.append(str(marker_dir))
    return subprocess.Popen(args, env=cluster["env"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _finish(proc, timeout):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        pytest.fail(f"driver timed out:\n{out}\n{err[-4000:]}")
    assert proc.returncode == 0, f"driver failed:\n{out}\n{err[-4000:]}"
    return out, err


def test_pipeline_on_cluster_equals_local(cluster, tif_dir, tmp_path):
    from napari_thunder import images

    proc = _run_driver(cluster, tif_dir, tmp_path, "pipeline")
    _finish(proc, 150)
    got = np.load(tmp_path / "pipeline.npz")
    assert str(got["mode"]) == "spark" and int(got["npartitions"]) == 4

    local = images.fromtif(str(tif_dir))
    assert local.shape == (16, 70, 75)
    assert int(local[0].toarray().astype(np.int64).sum()) == 1233881  # dot1_grey_lzw.tif
    filtered = local.gaussian_filter(1.5)
    np.testing.assert_array_equal(got["filtered"], filtered.toarray())
    assert got["filtered"].dtype == np.uint8
    np.testing.assert_allclose(got["mean"], filtered.mean().toarray(), rtol=1e-12)
    np.testing.assert_allclose(got["std"], filtered.std().toarray(), rtol=1e-10)
    np.testing.assert_allclose(got["localcorr"], local.localcorr(1), rtol=1e-10, equal_nan=True)

    written = sorted((tmp_path / "filtered").glob("*.tif"))
    assert [p.name for p in written] == [f"image-{i:05d}.tif" for i in range(16)]
    reread = np.stack([tifffile.imread(p) for p in written])
    np.testing.assert_array_equal(reread, filtered.toarray())


def test_worker_killed_mid_job_same_result(cluster, tif_dir, tmp_path):
    from napari_thunder import images

    markers = tmp_path / "markers"
    markers.mkdir()
    proc = _run_driver(cluster, tif_dir, tmp_path, "recovery", markers)
    victim = cluster["workers"][1]
    try:
        deadline = time.monotonic() + 90
        # wait until tasks run on both executors (two distinct pyspark daemons)
        while len({m.name.split("-")[0] for m in markers.iterdir()}) < 2:
            if time.monotonic() > deadline or proc.poll() is not None:
                break
            time.sleep(0.2)
        started = len(list(markers.iterdir()))
        assert started >= 2, "tasks never ran on both workers"
        _kill_group(victim)
        victim.wait(10)
    finally:
        out, err = _finish(proc, 150)
    assert "DONE" in out
    # the killed worker's tasks were run again: more frames started than exist
    assert len(list(markers.iterdir())) > 16
    got = np.load(tmp_path / "recovery.npz")
    local = images.fromtif(str(tif_dir))
    expected = local.toarray().astype(np.float64) * 2.0 + 1.0
    np.testing.assert_array_equal(got["series"], np.moveaxis(expected, 0, -1))
