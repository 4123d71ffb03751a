"""One command for the benchmark suite (issues 5 and 13).

Usage, from the repository root::

    python bench/run.py            # full sizes: several minutes, ~9 GB of temp files
    python bench/run.py --quick    # small sizes, under a minute
    python bench/run.py --only stats,ooc
    python bench/run.py --all      # also bench/bench_core.py and bench/bench_spark.py
    python bench/run.py --quick --only stats,projections,filters

Prints every figure as ``name: ours X s, peer Y s, ratio R (target T)``
(memory figures as ``name: ours X MB, limit L MB``), then a summary line; the
exit status is 1 when a target was missed, 0 otherwise. Timings are ratios
against peers measured in the same run (numpy, serial scipy loops,
dask.array, dask-image when installed, the two-thread memory read): see ``bench/bench_perf.py`` for
the cases and ``bench/RESULTS.md`` for the latest full run.

Temporary data goes to ``$TMPDIR`` (or ``--tmpdir``) and is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_perf  # noqa: E402  (sibling script)

#: other benchmark scripts run with ``--all`` (each exits 1 on a missed target)
EXTRA_SCRIPTS = ("bench_core.py", "bench_spark.py", "bench_zarr.py", "bench_distributed.py")


def run_extra(script, quick) -> int:
    """Run a sibling benchmark script in a child process; its exit status."""
    path = os.path.join(HERE, script)
    if not os.path.exists(path):
        print(f"# {script}: not present, skipped")
        return 0
    cmd = [sys.executable, path] + (["--quick"] if quick else [])
    print(f"# running {' '.join(cmd)}", flush=True)
    return subprocess.call(cmd)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="napari-thunder benchmark suite (issue 5)")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--only", type=bench_perf.parse_cases, default=bench_perf.CASES,
                        help=f"comma-separated cases among {', '.join(bench_perf.CASES)}")
    parser.add_argument("--all", action="store_true",
                        help=f"also run {' and '.join(EXTRA_SCRIPTS)} (in child processes)")
    parser.add_argument("--tmpdir", help="directory for the temporary stacks (default: $TMPDIR)")
    parser.add_argument("--thunder-python", metavar="PATH",
                        help="a Python 3.7 with thunder-python 1.4.2: also time the original "
                        "Thunder (local mode) on the same stacks")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="napari-thunder-bench-", dir=args.tmpdir)
    try:
        report = bench_perf.run(args.only, quick=args.quick, workdir=workdir,
                                thunder_python=args.thunder_python)
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    failed = list(report.missed)
    if args.all:
        for script in EXTRA_SCRIPTS:
            if run_extra(script, args.quick) != 0:
                failed.append(script)
    elapsed = time.perf_counter() - start
    if failed:
        print(f"MISSED {len(failed)} target(s) in {elapsed:.0f} s: {'; '.join(failed)}")
        return 1
    print(f"all targets met in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
