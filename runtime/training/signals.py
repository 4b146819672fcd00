"""Ctrl+C, SIGTERM and SIGHUP while `train` runs: the first asks the run to stop after its current step (it saves
last.pt and summary.json, and the summary says how to resume); a second one quits at once, with one line.

Under torchrun the agent passes each signal on to every rank; the ranks then agree on the step to stop at
(`distributed.any_rank`). A signal the process was started to ignore (`nohup` ignores SIGHUP) stays ignored.
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from runtime.training.control import Control
from runtime.training.run_folder import LAST

HANDLED = ("SIGINT", "SIGTERM", "SIGHUP")  # SIGHUP: the terminal closed (not on Windows)


class Stoppable(Protocol):
    control: Control
    run_dir: Path | None


class Quit(KeyboardInterrupt):
    """A second signal: leave now, without saving. `status` is the shell's 128 + the signal's number."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def stop_on_signals(trainer: Stoppable) -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        if trainer.control.stop_requested:
            raise Quit(quit_message(signal.Signals(signum).name, trainer.run_dir), 128 + signum)
        trainer.control.request_stop()

    previous = {}
    for name in HANDLED:
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, handler)
            # restart system calls the signal lands in rather than fail them: under torchrun it may land in one
            # of gloo's threads, which aborts the whole process (SIGABRT) on a read that returns EINTR
            signal.siginterrupt(number, False)
    try:
        yield
    finally:
        for number, former in previous.items():
            signal.signal(number, former)


def quit_message(signal_name: str, run_dir: Path | None) -> str:
    saved = ""
    if run_dir is not None and (run_dir / LAST).is_file():
        saved = f"; {(run_dir / LAST).absolute()} holds the last checkpoint: continue with {resume_command(run_dir)}"
    elif run_dir is not None:
        saved = f"; '{run_dir}' holds no checkpoint yet"
    return f"{signal_name} again: quit at once, without saving the current epoch{saved}"


def resume_command(run_dir: Path | str, processes: int = 1) -> str:
    """The command that continues the run in `run_dir`, with its absolute path (it works from any folder)."""
    launcher = f"torchrun --nproc_per_node={processes} main.py" if processes > 1 else "python main.py"
    return f"{launcher} train --resume {shlex.quote(str(Path(run_dir).absolute()))}"
