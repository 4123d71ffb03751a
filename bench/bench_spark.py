"""Spark ``local[2]`` vs the local engine on a ~200 MB stack of TIFF files.

For each operation prints::

    name: ours X s, baseline Y s, ratio R (target T)

where *ours* is Spark mode, *baseline* local mode, ``R = X / Y`` and the target
is ``R <= 3``. Each timing is the best of ``--repeat`` runs (Spark and local alternately, so
both see the same background load), starting from the
loader (the TIFFs are read inside the timing, on the executors in Spark mode);
the SparkContext is started and warmed up before any timing. Both modes check
they computed the same values. Exit status 1 if any ratio misses the target.

Usage: python bench/bench_spark.py [--frames 200] [--size 512] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

TARGET = 3.0


def write_stack(folder: str, frames: int, size: int) -> int:
    """``frames`` float32 TIFFs of ``size x size`` (smooth structure + noise);
    returns the stack's bytes."""
    import tifffile
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    base = gaussian_filter(rng.standard_normal((size, size)), 8).astype(np.float32)
    for i in range(frames):
        frame = base * np.float32(1 + 0.5 * np.sin(i / 7)) + rng.standard_normal((size, size), np.float32)
        tifffile.imwrite(os.path.join(folder, f"frame_{i:05d}.tif"), frame)
    return frames * size * size * 4


def interleaved_best(repeat: int, ours, baseline):
    """Best time of ``ours()`` and of ``baseline()``, run alternately so both
    see the same background load; returns ``(t_ours, v_ours, t_base, v_base)``."""
    times = {"ours": [], "base": []}
    values = {}
    for _ in range(repeat):
        for key, func in (("ours", ours), ("base", baseline)):
            began = time.perf_counter()
            values[key] = func()
            times[key].append(time.perf_counter() - began)
    return min(times["ours"]), values["ours"], min(times["base"]), values["base"]


def spark_context():
    from napari_thunder.engines.spark.context import get_or_create_context

    sc = get_or_create_context("local[2]", app_name="napari-thunder-bench", conf={
        "spark.driver.memory": "2g", "spark.buffer.size": os.environ.get("BUF", "65536")})
    sc.setLogLevel("ERROR")
    return sc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes (50 x 256 x 256, 2 repeats)")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.size, args.repeat = 50, 256, 2

    from napari_thunder import images

    folder = tempfile.mkdtemp(prefix="bench-spark-")
    try:
        nbytes = write_stack(folder, args.frames, args.size)
        print(f"stack: {args.frames} x {args.size} x {args.size} float32 = {nbytes / 2**20:.0f} MiB "
              f"in {args.frames} TIFF files")
        sc = spark_context()
        # warm-up: JVM, Python workers, imports on the executors
        images.fromtif(folder, engine=sc, stop=4).mean().toarray()
        images.fromtif(folder, stop=4).mean().toarray()

        operations = {
            "statistics (mean, std)": lambda imgs: (imgs.mean().toarray(), imgs.std().toarray()),
            "gaussian_filter(2) -> toarray": lambda imgs: imgs.gaussian_filter(2).toarray(),
            "localcorr(2)": lambda imgs: imgs.localcorr(2),
        }
        missed = []
        for name, op in operations.items():
            ours, spark_value, base, local_value = interleaved_best(
                args.repeat, lambda: op(images.fromtif(folder, engine=sc)),
                lambda: op(images.fromtif(folder)))
            def as_tuple(v):
                return (v if isinstance(v, tuple) else (v,))
            for a, b in zip(as_tuple(spark_value), as_tuple(local_value)):
                np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
            ratio = ours / base
            print(f"{name}: ours {ours:.2f} s, baseline {base:.2f} s, ratio {ratio:.2f} (target {TARGET:g})",
                  flush=True)
            if ratio > TARGET:
                missed.append(name)
        sc.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if missed:
        print("missed target:", ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
