"""Engine choice for the plugin: local (default), Spark (master URL, partitions)
or dask.distributed (scheduler address, partitions).

The choice lives in napari's plugin settings (``Preferences > Plugins >
Thunder engine``, declared under ``configurations`` in ``napari.yaml``) and is
read by every operation widget when it runs, so the same widgets run on
either engine. :class:`EngineWidget` is a dock widget editing the same values.
If napari's plugin settings are unavailable, a module-level value is used.
"""

from __future__ import annotations

from dataclasses import dataclass

PLUGIN_NAME = "napari-thunder"
BACKENDS = ("local", "spark", "distributed")

_fallback = {"backend": "local", "spark_master": "local[2]", "npartitions": 0, "scheduler_address": ""}


@dataclass(frozen=True)
class EngineChoice:
    """What the widgets run on.

    Attributes
    ----------
    backend : {'local', 'spark', 'distributed'}
    spark_master : str
        Spark master URL (``'local[2]'``, ``'spark://host:7077'``).
    npartitions : int
        Spark partitions (or dask.distributed chunks) for layers turned into
        Images; 0 = the engine's default.
    scheduler_address : str
        dask.distributed scheduler (``'tcp://host:8786'``); empty = the client
        running in this process, else a local cluster of worker processes.
    """

    backend: str = "local"
    spark_master: str = "local[2]"
    npartitions: int = 0
    scheduler_address: str = ""

    @property
    def engine(self):
        """The ``engine=`` argument of the images API (see
        :mod:`napari_thunder.engines.factory`): ``'local'``,
        ``'spark:<master>'``, the scheduler address or ``'distributed'``."""
        if self.backend == "spark":
            return f"spark:{self.spark_master}"
        if self.backend == "distributed":
            return self.scheduler_address or "distributed"
        return "local"

    @property
    def npartitions_arg(self):
        """``npartitions=`` argument: None (default) or a positive int."""
        return self.npartitions if (self.backend != "local" and self.npartitions > 0) else None

    def describe(self) -> str:
        if self.backend == "local":
            return "local engine (dask, chunked along the image axis)"
        parts = self.npartitions if self.npartitions > 0 else "default"
        if self.backend == "distributed":
            where = self.scheduler_address or "current client or a local cluster"
            return f"dask.distributed engine, scheduler {where}, partitions {parts}"
        return f"Spark engine, master {self.spark_master}, partitions {parts}"


def _plugin_settings():
    try:
        from napari.settings import get_plugin_settings

        return get_plugin_settings(PLUGIN_NAME).engine
    except Exception:  # napari missing, manifest not registered, old napari
        return None


def get_engine() -> EngineChoice:
    """The current engine choice."""
    store = _plugin_settings()
    if store is None:
        return EngineChoice(**_fallback)
    return EngineChoice(
        backend=str(store.backend),
        spark_master=str(store.spark_master),
        npartitions=int(store.npartitions),
        scheduler_address=str(getattr(store, "scheduler_address", "") or ""),
    )


def set_engine(backend: str = "local", spark_master: str | None = None,
               npartitions: int | None = None, scheduler_address: str | None = None) -> EngineChoice:
    """Choose the engine the widgets run on.

    Parameters
    ----------
    backend : {'local', 'spark', 'distributed'}
    spark_master : str, optional
        Spark master URL; kept as it is when omitted.
    npartitions : int, optional
        Spark partitions / dask.distributed chunks (0 = default); kept when
        omitted.
    scheduler_address : str, optional
        dask.distributed scheduler, ``'tcp://host:port'``, ``'tls://…'`` or
        ``'dask://…'`` (``''`` = current client or a local cluster); kept
        when omitted.

    Returns
    -------
    EngineChoice

    Raises
    ------
    ValueError
        If ``backend`` is unknown, ``spark_master`` is empty, ``npartitions``
        is negative or ``scheduler_address`` is not a scheduler address.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if spark_master is not None and not str(spark_master).strip():
        raise ValueError("spark_master must be a Spark master URL such as 'local[2]', got ''")
    if npartitions is not None and int(npartitions) < 0:
        raise ValueError(f"npartitions must be >= 0, got {npartitions}")
    address = None
    if scheduler_address is not None:
        address = str(scheduler_address).strip()
        if address and not _is_scheduler_address(address):
            raise ValueError("scheduler_address must be a dask scheduler such as "
                             f"'tcp://127.0.0.1:8786' (or empty), got {scheduler_address!r}")
    values = {"backend": backend}
    if address is not None:
        values["scheduler_address"] = address
    if spark_master is not None:
        values["spark_master"] = str(spark_master).strip()
    if npartitions is not None:
        values["npartitions"] = int(npartitions)
    store = _plugin_settings()
    if store is None:
        _fallback.update(values)
    else:
        for key, value in values.items():
            if getattr(store, key) != value:
                setattr(store, key, value)
    return get_engine()


def _is_scheduler_address(text: str) -> bool:
    from napari_thunder.engines.factory import DISTRIBUTED_PREFIXES

    return text.startswith(DISTRIBUTED_PREFIXES) and bool(text.split("://", 1)[1].strip(":/"))


def _container_base():
    from magicgui.widgets import Container

    return Container


class EngineWidget(_container_base()):
    """Dock widget: pick the local engine, Spark (master URL, partitions) or
    dask.distributed (scheduler address, partitions)."""

    def __init__(self, viewer: napari.viewer.Viewer = None):  # noqa: F821
        from magicgui.widgets import ComboBox, LineEdit, PushButton, SpinBox

        super().__init__(labels=True)
        self.viewer = viewer
        current = get_engine()
        self.backend = ComboBox(label="engine", choices=list(BACKENDS), value=current.backend)
        self.spark_master = LineEdit(label="Spark master", value=current.spark_master)
        self.npartitions = SpinBox(label="partitions", min=0, max=100000, value=current.npartitions,
                                   tooltip="Spark partitions or dask.distributed chunks; "
                                           "0 = the engine's default")
        self.scheduler = LineEdit(label="dask scheduler", value=current.scheduler_address,
                                  tooltip="tcp://host:8786; empty = a local cluster")
        self.apply_button = PushButton(text="Apply")
        from napari_thunder.plugin.messages import wrapping_label  # status text wraps (issue 14)

        self.status = wrapping_label(value=current.describe())
        self.extend([self.backend, self.spark_master, self.npartitions, self.scheduler,
                     self.apply_button, self.status])
        self.apply_button.changed.connect(self.apply)
        self.backend.changed.connect(self._sync_enabled)
        self._sync_enabled()

    def _sync_enabled(self, *_):
        spark = self.backend.value == "spark"
        self.spark_master.enabled = spark
        self.npartitions.enabled = self.backend.value != "local"
        self.scheduler.enabled = self.backend.value == "distributed"

    def apply(self, *_) -> EngineChoice:
        """Store the choice; errors are shown as notifications."""
        try:
            choice = set_engine(self.backend.value, self.spark_master.value, self.npartitions.value,
                                self.scheduler.value)
        except ValueError as exc:
            from napari.utils.notifications import show_error

            show_error(str(exc))
            return get_engine()
        self.status.value = choice.describe()
        if choice.backend == "spark":  # a master that does not answer is said now, not after a run
            from napari_thunder.plugin.engine_check import describe_master_change

            problem = describe_master_change(choice.spark_master)
            if problem:
                self.status.value = f"{choice.describe()}: {problem}"
        return choice
