"""Background jobs: run a stream off the GUI thread, report progress, cancel.

A :class:`Job` is one operation running in a napari generator worker. The
stream it runs yields items; :func:`start_job` hands each item to the caller's
``on_item`` on the main thread, keeps ``job.done`` / ``job.total``, the
widget's progress callbacks and (after :data:`ACTIVITY_DELAY` seconds) a bar
in napari's activity dock up to date, and ends the job once: ``'done'``,
``'cancelled'`` or ``'failed'``. What the items become (the layers of a
result) is the caller's part: :mod:`napari_thunder.plugin.result_layers`.

Rules kept here: the stream runs in a napari thread worker; layers are only
touched in the ``yielded`` / ``finished`` slots, which Qt runs on the main
thread; ``Job.cancel()`` (``worker.quit()``) stops at the next chunk and
*closes the stream generator* in the worker thread, which stops the work that
is left (the Spark engine cancels its jobs); a job that has shown nothing yet
(its engine still starting, e.g. Spark's Java VM) ends at once when
cancelled; errors become napari notifications of one readable line (details
in the ``napari_thunder`` log) and leave the viewer usable. A failed job's
layer is removed; a cancelled one's is renamed
``'<name> (cancelled done/total)'``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from napari_thunder.plugin.messages import report_error


def _closing_worker_class():
    """napari's GeneratorWorker whose loop closes the generator on exit."""
    from napari.qt.threading import GeneratorWorker

    class ClosingGeneratorWorker(GeneratorWorker):
        """Runs a generator; on abort, return or error, closes it in the worker
        thread (so ``finally`` blocks of the stream run there), and lets every
        exception (RuntimeError included) reach the ``errored`` signal."""

        def _relay_error(self, exc):
            """Nothing: the job reports its errors itself, as one readable
            sentence. (napari connects this method to ``errored`` to show the
            raw exception as a second notification; disconnecting it instead
            makes PySide6 warn "Failed to disconnect" on every job.)"""

        def work(self):
            try:
                while True:
                    if self.abort_requested:
                        self.aborted.emit()
                        return None
                    try:
                        output = next(self._gen)
                    except StopIteration as stop:
                        return stop.value
                    self.yielded.emit(output)
            finally:
                self._gen.close()

    return ClosingGeneratorWorker


def relay_closing(stream: Iterator) -> Iterator:
    """Yield the items of ``stream``; when this generator ends or is closed,
    close ``stream`` too (if it has ``close``), so the work left in it stops.

    Parameters
    ----------
    stream : iterator

    Yields
    ------
    object
        The items of ``stream``.
    """
    try:
        yield from stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


@dataclass
class Job:
    """A running operation: its worker, output layer and progress.

    Attributes
    ----------
    name : str
        Name of the output layer.
    worker : napari GeneratorWorker
        ``worker.finished`` fires when the worker thread ends.
    layer : napari.layers.Image or None
        The output layer, once the first real result arrived. It is removed
        when the job fails, and renamed ``'<name> (cancelled done/total)'``
        when it is cancelled.
    done, total : int
        Frames processed and frames in all.
    partial_updates : int
        How many partial results reached the layer (for tests and the GUI).
    status : str
        ``'running'``, ``'done'``, ``'cancelled'`` or ``'failed'``.
    message : str
        The last status message of the stream (e.g. ``'starting Spark...'``).
    error : Exception or None
    progress : napari.utils.progress or None
        The job's bar in napari's activity dock, made once the job has run
        :data:`ACTIVITY_DELAY` seconds (None before, and for quicker jobs).
    """

    name: str
    total: int
    worker: Any = None
    layer: Any = None
    done: int = 0
    partial_updates: int = 0
    status: str = "running"
    message: str = ""
    error: Exception | None = None
    progress: Any = None
    callbacks: list = field(default_factory=list)
    progress_callbacks: list = field(default_factory=list)
    cancel_hooks: list = field(default_factory=list)
    cancel_requested: bool = False
    viewer_layers: Any = None
    _finish: Any = None

    def cancel(self) -> None:
        """Ask the worker to stop at the next chunk (non-blocking), and run
        the ``cancel_hooks`` (e.g. cancel the Spark jobs in flight at once).

        A job that has shown nothing yet (still starting its engine, e.g. the
        Java VM of Spark) ends at once as cancelled; its worker thread stops
        by itself when the engine call returns, and its results are dropped.
        """
        if self.worker is None or self.status != "running":
            return
        self.cancel_requested = True
        self.worker.quit()
        for hook in self.cancel_hooks:
            try:
                hook()
            except Exception:  # a failed hook must not break cancelling
                pass
        if self.layer is None and self._finish is not None:
            self._finish("cancelled")

    @property
    def running(self) -> bool:
        return self.status == "running"

    def wait(self, timeout: float = 60.0) -> bool:
        """Process Qt events until the job ends or ``timeout`` seconds pass
        (for scripts and tests; the GUI never needs it). Returns True if the
        job ended."""
        from qtpy.QtWidgets import QApplication

        deadline = time.monotonic() + timeout
        while self.status == "running" and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.005)
        return self.status != "running"


class Status:
    """An item a stream yields to say what it is doing (shown as the job's
    ``message``), e.g. ``Status('starting Spark (Java)...')``."""

    def __init__(self, text: str):
        self.text = str(text)


