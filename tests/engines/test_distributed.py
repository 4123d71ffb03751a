"""The dask.distributed engine on a real LocalCluster: the factory's values,
streaming and cancel, the tree aggregation, the viewer's array, the CLI, and
what the engine's package imports. (Every Images test also runs on it through
the ``engine`` fixture; a worker killed mid-job is in test_distributed_faults.)"""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_thunder import cli, images
from napari_thunder.engines import engine_kind, resolve_engine

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.distributed

STACK = np.random.default_rng(7).random((24, 9, 11))


def _marker(folder):
    """A map function leaving one file per frame it processed (workers are
    other processes: the files are how the test sees what ran)."""
    def mark(kv):
        key, frame = kv
        open(os.path.join(folder, f"{key[0]}-{os.getpid()}"), "w").close()
        time.sleep(0.02)
        return frame
    return mark


def _matmul(a, b):
    return a @ b


# ----------------------------------------------------------------- the factory
def test_a_client_gives_the_distributed_engine_on_that_client(distributed_client):
    engine = resolve_engine(distributed_client)
    assert engine.kind == "distributed" and engine.client is distributed_client
    assert engine_kind(distributed_client) == "distributed"
    imgs = images.fromarray(STACK, engine=distributed_client)
    assert imgs.mode == "distributed" and imgs.frames.client is distributed_client
    engine.close()  # the caller's client stays open
    assert distributed_client.status == "running"


@pytest.mark.parametrize("prefix", ["tcp://", "dask://"])
def test_a_scheduler_address_connects_to_that_scheduler(distributed_client, prefix):
    address = distributed_client.scheduler.address
    assert address.startswith("tcp://")
    spec = prefix + address[len("tcp://"):]
    imgs = images.fromarray(STACK, engine=spec).gaussian_filter(1.5)
    client = imgs.frames.client
    assert client is not distributed_client and client.scheduler.address == address
    reference = np.stack([ndi.gaussian_filter(f, 1.5) for f in STACK])
    np.testing.assert_allclose(imgs.toarray(), reference, rtol=1e-12)
    # the same address again reuses the open client
    assert images.fromarray(STACK, engine=spec).frames.client is client


def test_distributed_means_the_current_client(distributed_client):
    with distributed_client.as_current():
        engine = resolve_engine("distributed")
        assert engine.client is distributed_client and not engine.owns_client
        np.testing.assert_allclose(images.fromarray(STACK, engine="distributed").mean().toarray(),
                                   STACK.mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("value", ["tcp://", "dask://", "tcp://:"])
def test_an_address_without_a_host_is_a_value_error(value):
    with pytest.raises(ValueError, match="engine"):
        resolve_engine(value)


def test_no_scheduler_at_the_address_is_a_connection_error(monkeypatch):
    from napari_thunder.engines.distributed import client as clients

    monkeypatch.setattr(clients, "CONNECT_TIMEOUT", 1)
    engine = resolve_engine("tcp://127.0.0.1:9")  # the discard port: nothing listens
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="127.0.0.1:9"):
        images.fromarray(STACK, engine=engine)
    assert time.monotonic() - start < 30


