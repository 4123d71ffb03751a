"""Write napari-thunder's bundled example datasets (synthetic, deterministic).

Run from a source checkout (the script is not part of the installed package)::

    python tools/make_samples.py            # rewrites src/napari_thunder/sample_data/<name>/
    python tools/make_samples.py --out DIR  # writes into DIR/<name>/

Every dataset is drawn from a seeded ``numpy.random.Generator``, so running
the script again writes byte-identical files. The data imitates functional
imaging: cells with sparse calcium transients (fast rise, exponential decay)
over a slowly varying background, with Poisson (shot) noise. It is NOT a
recording; see ``src/napari_thunder/sample_data/README.md``.

Datasets
--------
mouse
    ``(20, 64, 64)`` int16 two-photon-like movie of a cortical field of view,
    20 flat-binary files in Fortran order plus ``conf.json`` (the layout of
    Thunder's MATLAB-written example).
fish
    ``(20, 2, 76, 87)`` uint8 light-sheet-like volume time series of a larval
    zebrafish brain (2 z-planes), 20 two-page TIFF files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

import numpy as np

#: The package folder holding the bundled datasets (the default ``--out``).
PACKAGE_DATA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "napari_thunder", "sample_data"
)

SEED_MOUSE = 20160101
SEED_FISH = 20160102
NFRAMES = 20


# ---------------------------------------------------------------- building blocks
def soft_disk(shape, center, radius, softness=1.0):
    """A disk of ``radius`` pixels with a smooth (logistic) edge, values 0..1.

    Works for 2-D and 3-D ``shape`` (``center`` and ``radius`` per axis or
    scalar radius).
    """
    grids = np.meshgrid(*[np.arange(s, dtype=np.float64) for s in shape], indexing="ij")
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(shape),))
    dist = np.sqrt(sum(((g - c) / r) ** 2 for g, c, r in zip(grids, center, radius)))
    # distance in units of the (mean) radius; soft edge ~ `softness` pixels wide
    scale = float(np.mean(radius)) / softness
    return 1.0 / (1.0 + np.exp((dist - 1.0) * scale * 2.0))


def calcium_trace(rng, nframes, rate, tau, amplitude, min_events=1):
    """Sparse transients: a spike train (Poisson, ``rate`` events per frame)
    convolved with an exponential decay of time constant ``tau`` frames.

    The rise is instantaneous at frame resolution (fast rise); each event has a
    random amplitude around ``amplitude``. At least ``min_events`` events are
    placed so every cell is active at some point of the short movie.
    """
    spikes = rng.poisson(rate, nframes).astype(np.float64)
    while spikes.sum() < min_events:
        spikes[rng.integers(0, nframes - 2)] += 1
    spikes *= amplitude * rng.uniform(0.6, 1.4, nframes)
    kernel = np.exp(-np.arange(nframes) / tau)
    return np.convolve(spikes, kernel)[:nframes]


def place_cells(rng, shape, ncells, radius_range, min_distance, mask=None, margin=2):
    """Centres of ``ncells`` non-overlapping cells inside ``shape`` (and
    inside ``mask`` if given), by rejection sampling."""
    centers = []
    tries = 0
    while len(centers) < ncells and tries < 100000:
        tries += 1
        c = np.array([rng.uniform(margin + radius_range[1], s - margin - radius_range[1]) for s in shape])
        if mask is not None and not mask[tuple(np.round(c).astype(int))]:
            continue
        if all(np.hypot(*(c - o)) >= min_distance for o in centers):
            centers.append(c)
    return centers


# ---------------------------------------------------------------- datasets
def make_mouse(seed=SEED_MOUSE, nframes=NFRAMES, shape=(64, 64), ncells=16, return_truth=False):
    """A two-photon-like calcium-imaging movie ``(nframes,) + shape`` int16.

    16 soma-sized soft disks (radius 3-4.5 px) with GCaMP-like transients
    (decay ~2.5 frames, at least two events each), a static vignetted
    background with smooth neuropil haze and a slow bleaching drift of 2 %
    over the movie, Poisson noise, and a detector dark level of 100 with a
    little read noise.

    With ``return_truth=True`` returns ``(movie, footprints)``, the cells'
    spatial footprints ``(ncells,) + shape`` in ``[0, 1]`` (ground truth).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    cy, cx = (shape[0] - 1) / 2, (shape[1] - 1) / 2
    vignette = 1.0 - 0.35 * (((yy - cy) / shape[0]) ** 2 + ((xx - cx) / shape[1]) ** 2) * 4
    from scipy.ndimage import gaussian_filter

    # neuropil haze: a static, spatially smooth texture on the vignetted field
    haze = gaussian_filter(rng.normal(0.0, 1.0, shape), 4.0)
    haze /= np.abs(haze).max()
    background = 60.0 * vignette * (1.0 + 0.15 * haze)  # photons per pixel per frame
    bleach = np.linspace(1.0, 0.98, nframes)

    centers = place_cells(rng, shape, ncells, (3.0, 4.5), min_distance=10.0)
    footprints, traces = [], []
    for c in centers:
        radius = rng.uniform(3.0, 4.5) * rng.uniform(0.85, 1.15, 2)  # slightly elliptical somata
        fp = soft_disk(shape, c, radius)
        baseline = rng.uniform(30.0, 60.0)  # resting fluorescence of the soma
        trace = calcium_trace(rng, nframes, rate=0.12, tau=2.5, amplitude=rng.uniform(120, 220), min_events=2)
        footprints.append(fp)
        traces.append(baseline + trace)
    footprints = np.array(footprints)  # (ncells, h, w)
    traces = np.array(traces)  # (ncells, t)

    expected = background[None] * bleach[:, None, None]
    expected = expected + np.einsum("ct,chw->thw", traces, footprints)
    photons = rng.poisson(expected).astype(np.int32)
    dark = 100  # detector offset
    movie = photons + dark + np.round(rng.normal(0, 2.0, photons.shape)).astype(np.int32)
    movie = np.clip(movie, -32768, 32767).astype(np.int16)
    return (movie, footprints) if return_truth else movie


