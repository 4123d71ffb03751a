"""Zarr read/write throughput: napari-thunder vs zarr-python on the same array.

Cases (same array, same chunk shape, same compressor: zarr's default zstd, in
the same run, best of ``--repeat`` runs, baseline and ours interleaved):

* write: ``Images.tozarr(path, chunks=...)`` (OME-Zarr 0.5: atomic temp
  folder + rename, NGFF metadata, chunks written by the local engine's
  threads) vs ``zarr.create_array(...)`` then ``z[:] = array`` (zarr-python's
  own concurrent chunk writes, no atomicity, no metadata).
* read: ``images.fromzarr(path).frames.collect()`` (chunk-aligned engine
  blocks read by the worker threads) vs ``zarr.open_array(path)[:]``.
* pyramid write (informational, no target): ``tozarr(levels=3)`` vs the plain
  zarr write of level 0 only.

Target: ratio = baseline time / our time >= 0.8 for read and write.
``python bench/bench_zarr.py`` (about 30 s; ``--quick`` for a smaller array).
Exits 1 when a target is missed.
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

TARGET = 0.8


def _timed(func):
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def _cores_available(seconds=0.3):
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
    import zarr

    from napari_thunder import images

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller array (noisier)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n, h, w = (60, 256, 256) if args.quick else (200, 512, 512)
    chunks = (1, h, w)
    rng = np.random.default_rng(0)
    # camera-like data: smooth background plus noise (compresses like real frames)
    base = (1000 + 200 * np.sin(np.linspace(0, 6, w))[None, :] + np.linspace(0, 300, h)[:, None])
    data = (base[None] + rng.normal(0, 30, (n, h, w))).astype(np.uint16)
    mib = data.nbytes / 2**20
    tmp = tempfile.mkdtemp(prefix="bench-zarr-")
    print(f"# bench_zarr: {n}x{h}x{w} uint16 ({mib:.0f} MiB), chunks {chunks}, zarr {zarr.__version__}, "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"# cores available (2 busy threads): {_cores_available():.2f}")
    imgs = images.fromarray(data)
    failed = False
    try:
        written = {}

        def fresh(tag):
            written.setdefault(tag, []).append(os.path.join(tmp, f"{tag}-{len(written.get(tag, []))}.zarr"))
            return written[tag][-1]

        def zarr_write():
            z = zarr.create_array(fresh("zarr"), shape=data.shape, chunks=chunks, dtype=data.dtype)
            z[:] = data

        def ours_write():
            imgs.tozarr(fresh("ours"), chunks=chunks)

        def ours_pyramid():
            imgs.tozarr(fresh("pyr"), chunks=chunks, levels=3)

        base_w, ours_w, pyr_w = [], [], []
        for _ in range(args.repeat):
            base_w.append(_timed(zarr_write))
            ours_w.append(_timed(ours_write))
            pyr_w.append(_timed(ours_pyramid))
        ref = written["ours"][0]
        assert np.array_equal(zarr.open_group(ref, mode="r")["0"][:], data)
        plain = written["zarr"][0]

        def zarr_read():
            out = zarr.open_array(plain, mode="r")[:]
            assert out.shape == data.shape

        def ours_read():
            out = images.fromzarr(ref).frames.collect()
            assert out.shape == data.shape

        base_r, ours_r = [], []
        for _ in range(args.repeat):
            base_r.append(_timed(zarr_read))
            ours_r.append(_timed(ours_read))
        np.testing.assert_array_equal(images.fromzarr(ref).frames.collect(), data)

        for label, ours, base in (("write", ours_w, base_w), ("read", ours_r, base_r)):
            o, b = min(ours), min(base)
            ratio = b / o
            failed |= ratio < TARGET
            print(f"zarr {label} {n}x{h}x{w} uint16 vs zarr-python: ours {o:.3f} s, baseline {b:.3f} s, "
                  f"ratio {ratio:.2f} (target {TARGET})  [{mib / o:.0f} MiB/s vs {mib / b:.0f} MiB/s]")
        o, b = min(pyr_w), min(base_w)
        print(f"zarr write with 3-level pyramid vs zarr-python level 0 only: ours {o:.3f} s, "
              f"baseline {b:.3f} s, ratio {b / o:.2f} (no target, informational)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# all targets met" if not failed else "# TARGET MISSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
