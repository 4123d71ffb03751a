"""Spark's temporary result folders (``napari-thunder-results-<pid>-*``):
gone after every action, streamed or not, finished, closed early or failed;
removed when the context stops while a stream is suspended, at interpreter
exit, and, after a driver was killed in the middle of a job, by the next
driver."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

from napari_thunder import images
from napari_thunder.engines.spark import results, settings

from .conftest import child_env


def ours():
    tmp = tempfile.gettempdir()
    return sorted(n for n in os.listdir(tmp)
                  if n.startswith(f"{results.RESULT_DIR_PREFIX}{os.getpid()}-"))


class FakeContext:
    master = "local[1]"

    def __init__(self):
        self.stopped = 0

    def stop(self):
        self.stopped += 1


@pytest.fixture
def through_files(monkeypatch):
    monkeypatch.setattr(settings, "FILE_RESULT_BYTES", 0)


def _boom(frame):
    if frame.flat[0] == 7:
        raise ValueError("bad frame 7")
    return frame


@pytest.mark.spark
def test_no_folder_left_by_any_action(spark_context, through_files):
    data = np.broadcast_to(np.arange(12, dtype=np.float64)[:, None, None], (12, 40, 40)).copy()
    imgs = images.fromarray(data, engine=spark_context, npartitions=4)
    np.testing.assert_array_equal(imgs.gaussian_filter(0).toarray(), data)
    np.testing.assert_allclose(imgs.mean().toarray(), data.mean(axis=0))
    stream = imgs.iter_chunks()
    next(stream)
    assert len(ours()) == 1  # the stream's folder, while it runs
    stream.close()
    assert ours() == []
    with pytest.raises(ValueError, match="bad frame 7"):
        imgs.map(_boom).toarray()
    time.sleep(0.3)
    assert ours() == []


def test_context_stop_removes_a_suspended_streams_folder():
    sc = FakeContext()
    manager = results._result_dir(sc)
    path = manager.__enter__()
    open(os.path.join(path, "unread.npy"), "wb").close()
    assert os.path.isdir(path)
    sc.stop()
    assert sc.stopped == 1 and not os.path.exists(path) and not os.path.exists(path + "-removing")
    manager.__exit__(None, None, None)  # the stream ends later: nothing left to do, no error
    sc.stop()
    assert sc.stopped == 2


def test_removal_outlasts_a_task_still_writing(tmp_path):
    folder = tmp_path / f"{results.RESULT_DIR_PREFIX}{os.getpid()}-x"
    folder.mkdir()
    handle = open(folder / "late.npy", "wb")  # a task that opened its file before the removal
    handle.write(b"\0" * 10)
    results._remove_dir(str(folder))
    handle.write(b"\0" * 10)
    handle.close()
    assert os.listdir(tmp_path) == []


def test_folders_of_dead_drivers_are_swept_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{results.RESULT_DIR_PREFIX}{dead.pid}-abc"
    stale.mkdir()
    (stale / "x.npy").write_bytes(b"1")
    half_removed = tmp_path / f"{results.RESULT_DIR_PREFIX}{dead.pid}-def-removing"
    half_removed.mkdir()
    live = tmp_path / f"{results.RESULT_DIR_PREFIX}{os.getppid()}-ghi"
    live.mkdir()
    mine = tmp_path / f"{results.RESULT_DIR_PREFIX}{os.getpid()}-jkl"
    mine.mkdir()
    other = tmp_path / "napari-thunder-results-unrelated"
    other.mkdir()
    removed = results.sweep_stale_result_dirs(str(tmp_path))
    assert sorted(removed) == sorted([str(stale), str(half_removed)])
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, mine.name, other.name])


_EXIT_CHILD = textwrap.dedent("""
    from napari_thunder.engines.spark import results

    class Ctx:
        master = "local[1]"
        def stop(self):
            pass

    manager = results._result_dir(Ctx())
    path = manager.__enter__()
    open(path + "/unread.npy", "wb").close()
    print(path, flush=True)
    raise SystemExit(0)  # the folder is still in use
""")


def test_interpreter_exit_removes_folders_in_use_and_first_use_sweeps_dead_ones():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = os.path.join(tempfile.gettempdir(), f"{results.RESULT_DIR_PREFIX}{dead.pid}-zz")
    os.mkdir(stale)
    done = subprocess.run([sys.executable, "-c", _EXIT_CHILD], env=child_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    path = done.stdout.strip()
    assert path.startswith(os.path.join(tempfile.gettempdir(), results.RESULT_DIR_PREFIX))
    assert not os.path.exists(path)
    assert not os.path.exists(stale)  # swept by the child's first result folder


_KILLED_DRIVER = textwrap.dedent("""
    import numpy as np, time
    from napari_thunder import images
    from napari_thunder.engines.spark import settings
    from napari_thunder.engines.spark.context import get_or_create_context

    settings.FILE_RESULT_BYTES = 0
    sc = get_or_create_context("local[1]", app_name="killed-driver")

    def slow(frame):
        time.sleep(0.2)
        return frame

    stream = images.fromarray(np.zeros((400, 8, 8)), engine=sc, npartitions=40).map(slow).iter_chunks()
    next(stream)
    print("streaming", flush=True)
    time.sleep(600)
""")


@pytest.mark.spark
def test_a_killed_drivers_folder_is_removed_by_the_next_driver(spark_context, through_files):
    child = subprocess.Popen([sys.executable, "-c", _KILLED_DRIVER], env=child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout.readline().strip() == "streaming"
        prefix = f"{results.RESULT_DIR_PREFIX}{child.pid}-"
        left = [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(prefix)]
        assert len(left) == 1
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert os.path.isdir(os.path.join(tempfile.gettempdir(), left[0]))  # nobody could clean up
    removed = results.sweep_stale_result_dirs()  # what the next driver's first action does
    assert os.path.join(tempfile.gettempdir(), left[0]) in removed
    assert not os.path.exists(os.path.join(tempfile.gettempdir(), left[0]))
