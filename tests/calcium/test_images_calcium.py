"""Images.register / summary images / extract_traces on every engine."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from napari_thunder import images
from napari_thunder.data.registration import CrossCorr
from napari_thunder.kernels import piecewise_registration as piecewise
from napari_thunder.kernels import registration as reg
from napari_thunder.kernels import summary
from napari_thunder.sample_data.motion import calcium_movie


@pytest.fixture(scope="module")
def movie():
    return calcium_movie(n=40, shape=(128, 128), ncells=20, seed=3)


def _load(array, engine):
    return images.fromarray(array, engine=engine, npartitions=3 if engine is not None else None)


def test_register_recovers_known_shifts_on_every_engine(movie, engine):
    imgs = _load(movie.movie, engine)
    ref = movie.still.mean(0)
    out, shifts = imgs.register(reference=ref, return_shifts=True)
    assert shifts.shape == (40, 2)
    assert np.abs(shifts - movie.shifts).max() <= 0.1
    # peer: skimage's phase_cross_correlation run directly (same whitening, no taper/smoothing)
    from skimage.registration import phase_cross_correlation

    plain, _ = imgs[:5].register(reference=ref, return_shifts=True, smooth=0)
    spec = reg.reference_spectrum(ref, smooth=0, taper=0)
    ours = reg.estimate_shifts(movie.movie[:5], spec)
    peer = np.array([phase_cross_correlation(ref, f, upsample_factor=20)[0] for f in movie.movie[:5]])
    np.testing.assert_allclose(ours, peer, atol=0.051)
    got = out.toarray()
    assert got.dtype == np.float32 and got.shape == movie.movie.shape
    np.testing.assert_allclose(got, reg.apply_shifts(movie.movie, shifts), rtol=1e-5, atol=1e-2)
    lazy = imgs.register(reference=ref).toarray()
    np.testing.assert_allclose(lazy, got, rtol=1e-5, atol=1e-2)


def test_default_reference_is_the_iterated_mean(movie):
    imgs = images.fromarray(movie.movie)
    _, shifts = imgs.register(return_shifts=True, nreference=30)
    # relative to the truth up to the reference's own (constant) position
    rel = (shifts - shifts.mean(0)) - (movie.shifts - movie.shifts.mean(0))
    assert np.abs(rel).max() <= 0.15
    _, once = imgs.register(return_shifts=True, nreference=30, niter=0)
    rel0 = (once - once.mean(0)) - (movie.shifts - movie.shifts.mean(0))
    assert np.abs(rel).mean() <= np.abs(rel0).mean() + 1e-9


def test_stream_register_equals_register(movie, engine):
    imgs = images.fromarray(movie.movie[:12], engine=engine, npartitions=3)
    ref = movie.still.mean(0)
    full, shifts = imgs.register(reference=ref, return_shifts=True)
    parts = list(imgs.stream_register(reference=ref))
    assert [p[0] for p in parts] == sorted(p[0] for p in parts)
    np.testing.assert_allclose(np.concatenate([p[3] for p in parts]), shifts)
    np.testing.assert_allclose(np.concatenate([p[2] for p in parts]), full.toarray(), rtol=1e-5, atol=1e-2)


def test_piecewise_on_images():
    m = calcium_movie(n=12, shape=(128, 128), nonrigid=2.0, seed=8)
    imgs = images.fromarray(m.movie)
    ref = m.still.mean(0)
    out, patch = imgs.register(reference=ref, method="piecewise", block_size=48, max_deviation=3,
                               return_shifts=True)
    starts, size = piecewise.piecewise_grid(ref.shape, 48)
    assert patch.shape == (12, len(starts[0]), len(starts[1]), 2)
    fields = piecewise.shift_fields(patch, starts, size, ref.shape)
    assert np.abs(fields - m.fields).mean() <= 0.25
    lazy = imgs.register(reference=ref, method="piecewise", block_size=48, max_deviation=3).toarray()
    np.testing.assert_allclose(lazy, out.toarray(), rtol=1e-5, atol=1e-2)


def test_crosscorr_model(movie):
    imgs = images.fromarray(movie.movie[:10])
    ref = movie.still.mean(0)
    model = CrossCorr().fit(imgs, ref)
    assert set(model.transformations) == {(i,) for i in range(10)}
    np.testing.assert_allclose(model.transformations[(3,)], movie.shifts[3], atol=0.1)
    np.testing.assert_allclose(model.transform(imgs).toarray(),
                               imgs.register(reference=ref).toarray(), rtol=1e-5, atol=1e-2)
    with pytest.raises(ValueError, match="images"):
        model.transform(imgs[:3])


def test_register_bad_arguments(movie):
    imgs = images.fromarray(movie.movie[:4])
    for kwargs, err, word in [
        (dict(method="affine"), ValueError, "method"),
        (dict(max_shift=-1), ValueError, "max_shift"),
        (dict(max_shift="a"), TypeError, "max_shift"),
        (dict(reference=np.zeros((3, 3))), ValueError, "reference"),
        (dict(interpolation="nearest"), ValueError, "interpolation"),
        (dict(border="mirror"), ValueError, "border"),
        (dict(upsample=0), ValueError, "upsample"),
        (dict(method="piecewise", block_size=4), ValueError, "block_size"),
    ]:
        with pytest.raises(err, match=word):
            imgs.register(**kwargs)
    with pytest.raises(ValueError, match="2-D"):
        images.fromarray(np.zeros((2, 3, 4, 5, 6))).register()


def test_summary_images_on_every_engine(engine):
    rng = np.random.default_rng(0)
    movie = ndi.gaussian_filter(rng.normal(size=(30, 20, 24)), (0, 1, 1)).astype(np.float32)
    imgs = _load(movie, engine)
    acc = summary.CorrelationImageAccumulator(movie.shape[1:], 8).add(movie)
    np.testing.assert_allclose(imgs.correlation_image(), acc.finalize(), atol=1e-6)
    x = movie.astype(float)
    np.testing.assert_allclose(imgs.pnr_image(),
                               (x.max(0) - x.mean(0)) / (np.diff(x, axis=0).std(0) / np.sqrt(2)),
                               rtol=1e-6)
    np.testing.assert_allclose(imgs.enhanced_mean(3), summary.enhanced_mean(x.mean(0), 3), atol=1e-6)
    last = list(imgs.stream_correlation_image(4))[-1]
    np.testing.assert_allclose(last[2], imgs.correlation_image(4), atol=1e-10)
    with pytest.raises(ValueError, match="neighbours"):
        imgs.correlation_image(6)


def test_traces_on_every_engine(movie, engine):
    imgs = _load(movie.movie, engine)
    labels = movie.labels
    ids = np.unique(labels)[1:]
    series = imgs.extract_traces(labels)
    assert series.shape == (len(ids), 40)
    expected = np.array([ndi.mean(f, labels, ids) for f in movie.movie]).T
    np.testing.assert_allclose(series.toarray(), expected, rtol=1e-10)
    corrected, neuropil = imgs.extract_traces(labels, neuropil=(2, 6), neuropil_coefficient=0.5,
                                              return_neuropil=True)
    np.testing.assert_allclose(corrected.toarray(), expected - 0.5 * neuropil.toarray(), rtol=1e-10)
    streamed = list(imgs.stream_traces(labels))
    assert streamed[-1][0] == 40
    np.testing.assert_allclose(streamed[-1][2], expected, rtol=1e-10)
    with pytest.raises(ValueError, match="labels"):
        imgs.extract_traces(labels[:10])
    with pytest.raises(ValueError, match="labels"):
        imgs.extract_traces(np.zeros_like(labels))


def test_delta_f_over_f_of_trace_series(movie):
    from napari_thunder.kernels.traces import delta_f_over_f

    series = images.fromarray(movie.movie).extract_traces(movie.labels)
    dff = series.map(lambda t: delta_f_over_f(t, 9, 8)).toarray()
    raw = series.toarray()
    np.testing.assert_allclose(dff, delta_f_over_f(raw, 9, 8))
    f0 = ndi.percentile_filter(raw, 8, size=(1, 9), mode="nearest")
    np.testing.assert_allclose(dff, (raw - f0) / f0)


def test_piecewise_volumes_still_scene_has_no_shift():
    rng = np.random.default_rng(0)
    ref = ndi.gaussian_filter(rng.normal(size=(16, 48, 48)), 2) * 100 + 500
    vol = np.stack([ref] * 3) + rng.normal(size=(3, 16, 48, 48))
    out, patch = images.fromarray(vol).register(reference=ref, method="piecewise", block_size=(16, 24, 24),
                                                return_shifts=True)
    assert patch.shape == (3, 1, 3, 3, 3)
    assert np.abs(patch).max() <= 0.1
    np.testing.assert_allclose(out.toarray()[:, 2:-2, 4:-4, 4:-4], vol[:, 2:-2, 4:-4, 4:-4], atol=1.5)


@pytest.mark.parametrize("method, kwargs", [("register", {}), ("correlation_image", {"neighbours": 6}),
                                            ("enhanced_mean", {}), ("pnr_image", {"sigma": 1.0})])
def test_calcium_methods_refuse_a_channel_axis(method, kwargs):
    """A two-channel movie (t, c, y, x) is not a volume: register/summary images would shift or
    blur across the channels (register found a 'shift' of -0.75 channels), so they ask for one channel."""
    data = np.random.default_rng(4).normal(size=(12, 2, 16, 16)) + 5
    imgs = images.fromarray(data).with_metadata(names=("t", "c", "y", "x"))
    with pytest.raises(ValueError, match=r"channel axis.*imgs\[:, 0\]\.squeeze\(\)"):
        getattr(imgs, method)(**kwargs)
    # one channel, selected as the message says, works and equals that channel's own result
    one = imgs[:, 0].squeeze()
    assert one.metadata.names == ("t", "y", "x")
    options = {} if method == "correlation_image" else kwargs
    expected = getattr(images.fromarray(data[:, 0]), method)(**options)
    got = getattr(one, method)(**options)
    np.testing.assert_allclose(np.asarray(got.toarray() if method == "register" else got),
                               np.asarray(expected.toarray() if method == "register" else expected))
