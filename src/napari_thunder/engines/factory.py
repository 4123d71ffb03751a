"""The one engine factory: what ``engine=`` means, for the API, the CLI and the GUI.

Every loader, ``Images.tospark``, the ``--engine`` option of the command line
and the GUI's engine settings hand their ``engine`` value to
:func:`resolve_engine`, which returns an :class:`Engine`. The accepted values
are listed here and nowhere else:

==============================================  =====================================
``engine=``                                     engine
==============================================  =====================================
``None``, ``'local'``, ``'dask'``               the embedded dask engine (threads of
                                                this process; the default)
a :class:`Engine` (e.g. from an earlier call)   that engine
a ``pyspark.SparkContext``                      Spark, on that context
``'spark:MASTER'`` (``'spark:local[2]'``,       Spark with master ``MASTER`` (the
``'spark:yarn'``)                               explicit form)
``'spark://host:7077'``                         Spark, a standalone cluster
``'local[N]'``, ``'local[*]'``,                 Spark's local master (kept for
``'local[N,F]'``                                Thunder-style scripts)
``'yarn'``, ``'k8s://…'``, ``'mesos://…'``      Spark on that cluster manager
a ``distributed.Client``                        dask.distributed, on that client
``'dask://host:8786'``, ``'tcp://host:8786'``,  dask.distributed, the scheduler at
``'tls://host:8786'``                           that address (``dask://`` = ``tcp://``)
``'distributed'``                               dask.distributed: this process's
                                                current client, else a new local
                                                cluster of worker processes
==============================================  =====================================

A Spark master given by name reuses the running ``SparkContext`` when it has
that master and otherwise creates one (Spark allows one per process; a
different running master is an error). A scheduler address reuses this
process's open client of that scheduler and otherwise connects (lazily, on
first use). Anything else raises ``TypeError``
(not a string, a context, a client or an engine: ``engine=5``,
``engine=True``) or ``ValueError`` (an unknown string), naming ``engine``.

Only this module decides which engine a value means; the engines themselves
live in :mod:`napari_thunder.engines.local`, :mod:`napari_thunder.engines.spark`
and :mod:`napari_thunder.engines.distributed`, imported when first used.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from abc import ABC, abstractmethod

__all__ = [
    "DISTRIBUTED_PREFIXES",
    "DistributedEngine",
    "Engine",
    "LocalEngine",
    "SparkEngine",
    "engine_kind",
    "resolve_engine",
]

#: strings naming the embedded dask engine
LOCAL_NAMES = ("local", "dask")
#: the string naming dask.distributed on the current client (or a new local cluster)
DISTRIBUTED_NAME = "distributed"
#: prefixes of scheduler addresses of a dask.distributed cluster
DISTRIBUTED_PREFIXES = ("dask://", "tcp://", "tls://")
#: prefixes of Spark master URLs accepted as they are
SPARK_MASTER_PREFIXES = ("spark://", "k8s://", "mesos://")
#: Spark's local masters: local[4], local[*], local[4,2] (max failures)
_SPARK_LOCAL = re.compile(r"local\[(\d+|\*)(,\s*\d+)?\]")

_ENGINE_HELP = (
    "None or 'local' (the embedded dask engine), a SparkContext or a Spark master "
    "('spark:local[2]', 'local[2]', 'spark://host:7077', 'yarn', 'k8s://...'), or a "
    "distributed.Client, a scheduler address ('dask://host:8786', 'tcp://host:8786') or "
    "'distributed'"
)


class Engine(ABC):
    """Where frames live and work runs; makes the engine's ``Frames``.

    Engines are made by :func:`resolve_engine`, never directly by users.
    """

    #: ``'local'``, ``'spark'`` or ``'distributed'``
    kind: str = ""

    @abstractmethod
    def frames_from_source(self, source, npartitions=None):
        """Frames reading ``source`` (a ``FrameSource``) where the work runs.

        Parameters
        ----------
        source : napari_thunder.io.source.FrameSource
            Picklable; ``source.read(start, stop)`` gives frames ``start:stop``.
        npartitions : int, optional
            Number of partitions (Spark) or chunks hint; None for the default.

        Returns
        -------
        napari_thunder.engines.base.Frames
        """

    @abstractmethod
    def frames_from_array(self, array, npartitions=None):
        """Frames holding ``array`` (ndarray or dask array, axis 0 = frames).

        Parameters
        ----------
        array : array-like
        npartitions : int, optional

        Returns
        -------
        napari_thunder.engines.base.Frames
        """

    @abstractmethod
    def frames_from_items(self, items, func, npartitions=None):
        """Frames from ``func(item)``, an iterable of ``(key, ndarray)`` per item.

        Items are read in order and the frames numbered ``0 .. n-1`` in item
        order, then yield order (the keys are ignored).

        Parameters
        ----------
        items : sequence
            Picklable items (e.g. ``(index, filename)`` pairs).
        func : callable
        npartitions : int, optional

        Returns
        -------
        napari_thunder.engines.base.Frames
        """

    def describe(self) -> str:
        """One line saying which engine this is, for status messages."""
        return self.kind

    def close(self) -> None:  # noqa: B027 (optional hook, default: nothing to release)
        """Release what this engine started (a Spark context it created);
        an engine on a context or client the caller made is left running."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"


