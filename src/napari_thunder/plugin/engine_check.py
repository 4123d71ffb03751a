"""Getting an engine ready for the GUI: check the address, say what starts, switch masters.

* :func:`check_master` - is a ``spark://host:port`` master reachable? A TCP
  connect with a short timeout, so an unreachable master is reported within
  seconds (Spark itself retries for over a minute) - when it is entered in the
  Engine widget and again before a run.
* :func:`prepare_engine` - the first step of every job (in the worker
  thread): a generator of status messages while it checks the master, stops
  a SparkContext on another master (switching masters needs no restart) and
  starts Spark (the first run starts a Java VM: many seconds).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

#: seconds to wait for a master's port to answer
CONNECT_TIMEOUT = 3.0

#: the port a ``spark://host`` master without one listens on
SPARK_DEFAULT_PORT = 7077


class EngineUnavailableError(ConnectionError):
    """The engine's master/scheduler cannot be reached (the message says
    which address, why, and what to do)."""


def master_addresses(master: str) -> list[tuple[str, int]]:
    """``(host, port)`` pairs a Spark master URL names (``spark://a:7077,b:7077``
    for standby masters); empty for masters with nothing to check here
    (``local[N]``, ``yarn``, ``k8s://...``).

    Parameters
    ----------
    master : str

    Returns
    -------
    list of (str, int)

    Raises
    ------
    ValueError
        A ``spark://`` URL without a host or with a bad port.
    """
    master = str(master).strip()
    if not master.startswith("spark://"):
        return []
    pairs = []
    for part in master[len("spark://"):].split(","):
        parsed = urlsplit("spark://" + part.strip())
        try:
            port = parsed.port or SPARK_DEFAULT_PORT
        except ValueError:
            raise ValueError(f"spark_master {master!r} has a bad port") from None
        if not parsed.hostname:
            raise ValueError(f"spark_master {master!r} names no host (spark://host:7077)")
        pairs.append((parsed.hostname, port))
    return pairs


def check_master(master: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise unless one of the hosts of a ``spark://`` master answers on its port.

    Parameters
    ----------
    master : str
        A Spark master URL; only ``spark://`` URLs are checked.
    timeout : float
        Seconds per address.

    Raises
    ------
    EngineUnavailableError
        No address answered: the message names the master and the reason
        (connection refused, timed out, unknown host).
    ValueError
        A malformed ``spark://`` URL.
    """
    reasons = []
    for host, port in master_addresses(master):
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except socket.gaierror:
            reasons.append(f"unknown host {host}")
        except TimeoutError:
            reasons.append(f"no answer from {host}:{port} within {timeout:g} s")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            reasons.append(f"{reason.lower()} at {host}:{port}")
    if reasons:
        raise EngineUnavailableError(
            f"Spark master {master} is not reachable ({'; '.join(reasons)}); start it, or choose "
            "another master (or the local engine) in the Thunder Engine widget"
        )


def prepare_engine(choice, timeout: float = CONNECT_TIMEOUT):
    """Get ``choice``'s engine ready, yielding what is happening (worker thread).

    Local: nothing to do. Spark: check a ``spark://`` master
    (:func:`check_master`), stop a running SparkContext on another master,
    then start the context if none runs (the first start launches Java).

    Parameters
    ----------
    choice : napari_thunder.plugin.settings.EngineChoice
    timeout : float
        Seconds to wait for the master's port.

    Yields
    ------
    str
        Status messages for the GUI.

    Raises
    ------
    EngineUnavailableError
        The master does not answer.
    """
    if choice.backend != "spark":
        return
    from napari_thunder.engines import factory

    master = choice.spark_master
    if master_addresses(master):
        yield f"checking the Spark master {master}..."
        check_master(master, timeout)
    active = factory.active_spark_master()
    if active is not None and active != master:
        yield f"stopping Spark on {active} to switch to {master}..."
        factory.stop_spark_context()
        active = None
    if active is None:
        yield f"starting Spark on {master} (the first start launches Java: ~10-30 s)..."
        factory.resolve_engine(choice.engine).context  # noqa: B018 (creates the context)
        yield f"Spark ready on {master}"


#: seconds the Engine widget waits for a master when Apply is pressed (GUI thread)
APPLY_TIMEOUT = 1.5


def describe_master_change(master: str, timeout: float = APPLY_TIMEOUT) -> str:
    """What the user should know when choosing ``master`` (Engine widget,
    Apply): the master does not answer (also notified as an error), or a
    running SparkContext on another master will be stopped at the next run.

    Parameters
    ----------
    master : str
    timeout : float
        Seconds to wait for a ``spark://`` master's port.

    Returns
    -------
    str
        Empty when there is nothing to say.
    """
    from napari_thunder.engines import factory

    try:
        check_master(master, timeout)
    except (EngineUnavailableError, ValueError) as exc:
        from napari.utils.notifications import show_error

        show_error(str(exc))
        return str(exc)
    active = factory.active_spark_master()
    if active is not None and active != master:
        return f"Spark now runs on {active}; it is stopped and restarted on {master} at the next run"
    return ""
