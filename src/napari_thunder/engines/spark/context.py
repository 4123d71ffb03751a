"""The SparkContext: found, created (only here) and stopped.

:func:`get_or_create_context` is the one function of the project that builds a
``SparkContext``; the engine factory, the test fixtures, the cluster driver and
the benchmarks all go through it, so every context gets the same safe
defaults: the driver on the loopback interface, the executors on this Python,
no web UI unless asked for (and then never on all interfaces), no console
progress bars.

pyspark is imported inside the functions: importing this module does not
start Java.
"""

from __future__ import annotations

import os
import sys
import threading

#: the strings :func:`resolve_context` accepts as master URLs start so
_MASTER_PREFIXES = ("local", "spark://", "yarn", "k8s://", "mesos://")

#: the interface the driver (and the UI, when on) binds to unless configured
LOOPBACK = "127.0.0.1"

#: guards finding, creating and stopping the process's one context
_CONTEXT_LOCK = threading.RLock()


def resolve_context(engine):
    """The SparkContext for ``engine``.

    Parameters
    ----------
    engine : SparkContext or str
        A SparkContext is returned as is. A master URL (``'local'``,
        ``'local[4]'``, ``'spark://host:7077'``, ``'yarn'``, ``'k8s://...'``)
        goes to :func:`get_or_create_context`.

    Returns
    -------
    pyspark.SparkContext

    Raises
    ------
    ValueError
        ``engine`` is not a SparkContext nor a master URL, or another
        SparkContext with a different master is already running.
    """
    import pyspark

    if isinstance(engine, pyspark.SparkContext):
        return engine
    if not isinstance(engine, str) or not engine.strip().startswith(_MASTER_PREFIXES):
        raise ValueError(
            "engine must be None, a SparkContext or a Spark master URL "
            f"('local[4]', 'spark://host:7077', ...), got {engine!r}"
        )
    return get_or_create_context(engine)


def get_or_create_context(master: str, app_name: str = "napari-thunder", conf=None):
    """The process's SparkContext with master ``master``, created if none runs.

    Spark allows one context per process. A running context with this master
    is returned as it is (``app_name`` and ``conf`` are then not applied).
    Otherwise a new one is made from the Spark defaults and ``conf``, with
    these rules for what ``conf`` does not say:

    * the application is named ``app_name``;
    * the driver binds to 127.0.0.1 (``spark.driver.host`` and
      ``spark.driver.bindAddress``) unless ``conf`` sets ``spark.driver.host``
      or the ``SPARK_LOCAL_IP`` environment variable is set;
    * the executors run this interpreter (``PYSPARK_PYTHON`` is set to
      ``sys.executable`` unless it is already set);
    * the web UI is off (``spark.ui.enabled=false``) and so are the console
      progress bars (``spark.ui.showConsoleProgress=false``);
    * when ``conf`` turns the UI on, it listens on the driver's interface
      (127.0.0.1 by the rule above), never on all interfaces: the JVM is
      started with ``SPARK_LOCAL_IP`` set to that interface unless
      ``SPARK_LOCAL_IP`` is set already.

    Parameters
    ----------
    master : str
        A Spark master URL: ``'local[2]'``, ``'spark://host:7077'``,
        ``'yarn'``, ``'k8s://...'``.
    app_name : str
        The application's name, unless ``conf`` sets ``spark.app.name``.
    conf : mapping or pyspark.SparkConf, optional
        Spark settings (``{'spark.executor.memory': '2g'}``); values are
        turned into strings (``True`` -> ``'true'``).

    Returns
    -------
    pyspark.SparkContext

    Raises
    ------
    TypeError
        ``master`` is not a string.
    ValueError
        ``master`` is empty; a SparkContext with another master is running
        (the message names ``engine``: stop it first with
        :func:`stop_context`); ``conf`` sets another ``spark.master``; or
        ``conf`` turns the UI on while the running JVM was started without
        ``SPARK_LOCAL_IP`` (its UI would listen on all interfaces).

    Notes
    -----
    The first context of a process starts the JVM, with its settings: those
    that act at start (``spark.driver.memory``, the driver's Java options) apply
    to it only, and Spark keeps them all as defaults for later contexts (after
    :func:`stop_context`) where ``conf`` and the rules above do not override.
    """
    import pyspark

    if not isinstance(master, str):
        raise TypeError(f"engine: a Spark master must be a string, got {master!r} ({type(master).__name__})")
    master = master.strip()
    if not master:
        raise ValueError("engine: the Spark master is empty")
    with _CONTEXT_LOCK:
        active = pyspark.SparkContext._active_spark_context
        if active is not None:
            _check_master(active, master)
            return active
        spark_conf = _conf_for(pyspark, master, app_name, conf)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        ui_host = _ui_host(pyspark, spark_conf)
        if ui_host is not None:
            os.environ["SPARK_LOCAL_IP"] = ui_host  # read once, when the JVM starts
        try:
            context = pyspark.SparkContext.getOrCreate(spark_conf)
        finally:
            if ui_host is not None:
                os.environ.pop("SPARK_LOCAL_IP", None)
        _check_master(context, master)
        return context


