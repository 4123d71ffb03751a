"""Creating, reusing, stopping and re-creating the SparkContext
(``engines.spark.context``), each scenario in a fresh process: one
SparkContext per process, and the test session already has one.

What a context listens on is read from ``/proc``: the TCP sockets in LISTEN
state whose inodes are open in the driver's JVM.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("pyspark")

pytestmark = pytest.mark.spark

PRELUDE = r"""
import json, os, socket, sys

def listening(pid):
    '''(address, port) of every TCP socket the process ``pid`` listens on.'''
    inodes = set()
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            target = os.readlink(f'/proc/{pid}/fd/{fd}')
        except OSError:
            continue
        if target.startswith('socket:['):
            inodes.add(target[8:-1])
    found = []
    for table, family in (('tcp', socket.AF_INET), ('tcp6', socket.AF_INET6)):
        with open(f'/proc/{pid}/net/{table}') as handle:
            for line in list(handle)[1:]:
                fields = line.split()
                if fields[3] != '0A' or fields[9] not in inodes:  # 0A: LISTEN
                    continue
                hex_address, hex_port = fields[1].split(':')
                raw = bytes.fromhex(hex_address)
                # /proc prints the address as 32-bit words in host (little-endian) order
                raw = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.append((socket.inet_ntop(family, raw), int(hex_port, 16)))
    return found

def jvm_pid(sc):
    return sc._jvm.java.lang.ProcessHandle.current().pid()

def loopback(address):
    return address.startswith('127.') or address.startswith('::ffff:127.') or address == '::1'

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
"""

DEFAULTS = PRELUDE + r"""
from napari_thunder import images
from napari_thunder.engines.spark import get_or_create_context, resolve_context, stop_context
out = {'stop_before_any': stop_context()}
sc = resolve_context('local[1]')
imgs = images.fromarray([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], engine='local[1]')
conf = sc.getConf()
out.update({
    'master': sc.master,
    'app': sc.appName,
    'host': conf.get('spark.driver.host'),
    'bind': conf.get('spark.driver.bindAddress'),
    'ui': conf.get('spark.ui.enabled'),
    'progress': conf.get('spark.ui.showConsoleProgress'),
    'ui_url': sc.uiWebUrl,
    'listening': listening(jvm_pid(sc)),
    'python': os.environ.get('PYSPARK_PYTHON'),
    'same_context': imgs.values.context is sc,
    'reused': get_or_create_context(' local[1] ', app_name='other') is sc,
    'mean': imgs.mean().toarray().tolist(),
    'mode': imgs.mode,
})
try:
    resolve_context('local[2]')
except ValueError as err:
    out['other_master'] = str(err)
try:
    get_or_create_context('local[2]')
except ValueError as err:
    out['other_master_direct'] = str(err)
# switch masters without restarting the process
out['stopped'] = stop_context()
sc2 = get_or_create_context('local[2]', app_name='second', conf={'spark.default.parallelism': 3})
out['second'] = [sc2.master, sc2.appName, sc2.defaultParallelism,
                 sc2.parallelize(range(10), 3).map(lambda x: x * x).sum(),
                 sc2.getConf().get('spark.ui.enabled')]
second_images = images.fromarray([[[1.0, 2.0]], [[3.0, 5.0]]], engine='local[2]')
out['second_images'] = second_images.sum().toarray().tolist()
out['stopped_again'] = stop_context()
out['stop_when_none'] = stop_context()
# this JVM started without SPARK_LOCAL_IP: a UI now would listen on all interfaces
try:
    get_or_create_context('local[1]', conf={'spark.ui.enabled': True})
except ValueError as err:
    out['late_ui'] = str(err)
for bad in (5, '  '):
    try:
        get_or_create_context(bad)
    except (TypeError, ValueError) as err:
        out[f'bad {bad!r}'] = [type(err).__name__, str(err)]
print('RESULT ' + json.dumps(out))
"""

UI_ON = PRELUDE + r"""
from napari_thunder.engines.spark import get_or_create_context, stop_context
port = free_port()
sc = get_or_create_context('local[1]', conf={'spark.ui.enabled': True, 'spark.ui.port': port,
                                             'spark.app.name': 'named-by-conf'})
out = {'port': port, 'ui_url': sc.uiWebUrl, 'app': sc.appName, 'listening': listening(jvm_pid(sc)),
       'env_after': os.environ.get('SPARK_LOCAL_IP'),
       'progress': sc.getConf().get('spark.ui.showConsoleProgress')}