def cancelled_name(name: str, done: int, total: int) -> str:
    """The name a cancelled job's layer gets: ``'<name> (cancelled 3/10)'``."""
    return f"{name} (cancelled {done}/{total})"


#: seconds a job runs before it also gets a progress bar in napari's activity
#: dock: that bar repaints the whole window at every step (napari processes
#: Qt events in it), which a job of a moment would spend most of its time on;
#: the widget's own progress bar shows every job from the start
ACTIVITY_DELAY = 1.0


def _show_activity_later(job: Job, desc: str) -> None:
    """Give ``job`` a napari progress bar (activity dock and status bar) once it
    has run :data:`ACTIVITY_DELAY` seconds, starting at the frames done so far."""
    from qtpy.QtCore import QTimer

    def show():
        if job.status != "running" or job.progress is not None:
            return
        from napari.utils import progress as napari_progress

        job.progress = napari_progress(total=max(job.total, 1), desc=desc)
        if job.done:
            job.progress.update(job.done)

    QTimer.singleShot(int(ACTIVITY_DELAY * 1000), show)


def start_job(job: Job, stream: Iterator, on_item: Callable, on_done: Callable, desc: str,
              on_finish: Callable | None = None) -> Job:
    """Run ``stream`` for ``job`` in a napari generator worker (signals wired
    before it starts).

    Parameters
    ----------
    job : Job
        The job to run; it gets the worker and ends once, on the main thread.
    stream : iterator
        Runs in the worker thread. :class:`Status` items become
        ``job.message``; every other item goes to ``on_item``.
    on_item : callable
        ``on_item(item) -> frames`` on the main thread: shows the item and
        returns how many frames it adds to the progress, or None for an item
        that shows nothing (a header).
    on_done : callable
        ``on_done()`` on the main thread when the stream ended complete.
    desc : str
        Label of the progress bar and of the notifications.
    on_finish : callable, optional
        ``on_finish(job)`` once the job ended, whatever the reason.

    Returns
    -------
    Job
        ``job``, running.
    """
    from napari.qt.threading import create_worker
    from napari.utils.notifications import show_error, show_info

    _show_activity_later(job, desc)

    def finish(status):
        """End the job once, on the main thread: keep, rename or remove its layer."""
        if job.status != "running":
            return
        job.status = status
        try:
            if status == "done":
                on_done()
            elif job.layer is not None and status == "cancelled":
                job.layer.name = cancelled_name(job.name, job.done, job.total)
            elif job.layer is not None:  # failed: nothing half-made stays behind
                try:
                    job.viewer_layers.remove(job.layer)
                except (ValueError, AttributeError):
                    pass
                job.layer = None
        finally:
            if status == "cancelled":
                show_info(f"{desc} cancelled after {job.done} of {job.total} frames")
            if job.progress is not None:
                job.progress.close()
            if on_finish is not None:
                on_finish(job)
            for callback in job.callbacks:
                callback(job)

    job._finish = finish

    def fail(exc):
        job.error = exc
        show_error(report_error(desc, exc))
        finish("failed")

    def yielded(item):
        if job.status != "running":
            return  # ended already (cancelled while the engine started)
        try:
            if isinstance(item, Status):
                job.message = item.text
                step = 0
            else:
                step = on_item(item)
                if step is None:  # a header item (a result's shape): nothing to show yet
                    return
            for callback in job.progress_callbacks:
                callback(job)
            # last: napari's progress bar processes Qt events, delivering the
            # next item re-entrantly; everything for this item is done by now
            if job.progress is not None:
                job.progress.total = max(job.total, 1)
                if step:
                    job.progress.update(step)
                else:
                    job.progress.refresh()
        except Exception as exc:  # a bad partial must not kill the GUI
            job.worker.quit()
            fail(exc)

    def cut_short():
        # a cancelled engine stream may end quietly instead of being aborted
        return job.cancel_requested and job.done < job.total

    def returned(_value):
        if job.status == "running" and job.error is None:
            finish("cancelled" if cut_short() else "done")

    def errored(exc):
        if job.status != "running":
            return
        if job.cancel_requested:  # an engine job cancelled under the stream
            finish("cancelled")
            return
        fail(exc)

    def aborted():
        finish("cancelled")

    def finished():
        if job.status == "running":
            if job.error is not None:
                finish("failed")
            else:
                finish("cancelled" if cut_short() else "done")

    worker = create_worker(
        relay_closing,
        stream,
        _worker_class=_closing_worker_class(),
        _ignore_errors=True,
        _start_thread=False,
    )
    worker.yielded.connect(yielded)
    worker.returned.connect(returned)
    worker.errored.connect(errored)
    worker.aborted.connect(aborted)
    worker.finished.connect(finished)
    job.worker = worker
    worker.start()
    return job


def status_items(prepare: Callable | None) -> Iterator:
    """The messages of ``prepare()`` (strings or :class:`Status`) as
    :class:`Status` items; nothing when ``prepare`` is None.

    Parameters
    ----------
    prepare : callable or None
        A generator function, e.g. an engine start that says what it does.

    Yields
    ------
    Status
    """
    if prepare is None:
        return
    for message in prepare():
        yield message if isinstance(message, Status) else Status(message)
