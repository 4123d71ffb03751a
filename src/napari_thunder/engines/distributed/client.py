"""Finding the ``distributed.Client`` an ``engine=`` value means.

:func:`connect` turns a client, a scheduler address (``'tcp://host:8786'``,
``'tls://…'``, ``'dask://host:8786'``) or ``'distributed'`` (the client
already running in this process, else a new local cluster) into a client.
Clients this package opens are kept per address and reused, and never set as
dask's default scheduler, so the embedded engine keeps its own thread pool.
:func:`cluster_threads` and :func:`worker_memory` describe the cluster for
chunk sizing.
"""

from __future__ import annotations

import threading

#: seconds to wait for a scheduler to answer before giving up
CONNECT_TIMEOUT = 10

_LOCK = threading.Lock()
#: ``{address: Client}`` opened by :func:`connect`
_CLIENTS: dict = {}


def scheduler_address(text: str) -> str | None:
    """The scheduler address a string names, ``None`` for ``'distributed'``.

    Parameters
    ----------
    text : str
        ``'tcp://host:port'``, ``'tls://host:port'``, ``'dask://host:port'``
        (the same as ``tcp://``) or ``'distributed'``.

    Returns
    -------
    str or None

    Raises
    ------
    ValueError
        ``text`` names no scheduler (no host after the prefix).
    """
    text = text.strip()
    if text.lower() == "distributed":
        return None
    if text.startswith("dask://"):
        text = "tcp://" + text[len("dask://"):]
    host = text.split("://", 1)[1] if "://" in text else ""
    if not host.strip(":/"):
        raise ValueError(f"engine must name a scheduler, e.g. 'tcp://127.0.0.1:8786'; got {text!r}")
    return text


def connect(address: str | None):
    """A client of the scheduler at ``address`` (reused while it is open).

    Parameters
    ----------
    address : str or None
        A scheduler address; ``None`` for the client running in this process
        (``distributed.Client.current()``), or, if there is none, a new
        ``LocalCluster`` of worker processes on 127.0.0.1.

    Returns
    -------
    tuple
        ``(client, owned)``: ``owned`` is True when this call created the
        client (and the engine should close it).

    Raises
    ------
    ConnectionError
        No scheduler answered at ``address`` within ``CONNECT_TIMEOUT`` seconds.
    """
    import distributed

    if address is None:
        try:
            return distributed.Client.current(allow_global=True), False
        except ValueError:
            pass
        with _LOCK:
            client = _CLIENTS.get(None)
            if client is None or client.status in ("closed", "closing"):
                cluster = distributed.LocalCluster(host="127.0.0.1", processes=True,
                                                   dashboard_address=None)
                client = distributed.Client(cluster, set_as_default=False)
                _CLIENTS[None] = client
            return client, True
    with _LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status not in ("closed", "closing"):
            return client, False
        try:
            client = distributed.Client(address, set_as_default=False,
                                        timeout=f"{CONNECT_TIMEOUT}s")
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"engine={address!r}: no dask scheduler answered within {CONNECT_TIMEOUT} s "
                f"({exc}); start one with 'dask scheduler' and workers with "
                f"'dask worker {address}'"
            ) from exc
        _CLIENTS[address] = client
        return client, True


def forget(client) -> None:
    """Drop ``client`` from the reuse table (after it is closed), and close
    the local cluster it was started with, if :func:`connect` started one.

    Parameters
    ----------
    client : distributed.Client
    """
    with _LOCK:
        for key, value in list(_CLIENTS.items()):
            if value is client:
                del _CLIENTS[key]
                if key is None and client.cluster is not None:
                    client.cluster.close()


def _workers(client) -> list[dict]:
    return list(client.scheduler_info(n_workers=-1).get("workers", {}).values())


def cluster_threads(client) -> int:
    """Threads of all workers of the cluster (2 when no worker is up yet).

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    int
    """
    total = sum(int(w.get("nthreads", 1)) for w in _workers(client))
    return total if total > 0 else 2


def worker_memory(client) -> int | None:
    """Memory limit per thread of the smallest worker, in bytes (None when no
    worker declares a limit).

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    int or None
    """
    limits = [int(w["memory_limit"]) // max(1, int(w.get("nthreads", 1)))
              for w in _workers(client) if w.get("memory_limit")]
    return min(limits) if limits else None
