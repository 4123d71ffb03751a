"""The writers as a GUI user meets them: file modes, a responsive window while
saving, one overwrite question (napari's dialog), clear refusals from scripts."""

import os
import stat
import time

import numpy as np
import pytest
import tifffile

PLUGIN = "napari-thunder"


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _save_through_dialog(viewer, path, monkeypatch, title="multipage TIF"):
    """Press File > Save All Layers, type ``path`` and pick our entry ``title``
    (napari's own dialog code runs; only the Qt file dialog is answered)."""
    from napari.plugins import _npe2
    from qtpy.QtWidgets import QFileDialog

    ext_str, _ = _npe2.file_extensions_string_for_layers(list(viewer.layers))
    entries = ext_str.split(";;")
    chosen = [e for e in entries if e.startswith(f"Thunder {title} (")]
    assert len(chosen) == 1, entries
    assert not any(e.startswith("Thunder Thunder") for e in entries)   # no doubled name
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (str(path), chosen[0]))
    viewer.window._qt_viewer._save_layers_dialog(selected=False)


def test_saved_tif_has_the_usual_mode(make_napari_viewer_proxy, tmp_path, umask_022):
    viewer = make_napari_viewer_proxy()
    viewer.add_image(np.arange(24, dtype=np.uint16).reshape(2, 3, 4), name="s")
    out = tmp_path / "s.tif"
    viewer.layers.save(str(out), selected=False, plugin=PLUGIN)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644          # not mkstemp's 0600
    (tmp_path / "plain").write_bytes(b"x")                     # what open() gives here
    assert stat.S_IMODE(out.stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def test_dialog_confirmed_overwrite_replaces_once(make_napari_viewer_proxy, tmp_path, monkeypatch):
    viewer = make_napari_viewer_proxy()
    first = np.zeros((2, 5, 6), np.uint16)
    viewer.add_image(first, name="s")
    out = tmp_path / "s.tif"
    _save_through_dialog(viewer, out, monkeypatch)
    np.testing.assert_array_equal(tifffile.imread(out), first)
    viewer.layers["s"].data = second = np.full((2, 5, 6), 7, np.uint16)
    # Qt's dialog asked "replace?" and the user said yes: the writer replaces the file
    _save_through_dialog(viewer, out, monkeypatch)
    np.testing.assert_array_equal(tifffile.imread(out), second)
    assert sorted(os.listdir(tmp_path)) == ["s.tif"]           # no temporary left


def test_dialog_confirmed_overwrite_of_a_png_folder(make_napari_viewer_proxy, tmp_path, monkeypatch):
    from napari_thunder import images

    viewer = make_napari_viewer_proxy()
    viewer.add_image(np.zeros((3, 4, 5), np.uint8), name="p")
    out = tmp_path / "pngs"
    _save_through_dialog(viewer, out, monkeypatch, title="directory of PNGs")
    viewer.layers["p"].data = np.full((3, 4, 5), 9, np.uint8)
    _save_through_dialog(viewer, out, monkeypatch, title="directory of PNGs")
    np.testing.assert_array_equal(images.frompng(str(out)).toarray(), np.full((3, 4, 5), 9))


def test_script_save_onto_existing_output_is_refused_in_plain_words(make_napari_viewer_proxy,
                                                                   tmp_path):
    viewer = make_napari_viewer_proxy()
    viewer.add_image(np.zeros((2, 3, 3), np.uint8), name="s")
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError) as info:
        viewer.layers.save(str(tmp_path / "taken"), selected=False,
                           plugin=f"{PLUGIN}.write_png_dir")
    message = str(info.value)
    assert message.startswith("taken already exists")          # the reason first, not the path
    assert "overwrite is false" not in message
    assert "choose another name" in message


def test_gui_stays_responsive_while_saving(make_napari_viewer_proxy, tmp_path):
    """A slow (lazy) layer is written in a thread: Qt keeps processing events
    (timer ticks) during the save, and a progress bar counts the images."""
    import dask.array as da
    from qtpy.QtCore import QTimer

    def slow(block):
        time.sleep(0.05)
        return block

    frames = 24
    lazy = da.map_blocks(slow, da.ones((frames, 64, 64), dtype=np.float32, chunks=(1, 64, 64)),
                         dtype=np.float32)
    viewer = make_napari_viewer_proxy()
    viewer.add_image(lazy, name="lazy", contrast_limits=(0, 2))
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    t0 = time.monotonic()
    try:
        viewer.layers.save(str(tmp_path / "lazy.tif"), selected=False, plugin=PLUGIN)
    finally:
        timer.stop()
    elapsed = time.monotonic() - t0
    assert elapsed > 0.3
    during = [t for t in ticks if t - t0 < elapsed]
    assert len(during) >= 5, (len(during), elapsed)            # the event loop ran
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "lazy.tif"),
                                  np.ones((frames, 64, 64), np.float32))


def test_run_with_progress_counts_and_reraises(qtbot):
    from napari_thunder.plugin.writer import run_with_progress

    def work(counter):
        for _ in range(5):
            counter[0] += 1
        return "ok"

    assert run_with_progress(work, 5, "x") == "ok"

    def boom(counter):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_with_progress(boom, 1, "x")