class LocalEngine(Engine):
    """The embedded dask engine: lazy arrays chunked along the image axis,
    computed on a pool of threads of this process."""

    kind = "local"

    def frames_from_source(self, source, npartitions=None):
        from napari_thunder.engines.local import LocalFrames

        return LocalFrames.from_source(source, npartitions)

    def frames_from_array(self, array, npartitions=None):
        from napari_thunder.engines.local import LocalFrames

        return LocalFrames.from_array(array, npartitions)

    def frames_from_items(self, items, func, npartitions=None):
        from napari_thunder.engines.local import LocalFrames

        return LocalFrames.from_items(items, func, npartitions)

    def describe(self) -> str:
        return "local engine (dask, chunked along the image axis)"


class SparkEngine(Engine):
    """Apache Spark: frames in an RDD of ``((i,), frame)`` records.

    Parameters
    ----------
    context : pyspark.SparkContext, optional
        The context to run on.
    master : str, optional
        Or a master URL: the context is found or created when first needed.
    """

    kind = "spark"

    def __init__(self, context=None, master=None):
        if (context is None) == (master is None):
            raise ValueError("SparkEngine needs exactly one of context or master")
        self._context = context
        self._by_name = master is not None
        self.master = master if master is not None else context.master
        #: True when this engine created its context (``close`` then stops it)
        self.owns_context = False

    @property
    def context(self):
        """The ``SparkContext`` (created on first use for a master URL)."""
        if self._by_name and (self._context is None or self._context._jsc is None):
            from napari_thunder.engines import spark

            active = _active_spark_context()
            self._context = spark.resolve_context(self.master)
            self.owns_context = active is None
        return self._context

    def frames_from_source(self, source, npartitions=None):
        from napari_thunder.engines.spark import SparkFrames

        return SparkFrames.from_source(source, self.context, npartitions)

    def frames_from_array(self, array, npartitions=None):
        from napari_thunder.engines.spark import SparkFrames

        return SparkFrames.from_array(array, self.context, npartitions)

    def frames_from_items(self, items, func, npartitions=None):
        from napari_thunder.engines.spark import SparkFrames

        return SparkFrames.from_items(self.context, items, func, npartitions, recount=True)

    def frames_from_rdd(self, rdd, dims=None, nrecords=None, dtype=None):
        """Frames from a user RDD of ``(key, ndarray)`` records (Thunder's
        ``fromrdd``): int keys are promoted to 1-tuples; ``dims``, ``nrecords``
        and ``dtype`` given together skip the job that describes the records.

        Parameters
        ----------
        rdd : pyspark.RDD
        dims : tuple of int, optional
        nrecords : int, optional
        dtype : numpy dtype, optional

        Returns
        -------
        napari_thunder.engines.spark.SparkFrames
        """
        from napari_thunder.engines.spark import SparkFrames

        return SparkFrames.from_rdd(rdd, dims=dims, nrecords=nrecords, dtype=dtype)

    def describe(self) -> str:
        return f"Spark engine, master {self.master}"

    def close(self) -> None:
        if self.owns_context and self._context is not None:
            self._context.stop()
            self._context = None
            self.owns_context = False


