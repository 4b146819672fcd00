"""Slow work (loading a dataset, a confusion matrix, an ONNX export) on Qt's thread pool, its result delivered
back on the UI thread; so the window keeps painting while torch works."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

# A task lives here until its thread has left run() AND its result has been delivered on the UI thread: freeing
# it any earlier (say, from a slot of its own signal) deletes a QObject Qt is still using, and crashes.
_alive: set[Task] = set()


class _Signals(QObject):
    done = Signal(object)
    error = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.delivered = False

    def mark_delivered(self, _value: object = None) -> None:
        self.delivered = True


class Task(QRunnable):
    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.work: Callable[[], Any] | None = work
        self.signals = _Signals()  # created on the UI thread: its slots run there (queued across threads)
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            result = self.work()
        except Exception as error:  # shown to the user with its message
            self.signals.error.emit(f"{type(error).__name__}: {error}" if not str(error) else str(error))
        else:
            self.signals.done.emit(result)
        finally:
            self.work = None  # what it held (a graph, a dataset) is not kept
            self.ended.set()

    @property
    def finished(self) -> bool:
        return self.ended.is_set() and self.signals.delivered


def run_task(work: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[str], None] | None = None, owner: QObject | None = None) -> Task:
    """Run `work()` on the global pool; `on_done(result)` or `on_error(message)` is called on the UI thread,
    unless `owner` (the widget that asked) has been deleted by then: a closed dialog is not written to."""
    _alive.difference_update([t for t in _alive if t.finished])
    task = Task(work)
    task.signals.done.connect(_guarded(on_done, owner))
    if on_error is not None:
        task.signals.error.connect(_guarded(on_error, owner))
    task.signals.done.connect(task.signals.mark_delivered)
    task.signals.error.connect(task.signals.mark_delivered)
    _alive.add(task)
    QThreadPool.globalInstance().start(task)
    return task


def _guarded(callback: Callable[[Any], None], owner: QObject | None) -> Callable[[Any], None]:
    def call(value: Any) -> None:
        if owner is None or shiboken6.isValid(owner):
            callback(value)

    return call
