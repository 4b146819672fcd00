"""For tests that run the program in child processes (and kill them): one environment, one wait."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable

# off-screen Qt; one OpenMP thread, so that a child leaves the other core to the test polling it
CHILD_ENVIRONMENT = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
POLL_S = 0.02


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0,
               process: subprocess.Popen | None = None) -> None:
    """Poll `condition` until it holds. TimeoutError naming `what` when it does not in time, or when `process`
    exits first (it never will then)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise TimeoutError(f"{what}: the process exited first (exit code {process.returncode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(POLL_S)