class DistributedEngine(Engine):
    """dask.distributed: the frames are lazy dask arrays (chunked along the
    image axis) whose actions run on the cluster's workers.

    Parameters
    ----------
    client : distributed.Client, optional
        The client to run on.
    address : str, optional
        Or a scheduler address (``'tcp://host:8786'``), or ``None`` with
        ``client=None`` for the current client / a new local cluster: the
        client is found or opened when first needed.
    """

    kind = "distributed"

    def __init__(self, client=None, address=None):
        self._client = client
        self.address = address if client is None else _client_address(client)
        #: True when this engine opened its client (``close`` then closes it)
        self.owns_client = False

    @classmethod
    def from_spec(cls, engine) -> DistributedEngine:
        """The engine a client, an address or ``'distributed'`` means.

        Parameters
        ----------
        engine : distributed.Client or str

        Returns
        -------
        DistributedEngine

        Raises
        ------
        ValueError
            An address without a host (``'tcp://'``).
        """
        if _is_distributed_client(engine):
            return cls(client=engine)
        from napari_thunder.engines.distributed.client import scheduler_address

        return cls(address=scheduler_address(engine))

    @property
    def client(self):
        """The ``distributed.Client`` (opened on first use for an address)."""
        if self._client is None or self._client.status in ("closed", "closing"):
            from napari_thunder.engines.distributed.client import connect

            self._client, self.owns_client = connect(self.address)
        return self._client

    def frames_from_source(self, source, npartitions=None):
        from napari_thunder.engines.distributed import DistributedFrames

        return DistributedFrames.from_source(source, self.client, npartitions)

    def frames_from_array(self, array, npartitions=None):
        from napari_thunder.engines.distributed import DistributedFrames

        return DistributedFrames.from_array(array, self.client, npartitions)

    def frames_from_items(self, items, func, npartitions=None):
        from napari_thunder.engines.distributed import DistributedFrames

        return DistributedFrames.from_items(items, func, self.client, npartitions)

    def describe(self) -> str:
        where = self.address or "the current client or a local cluster"
        return f"dask.distributed engine, scheduler {where}"

    def close(self) -> None:
        if self.owns_client and self._client is not None:
            from napari_thunder.engines.distributed.client import forget

            self._client.close()
            forget(self._client)
            self._client = None
            self.owns_client = False


def _client_address(client) -> str | None:
    try:
        return client.scheduler.address
    except Exception:  # a client not connected yet
        return None


def _active_spark_context():
    pyspark = sys.modules.get("pyspark")
    return None if pyspark is None else pyspark.SparkContext._active_spark_context


def _is_spark_context(value) -> bool:
    pyspark = sys.modules.get("pyspark")
    return pyspark is not None and isinstance(value, pyspark.SparkContext)


def _is_distributed_client(value) -> bool:
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(value, distributed.Client)


def active_spark_master() -> str | None:
    """The master of this process's running SparkContext, or None (without
    importing pyspark when it is not loaded yet).

    Returns
    -------
    str or None
    """
    context = _active_spark_context()
    return None if context is None else str(context.master)


def stop_spark_context() -> bool:
    """Stop this process's running SparkContext, if any, so that another
    master can be used without restarting (the GUI's engine switch).

    Returns
    -------
    bool
        True if a context was stopped.
    """
    if _active_spark_context() is None:
        return False
    from napari_thunder.engines import spark

    return bool(spark.stop_context())


def spark_master_of(text: str) -> str | None:
    """The Spark master a string names, or None if it names no Spark master.

    Parameters
    ----------
    text : str
        ``'spark:MASTER'``, ``'spark://host:port'``, ``'local[N]'``,
        ``'yarn'``, ``'k8s://...'`` or ``'mesos://...'``.

    Returns
    -------
    str or None
        The master URL to give Spark.
    """
    text = text.strip()
    if text.startswith("spark:") and not text.startswith("spark://"):
        master = text[len("spark:"):].strip()
        return master or None
    if text.startswith(SPARK_MASTER_PREFIXES) or text == "yarn" or _SPARK_LOCAL.fullmatch(text):
        return text
    return None


