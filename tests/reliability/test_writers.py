"""Writers under attack: paths that name the working directory, failures in
the middle of a write (an exception in one chunk, a full disk, an unwritable
folder, Ctrl-C, SIGKILL), two writers on one target, a reader during a
write, file modes. The output path must always hold either nothing, the old
complete directory or the new complete directory, and no hidden temporary
folder may stay behind."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import tifffile

from napari_thunder import images
from napari_thunder.io import output_dir, writing

from .conftest import child_env, hidden_leftovers

WRITERS = ["totif", "topng", "tobinary"]


def stack(n=12, value=None, shape=(9, 11)):
    if value is None:
        return np.arange(n * shape[0] * shape[1], dtype=np.uint16).reshape((n,) + shape)
    return np.full((n,) + shape, value, np.uint16)


def read_back(path, writer):
    if writer == "totif":
        return images.fromtif(str(path)).toarray()
    if writer == "tobinary":
        return images.frombinary(str(path)).toarray()
    return images.frompng(str(path)).toarray()


# -- the working directory is never the output -----------------------------------------------------
@pytest.mark.parametrize("writer", WRITERS + ["tozarr"])
@pytest.mark.parametrize("path", ["", " ", ".", "./", "..", "file://", "file://."])
@pytest.mark.parametrize("overwrite", [False, True])
def test_empty_or_dot_path_never_touches_the_working_directory(tmp_path, monkeypatch, writer, path,
                                                                overwrite):
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("mine")
    (tmp_path / "work" / "also.txt").write_text("mine too")
    monkeypatch.chdir(work)
    imgs = images.fromarray(stack(3))
    with pytest.raises(ValueError, match="path|Output path"):
        getattr(imgs, writer)(path, overwrite=overwrite)
    assert sorted(os.listdir(work)) == ["keep.txt"]
    assert (work / "keep.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path / "work")) == ["also.txt", "sub"]
    assert os.path.samefile(os.getcwd(), work)


@pytest.mark.parametrize("writer", WRITERS)
def test_root_and_parents_of_the_working_directory_are_refused(tmp_path, monkeypatch, writer):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    imgs = images.fromarray(stack(2))
    for path in ("/", str(tmp_path), str(tmp_path / "a"), "../", "../..", str(work), os.getcwd() + "/"):
        with pytest.raises(ValueError, match="working directory|root directory"):
            getattr(imgs, writer)(path, overwrite=True)
    assert os.listdir(work) == [] and os.path.samefile(os.getcwd(), work)


def test_symlink_to_the_working_directory_is_refused(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    (tmp_path / "link").symlink_to(work)
    monkeypatch.chdir(work)
    with pytest.raises(ValueError, match="working directory"):
        images.fromarray(stack(2)).totif(str(tmp_path / "link"), overwrite=True)
    assert os.listdir(work) == ["keep.txt"] and (tmp_path / "link").is_symlink()


def test_overwrite_of_a_symlink_replaces_the_link_not_its_target(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("mine")
    (tmp_path / "out").symlink_to(real)
    images.fromarray(stack(2)).totif(str(tmp_path / "out"), overwrite=True)
    assert os.listdir(real) == ["keep.txt"]
    assert not (tmp_path / "out").is_symlink()
    np.testing.assert_array_equal(read_back(tmp_path / "out", "totif"), stack(2))
    assert hidden_leftovers(tmp_path) == []


# -- overwrite=False never touches existing data ---------------------------------------------------
@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("overwrite", [False, "no", 0, None, "False", np.array([True])])
def test_no_overwrite_leaves_existing_data_byte_for_byte(tmp_path, writer, overwrite):
    out = tmp_path / "out"
    images.fromarray(stack(4, 7)).totif(str(out))
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    stamp = os.stat(out).st_mtime_ns
    expected = writing.OutputExistsError if overwrite is False else TypeError
    with pytest.raises(expected, match="overwrite"):
        getattr(images.fromarray(stack(6, 9)), writer)(str(out), overwrite=overwrite)
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    assert os.stat(out).st_mtime_ns == stamp
    assert os.listdir(tmp_path) == ["out"]


# -- failures in the middle of a write -------------------------------------------------------------
class FailAt:
    """Per-image function: slow, raising on image ``bad`` (picklable for every engine)."""

    def __init__(self, bad, delay=0.002):
        self.bad = bad
        self.delay = delay

    def __call__(self, frame):
        time.sleep(self.delay)
        if int(frame.flat[0]) == self.bad:
            raise RuntimeError(f"chunk failure at image {self.bad}")
        return frame


def _numbered(n, shape=(16, 16)):
    return np.broadcast_to(np.arange(n, dtype=np.uint16)[:, None, None], (n,) + shape).copy()


@pytest.mark.parametrize("writer", WRITERS)
def test_exception_in_one_chunk_leaves_nothing_on_every_engine(tmp_path, engine, writer):
    data = _numbered(120)
    imgs = images.fromarray(data, engine=engine, npartitions=6).map(FailAt(75))
    with pytest.raises(RuntimeError, match="chunk failure at image 75"):
        getattr(imgs, writer)(str(tmp_path / "out"))
    assert os.listdir(tmp_path) == []
    time.sleep(0.5)  # tasks of a failed job still running cannot bring anything back
    assert os.listdir(tmp_path) == []


def _settles_empty(folder, expected=(), seconds=5.0):
    deadline = time.monotonic() + seconds
    while sorted(os.listdir(folder)) != sorted(expected) and time.monotonic() < deadline:
        time.sleep(0.05)
    return sorted(os.listdir(folder))


def test_zarr_failure_leaves_nothing_even_when_writers_recreate_folders(tmp_path, engine):
    """zarr's store creates missing folders, so chunk writes still running
    after the failure bring the temporary folder back: it is removed again
    in the background, and nothing is left after a few seconds."""
    imgs = images.fromarray(_numbered(120), engine=engine, npartitions=6).map(FailAt(75))
    with pytest.raises(RuntimeError, match="chunk failure at image 75"):
        imgs.tozarr(str(tmp_path / "out.zarr"), chunks=(1, 16, 16))
    assert _settles_empty(tmp_path) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_failed_overwrite_keeps_the_old_output_on_every_engine(tmp_path, engine, writer):
    out = tmp_path / "out"
    getattr(images.fromarray(stack(5, 3)), writer)(str(out))
    old = read_back(out, writer)
    imgs = images.fromarray(_numbered(120), engine=engine, npartitions=6).map(FailAt(100))
    with pytest.raises(RuntimeError):
        getattr(imgs, writer)(str(out), overwrite=True)
    np.testing.assert_array_equal(read_back(out, writer), old)
    time.sleep(0.3)
    assert os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize("writer", WRITERS)
def test_keyboard_interrupt_during_progress_leaves_nothing(tmp_path, writer):
    def progress(done, total):
        if done >= 10:
            raise KeyboardInterrupt

    imgs = images.fromarray(_numbered(80)).map(FailAt(-1))
    with pytest.raises(KeyboardInterrupt):
        getattr(imgs, writer)(str(tmp_path / "out"), progress=progress)
    time.sleep(0.3)
    assert os.listdir(tmp_path) == []


class FullAfter:
    """Frame writer standing in for a disk that fills up after ``k`` files."""

    def __init__(self, real, k):
        self.real = real
        self.k = k
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, frame, filepath, *options):
        with self.lock:
            self.calls += 1
            full = self.calls > self.k
        if full:
            with open(filepath, "wb") as handle:  # a partial file, as a real full disk leaves
                handle.write(b"\0" * 10)
            raise OSError(errno.ENOSPC, "No space left on device")
        self.real(frame, filepath, *options)


@pytest.mark.parametrize("fmt, writer", [("tif", "totif"), ("png", "topng"), ("bin", "tobinary")])
def test_disk_full_names_the_file_and_leaves_nothing(tmp_path, monkeypatch, fmt, writer):
    real, ext = writing._WRITERS[fmt]
    monkeypatch.setitem(writing._WRITERS, fmt, (FullAfter(real, 7), ext))
    with pytest.raises(OSError) as info:
        getattr(images.fromarray(_numbered(40)), writer)(str(tmp_path / "out"))
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename and info.value.filename.endswith(f".{ext}")
    assert os.path.basename(os.path.dirname(info.value.filename)).startswith(".out.writing-")
    assert "No space left on device" in str(info.value) and info.value.filename in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_real_full_disk_on_a_tiny_tmpfs(small_tmpfs, writer):
    data = np.random.default_rng(0).integers(0, 65535, (48, 64, 64), dtype=np.uint16)  # 384 KiB
    if writer == "topng":
        data = np.random.default_rng(0).integers(0, 255, (30, 128, 128), dtype=np.uint8)
    with pytest.raises(OSError) as info:
        getattr(images.fromarray(data), writer)(str(small_tmpfs / "out"))
    assert info.value.errno == errno.ENOSPC, info.value
    assert info.value.filename and str(small_tmpfs) in str(info.value)
    assert os.listdir(small_tmpfs) == []

    def used():
        st = os.statvfs(small_tmpfs)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    deadline = time.monotonic() + 5  # a file still open in a worker thread frees its space on close
    while used() > 8192 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert used() <= 8192, used()  # the space is given back


def test_unwritable_folder_names_the_output(tmp_path, monkeypatch):
    parent = tmp_path / "ro"
    parent.mkdir()
    if os.geteuid() == 0:  # root ignores permissions: the folder refuses through mkdir itself
        real_mkdir = os.mkdir

        def refuse(path, *args, **kwargs):
            if os.path.dirname(os.fspath(path)) == str(parent):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", refuse)
    else:
        parent.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as info:
            images.fromarray(stack(3)).totif(str(parent / "out"))
    finally:
        parent.chmod(0o755)
    assert str(parent / "out") in str(info.value)
    assert os.listdir(parent) == []


# -- file modes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_files_and_folder_follow_the_umask(tmp_path, writer, umask):
    old = os.umask(umask)
    try:
        getattr(images.fromarray(stack(3)), writer)(str(tmp_path / "out"))
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask
    names = os.listdir(out)
    assert names
    for name in names:
        assert os.stat(out / name).st_mode & 0o777 == 0o666 & ~umask, name


# -- two writers, and a reader ---------------------------------------------------------------------
def _race(tmp_path, overwrite, writer="totif", n=60):
    out = tmp_path / "out"
    barrier = threading.Barrier(2)
    results = {}

    def write(value):
        imgs = images.fromarray(stack(n, value).astype(np.uint8)).map(FailAt(-1, delay=0.003))
        barrier.wait()
        try:
            getattr(imgs, writer)(str(out), overwrite=overwrite)
            results[value] = None
        except BaseException as exc:  # noqa: B036 - recorded for the assertions
            results[value] = exc

    threads = [threading.Thread(target=write, args=(v,)) for v in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out, results


@pytest.mark.parametrize("writer", WRITERS)
def test_two_writers_on_one_new_path_one_wins_the_other_raises(tmp_path, writer):
    out, results = _race(tmp_path, overwrite=False, writer=writer)
    errors = [exc for exc in results.values() if exc is not None]
    assert len(results) == 2 and len(errors) == 1, results
    assert isinstance(errors[0], writing.OutputExistsError)
    winner = next(v for v, exc in results.items() if exc is None)
    np.testing.assert_array_equal(read_back(out, writer), stack(60, winner).astype(np.uint8))
    assert os.listdir(tmp_path) == ["out"]


def test_two_overwriters_leave_one_complete_output(tmp_path):
    out = tmp_path / "out"
    images.fromarray(stack(60, 9)).totif(str(out))
    out, results = _race(tmp_path, overwrite=True)
    assert results == {1: None, 2: None}
    back = read_back(out, "totif")
    assert back.shape == (60, 9, 11)
    assert len(np.unique(back)) == 1 and back.flat[0] in (1, 2)
    assert os.listdir(tmp_path) == ["out"]


def test_a_reader_during_a_write_sees_nothing_or_everything(tmp_path):
    out = tmp_path / "out"
    seen = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            try:
                seen.append(read_back(out, "totif").shape)
            except (FileNotFoundError, ValueError):
                seen.append(None)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        images.fromarray(stack(80, 5)).map(FailAt(-1, delay=0.002)).totif(str(out))
        time.sleep(0.05)
    finally:
        stop.set()
        reader.join(30)
    assert set(seen) <= {None, (80, 9, 11)} and (80, 9, 11) in seen


def test_a_reader_during_an_overwrite_always_sees_complete_files(tmp_path):
    out = tmp_path / "out"
    images.fromarray(stack(40, 1)).totif(str(out))
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                back = read_back(out, "totif")
            except (FileNotFoundError, ValueError):  # a file deleted between listing and reading
                continue
            seen.append((back.shape, tuple(np.unique(back.reshape(40, -1), axis=1).shape)))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3):
            images.fromarray(stack(40, 2)).totif(str(out), overwrite=True)
    finally:
        stop.set()
        reader.join(30)
    assert seen and all(shape == (40, 9, 11) and uniq == (40, 1) for shape, uniq in seen)
    assert os.path.isdir(out) and os.listdir(tmp_path) == ["out"]


# -- processes killed mid-write --------------------------------------------------------------------
_SLOW_WRITE = textwrap.dedent("""
    import sys, time
    import numpy as np
    from napari_thunder import images

    def slow(frame):
        time.sleep(0.05)
        return frame

    images.fromarray(np.zeros((400, 8, 8), np.uint16)).map(slow).{writer}(sys.argv[1])
