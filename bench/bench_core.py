"""Core benchmark (issue 2): statistics and localcorr vs their baselines.

Run from the repository root::

    python bench/bench_core.py            # full sizes (about 2-4 minutes)
    python bench/bench_core.py --quick    # small sizes (under a minute)

Every figure is a ratio against a baseline measured in the same run (the
machine is shared and noisy), printed as::

    name: ours X s, peer Y s, ratio R (target T)

with ``ratio = peer time / our time`` (higher is better) and the best of
``--repeat`` runs for each side. The script exits 1 if a target is missed.

Cases
-----
* ``stats-<stat>``: ``images.fromarray(a).<stat>().toarray()`` on a
  1000x512x512 uint16 stack in memory vs numpy ``a.std(axis=0)``; target 20x.
* ``localcorr``: ``images.fromarray(a).localcorr(neighborhood=1)`` on a
  200x128x128 float64 stack vs Thunder's algorithm (per-frame float64 box blur,
  then ``np.corrcoef`` per pixel in a Python loop); target 50x. When the stack
  has more than ``--loop-pixels`` pixels per frame the loop is timed on that
  many pixels and scaled linearly (the output says so).
* Informational (no target): the moment kernel alone, single-threaded, vs a
  single ``a.sum(axis=0, dtype=float64)`` (the memory-read limit), and dask's
  ``std(axis=0)``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import scipy.ndimage as ndi


def best_time(func, repeat: int) -> float:
    """Best wall time of ``repeat`` calls of ``func`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


class Report:
    """Collects ``name: ours, peer, ratio (target)`` lines and misses."""

    def __init__(self):
        self.missed = []

    def line(self, name, ours, baseline, target=None, note=""):
        ratio = baseline / ours if ours > 0 else float("inf")
        target_text = f"{target:g}" if target is not None else "none, informational"
        text = f"{name}: ours {ours:.4f} s, peer {baseline:.4f} s, ratio {ratio:.2f} (target {target_text})"
        if note:
            text += f"  [{note}]"
        if target is not None and ratio < target:
            text += "  MISSED"
            self.missed.append(name)
        print(text, flush=True)
        return ratio


def make_uint16_stack(shape, seed=0) -> np.ndarray:
    """A realistic-ish uint16 movie: background + noise (values ~100..4000)."""
    rng = np.random.default_rng(seed)
    return rng.integers(100, 4000, size=shape, dtype=np.uint16)


def thunder_localcorr_loop(stack, neighborhood, max_pixels):
    """Thunder's localcorr: float64 box blur per frame, then ``np.corrcoef`` per pixel.

    Returns ``(seconds, scaled)``: the time for the whole frame (the loop part
    measured on at most ``max_pixels`` pixels and scaled linearly) and whether
    it was scaled.
    """
    size = 2 * neighborhood + 1
    start = time.perf_counter()
    blurred = np.stack([ndi.uniform_filter(frame.astype(np.float64), size, mode="reflect")
                        for frame in stack])
    blur_time = time.perf_counter() - start
    npix = int(np.prod(stack.shape[1:]))
    series = stack.reshape(stack.shape[0], npix)
    neighbours = blurred.reshape(stack.shape[0], npix)
    count = min(npix, max_pixels)
    out = np.empty(count)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in range(count):
            out[p] = np.corrcoef(series[:, p], neighbours[:, p])[0, 1]
    loop_time = time.perf_counter() - start
    return blur_time + loop_time * npix / count, count < npix, out


WORKERS = 2


def threaded_aggregate(a, acc, chunks=8):
    """Fold ``chunks`` slices of ``a`` into copies of the empty accumulator
    ``acc`` in a thread pool, then merge them: what an engine with no
    overhead would do."""
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, a.shape[0], chunks + 1).astype(int)
    with ThreadPoolExecutor(WORKERS) as pool:
        parts = list(pool.map(lambda ab: acc.empty().add(a[ab[0]:ab[1]], ab[0]),
                              zip(bounds[:-1], bounds[1:])))
    total = acc.empty()
    for part in parts:
        total.merge(part)
    return total


def threaded_moments(a, stats, chunks=8):
    """The moment kernel on ``chunks`` slices of ``a`` in a thread pool, merged."""
    from napari_thunder.kernels.moments import MomentAccumulator

    return threaded_aggregate(a, MomentAccumulator(a.shape[1:], a.dtype, stats), chunks)


def threaded_localcorr(a, neighborhood, chunks=8):
    """The localcorr kernel on ``chunks`` slices in a thread pool, merged."""
    from napari_thunder.kernels.correlation import LocalCorrAccumulator

    acc = LocalCorrAccumulator(a.shape[1:], neighborhood)
    return threaded_aggregate(a, acc, chunks).finalize()


def bench_stats(report, args):
    from napari_thunder import images
    from napari_thunder.kernels.moments import MomentAccumulator

    shape = (args.frames, args.size, args.size)
    a = make_uint16_stack(shape)
    print(f"# statistics on {shape} uint16 ({a.nbytes / 2**20:.0f} MiB) in memory", flush=True)

    baseline = best_time(lambda: a.std(axis=0), args.baseline_repeat)
    construct = best_time(lambda: images.fromarray(a), args.repeat)
    print(f"# images.fromarray(a) alone (engine set-up, included in every stats line): "
          f"{construct:.4f} s", flush=True)
    for stat in ("mean", "std", "var", "sum", "min", "max"):
        result = getattr(images.fromarray(a), stat)().toarray()
        expected = getattr(a, stat)(axis=0) if stat in ("sum", "min", "max") else None
        if expected is not None:
            np.testing.assert_array_equal(result, expected)
        ours = best_time(lambda: getattr(images.fromarray(a), stat)().toarray(), args.repeat)
        report.line(f"stats-{stat} (vs numpy std(axis=0))", ours, baseline, target=20)
    np.testing.assert_allclose(images.fromarray(a).std().toarray(), a.std(axis=0), rtol=1e-10)

    # informational: the kernel alone (one thread) vs one float64 sum pass
    read_limit = best_time(lambda: a.sum(axis=0, dtype=np.float64), args.repeat)
    for stats in (("mean",), ("std",), ("mean", "var", "std", "sum", "min", "max")):
        kernel = best_time(lambda: MomentAccumulator(a.shape[1:], a.dtype, stats).add(a, 0),
                           args.repeat)
        report.line(f"kernel MomentAccumulator{stats} 1 thread (vs sum(axis=0, float64))",
                    kernel, read_limit)
    for stats in (("mean",), ("std",)):
        kernel = best_time(lambda: threaded_moments(a, stats), args.repeat)
        report.line(f"kernel MomentAccumulator{stats} {WORKERS} threads, no engine "
                    f"(vs sum(axis=0, float64))", kernel, read_limit)
    ours_std = best_time(lambda: images.fromarray(a).std().toarray(), args.repeat)
    report.line("stats-std API (vs sum(axis=0, float64), bandwidth share)", ours_std, read_limit)
    if args.dask:
        import dask.array as da

        lazy = da.from_array(a, chunks=(max(1, shape[0] // 8),) + shape[1:])
        dask_std = best_time(lambda: lazy.std(axis=0).compute(), args.baseline_repeat)
        report.line("stats-std (vs dask std(axis=0))", ours_std, dask_std)



def bench_localcorr(report, args):
    from napari_thunder import images

    shape = (args.lc_frames, args.lc_size, args.lc_size)
    rng = np.random.default_rng(1)
    base = rng.standard_normal(shape)
    a = 100 + 20 * ndi.uniform_filter(base, size=(1, 5, 5)) + base  # correlated structure + noise
    print(f"# localcorr(neighborhood={args.neighborhood}) on {shape} float64", flush=True)
    baseline, scaled, loop_values = thunder_localcorr_loop(a, args.neighborhood, args.loop_pixels)
    construct = best_time(lambda: images.fromarray(a), args.repeat)
    print(f"# images.fromarray(a) alone (engine set-up, included in the localcorr line): "
          f"{construct:.4f} s", flush=True)
    ours_values = images.fromarray(a).localcorr(neighborhood=args.neighborhood)
    np.testing.assert_allclose(ours_values.ravel()[: loop_values.size], loop_values,
                               rtol=1e-9, atol=1e-12)
    ours = best_time(lambda: images.fromarray(a).localcorr(neighborhood=args.neighborhood),
                     args.repeat)
    npix = shape[1] * shape[2]
    note = (f"loop timed on {min(npix, args.loop_pixels)} of {npix} pixels and scaled linearly"
            if scaled else "loop timed on every pixel")
    report.line("localcorr (vs per-pixel corrcoef loop)", ours, baseline, target=50, note=note)
    kernel = best_time(lambda: threaded_localcorr(a, args.neighborhood), args.repeat)
    report.line(f"kernel LocalCorrAccumulator {WORKERS} threads, no engine (vs per-pixel corrcoef loop)",
                kernel, baseline, note=note)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (best is kept)")
    parser.add_argument("--baseline-repeat", type=int, default=2, help="runs of slow baselines")
    parser.add_argument("--neighborhood", type=int, default=1, help="localcorr neighborhood (window 2n+1)")
    parser.add_argument("--loop-pixels", type=int, default=20000,
                        help="at most this many pixels in the corrcoef loop (scaled beyond)")
    parser.add_argument("--no-dask", dest="dask", action="store_false", help="skip the dask baseline")
    parser.add_argument("--only", choices=("stats", "localcorr"), help="run one group")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.size = 200, 256
        args.lc_frames, args.lc_size = 100, 64
        args.repeat, args.baseline_repeat = 2, 1
    else:
        args.frames, args.size = 1000, 512
        args.lc_frames, args.lc_size = 200, 128

    from napari_thunder.engines import local

    global WORKERS
    WORKERS = local.worker_count()
    print(f"# napari-thunder core benchmark; workers={local.worker_count()}; "
          f"ratio = baseline / ours", flush=True)
    report = Report()
    if args.only in (None, "stats"):
        bench_stats(report, args)
    if args.only in (None, "localcorr"):
        bench_localcorr(report, args)
    if report.missed:
        print(f"# targets missed: {', '.join(report.missed)}")
        return 1
    print("# all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