def test_importing_the_engine_package_does_not_import_distributed():
    code = ("import sys\n"
            "import napari_thunder.engines.distributed as d, napari_thunder.engines.factory as f\n"
            "f.resolve_engine('tcp://127.0.0.1:8786')\n"
            "print('distributed' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------- where work runs
def test_work_runs_in_the_worker_processes(distributed_client, tmp_path):
    imgs = images.fromarray(STACK, engine=distributed_client).map(
        _marker(str(tmp_path)), with_keys=True, dims=STACK.shape[1:], dtype=STACK.dtype)
    np.testing.assert_array_equal(imgs.toarray(), STACK)
    pids = {int(name.split("-")[1]) for name in os.listdir(tmp_path)}
    workers = set(distributed_client.run(os.getpid).values())
    assert pids and pids <= workers and os.getpid() not in pids
    assert len(os.listdir(tmp_path)) == len(STACK)  # every frame once


def test_files_are_read_by_the_workers(distributed_client, tmp_path):
    import tifffile

    for i, frame in enumerate((STACK * 1000).astype(np.uint16)):
        tifffile.imwrite(tmp_path / f"f{i:03d}.tif", frame)
    imgs = images.fromtif(str(tmp_path), engine=distributed_client)
    assert imgs.frames.source is not None  # the graph holds the reader, not pixels
    np.testing.assert_array_equal(imgs.toarray(), (STACK * 1000).astype(np.uint16))
    np.testing.assert_allclose(imgs.var().toarray(), (STACK * 1000).astype(np.uint16).var(axis=0))


def test_aggregate_merges_on_the_workers_in_frame_order(distributed_client):
    from napari_thunder.kernels.moments import ReduceAccumulator

    # an associative, non-commutative fold: a product of matrices in frame order
    rng = np.random.default_rng(3)
    mats = np.eye(3) + 0.3 * rng.standard_normal((23, 3, 3))
    frames = images.fromarray(mats, engine=distributed_client, npartitions=7).frames
    assert frames.nchunks == 7
    got = frames.aggregate(ReduceAccumulator(_matmul, (3, 3))).finalize()
    expected = np.eye(3)
    for m in mats:
        expected = expected @ m
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert not np.allclose(got, np.linalg.multi_dot(list(mats[::-1])))  # order matters
    np.testing.assert_allclose(images.fromarray(mats, engine=distributed_client).reduce(_matmul)
                               .toarray(), expected, rtol=1e-10)


@pytest.mark.parametrize("fan_in", [2, 3, 8])
def test_aggregate_tree_of_any_fan_in_keeps_frame_order(distributed_client, fan_in):
    from napari_thunder.engines.distributed import streams
    from napari_thunder.kernels.moments import ReduceAccumulator

    rng = np.random.default_rng(4)
    mats = np.eye(3) + 0.3 * rng.standard_normal((29, 3, 3))
    frames = images.fromarray(mats, engine=distributed_client, npartitions=29).frames  # 2-3 levels
    got = streams.tree_aggregate(distributed_client, frames.array, frames.chunk_bounds(),
                                 ReduceAccumulator(_matmul, (3, 3)), fan_in=fan_in).finalize()
    np.testing.assert_allclose(got, np.linalg.multi_dot(list(mats)), rtol=1e-10)


def test_npartitions_sets_the_chunks(distributed_client):
    imgs = images.fromarray(STACK, engine=distributed_client, npartitions=6)
    assert imgs.npartitions() == 6
    assert [b - a for a, b, _ in imgs.iter_chunks()] == [4] * 6


# ----------------------------------------------------------------- streaming
def test_chunks_stream_in_frame_order(distributed_client):
    imgs = images.fromarray(STACK, engine=distributed_client, npartitions=8).median_filter(3)
    chunks = list(imgs.iter_chunks())
    assert [(a, b) for a, b, _ in chunks] == [(3 * i, 3 * i + 3) for i in range(8)]
    np.testing.assert_array_equal(np.concatenate([c for _, _, c in chunks]),
                                  np.stack([ndi.median_filter(f, 3) for f in STACK]))


def test_closing_the_stream_cancels_the_rest(distributed_client, tmp_path):
    stack = np.zeros((120, 4, 4))
    imgs = images.fromarray(stack, engine=distributed_client, npartitions=60).map(
        _marker(str(tmp_path)), with_keys=True, dims=(4, 4), dtype=np.float64)
    gen = imgs.iter_chunks()
    next(gen)
    gen.close()
    time.sleep(1.0)
    done = len(os.listdir(tmp_path))
    assert done < 60  # at most the window ran, never the 120 frames
    assert not imgs.frames._streams


def test_cancel_streams_from_another_thread_ends_the_stream(distributed_client, tmp_path):
    stack = np.zeros((120, 4, 4))
    imgs = images.fromarray(stack, engine=distributed_client, npartitions=60).map(
        _marker(str(tmp_path)), with_keys=True, dims=(4, 4), dtype=np.float64)
    seen = []
    gen = imgs.iter_chunks()
    seen.append(next(gen))
    timer = threading.Timer(0.1, imgs.frames.cancel_streams)
    timer.start()
    seen.extend(gen)  # ends (no exception) once cancelled
    timer.join()
    assert 1 <= len(seen) < 60
    time.sleep(1.0)
    assert len(os.listdir(tmp_path)) < 120


def test_stream_statistic_refines_to_the_exact_value(distributed_client):
    steps = list(images.fromarray(STACK, engine=distributed_client, npartitions=4).stream_statistic("std"))
    assert [done for done, _, _ in steps] == [6, 12, 18, 24]
    np.testing.assert_allclose(steps[0][2], STACK[:6].std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(steps[-1][2], STACK.std(axis=0), rtol=1e-12)


def test_an_error_on_a_worker_keeps_its_type(distributed_client):
    def bad(frame):
        raise ArithmeticError("bad frame")

    imgs = images.fromarray(STACK, engine=distributed_client).map(bad, dims=(9, 11), dtype=float)
    with pytest.raises(ArithmeticError, match="bad frame"):
        imgs.toarray()


# ----------------------------------------------------------------- viewer, CLI
def test_display_array_reads_single_frames_on_the_cluster(distributed_client):
    imgs = images.fromarray(STACK, engine=distributed_client).subtract(1.0)
    data = imgs.frames.display_array()
    assert data.shape == STACK.shape and data.chunks[0] == (1,) * len(STACK)
    np.testing.assert_array_equal(np.asarray(data[5]), STACK[5] - 1.0)


def test_the_cli_on_a_scheduler_address_writes_what_the_local_engine_writes(distributed_client,
                                                                           tmp_path, capsys):
    import tifffile

    address = distributed_client.scheduler.address
    written = {}
    for name, engine in (("local", "local"), ("cluster", address)):
        out = tmp_path / name
        code = cli.main(["run", "example:fish", "-p", "gaussian_filter:sigma=1", "-p", "std",
                         "-o", str(out), "--engine", engine])
        stdout, err = capsys.readouterr()
        assert code == 0, err
        written[name] = np.array([tifffile.imread(out / f) for f in sorted(os.listdir(out))])
    assert "dask.distributed" in stdout and address in stdout
    assert written["local"].shape == written["cluster"].shape
    np.testing.assert_allclose(written["cluster"], written["local"], rtol=1e-6)
    assert np.ptp(written["local"]) > 0


# ----------------------------------------------------------------- chunking (no cluster)
@pytest.mark.parametrize("lengths, align", [((8, 7, 7), 4), ((1,) * 22, 4), ((22,), 4),
                                            ((5, 5, 5, 5), 1), ((3, 3), 8), ((6, 6, 6, 5), 5)])
def test_aligned_chunks_cut_only_at_storage_chunk_boundaries(lengths, align):
    from napari_thunder.engines.distributed.chunking import aligned_chunks

    out = aligned_chunks(lengths, align)
    assert sum(out) == sum(lengths) and all(k > 0 for k in out)
    stops = np.cumsum(out)[:-1]
    assert all(s % align == 0 for s in stops)
    # each cut is the multiple of align nearest to a cut asked for
    asked = np.cumsum(lengths)[:-1]
    for s in stops:
        assert np.min(np.abs(asked - s)) <= align / 2


def test_default_chunks_pipeline_four_per_thread_but_not_tiny(monkeypatch):
    from napari_thunder.engines.distributed import chunking
    from napari_thunder.engines.distributed import client as clients

    monkeypatch.setattr(clients, "cluster_threads", lambda client: 2)
    monkeypatch.setattr(clients, "worker_memory", lambda client: 8 * 2**30)
    monkeypatch.setattr(chunking.local, "chunk_bytes_target", lambda: 64 * 2**20)  # not this machine's
    mib = 2**20
    assert chunking.frame_chunks(None, mib, 200) == (25,) * 8            # 4 per thread
    # 64 KiB frames: 4 per thread would be 512 KiB chunks; 1 MiB ones, down to 2 per thread
    assert chunking.frame_chunks(None, mib // 16, 60) == (15,) * 4
    assert chunking.frame_chunks(None, mib // 16, 1000) == (125,) * 8
    assert chunking.frame_chunks(None, mib, 200, npartitions=3) == (67, 67, 66)
