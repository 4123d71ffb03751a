"""Folder-of-TIFFs mean: napari-thunder vs ``np.fromfile`` over the same files.

The layout of the public neurofinder recordings Thunder was made for: a folder
of single-page uncompressed uint16 TIFFs (default 1000 files of 512 x 512).
In the same run, best of ``--repeat`` runs, interleaved:

* baseline: for each file, ``np.fromfile`` at the pixel data offset (read
  once with tifffile beforehand, not timed), summed into a float64 mean;
* ours: ``images.fromtif(folder).mean().toarray()`` on the local engine, with
  everything it does: listing, reading every file's header, the mean.

Target: ratio = baseline time / our time >= 0.8.
``python bench/bench_io.py`` (about 20 s; ``--files 200`` for a quicker run).
Exits 1 when the target is missed.
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
    out = func()
    return time.perf_counter() - t0, out


def make_folder(folder, nfiles, shape, seed=0):
    import tifffile

    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 4096, shape, dtype=np.uint16)
    for i in range(nfiles):
        # a different frame per file, cheaply: roll the same random frame
        tifffile.imwrite(os.path.join(folder, f"image{i:05d}.tiff"), np.roll(frame, i, axis=1),
                         photometric="minisblack")


def baseline_mean(files, offset, shape):
    total = np.zeros(shape, np.float64)
    count = int(np.prod(shape))
    for path in files:
        total += np.fromfile(path, dtype="<u2", count=count, offset=offset).reshape(shape)
    return total / len(files)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import tifffile

    from napari_thunder import images

    shape = (args.size, args.size)
    folder = tempfile.mkdtemp(prefix="bench_io_")
    try:
        make_folder(folder, args.files, shape)
        files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
        with tifffile.TiffFile(files[0]) as tif:
            offset = tif.pages[0].dataoffsets[0]
        ours_times, base_times = [], []
        reference = None
        for _ in range(args.repeat):
            t, reference = _timed(lambda: baseline_mean(files, offset, shape))
            base_times.append(t)
            t, result = _timed(lambda: images.fromtif(folder).mean().toarray())
            ours_times.append(t)
        np.testing.assert_allclose(result, reference, rtol=1e-12)
        base, ours = min(base_times), min(ours_times)
        load, _ = _timed(lambda: images.fromtif(folder))
        ratio = base / ours
        print(f"folder of {args.files} single-page {shape[0]}x{shape[1]} uint16 TIFFs, mean over the files")
        print(f"  np.fromfile baseline  {base:8.3f} s")
        print(f"  fromtif(...).mean()   {ours:8.3f} s   (of which headers/listing {load:.3f} s)")
        print(f"  ratio baseline/ours   {ratio:8.2f}   target >= {TARGET}")
        load1 = os.getloadavg()[0]
        print(f"  load average {load1:.1f} on {os.cpu_count()} cores (ours runs on threads: a busy machine "
              f"lowers the ratio)")
        return 0 if ratio >= TARGET else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
