"""Statistics and localcorr (one streaming pass) vs numpy and Thunder's
per-pixel algorithm."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_thunder import images

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("stat", ["mean", "var", "std", "sum", "min", "max"])
def test_statistics_match_numpy(stat, dtype, engine):
    stack = (RNG.random((11, 6, 7)) * 200).astype(dtype)
    out = getattr(images.fromarray(stack, engine=engine), stat)()
    expected = getattr(stack, stat)(axis=0, keepdims=True)
    assert out.shape == (1, 6, 7)
    assert out.dtype == expected.dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.toarray(), expected[0], rtol=rtol)


def test_statistics_volumes_and_many_chunks(engine):
    stack = RNG.normal(1000, 3, (97, 4, 5, 3))  # large offset: a naive sum of squares loses digits
    imgs = images.fromarray(stack, engine=engine)
    np.testing.assert_allclose(imgs.var().toarray(), stack.var(axis=0), rtol=1e-9)
    np.testing.assert_allclose(imgs.std().toarray(), stack.std(axis=0), rtol=1e-9)
    np.testing.assert_allclose(imgs.mean().toarray(), stack.mean(axis=0), rtol=1e-12)


def test_int16_sum_is_int64_and_exact(engine):
    stack = np.full((300, 2, 2), 30000, dtype=np.int16)
    out = images.fromarray(stack, engine=engine).sum()
    assert out.dtype == np.int64
    assert out.toarray()[0, 0] == 9_000_000


def reference_localcorr(stack, neighborhood):
    """Thunder's algorithm: blur every image, then corrcoef per pixel."""
    w = 2 * neighborhood + 1
    blurred = np.stack([ndi.uniform_filter(im.astype(np.float64), w, mode="reflect")
                        for im in stack])
    out = np.empty(stack.shape[1:])
    for idx in np.ndindex(*stack.shape[1:]):
        a = stack[(slice(None),) + idx].astype(np.float64)
        b = blurred[(slice(None),) + idx]
        out[idx] = np.corrcoef(a, b)[0, 1]
    return out


@pytest.mark.parametrize("neighborhood", [1, 2])
def test_localcorr_matches_per_pixel_corrcoef(neighborhood, engine):
    stack = RNG.random((30, 9, 11))
    stack[:, 2:5, 3:6] += RNG.random((30, 1, 1)) * 3  # a correlated "cell"
    out = images.fromarray(stack, engine=engine).localcorr(neighborhood)
    assert isinstance(out, np.ndarray) and out.shape == (9, 11) and out.dtype == np.float64
    np.testing.assert_allclose(out, reference_localcorr(stack, neighborhood), rtol=1e-9, atol=1e-12)


def test_localcorr_volume_and_integers(engine):
    stack = RNG.integers(0, 500, (25, 5, 6, 4)).astype(np.uint16)
    out = images.fromarray(stack, engine=engine).localcorr(1)
    np.testing.assert_allclose(out, reference_localcorr(stack, 1), rtol=1e-9, atol=1e-12)


def test_localcorr_constant_pixel_is_nan():
    stack = RNG.random((10, 4, 4))
    stack[:, 0, 0] = 5.0
    out = images.fromarray(stack).localcorr(1)
    assert np.isnan(out[0, 0]) and np.isfinite(out[2, 2])


def test_localcorr_bad_neighborhood():
    imgs = images.fromarray(np.zeros((3, 4, 4)))
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="neighborhood"):
            imgs.localcorr(bad)
    with pytest.raises(TypeError, match="neighborhood"):
        imgs.localcorr("2")


def test_localcorr_finds_cells_in_mouse_example():
    mouse = images.fromexample("mouse")
    corr = mouse.localcorr(2)
    movie = mouse.toarray().astype(float)
    activity = movie.std(axis=0)
    cells = activity > np.percentile(activity, 90)
    background = activity < np.percentile(activity, 50)
    assert np.nanmean(corr[cells]) > np.nanmean(corr[background]) + 0.2


def test_localcorr_never_mixes_channels(engine):
    """Each channel's localcorr is that channel's alone: the box spans y and x, never c."""
    rng = np.random.default_rng(4)
    data = rng.normal(size=(20, 2, 7, 8))                            # (t, c, y, x)
    data[:, 0, 2:5, 2:5] += rng.normal(size=(20, 1, 1)) * 3          # a cell in channel 0 only
    imgs = images.fromarray(data, engine=engine).with_metadata(names=("t", "c", "y", "x"))

    def reference(width):
        out = np.empty(data.shape[1:])
        for c in range(2):
            movie = data[:, c]
            blurred = np.stack([ndi.uniform_filter(f, width, mode="reflect") for f in movie])
            for y, x in np.ndindex(*movie.shape[1:]):
                out[c, y, x] = np.corrcoef(movie[:, y, x], blurred[:, y, x])[0, 1]
        return out

    np.testing.assert_allclose(imgs.localcorr(1), reference(3), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(imgs.localcorr(size=3), reference(3), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(imgs.localcorr(size=(3, 5)), reference((3, 5)), rtol=1e-9, atol=1e-12)
