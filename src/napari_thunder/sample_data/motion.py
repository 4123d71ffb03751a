"""A synthetic calcium-imaging movie with known motion, made in code.

:func:`calcium_movie` draws cells (Gaussian-edged disks) on a textured
background, gives each cell a fluorescence trace (a baseline plus spikes
decaying exponentially), then moves every frame by a known rigid shift (and
optionally a smooth non-rigid displacement field), and adds shot and read
noise. The ground truth comes back with the movie, so registration, summary
images and trace extraction can be checked against it.

Nothing is stored on disk; the same ``seed`` gives the same movie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CalciumMovie", "calcium_movie"]


@dataclass
class CalciumMovie:
    """A synthetic movie and its ground truth.

    Attributes
    ----------
    movie : ndarray
        ``(n, y, x)`` frames (uint16 by default).
    shifts : ndarray
        ``(n, 2)`` rigid shifts that *register* each frame (the frame is the
        still scene moved by ``-shifts``), the convention of
        ``Images.register``.
    fields : ndarray or None
        ``(n, 2, y, x)`` total displacement that registers each pixel (rigid
        plus non-rigid) when ``nonrigid > 0``, else None.
    still : ndarray
        ``(n, y, x)`` float64 frames before motion and noise.
    labels : ndarray
        ``(y, x)`` int32 label image of the cells (0 = background).
    traces : ndarray
        ``(ncells, n)`` fluorescence of each cell (the scale of ``still``).
    """

    movie: np.ndarray
    shifts: np.ndarray
    fields: np.ndarray | None
    still: np.ndarray
    labels: np.ndarray
    traces: np.ndarray


def _smooth_noise(rng, shape, sigma):
    import scipy.ndimage as ndi

    field = ndi.gaussian_filter(rng.normal(size=shape), sigma, mode="wrap")
    return field / (field.std() + 1e-12)


def calcium_movie(n=200, shape=(128, 128), ncells=30, radius=4.0, max_shift=4.0, nonrigid=0.0,
                  noise=1.0, baseline=200.0, dtype=np.uint16, seed=0) -> CalciumMovie:
    """Make a synthetic two-photon-like movie with known motion.

    Parameters
    ----------
    n : int
        Frames.
    shape : tuple of int
        Frame shape ``(y, x)``.
    ncells : int
        Cells (placed without overlap where possible).
    radius : float
        Cell radius in pixels.
    max_shift : float
        Largest rigid displacement per axis (pixels); the motion is a smooth
        random walk with subpixel values.
    nonrigid : float
        Largest extra non-rigid displacement (pixels), a smooth field that
        changes slowly over the frames; 0 for rigid motion only.
    noise : float
        Scale of the read noise (standard deviation in counts) added to
        Poisson shot noise; 0 gives noiseless frames.
    baseline : float
        Background brightness (counts).
    dtype : numpy dtype
        dtype of ``movie`` (values rounded and clipped for integers).
    seed : int
        Random seed.

    Returns
    -------
    CalciumMovie
    """
    import scipy.ndimage as ndi

    rng = np.random.default_rng(seed)
    h, w = (int(s) for s in shape)
    margin = int(np.ceil(max_shift + nonrigid)) + 2
    H, W = h + 2 * margin, w + 2 * margin
    yy, xx = np.mgrid[0:H, 0:W].astype(float)

    texture = baseline * (1.0 + 0.25 * _smooth_noise(rng, (H, W), 6.0)
                          + 0.25 * _smooth_noise(rng, (H, W), 1.5))
    texture = np.clip(texture, 0.2 * baseline, None)

    centres = []
    tries = 0
    while len(centres) < ncells and tries < 100 * ncells:
        tries += 1
        c = rng.uniform([margin + radius + 1, margin + radius + 1],
                        [H - margin - radius - 1, W - margin - radius - 1])
        if all(np.hypot(*(c - o)) > 2.5 * radius for o in centres):
            centres.append(c)
    centres = np.array(centres).reshape(-1, 2)
    footprints = np.empty((len(centres), H, W))
    labels_big = np.zeros((H, W), np.int32)
    for k, (cy, cx) in enumerate(centres):
        dist = np.hypot(yy - cy, xx - cx)
        footprints[k] = 1.0 / (1.0 + np.exp((dist - radius) / 0.7))
        labels_big[dist <= radius] = k + 1

    t = np.arange(n)
    traces = np.empty((len(centres), n))
    decay = np.exp(-1.0 / 8.0)
    for k in range(len(centres)):
        spikes = (rng.random(n) < 0.03) * rng.uniform(1.0, 3.0, n)
        calcium = ndi.convolve1d(spikes, decay ** np.arange(40), origin=-20, mode="constant")
        traces[k] = baseline * (0.6 + calcium) * (1 + 0.05 * np.sin(2 * np.pi * t / max(n, 1)))

    # smooth rigid motion: a random walk, rescaled to max_shift
    walk = np.cumsum(rng.normal(size=(n, 2)), axis=0)
    walk = ndi.gaussian_filter1d(walk, 2.0, axis=0)
    walk -= walk.mean(axis=0)
    span = np.abs(walk).max(axis=0)
    displacement = walk / np.where(span > 0, span, 1) * max_shift  # scene moved by +displacement
    shifts = -displacement

    fields = None
    if nonrigid > 0:
        base = np.stack([_smooth_noise(rng, (H, W), min(H, W) / 4) for _ in range(4)])
        base /= np.abs(base).max(axis=(1, 2), keepdims=True)
        phase = np.linspace(0, 2 * np.pi, n)
        nr = (np.cos(phase)[:, None, None, None] * base[None, :2]
              + np.sin(phase)[:, None, None, None] * base[None, 2:]) * (nonrigid / np.sqrt(2))
        # total displacement of the scene at each output pixel
        disp = nr + displacement[:, :, None, None]
        fields = -disp[:, :, margin:margin + h, margin:margin + w]

    still = np.empty((n, h, w))
    moved = np.empty((n, h, w))
    crop = (slice(margin, margin + h), slice(margin, margin + w))
    for f in range(n):
        scene = texture + np.tensordot(traces[:, f], footprints, axes=1)
        still[f] = scene[crop]
        if fields is None:
            spec = ndi.fourier_shift(np.fft.fftn(scene), displacement[f])
            moved[f] = np.fft.ifftn(spec).real[crop]
        else:
            coords = np.stack([yy, xx]) - disp[f]
            moved[f] = ndi.map_coordinates(scene, coords, order=3, mode="nearest")[crop]
    if noise > 0:
        moved = rng.poisson(np.clip(moved, 0, None)).astype(float) + rng.normal(scale=noise, size=moved.shape)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        movie = np.clip(np.rint(moved), info.min, info.max).astype(dtype)
    else:
        movie = moved.astype(dtype)
    return CalciumMovie(movie=movie, shifts=shifts, fields=fields, still=still,
                        labels=labels_big[crop].copy(), traces=traces)
