"""One training run driven from the UI: a child process, polled by a timer, its events re-emitted as Qt signals."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from graph import Graph
    from runtime.training.config import TrainConfig
    from runtime.training.process import TrainingProcess

POLL_MS = 100
REAP_MS = 200  # how often an ended child is checked for having exited
MAX_EVENTS_PER_TICK = 3000  # the rest waits for the next tick: the UI never freezes behind a flood of events


class TrainingController(QObject):
    started = Signal(object)  # Started
    status = Signal(str, str)  # state, message
    step = Signal(object)  # StepMetrics
    epoch = Signal(object)  # EpochMetrics
    health = Signal(object)  # Health
    failed = Signal(str, str)  # kind, message
    finished = Signal(object)  # Finished or Failed: the run's outcome, emitted once when it is over

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: TrainingProcess | None = None
        self._backlog: list[Any] = []
        self._over = False  # the outcome has been emitted: a late tick must not emit it twice
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.drain)

    @property
    def running(self) -> bool:
        return self._process is not None and self._timer.isActive()

    @property
    def outcome(self) -> Any:
        return self._process.outcome if self._process is not None else None

    def start(self, graph: Graph, config: TrainConfig, runs_root: Path, resume_dir: Path | None = None) -> None:
        """A new run in `runs_root`, or (`resume_dir`) the continuation of that run from its last checkpoint."""
        from runtime.training.process import TrainingProcess  # lazily: importing it loads torch

        if self.running:
            raise RuntimeError("a run is already in progress")
        if resume_dir is not None:
            self._process = TrainingProcess(graph, config, run_dir=resume_dir, resume=True)
        else:
            self._process = TrainingProcess(graph, config, runs_root=runs_root)
        self._backlog, self._over = [], False
        self._process.start()
        self._timer.start()

    def pause(self) -> None:
        if self._process is not None:
            self._process.pause()

    def resume(self) -> None:
        if self._process is not None:
            self._process.resume()

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()

    def shutdown(self, timeout: float = 3.0) -> None:
        """The app is closing: ask the run to stop (it saves last.pt), and end it if it has not within `timeout`."""
        if self._process is None or self._over:
            return
        self._process.stop()
        self._process.join(timeout)
        self.kill()

    def kill(self) -> None:
        """The last resort (the app closing with a run in progress): the child ends now."""
        if self._process is not None:
            self._process.kill()
            self._timer.stop()

    def drain(self) -> None:
        """Emit up to MAX_EVENTS_PER_TICK waiting events; stop polling once the outcome has been emitted."""
        if self._process is None or self._over:
            return
        if len(self._backlog) < MAX_EVENTS_PER_TICK:
            self._backlog.extend(self._process.poll())
        batch, self._backlog = self._backlog[:MAX_EVENTS_PER_TICK], self._backlog[MAX_EVENTS_PER_TICK:]
        for event in batch:
            self._emit(event)
        if self._process.outcome is not None and not self._backlog:
            self._timer.stop()
            self._over = True
            self.finished.emit(self._process.outcome)
            self._reap(self._process)

    def _reap(self, process: Any) -> None:
        """Collect the ended child without waiting for it: after its last event it still takes half a second to
        exit (torch's teardown), which a join here would freeze the editor for."""
        if process.exited:
            process.join(0)
        else:
            QTimer.singleShot(REAP_MS, lambda: self._reap(process))

    def _emit(self, event: Any) -> None:
        from runtime.training import events as ev

        if isinstance(event, ev.StepMetrics):
            self.step.emit(event)
        elif isinstance(event, ev.EpochMetrics):
            self.epoch.emit(event)
        elif isinstance(event, ev.Status):
            self.status.emit(event.state, event.message)
        elif isinstance(event, ev.Health):
            self.health.emit(event)
        elif isinstance(event, ev.Started):
            self.started.emit(event)
        elif isinstance(event, ev.Failed):
            self.failed.emit(event.kind, event.message)