def stop_context() -> bool:
    """Stop this process's running SparkContext, if any.

    After it, :func:`get_or_create_context` starts a new context, with any
    master (the JVM keeps running). Frames built on the stopped context can no
    longer run jobs.

    Returns
    -------
    bool
        True when a context was stopped, False when none was running.
    """
    pyspark = sys.modules.get("pyspark")  # never started: nothing to stop
    if pyspark is None:
        return False
    with _CONTEXT_LOCK:
        active = pyspark.SparkContext._active_spark_context
        if active is None:
            return False
        active.stop()
        return True


def _check_master(context, master: str) -> None:
    if context.master != master:
        raise ValueError(
            f"engine={master!r}: a SparkContext with master {context.master!r} is already "
            "running (one per process); pass it as engine or stop it first"
        )


def _conf_for(pyspark, master: str, app_name: str, conf):
    """The SparkConf of a new context: the Spark defaults, ``conf``, then our
    rules for what ``conf`` does not say. The rules look at ``conf`` and the
    environment only: once the JVM runs, the defaults also hold the settings
    of the context that started it, which must not decide for this one."""
    items = conf.getAll() if isinstance(conf, pyspark.SparkConf) else dict(conf or {}).items()
    given = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in items}
    if given.get("spark.master", master) != master:
        raise ValueError(f"conf sets spark.master={given['spark.master']!r}, but the master is {master!r}")
    spark_conf = pyspark.SparkConf()
    for key, value in given.items():
        spark_conf.set(key, value)
    spark_conf.setMaster(master)
    spark_conf.setAppName(given.get("spark.app.name", app_name))
    if "spark.driver.host" not in given and "SPARK_LOCAL_IP" not in os.environ:
        spark_conf.set("spark.driver.host", LOOPBACK)
        spark_conf.set("spark.driver.bindAddress", given.get("spark.driver.bindAddress", LOOPBACK))
    for key in ("spark.ui.enabled", "spark.ui.showConsoleProgress"):
        if key not in given:
            spark_conf.set(key, "false")
    return spark_conf


def _ui_host(pyspark, spark_conf) -> str | None:
    """The interface to start the JVM with (``SPARK_LOCAL_IP``) so that the
    UI ``spark_conf`` turns on does not listen on all interfaces; None when
    nothing is to be set (UI off, or ``SPARK_LOCAL_IP`` already set)."""
    if spark_conf.get("spark.ui.enabled", "true").strip().lower() != "true":
        return None
    if "SPARK_LOCAL_IP" in os.environ:
        return None
    host = spark_conf.get("spark.driver.bindAddress") or spark_conf.get("spark.driver.host") or LOOPBACK
    if pyspark.SparkContext._jvm is not None:  # the JVM runs: its environment is fixed
        if not pyspark.SparkContext._jvm.java.lang.System.getenv("SPARK_LOCAL_IP"):
            raise ValueError(
                "conf turns the Spark UI on, but this process's JVM was started without "
                "SPARK_LOCAL_IP, so the UI would listen on all interfaces; set SPARK_LOCAL_IP "
                "(e.g. 127.0.0.1) before the first SparkContext, or leave spark.ui.enabled off"
            )
        return None
    return host
