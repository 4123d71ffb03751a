"""Bundled example datasets: files, determinism, loaders, localcorr finds the cells."""

import filecmp
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_thunder import sample_data

#: the generator lives outside the package (tools/, not installed): load it from the checkout
GENERATOR = Path(__file__).resolve().parents[1] / "tools" / "make_samples.py"


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_samples = _load_generator()


def _mouse_from_files(folder):
    """Read the mouse movie straight from the bytes (independent of the API)."""
    conf = json.load(open(os.path.join(folder, "conf.json")))
    files = sorted(f for f in os.listdir(folder) if f.endswith(".bin"))
    frames = [
        np.fromfile(os.path.join(folder, f), dtype=conf["dtype"]).reshape(conf["dims"], order="F")
        for f in files
    ]
    return np.array(frames)


def _fish_from_files(folder):
    files = sorted(f for f in os.listdir(folder) if f.endswith(".tif"))
    return np.array([tifffile.imread(os.path.join(folder, f)) for f in files])


def _reference_localcorr(stack, n):
    """Pearson correlation of each pixel with its (2n+1)-box mean, float64."""
    from scipy.ndimage import uniform_filter

    a = stack.astype(np.float64)
    b = uniform_filter(a, size=[1] + [2 * n + 1] * (a.ndim - 1), mode="reflect")
    a = a - a.mean(0)
    b = b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def test_path_gives_existing_folders():
    assert set(sample_data.EXAMPLES) >= {"mouse", "fish"}
    for name in sample_data.EXAMPLES:
        folder = sample_data.path(name)
        assert os.path.isabs(folder)
        assert os.path.isdir(folder)
        assert os.path.basename(folder) == name


@pytest.mark.parametrize("bad", ["cat", "", None, "MOUSE"])
def test_path_unknown_name_lists_options(bad):
    with pytest.raises(ValueError, match="mouse") as info:
        sample_data.path(bad)
    assert "fish" in str(info.value)


def test_mouse_files_shape_dtype_order():
    folder = sample_data.path("mouse")
    assert json.load(open(os.path.join(folder, "conf.json"))) == {"dims": [64, 64], "dtype": "int16"}
    bins = sorted(f for f in os.listdir(folder) if f.endswith(".bin"))
    assert bins == [f"image-{i:05d}.bin" for i in range(20)]
    assert all(os.path.getsize(os.path.join(folder, f)) == 64 * 64 * 2 for f in bins)
    movie = _mouse_from_files(folder)
    assert movie.shape == (20, 64, 64) and movie.dtype == np.int16
    # the bytes are the generator's frames in Fortran order
    np.testing.assert_array_equal(movie, make_samples.make_mouse())
    raw = np.fromfile(os.path.join(folder, bins[0]), dtype=np.int16)
    np.testing.assert_array_equal(raw, movie[0].T.ravel())
    assert not np.array_equal(movie[0], movie[0].T)  # the order actually matters
    # realistic ranges: dark level ~100, cells brighter, int16 without clipping
    assert 90 <= movie.min() < 130 and 300 < movie.max() < 2000


def test_fish_files_shape_dtype():
    folder = sample_data.path("fish")
    tifs = sorted(f for f in os.listdir(folder) if f.endswith(".tif"))
    assert tifs == [f"image-{i:05d}.tif" for i in range(20)]
    with tifffile.TiffFile(os.path.join(folder, tifs[0])) as tif:
        assert len(tif.pages) == 2
        assert tif.pages[0].shape == (76, 87)
    fish = _fish_from_files(folder)
    assert fish.shape == (20, 2, 76, 87) and fish.dtype == np.uint8
    np.testing.assert_array_equal(fish, make_samples.make_fish())
    assert fish.max() < 255  # no saturation
    # brain brighter than the outside, deeper plane slightly smaller
    mask0 = make_samples.fish_brain_mask((76, 87), 0.0)
    mask1 = make_samples.fish_brain_mask((76, 87), 1.0)
    assert fish[:, 0][:, mask0].mean() > 3 * fish[:, 0][:, ~mask0].mean()
    assert mask1.sum() < mask0.sum()


def test_total_size_is_small():
    total = 0
    for name in sample_data.EXAMPLES:
        folder = sample_data.path(name)
        total += sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    assert total < 1_000_000


def test_generator_defaults_to_the_package_folder():
    assert os.path.samefile(make_samples.PACKAGE_DATA, os.path.dirname(sample_data.path("mouse")))


def test_generator_is_not_in_the_package():
    folder = Path(sample_data.__file__).parent
    # motion.py makes the synthetic calcium movie in memory (no files); the generator of the
    # bundled files stays in tools/
    assert sorted(p.name for p in folder.rglob("*.py")) == ["__init__.py", "motion.py"]


def test_generator_is_deterministic(tmp_path):
    make_samples.main(["--out", str(tmp_path)])
    for name in ("mouse", "fish"):
        bundled = sample_data.path(name)
        fresh = tmp_path / name
        names = sorted(os.listdir(bundled))
        assert sorted(os.listdir(fresh)) == names
        match, mismatch, errors = filecmp.cmpfiles(bundled, fresh, names, shallow=False)
        assert mismatch == [] and errors == []


def test_other_seed_gives_other_data():
    a = make_samples.make_mouse()
    b = make_samples.make_mouse(seed=1)
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_reference_localcorr_separates_cells_from_background():
    """On the raw data (no API): cells correlate with their neighbourhood,
    background does not."""
    movie, footprints = make_samples.make_mouse(return_truth=True)
    assert 10 <= len(footprints) <= 20
    corr = _reference_localcorr(movie, 2)
    cells = footprints.max(0) > 0.5
    background = footprints.max(0) < 0.01
    assert corr[cells].mean() > 0.9
    assert np.percentile(corr[cells], 5) > 0.8
    assert corr[background].mean() < 0.35


# --------------------------------------------------------------- through the API
def test_fromexample_mouse_matches_files():
    from napari_thunder import images

    imgs = images.fromexample("mouse")
    assert imgs.shape == (20, 64, 64) and imgs.dtype == np.int16
    np.testing.assert_array_equal(imgs.toarray(), _mouse_from_files(sample_data.path("mouse")))


def test_fromexample_fish_matches_files():
    from napari_thunder import images

    imgs = images.fromexample("fish")
    assert imgs.shape == (20, 2, 76, 87) and imgs.dtype == np.uint8
    np.testing.assert_array_equal(imgs.toarray(), _fish_from_files(sample_data.path("fish")))


def test_api_localcorr_finds_mouse_cells():
    from napari_thunder import images

    movie, footprints = make_samples.make_mouse(return_truth=True)
    corr = images.fromexample("mouse").localcorr(neighborhood=2)
    assert corr.shape == (64, 64)
    np.testing.assert_allclose(corr, _reference_localcorr(movie, 2), rtol=1e-9, atol=1e-12)
    cells = footprints.max(0) > 0.5
    background = footprints.max(0) < 0.01
    assert corr[cells].mean() > 0.9
    assert corr[background].mean() < 0.35


def test_api_localcorr_fish_volume():
    from napari_thunder import images

    fish = _fish_from_files(sample_data.path("fish"))
    corr = images.fromexample("fish").localcorr(neighborhood=2)
    assert corr.shape == (2, 76, 87)
    np.testing.assert_allclose(corr, _reference_localcorr(fish, 2), rtol=1e-9, atol=1e-12, equal_nan=True)
    # active neurons stand out: the top percentile is far above the median
    assert np.nanpercentile(corr, 99) > 0.8 > 0.3 > np.nanmedian(corr)
