"""The dask.distributed engine on a 2-worker LocalCluster vs the embedded engine.

The same work on the same files, in the same run: a folder of TIFF files
(``--frames`` x ``--size`` x ``--size`` float32) read inside each timing - by
the worker processes of a ``distributed.LocalCluster`` (2 workers, 1 thread
each, with nannies, on 127.0.0.1) for *ours*, by the embedded dask engine's
threads for the *baseline* - then

* ``statistics (mean, std)``: ``imgs.mean()`` and ``imgs.std()`` (partials
  merged on the workers, one accumulator reaches the driver);
* ``gaussian_filter(2) -> toarray``: every filtered pixel comes back to the
  driver (the engine's worst case: the whole stack crosses a socket);
* ``gaussian_filter(2) -> tozarr`` (informational): the filtered chunks are
  written by the workers, only progress reaches the driver.

Each line prints ``ours X s, baseline Y s, ratio R (target T)`` with
``R = X / Y`` (distributed time / embedded time), the best of ``--repeat``
runs taken alternately so both engines see the same background load. The
cluster is started and warmed up (imports, compiled kernels) before any
timing; its start-up time is printed apart. Both engines must give the same
values. Target ``R <= 2``; exit status 1 when a target is missed.
``--quick`` runs 100 frames, twice each (about 15 s). Much smaller stacks
measure the cluster's fixed cost per job (graph to the scheduler, tasks to
two processes, partial results between them: about 50 ms), not throughput.

Usage: python bench/bench_distributed.py [--frames 200] [--size 512] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

TARGET = 2.0


def write_stack(folder: str, frames: int, size: int) -> int:
    """``frames`` float32 TIFF files of ``size x size`` (smooth structure plus
    noise); returns the stack's bytes."""
    import tifffile
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    base = gaussian_filter(rng.standard_normal((size, size)), 8).astype(np.float32)
    for i in range(frames):
        frame = base * np.float32(1 + 0.5 * np.sin(i / 7)) + rng.standard_normal((size, size), np.float32)
        tifffile.imwrite(os.path.join(folder, f"frame_{i:05d}.tif"), frame)
    return frames * size * size * 4


def interleaved_best(repeat: int, ours, baseline):
    """Best time of ``ours()`` and of ``baseline()``, run alternately; returns
    ``(t_ours, value_ours, t_base, value_base)``."""
    times = {"ours": [], "base": []}
    values = {}
    for _ in range(repeat):
        for key, func in (("ours", ours), ("base", baseline)):
            began = time.perf_counter()
            values[key] = func()
            times[key].append(time.perf_counter() - began)
    return min(times["ours"]), values["ours"], min(times["base"]), values["base"]


def _cores_available(seconds=0.3) -> float:
    """CPU seconds two busy threads get per wall second (2.0 = both cores free)."""
    import threading

    def spin(out, k):
        t_end = time.perf_counter() + seconds
        c0 = time.thread_time()
        while time.perf_counter() < t_end:
            pass
        out[k] = time.thread_time() - c0

    out = [0.0, 0.0]
    threads = [threading.Thread(target=spin, args=(out, k)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(out) / seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 frames, 2 repeats (noisier)")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.repeat = min(args.frames, 100), min(args.repeat, 2)

    import dask
    import distributed

    from napari_thunder import images

    folder = tempfile.mkdtemp(prefix="bench-distributed-")
    out_dir = tempfile.mkdtemp(prefix="bench-distributed-out-")
    missed = []
    client = cluster = None
    try:
        nbytes = write_stack(folder, args.frames, args.size)
        print(f"# bench_distributed: {args.frames} x {args.size} x {args.size} float32 = "
              f"{nbytes / 2**20:.0f} MiB in {args.frames} TIFF files; distributed {distributed.__version__}, "
              f"dask {dask.__version__}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"# cores available (2 busy threads): {_cores_available():.2f}")
        began = time.perf_counter()
        # HTTP endpoints on a free loopback port (the default 8787 may be taken)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                           silence_logs=40)
        client = distributed.Client(cluster, set_as_default=False)
        client.wait_for_workers(2, timeout=120)
        print(f"# LocalCluster (2 worker processes x 1 thread, 127.0.0.1) up in "
              f"{time.perf_counter() - began:.2f} s (not in the timings)")

        def stats(imgs):
            return imgs.mean().toarray(), imgs.std().toarray()

        def filtered(imgs):
            return imgs.gaussian_filter(2).toarray()

        counter = [0]

        def to_zarr(imgs):
            counter[0] += 1
            path = os.path.join(out_dir, f"g{counter[0]}.zarr")
            imgs.gaussian_filter(2).tozarr(path)
            return path

        # warm-up: imports and compiled kernels in the worker processes and here
        for op in (stats, filtered):
            op(images.fromtif(folder, engine=client, stop=4))
            op(images.fromtif(folder, stop=4))

        operations = [("statistics (mean, std)", stats, True),
                      ("gaussian_filter(2) -> toarray", filtered, True),
                      ("gaussian_filter(2) -> tozarr", to_zarr, False)]
        for name, op, targeted in operations:
            ours, got, base, ref = interleaved_best(
                args.repeat, lambda op=op: op(images.fromtif(folder, engine=client)),
                lambda op=op: op(images.fromtif(folder)))
            if isinstance(got, str):  # the stores: compare what was written
                got = images.fromzarr(got).toarray()
                ref = images.fromzarr(ref).toarray()
            for a, b in zip(got if isinstance(got, tuple) else (got,),
                            ref if isinstance(ref, tuple) else (ref,)):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
            ratio = ours / base
            target = f"target {TARGET:g}" if targeted else "no target, informational"
            print(f"{name}: ours {ours:.2f} s, baseline {base:.2f} s, ratio {ratio:.2f} ({target})  "
                  f"[{nbytes / 2**20 / ours:.0f} MiB/s vs {nbytes / 2**20 / base:.0f} MiB/s]", flush=True)
            if targeted and ratio > TARGET:
                missed.append(name)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(out_dir, ignore_errors=True)
    if missed:
        print("# TARGET MISSED:", ", ".join(missed))
        return 1
    print("# all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
