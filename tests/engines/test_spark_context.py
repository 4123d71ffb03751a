"""resolve_context creating a SparkContext from a master URL (in a fresh
process: one SparkContext per process, and the test session already has one)."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("pyspark")

pytestmark = pytest.mark.spark

SCRIPT = """
import json, os, sys
from napari_thunder import images
from napari_thunder.engines.spark import resolve_context
sc = resolve_context('local[1]')
imgs = images.fromarray([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], engine='local[1]')
out = {
    'master': sc.master,
    'host': sc.getConf().get('spark.driver.host'),
    'bind': sc.getConf().get('spark.driver.bindAddress'),
    'python': os.environ.get('PYSPARK_PYTHON'),
    'same_context': imgs.values.context is sc,
    'mean': imgs.mean().toarray().tolist(),
    'mode': imgs.mode,
}
try:
    resolve_context('local[2]')
except ValueError as err:
    out['other_master'] = str(err)
sc.stop()
print('RESULT ' + json.dumps(out))
"""


def _run(env_updates):
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "SPARK_LOCAL_IP")}
    env.update(env_updates)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_master_url_creates_context_on_loopback():
    out = _run({})
    assert out["master"] == "local[1]" and out["mode"] == "spark"
    assert out["host"] == "127.0.0.1" and out["bind"] == "127.0.0.1"
    assert out["python"] == sys.executable
    assert out["same_context"] is True  # engine='local[1]' reused the context
    assert out["mean"] == [[3.0, 4.0], [5.0, 6.0]]
    assert "already running" in out["other_master"]