def fish_brain_mask(shape, zfrac):
    """A larval-zebrafish-brain-like outline seen from above (y rows along the
    body axis): forebrain, two optic tecta, hindbrain, narrowing with depth
    ``zfrac`` in ``[0, 1]``."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx = (w - 1) / 2
    shrink = 1.0 - 0.12 * zfrac

    def ellipse(cy, cxe, ry, rx):
        return ((yy - cy) / (ry * shrink)) ** 2 + ((xx - cxe) / (rx * shrink)) ** 2 <= 1.0

    telencephalon = ellipse(0.18 * h, cx, 0.12 * h, 0.16 * w)
    tectum_left = ellipse(0.42 * h, cx - 0.16 * w, 0.17 * h, 0.17 * w)
    tectum_right = ellipse(0.42 * h, cx + 0.16 * w, 0.17 * h, 0.17 * w)
    hindbrain = ellipse(0.72 * h, cx, 0.25 * h, 0.17 * w)
    return telencephalon | tectum_left | tectum_right | hindbrain


def make_fish(seed=SEED_FISH, nframes=NFRAMES, nplanes=2, shape=(76, 87)):
    """A light-sheet-like volume time series ``(nframes, nplanes) + shape``
    uint8 of a larval fish brain: small densely packed neurons (radius
    ~1.6 px) inside a brain outline, about a third of them active, some in
    synchronous groups (as in sensory-evoked responses), over a dim tissue
    autofluorescence and Poisson noise."""
    rng = np.random.default_rng(seed)
    nneurons = 70
    # shared drive for groups of neurons (ensembles)
    ensembles = [calcium_trace(rng, nframes, rate=0.1, tau=2.0, amplitude=1.0, min_events=2) for _ in range(4)]
    volume = np.zeros((nframes, nplanes) + tuple(shape), dtype=np.float64)
    for z in range(nplanes):
        mask = fish_brain_mask(shape, z / max(nplanes - 1, 1))
        tissue = mask.astype(np.float64)
        # smooth the outline a little so the edge is not a hard step
        from scipy.ndimage import gaussian_filter

        tissue = gaussian_filter(tissue, 1.0)
        expected = np.broadcast_to(8.0 + 22.0 * tissue, (nframes,) + tuple(shape)).copy()
        centers = place_cells(rng, shape, nneurons, (1.4, 1.8), min_distance=4.5, mask=mask)
        for c in centers:
            fp = soft_disk(shape, c, rng.uniform(1.4, 1.8), softness=0.8)
            resting = rng.uniform(10.0, 25.0)
            kind = rng.uniform()
            if kind < 0.25:  # member of an ensemble
                trace = ensembles[rng.integers(len(ensembles))] * rng.uniform(50, 90)
            elif kind < 0.45:  # independently active
                trace = calcium_trace(rng, nframes, rate=0.1, tau=2.0, amplitude=rng.uniform(50, 90))
            else:  # silent during this short recording
                trace = np.zeros(nframes)
            expected += (resting + trace)[:, None, None] * fp[None]
        volume[:, z] = rng.poisson(expected)
    return np.clip(volume, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- writers
def _fresh_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def write_mouse(folder, movie):
    """20 files ``image-#####.bin`` holding each frame's bytes in Fortran
    order (as MATLAB writes them) plus ``conf.json``."""
    _fresh_dir(folder)
    for i, frame in enumerate(movie):
        with open(os.path.join(folder, f"image-{i:05d}.bin"), "wb") as f:
            f.write(frame.tobytes(order="F"))
    conf = {"dims": list(movie.shape[1:]), "dtype": str(movie.dtype)}
    with open(os.path.join(folder, "conf.json"), "w") as f:
        json.dump(conf, f)
        f.write("\n")


def write_fish(folder, volumes):
    """One two-page (z-planes as pages) uncompressed TIFF per time point."""
    import tifffile

    _fresh_dir(folder)
    for i, vol in enumerate(volumes):
        tifffile.imwrite(
            os.path.join(folder, f"image-{i:05d}.tif"),
            vol,
            photometric="minisblack",
            metadata=None,
            software=None,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=PACKAGE_DATA,
                        help="folder receiving mouse/ and fish/ (default: the package's sample_data folder)")
    args = parser.parse_args(argv)
    write_mouse(os.path.join(args.out, "mouse"), make_mouse())
    write_fish(os.path.join(args.out, "fish"), make_fish())
    print(f"wrote mouse/ and fish/ into {args.out}")


if __name__ == "__main__":
    main()
