"""Series speed: napari-thunder vs numpy on the same in-memory stack, same run.

Cases (best of ``--repeat``, ours and numpy interleaved):

* ``toseries().toarray()`` of a ``(n, h, w)`` uint16 stack (local engine) vs
  ``np.ascontiguousarray(np.moveaxis(a, 0, -1))`` — target ratio >= 1.0
  (ratio = numpy time / our time);
* informational (no target): ``toseries().zscore().toarray()`` and
  ``toseries().normalize().toarray()`` vs the same formulas in numpy on the
  pixel x time matrix (single-threaded numpy, no chunking).

``python bench/bench_series.py`` (1000 x 512 x 512, about 1 GB of memory per
copy and a minute) or ``--quick`` (200 x 256 x 256). Exits 1 when the target
is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

TARGET = 1.0


def _best(func, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _interleaved(ours, peer, repeat):
    t_ours, t_peer = float("inf"), float("inf")
    for _ in range(repeat):
        t_peer = min(t_peer, _best(peer, 1))
        t_ours = min(t_ours, _best(ours, 1))
    return t_ours, t_peer


def _zscore_np(a):
    m = np.moveaxis(a, 0, -1).reshape(-1, a.shape[0]).astype(np.float64)
    return (m - m.mean(1, keepdims=True)) / m.std(1, keepdims=True)


def _normalize_np(a):
    m = np.moveaxis(a, 0, -1).reshape(-1, a.shape[0]).astype(np.float64)
    b = np.percentile(m, 20, axis=1, keepdims=True)
    return (m - b) / (b + 0.1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 x 256 x 256 instead of 1000 x 512 x 512")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from napari_thunder import images

    shape = (200, 256, 256) if args.quick else (1000, 512, 512)
    a = np.random.default_rng(0).integers(0, 60000, shape, dtype=np.uint16)
    imgs = images.fromarray(a)
    check = imgs.toseries().toarray()
    assert np.array_equal(check, np.moveaxis(a, 0, -1)), "toseries().toarray() differs from numpy"
    del check

    rows = []
    ours, peer = _interleaved(lambda: imgs.toseries().toarray(),
                              lambda: np.ascontiguousarray(np.moveaxis(a, 0, -1)), args.repeat)
    # the target is for the full-size stack: a --quick stack stays in the caches, where
    # numpy's plain strided copy has nothing to lose and the timings are noise-sized
    rows.append(("toseries().toarray()", "np.ascontiguousarray(np.moveaxis(a, 0, -1))", ours, peer,
                 None if args.quick else TARGET))
    small = a[: max(1, shape[0] // 4)] if not args.quick else a
    simgs = images.fromarray(small)
    ours, peer = _interleaved(lambda: simgs.toseries().zscore().toarray(), lambda: _zscore_np(small), 1)
    rows.append((f"toseries().zscore() {small.shape}", "numpy zscore on the matrix", ours, peer, None))
    ours, peer = _interleaved(lambda: simgs.toseries().normalize().toarray(), lambda: _normalize_np(small), 1)
    rows.append((f"toseries().normalize() {small.shape}", "numpy percentile dF/F", ours, peer, None))

    print(f"stack {shape} uint16, {os.cpu_count()} cores, best of {args.repeat}")
    missed = False
    for name, peer_name, t_ours, t_peer, target in rows:
        ratio = t_peer / t_ours
        flag = "" if target is None else (" OK" if ratio >= target else f" MISSED (target {target})")
        missed |= target is not None and ratio < target
        print(f"{name:38s} {t_ours:7.3f} s | {peer_name} {t_peer:7.3f} s | ratio {ratio:5.2f}{flag}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
