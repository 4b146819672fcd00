"""Slow work (a dataset preview, a confusion matrix, an ONNX export) in a worker process, its result delivered
back on the UI thread; so the window keeps painting while torch works.

Not threads: with Python code running in a Qt pool thread while the UI thread painted, PySide6 crashed
(segmentation faults, reproduced in CI twice). The worker is one process, spawned on first use and reused; work
is sent as a picklable callable (a module-level function, or functools.partial of one with plain arguments)
through a pipe, and a QTimer on the UI thread reads the answers. If the worker dies, the work it held fails with
a message and the next task starts a new worker.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer

CONTEXT = mp.get_context("spawn")
POLL_MS = 30


class _Worker(QObject):
    def __init__(self) -> None:
        super().__init__()
        self._connection: Any = None
        self._process: Any = None
        self._next = 0
        self._pending: dict[int, tuple[Callable[[Any], None], Callable[[str], None] | None]] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    def submit(self, work: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[str], None] | None) -> int:
        self._ensure_running()
        number, self._next = self._next, self._next + 1
        self._pending[number] = (on_done, on_error)
        self._connection.send((number, work))
        self._timer.start()
        return number

    def _ensure_running(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        parent, child = CONTEXT.Pipe()
        self._process = CONTEXT.Process(target=serve, args=(child,), name="layerbook-tasks", daemon=True)
        self._process.start()
        child.close()
        self._connection = parent

    def _poll(self) -> None:
        try:
            while self._connection.poll():
                number, ok, value = self._connection.recv()
                on_done, on_error = self._pending.pop(number, (None, None))
                if ok and on_done is not None:
                    on_done(value)
                elif not ok and on_error is not None:
                    on_error(value)
        except (EOFError, OSError):
            self._died()
        if self._pending and not self._process.is_alive():
            self._died()
        if not self._pending:
            self._timer.stop()

    def _died(self) -> None:
        code = self._process.exitcode if self._process is not None else None
        pending, self._pending = self._pending, {}
        self._process = None
        for _, on_error in pending.values():
            if on_error is not None:
                on_error(f"the worker process ended unexpectedly (exit code {code}); try again")


_worker: _Worker | None = None


def run_task(work: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[str], None] | None = None, owner: QObject | None = None) -> int:
    """Run `work()` (picklable) in the worker process; `on_done(result)` or `on_error(message)` is called on the
    UI thread, unless `owner` (the widget that asked) has been deleted by then."""
    global _worker
    if _worker is None:
        _worker = _Worker()
    return _worker.submit(work, _guarded(on_done, owner), _guarded(on_error, owner) if on_error else None)


def serve(connection: Any) -> None:
    """The worker's life: run each task it receives and send back (number, ok, result or message)."""
    while True:
        try:
            number, work = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = (number, True, work())
        except Exception as error:  # shown to the user with its message
            answer = (number, False, str(error) or type(error).__name__)
        try:
            connection.send(answer)
        except Exception as error:  # a result that cannot be sent back (not picklable)
            connection.send((number, False, f"the result could not be sent back: {error}"))


def _guarded(callback: Callable[[Any], None], owner: QObject | None) -> Callable[[Any], None]:
    def call(value: Any) -> None:
        if owner is None or shiboken6.isValid(owner):
            callback(value)

    return call
