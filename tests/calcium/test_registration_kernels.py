"""Registration kernels: known shifts recovered, peer = skimage's phase_cross_correlation."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder.kernels import piecewise_registration as piecewise
from napari_thunder.kernels import registration as reg
from napari_thunder.sample_data.motion import calcium_movie


@pytest.fixture(scope="module")
def movie():
    return calcium_movie(n=60, shape=(128, 128), ncells=20, seed=3)


def _moved(ref, shifts):
    spec = np.fft.fftn(ref)
    return np.stack([np.fft.ifftn(ndi.fourier_shift(spec, -np.asarray(s))).real for s in shifts])


def test_integer_and_subpixel_shifts_recovered_on_noisy_movie(movie):
    ref = movie.still.mean(0)
    shifts = reg.estimate_shifts(movie.movie, reg.reference_spectrum(ref))
    assert shifts.shape == (60, 2)
    assert np.abs(shifts - movie.shifts).max() <= 0.1


def test_integer_shifts_exact_and_same_as_skimage():
    from skimage.registration import phase_cross_correlation

    rng = np.random.default_rng(1)
    ref = ndi.gaussian_filter(rng.normal(size=(64, 80)), 2) * 100
    truth = np.array([[0, 0], [3, -2], [-5, 4], [7, 7], [-1, -6.0]])
    frames = _moved(ref, truth)
    ours = reg.estimate_shifts(frames, reg.reference_spectrum(ref, normalization="phase", smooth=0,
                                                              taper=0), upsample=1)
    np.testing.assert_allclose(ours, truth, atol=1e-9)
    peer = np.array([phase_cross_correlation(ref, f, upsample_factor=1)[0] for f in frames])
    np.testing.assert_allclose(ours, peer)


def test_subpixel_matches_skimage_without_taper_or_smoothing():
    from skimage.registration import phase_cross_correlation

    rng = np.random.default_rng(2)
    ref = ndi.gaussian_filter(rng.normal(size=(64, 64)), 2) * 100
    truth = rng.uniform(-5, 5, size=(8, 2))
    frames = _moved(ref, truth) + rng.normal(scale=0.05, size=(8, 64, 64))
    spec = reg.reference_spectrum(ref, dtype=np.float64, smooth=0, taper=0)
    ours = reg.estimate_shifts(frames, spec, upsample=20)
    peer = np.array([phase_cross_correlation(ref, f, upsample_factor=20)[0] for f in frames])
    np.testing.assert_allclose(ours, peer, atol=1e-9)
    assert np.abs(ours - truth).max() <= 0.05


def test_volumes():
    rng = np.random.default_rng(4)
    ref = ndi.gaussian_filter(rng.normal(size=(16, 40, 40)), 2) * 100
    truth = rng.uniform(-3, 3, size=(4, 3))
    frames = _moved(ref, truth)
    ours = reg.estimate_shifts(frames, reg.reference_spectrum(ref, smooth=0, taper=0))
    assert np.abs(ours - truth).max() <= 0.1


def test_max_shift_limits_the_search():
    rng = np.random.default_rng(5)
    ref = ndi.gaussian_filter(rng.normal(size=(64, 64)), 2) * 100
    frames = _moved(ref, [[6, -6], [1, 1]])
    got = reg.estimate_shifts(frames, reg.reference_spectrum(ref, taper=0), max_shift=3)
    assert np.all(np.abs(got) <= 3)
    np.testing.assert_allclose(got[1], [1, 1], atol=0.05)


def test_apply_shifts_fourier_equals_scipy_fourier_shift_and_borders():
    rng = np.random.default_rng(6)
    # band-limited frames: the Nyquist row/column of an even axis has no energy
    # (a fractional shift of it is ambiguous; the half-spectrum transform keeps its real part)
    frames = ndi.gaussian_filter(rng.normal(size=(3, 32, 32)), (0, 2, 2), mode="wrap")
    shifts = np.array([[1.5, -2.25], [0, 0], [-3, 2]])
    out = reg.apply_shifts(frames, shifts, border="wrap")
    for k in range(3):
        expected = np.fft.ifftn(ndi.fourier_shift(np.fft.fftn(frames[k]), shifts[k])).real
        np.testing.assert_allclose(out[k], expected, atol=1e-5 * np.abs(expected).max())
    zero = reg.apply_shifts(frames, shifts, border="constant", cval=-7)
    assert np.all(zero[0, :2] == -7) and np.all(zero[0, :, -3:] == -7)
    np.testing.assert_allclose(zero[0, 2:, :-3], out[0, 2:, :-3])
    near = reg.apply_shifts(frames, shifts, border="nearest")
    np.testing.assert_allclose(near[2, -3:], np.broadcast_to(near[2, -4], (3, 32)))


def test_apply_shifts_spline_equals_ndimage_shift():
    rng = np.random.default_rng(7)
    frames = rng.normal(size=(2, 20, 24)).astype(np.float32)
    shifts = np.array([[0.5, 1.25], [-2, 0.75]])
    for name, order in (("linear", 1), ("cubic", 3)):
        out = reg.apply_shifts(frames, shifts, interpolation=name)
        assert out.dtype == np.float32
        for k in range(2):
            expected = ndi.shift(frames[k], shifts[k], order=order, mode="constant")
            np.testing.assert_allclose(out[k], expected, atol=1e-5)


def test_register_block_equals_estimate_then_apply(movie):
    spec = reg.reference_spectrum(movie.still.mean(0))
    out, shifts = reg.register_block(movie.movie[:10], spec, return_shifts=True)
    np.testing.assert_array_equal(shifts, reg.estimate_shifts(movie.movie[:10], spec))
    np.testing.assert_allclose(out, reg.apply_shifts(movie.movie[:10], shifts), rtol=1e-5, atol=1e-2)
    assert out.dtype == np.float32
    # registered frames line up with the still scene (away from the borders)
    inner = (slice(None), slice(8, -8), slice(8, -8))
    raw_err = np.abs(movie.movie[:10].astype(float) - movie.still[:10])[inner].mean()
    reg_err = np.abs(out - movie.still[:10])[inner].mean()
    assert reg_err < 0.8 * raw_err


def test_piecewise_recovers_a_smooth_field():
    m = calcium_movie(n=20, shape=(128, 128), nonrigid=2.0, seed=8)
    ref = m.still.mean(0)
    starts, size = piecewise.piecewise_grid(ref.shape, 48)
    specs = piecewise.patch_spectra(ref, 48)
    out, patch = piecewise.piecewise_register_block(m.movie, reg.reference_spectrum(ref), specs, starts, size,
                                              max_deviation=3, return_shifts=True)
    fields = piecewise.shift_fields(patch, starts, size, ref.shape)
    err = np.abs(fields - m.fields)
    assert err.mean() <= 0.25
    assert err[..., 16:-16, 16:-16].max() <= 0.8
    rigid = reg.register_block(m.movie, reg.reference_spectrum(ref))
    inner = (slice(None), slice(10, -10), slice(10, -10))
    assert np.abs(out - m.still)[inner].mean() < np.abs(rigid - m.still)[inner].mean()


def test_bad_arguments():
    with pytest.raises(ValueError, match="normalization"):
        reg.reference_spectrum(np.zeros((8, 8)), normalization="bogus")
    with pytest.raises(ValueError, match="smooth"):
        reg.reference_spectrum(np.zeros((8, 8)), smooth=-1)