stop_context()
# the JVM keeps SPARK_LOCAL_IP: a second context may turn its UI on too
sc = get_or_create_context('local[2]', conf={'spark.ui.enabled': 'true', 'spark.ui.port': port})
out['second_listening'] = listening(jvm_pid(sc))
try:
    get_or_create_context('local[2]', conf={'spark.master': 'local[1]'})
except ValueError as err:
    out['reused_ignores_conf'] = str(err)
else:
    out['reused_ignores_conf'] = 'reused'
stop_context()
try:
    get_or_create_context('local[2]', conf={'spark.master': 'local[1]'})
except ValueError as err:
    out['conf_master'] = str(err)
print('RESULT ' + json.dumps(out))
"""


def _run(script, env_updates=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "SPARK_LOCAL_IP")}
    env.update(env_updates or {})
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _all_loopback(listening):
    return all(a.startswith("127.") or a.startswith("::ffff:127.") or a == "::1" for a, _ in listening)


def test_defaults_reuse_other_master_and_switching_masters():
    out = _run(DEFAULTS)
    assert out["stop_before_any"] is False  # pyspark not even imported yet
    assert out["master"] == "local[1]" and out["mode"] == "spark" and out["app"] == "napari-thunder"
    assert out["host"] == "127.0.0.1" and out["bind"] == "127.0.0.1"
    assert out["python"] == sys.executable
    # no UI, no progress bars, and nothing listens beyond the loopback interface
    assert out["ui"] == "false" and out["progress"] == "false" and out["ui_url"] is None
    assert out["listening"] and _all_loopback(out["listening"]), out["listening"]
    assert not any(port == 4040 for _, port in out["listening"])
    assert out["same_context"] is True  # engine='local[1]' reused the context
    assert out["reused"] is True
    assert out["mean"] == [[3.0, 4.0], [5.0, 6.0]]
    for key in ("other_master", "other_master_direct"):
        assert out[key].startswith("engine='local[2]'") and "already running" in out[key]
        assert "'local[1]'" in out[key]
    assert out["stopped"] is True
    assert out["second"] == ["local[2]", "second", 3, 285, "false"]
    assert out["second_images"] == [4.0, 7.0]  # toarray squeezes the 1-row axis
    assert out["stopped_again"] is True and out["stop_when_none"] is False
    assert "SPARK_LOCAL_IP" in out["late_ui"] and "all interfaces" in out["late_ui"]
    assert out["bad 5"][0] == "TypeError" and "engine" in out["bad 5"][1]
    assert out["bad '  '"][0] == "ValueError" and "engine" in out["bad '  '"][1]


def test_ui_turned_on_by_conf_listens_on_loopback_only():
    out = _run(UI_ON)
    assert out["ui_url"] == f"http://127.0.0.1:{out['port']}"
    assert out["app"] == "named-by-conf" and out["progress"] == "false"
    ports = [port for _, port in out["listening"]]
    assert out["port"] in ports
    assert _all_loopback(out["listening"]), out["listening"]
    assert out["env_after"] is None  # the process environment is left as it was
    assert out["port"] in [port for _, port in out["second_listening"]]
    assert _all_loopback(out["second_listening"]), out["second_listening"]
    assert out["reused_ignores_conf"] == "reused"  # a running context with that master is returned as is
    assert "spark.master='local[1]'" in out["conf_master"] and "conf" in out["conf_master"]


def test_spark_local_ip_set_leaves_the_driver_host_to_spark():
    script = PRELUDE + r"""
from napari_thunder.engines.spark import get_or_create_context
sc = get_or_create_context('local[1]')
print('RESULT ' + json.dumps({'host': sc.getConf().get('spark.driver.host'),
                              'bind': sc.getConf().get('spark.driver.bindAddress', None),
                              'listening': listening(jvm_pid(sc))}))
"""
    out = _run(script, {"SPARK_LOCAL_IP": "127.0.0.2"})
    assert out["bind"] is None  # not set by us
    assert out["host"] == "127.0.0.2"  # Spark's own choice, from SPARK_LOCAL_IP
    # the driver listens there; the py4j gateway always on 127.0.0.1
    assert _all_loopback(out["listening"]), out["listening"]
    assert any(a.endswith("127.0.0.2") for a, _ in out["listening"]), out["listening"]
