"""Calcium-imaging throughput: registration and trace extraction vs serial peers.

Cases (same frames, same run, best of ``--repeat``, ours and the peer
interleaved; the movie is in memory, local engine):

* shifts: ``imgs.register(reference=ref, return_shifts=True)`` (the shifts
  pass: whitened phase correlation + 1/20-pixel upsampled-DFT refinement,
  vectorised per block, the engine's threads) vs a serial loop of
  ``skimage.registration.phase_cross_correlation(ref, frame,
  upsample_factor=20)``.
* register: ``imgs.register(reference=ref).toarray()`` (shifts found and
  applied in one pass, Fourier shift) vs the same skimage loop followed by
  ``scipy.ndimage.fourier_shift`` of each frame.
* traces: ``imgs.extract_traces(labels).toarray()`` with 500 ROIs vs a loop
  of ``scipy.ndimage.mean(frame, labels, ids)`` per frame.

Ratio = peer time / our time. Targets (2 cores): registration >= 1.8,
traces >= 2. ``python bench/bench_calcium.py`` runs 1000 x 512 x 512
(several minutes); ``--quick`` 200 x 256 x 256. Exits 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

TARGETS = {"register": 1.8, "shifts": 1.8, "traces": 2.0}


def _timed(func):
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def _movie(n, h, w, seed=0):
    """uint16 frames: a textured scene moved by known subpixel shifts, plus noise."""
    import scipy.fft
    import scipy.ndimage as ndi

    rng = np.random.default_rng(seed)
    scene = 1000 + 300 * ndi.gaussian_filter(rng.normal(size=(h, w)), 3) / 0.05
    scene += 200 * ndi.gaussian_filter(rng.normal(size=(h, w)), 1.5)
    shifts = rng.uniform(-6, 6, size=(n, 2))
    spec = scipy.fft.rfft2(scene)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    out = np.empty((n, h, w), np.uint16)
    for k, (dy, dx) in enumerate(shifts):
        frame = scipy.fft.irfft2(spec * np.exp(-2j * np.pi * (fy * dy + fx * dx)), s=(h, w))
        out[k] = np.clip(frame + rng.normal(scale=20, size=(h, w)), 0, 65535)
    return out, scene, -shifts


def _labels(h, w, nrois, seed=1):
    rng = np.random.default_rng(seed)
    labels = np.zeros((h, w), np.int32)
    yy, xx = np.mgrid[0:h, 0:w]
    for k in range(1, nrois + 1):
        cy, cx = rng.uniform(5, h - 5), rng.uniform(5, w - 5)
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= 16] = k
    return labels


def main(argv=None) -> int:
    import scipy.ndimage as ndi
    from skimage.registration import phase_cross_correlation

    from napari_thunder import images
    from napari_thunder.engines.local import worker_count

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 x 256 x 256")
    parser.add_argument("--n", type=int, default=None, help="number of frames")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rois", type=int, default=500)
    args = parser.parse_args(argv)
    n, h, w = (200, 256, 256) if args.quick else (1000, 512, 512)
    if args.n:
        n = args.n
    data, ref, truth = _movie(n, h, w)
    labels = _labels(h, w, args.rois)
    ids = np.unique(labels)[1:]
    imgs = images.fromarray(data)
    print(f"# bench_calcium: {n}x{h}x{w} uint16 ({data.nbytes / 2**20:.0f} MiB), {len(ids)} ROIs, "
          f"{worker_count()} worker threads")

    def ours_shifts():
        return imgs.register(reference=ref, return_shifts=True)[1]

    def peer_shifts():
        return np.array([phase_cross_correlation(ref, f, upsample_factor=20)[0] for f in data])

    def ours_register():
        return imgs.register(reference=ref).toarray()

    def peer_register():
        out = np.empty(data.shape, np.float32)
        for k, f in enumerate(data):
            s = phase_cross_correlation(ref, f, upsample_factor=20)[0]
            out[k] = np.fft.ifftn(ndi.fourier_shift(np.fft.fftn(f), s)).real
        return out

    def ours_traces():
        return imgs.extract_traces(labels).toarray()

    def peer_traces():
        return np.array([ndi.mean(f, labels, ids) for f in data]).T

    cases = {
        "shifts": (ours_shifts, peer_shifts),
        "register": (ours_register, peer_register),
        "traces": (ours_traces, peer_traces),
    }
    failed = False
    for name, (ours, peer) in cases.items():
        best_ours = best_peer = np.inf
        for _ in range(max(1, args.repeat)):
            t_peer, r_peer = _timed(peer)
            t_ours, r_ours = _timed(ours)
            best_ours, best_peer = min(best_ours, t_ours), min(best_peer, t_peer)
        if name == "shifts":
            note = (f"max |ours - truth| {np.abs(r_ours - truth).max():.3f} px, "
                    f"max |skimage - truth| {np.abs(r_peer - truth).max():.3f} px")
        elif name == "traces":
            note = f"max |ours - ndi.mean| {np.abs(r_ours - r_peer).max():.2e}"
        else:
            inner = (slice(None), slice(8, -8), slice(8, -8))
            note = f"median |ours - peer| inside {np.median(np.abs(r_ours - r_peer)[inner]):.3f}"
        ratio = best_peer / best_ours
        ok = ratio >= TARGETS[name]
        failed |= not ok
        print(f"{name:9s} ours {n / best_ours:8.1f} frames/s  peer {n / best_peer:8.1f} frames/s  "
              f"ratio {ratio:5.2f} (target {TARGETS[name]}) {'ok' if ok else 'MISSED'}  {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
