"""Training in a process of its own, for the desktop app: a crash or out-of-memory in training never takes the
editor down, and the training loop does not compete with the user interface for the GIL.

    job = TrainingProcess(graph, config, runs_root=Path("runs"))
    job.start()
    ... every 100-200 ms, from the UI's timer:  for event in job.poll(): show(event)
    job.pause(); job.resume(); job.stop()        # answered within one training step

The child is started with the spawn method (a fresh interpreter: no state copied from the UI, safe with Qt and
CUDA). It receives the graph as file-format text (data, not a pickle of objects) and the settings as a dict, and
sends the engine's events back through a queue. If it dies without saying why (killed, out of memory), `poll`
reports a Failed event with its exit code.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
from pathlib import Path
from typing import Any

from graph import Graph
from graph.fileformat import dumps
from runtime.training.config import TrainConfig
from runtime.training.events import Event, Failed, Finished

CONTEXT = mp.get_context("spawn")
MAX_EVENTS_PER_POLL = 10_000  # a poll never blocks the UI for long, however many events wait
TRAINING_NICENESS = 10  # Linux gives a nice-10 thread about a tenth of the weight of the editor's


class TrainingProcess:
    def __init__(self, graph: Graph, config: TrainConfig, *, run_dir: Path | None = None,
                 runs_root: Path | None = None, resume: bool = False) -> None:
        self.graph_text = dumps(graph)
        self.config = config
        self.run_dir = run_dir
        self.runs_root = runs_root
        self.resume_run = resume
        self.events: Any = CONTEXT.Queue()
        self._stop = CONTEXT.Event()
        self._pause = CONTEXT.Event()
        self._process: Any = None
        self.outcome: Finished | Failed | None = None

    def start(self) -> None:
        self._process = CONTEXT.Process(
            target=train_in_child, name="layerbook-training", daemon=True,
            args=(self.graph_text, self.config.to_dict(), _text(self.run_dir), _text(self.runs_root),
                  self.resume_run, self.events, self._stop, self._pause))
        self._process.start()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def exited(self) -> bool:
        return self._process is None or not self._process.is_alive()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive() and self.outcome is None

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def stop(self) -> None:
        """Ask the run to stop after its current step (it saves last.pt first)."""
        self._stop.set()
        self._pause.clear()

    def kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def poll(self) -> list[Event]:
        """The events sent since the last poll; a Failed event if the child died without a last word."""
        events: list[Event] = []
        while len(events) < MAX_EVENTS_PER_POLL:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                break
        for event in events:
            if isinstance(event, Finished | Failed):
                self.outcome = event
        if self.outcome is None and self._process is not None and not self._process.is_alive() and not events:
            self.outcome = Failed("crashed", _death(self._process.exitcode))
            events.append(self.outcome)
        return events

    def join(self, timeout: float | None = None) -> None:
        if self._process is not None:
            self._process.join(timeout)


def train_in_child(graph_text: str, config: dict[str, Any], run_dir: str | None, runs_root: str | None,
                   resume: bool, events: Any, stop: Any, pause: Any) -> None:
    """The child's whole life: rebuild the graph and settings from data, train, send every event."""
    from graph.fileformat import loads
    from runtime.training.control import Control
    from runtime.training.engine import Trainer
    from runtime.training.faults import EXPECTED, refusal

    try:
        _yield_to_the_interface()
        control = Control(stop, pause)
        try:
            if resume and run_dir:
                trainer = Trainer.resuming(Path(run_dir), config, on_event=events.put, control=control)
            else:
                trainer = Trainer(loads(graph_text), TrainConfig.from_dict(config), on_event=events.put,
                                  control=control, run_dir=Path(run_dir) if run_dir else None,
                                  runs_root=Path(runs_root) if runs_root else None)
        except EXPECTED as error:  # refused before anything ran (another graph's checkpoint): one line, as
            events.put(refusal(error))  # the command line says it, and no traceback
            return
        trainer.run()
    except BaseException as error:  # the last word before dying: the UI must know why
        events.put(Failed("error", f"{type(error).__name__}: {error}"))
        raise
    finally:
        events.close()
        events.join_thread()  # flush everything to the pipe before the process ends


def _yield_to_the_interface() -> None:
    """Run below the editor's priority: on a machine with few cores the training threads take every cycle the
    user interface leaves, and give it a core the moment it has work (a redraw, a click), so the editor answers
    at once and training loses only what the interface really uses."""
    if not hasattr(os, "nice"):  # Windows: its scheduler favours the foreground window anyway
        return
    try:
        niceness = os.nice(0) + TRAINING_NICENESS
        os.nice(TRAINING_NICENESS)
        # Linux sets the priority per thread: threads started while the child was unpickled keep theirs
        for thread in _threads():
            os.setpriority(os.PRIO_PROCESS, thread, niceness)
    except OSError:  # a sandbox may refuse; training then simply runs at the same priority
        pass


def _threads() -> list[int]:
    tasks = Path("/proc/self/task")
    return [int(task.name) for task in tasks.iterdir()] if tasks.is_dir() else []


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        return (f"the training process was killed ({name}); if the machine ran out of memory, try a smaller "
                "batch size. The last checkpoint in the run folder is intact")
    return f"the training process ended unexpectedly (exit code {code}); the last checkpoint is intact"
