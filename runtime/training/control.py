"""Stop and pause requests from outside the training loop (a key press, a button in the app).

The flags are event objects with `is_set`/`set`/`clear`: threading.Event within one process, or
multiprocessing.Event when the app runs the engine in a process of its own. The loop checks them between steps,
so a request is answered within one step.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Flag(Protocol):
    def is_set(self) -> bool: ...

    def set(self) -> None: ...

    def clear(self) -> None: ...


class Control:
    def __init__(self, stop: Flag | None = None, pause: Flag | None = None) -> None:
        self._stop = stop if stop is not None else threading.Event()
        self._pause = pause if pause is not None else threading.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def wait_while_paused(self, poll: float = 0.05) -> None:
        while self._pause.is_set() and not self._stop.is_set():
            time.sleep(poll)
