"""Driver program run in its own process against a standalone cluster
(one SparkContext per process, so it cannot share the test session's).

Usage: python cluster_driver.py MASTER_URL INPUT_DIR OUTPUT_DIR {pipeline|recovery} [MARKER_DIR]

``pipeline``: fromtif -> gaussian_filter -> mean/std, localcorr, totif; saves
``pipeline.npz`` and writes ``OUTPUT_DIR/filtered`` with totif.
``recovery``: a slow per-frame map (each task drops a marker file in
MARKER_DIR when it starts) followed by toseries (a shuffle); saves
``recovery.npz``. Prints ``JOB STARTED`` before the slow action.
"""

import os
import sys
import time

import numpy as np


class SlowFrames:
    """Per-frame function that sleeps, leaving a marker per block it starts."""

    def __init__(self, marker_dir, seconds):
        self.marker_dir = marker_dir
        self.seconds = seconds

    def __call__(self, frame):
        # the parent is the executor's pyspark daemon: one per executor
        name = f"{os.getppid()}-{os.getpid()}-{time.monotonic_ns()}"
        with open(os.path.join(self.marker_dir, name), "w"):
            pass
        time.sleep(self.seconds)
        return frame.astype(np.float64) * 2.0 + 1.0


def main(argv):
    master, input_dir, output_dir, task = argv[:4]
    marker_dir = argv[4] if len(argv) > 4 else None
    from napari_thunder.engines.spark.context import get_or_create_context

    sc = get_or_create_context(master, app_name=f"napari-thunder-cluster-{task}",
                               conf={"spark.executor.memory": "512m", "spark.cores.max": "2"})
    sc.setLogLevel("WARN")
    try:
        deadline = time.monotonic() + 60
        # wait for both executors (one per worker) so the work is spread
        while sc._jsc.sc().getExecutorMemoryStatus().size() < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        from napari_thunder import images

        imgs = images.fromtif(input_dir, engine=sc, npartitions=4)
        if task == "pipeline":
            filtered = imgs.gaussian_filter(1.5)
            np.savez(
                os.path.join(output_dir, "pipeline.npz"),
                mode=np.array(imgs.mode),
                npartitions=np.array(imgs.npartitions()),
                filtered=filtered.toarray(),
                mean=filtered.mean().toarray(),
                std=filtered.std().toarray(),
                localcorr=imgs.localcorr(1),
            )
            filtered.totif(os.path.join(output_dir, "filtered"))
        elif task == "recovery":
            slow = imgs.map(SlowFrames(marker_dir, 0.5))
            print("JOB STARTED", flush=True)
            series = slow.toseries().toarray()
            np.savez(os.path.join(output_dir, "recovery.npz"), series=series)
        else:
            raise ValueError(f"unknown task {task!r}")
        print("DONE", flush=True)
    finally:
        sc.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