""")


def _start_and_kill_mid_write(tmp_path, writer, sig):
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITE.format(writer=writer), str(out)],
                             env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            temps = [n for n in os.listdir(tmp_path) if n.startswith(".out.writing-")]
            if temps and len(os.listdir(tmp_path / temps[0])) >= 3:
                break
            assert child.poll() is None, child.communicate()
            time.sleep(0.02)
        else:
            pytest.fail("the writer never started writing")
        child.send_signal(sig)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return out, child


@pytest.mark.parametrize("writer", ["totif", "tobinary"])
def test_sigkill_mid_write_leaves_no_output_and_the_next_write_sweeps_up(tmp_path, writer):
    out, child = _start_and_kill_mid_write(tmp_path, writer, signal.SIGKILL)
    assert child.returncode == -signal.SIGKILL
    assert not out.exists()
    stale = hidden_leftovers(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".out.writing-")  # nobody could remove it
    getattr(images.fromarray(stack(3)), writer)(str(out))
    np.testing.assert_array_equal(read_back(out, writer), stack(3))
    assert os.listdir(tmp_path) == ["out"]


def test_sigint_mid_write_leaves_nothing(tmp_path):
    out, child = _start_and_kill_mid_write(tmp_path, "totif", signal.SIGINT)
    assert child.returncode != 0
    time.sleep(0.2)
    assert os.listdir(tmp_path) == []


def test_live_writers_temporary_folders_are_not_swept(tmp_path):
    """Only a dead process' folder is removed: another live writer's one stays."""
    live = tmp_path / f".out.writing-{output_dir._host_tag()}-{os.getppid()}-0123abcd"
    live.mkdir()
    other_host = tmp_path / ".out.writing-elsewhere-999999999-0123abcd"
    other_host.mkdir()
    images.fromarray(stack(2)).totif(str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path)) == sorted(["out", live.name, other_host.name])


def test_block_writer_names_the_file_on_any_os_error(tmp_path):
    writer = writing.BlockWriter(str(tmp_path / "missing"), "bin")
    with pytest.raises(FileNotFoundError) as info:
        writer(stack(2), 0)
    assert info.value.filename == str(tmp_path / "missing" / "image-00000.bin")


def test_tif_written_has_exact_values(tmp_path):
    """The writer's output is checked against tifffile, not only our own reader."""
    data = stack(4)
    images.fromarray(data).totif(str(tmp_path / "out"))
    files = sorted(os.listdir(tmp_path / "out"))
    np.testing.assert_array_equal(np.array([tifffile.imread(tmp_path / "out" / f) for f in files]), data)