def engine_kind(engine) -> str:
    """``'local'``, ``'spark'`` or ``'distributed'``: which engine ``engine``
    means, without starting anything.

    Parameters
    ----------
    engine : object
        Any value accepted by :func:`resolve_engine`.

    Returns
    -------
    str

    Raises
    ------
    TypeError, ValueError
        As :func:`resolve_engine`.
    """
    if engine is None:
        return "local"
    if isinstance(engine, Engine):
        return engine.kind
    if _is_spark_context(engine):
        return "spark"
    if _is_distributed_client(engine):
        return "distributed"
    if not isinstance(engine, str):
        raise TypeError(f"engine must be {_ENGINE_HELP}; got {engine!r} ({type(engine).__name__})")
    text = engine.strip()
    if text.lower() in LOCAL_NAMES:
        return "local"
    if text.startswith(DISTRIBUTED_PREFIXES) or text.lower() == DISTRIBUTED_NAME:
        return "distributed"
    if spark_master_of(text) is not None:
        return "spark"
    raise ValueError(f"engine must be {_ENGINE_HELP}; got {engine!r}")


_LOCAL = LocalEngine()


def resolve_engine(engine=None) -> Engine:
    """The :class:`Engine` an ``engine=`` argument means (see the module table).

    Parameters
    ----------
    engine : None, str, Engine, pyspark.SparkContext or distributed.Client
        ``None``/``'local'`` is the embedded dask engine; Spark and
        dask.distributed are chosen by a context/client or a string.

    Returns
    -------
    Engine

    Raises
    ------
    TypeError
        ``engine`` is of a type that names no engine (a number, a bool, ...).
    ValueError
        ``engine`` is a string naming no engine, or a Spark master other than
        the one already running in this process.
    ImportError
        The engine's package (pyspark, distributed) is not installed; the
        message says which extra to install.
    """
    if isinstance(engine, Engine):
        return engine
    kind = engine_kind(engine)
    if kind == "local":
        return _LOCAL
    if kind == "spark":
        if _is_spark_context(engine):
            return SparkEngine(context=engine)
        if importlib.util.find_spec("pyspark") is None:
            raise ImportError(
                f"engine={engine!r} needs pyspark, which is not installed: "
                "pip install 'napari-thunder[spark]'"
            )
        return SparkEngine(master=spark_master_of(engine))
    return _distributed_engine(engine)


def _distributed_engine(engine) -> Engine:
    if importlib.util.find_spec("distributed") is None:
        raise ImportError(
            f"engine={engine!r} needs dask.distributed, which is not installed: "
            "pip install 'napari-thunder[distributed]'"
        )
    return DistributedEngine.from_spec(engine)


def min_chunks(count: int, min_bytes: int = 256 * 2**10):
    """Context asking for finer chunks, for progress someone watches (the GUI).

    Applies to local and Spark streams. Inside it, on the thread that entered
    it: local-engine frames made there get at least ``count`` chunks of at
    least ``min_bytes`` each; Spark streams (``iter_chunks``,
    ``stream_aggregate``) and ``map``/reads made there cut each partition
    into blocks of about ``total bytes / count``, at least ``min_bytes`` and
    at most ``settings.BLOCK_BYTES`` (one frame at least), so a job moves in
    about ``count`` steps. The size is fixed when the frames, the map or the
    engine stream are made: one made inside and consumed later, or on another
    thread, keeps it. A generator such as ``Images.stream_statistic`` makes
    its engine stream on its first step, so that step must run inside too
    (the GUI enters the context in its worker thread, around the whole
    stream). Values are the same; only the block boundaries change.
    dask.distributed keeps its chunks; outside the context nothing changes.

    Parameters
    ----------
    count : int
        Smallest number of chunks; 0 restores the default (two per worker
        locally, blocks of ``settings.BLOCK_BYTES`` on Spark).
    min_bytes : int
        Smallest chunk size in bytes.

    Returns
    -------
    contextlib.AbstractContextManager
    """
    from napari_thunder.engines import progress

    return progress.min_chunks(count, min_bytes)


#: the former, local-only name of :func:`min_chunks` (same context)
local_min_chunks = min_chunks
