"""The train panel: choose the data, see a few samples, set the run's settings, train, watch the curves."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.memory import settle_memory
from app.training.controller import TrainingController
from app.training.data_column import DataColumn
from app.training.plots import LivePlots
from app.training.preview_view import ERROR_STYLE, WARNING_STYLE
from app.training.runs_folder import RunsFolderField
from app.training.settings_form import SettingsForm
from graph.outputs import unwritable_reason
from runtime.training.config import setting_range

DATA_WIDTH = 270  # the data preview, three samples to a row
RATE_EVERY_S = 0.5
MAX_EPOCHS = int(setting_range("epochs").high)


class TrainPanel(QWidget):
    run_started = Signal(str)  # the run folder
    run_finished = Signal(object)  # Finished or Failed
    health = Signal(object)  # Health events, for colouring the graph's boxes
    state_changed = Signal(str)  # preparing, running, paused, validating, stopping, stopped, finished, failed
    runs_folder_chosen = Signal(str)  # the user changed the runs folder: its path, or "" for the default

    def __init__(self, runs_root: Path = Path("runs"), parent: QWidget | None = None) -> None:
        """`runs_root`: the default runs folder, until the user chooses one or `set_default_runs_root` moves it."""
        super().__init__(parent)
        self.graph: Any = None
        self.overrides: dict[str, Any] = {}
        self.controller = TrainingController(self)
        self.plots = LivePlots()
        self.run_dir: str | None = None
        self._continuing: str | None = None  # the run being continued, until its training process has started
        self._data_warnings: tuple[str, ...] = ()  # the Started event's: what to know about the run's data
        self._epochs = 0
        self._build()
        self.runs_folder.set_default(runs_root)
        self._connect()
        self.setAcceptDrops(True)
        self._set_buttons("idle")

    # --- building ------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.data = DataColumn()
        self.dataset, self.preview = self.data.dataset, self.data.preview
        self.settings = SettingsForm()
        self.runs_folder = RunsFolderField()
        self.train_button = _button("Train", "Start training with these settings")
        self.pause_button = _button("Pause", "Pause after the current step; click again to resume")
        self.stop_button = _button("Stop", "Stop after the current step (last.pt is saved)")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Training progress")
        self.progress.setRange(0, 100)  # whole percents: a finer bar repaints at every report for nothing seen
        self.progress.setFormat("%p%")
        self.progress.setMaximumHeight(16)
        self.rate = QLabel(" ")  # beside the bar, not on it: the bar's text is cut in a narrow panel
        # its text changes length as it counts: ignoring its width hint keeps a change from re-laying the panel out
        self.rate.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._rate_shown = 0.0  # when the rate was last written (monotonic seconds)
        self.rate.setAccessibleName("Training rate and time left")
        self.status_line = QLabel("Ready.")
        self.status_line.setAccessibleName("Training status")
        self.status_line.setWordWrap(True)
        # three columns side by side: the dock is low (330 pixels when training is first shown), and wide
        splitter = QSplitter(Qt.Orientation.Horizontal)
        columns = (self.data, self._controls(), self.plots)
        for column in columns:
            splitter.addWidget(column)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([DATA_WIDTH, columns[1].minimumSizeHint().width(), 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

    def _controls(self) -> QWidget:
        """The settings (scrolled when the panel is too low for them), then where the run goes, the buttons and
        the run's progress, always in sight."""
        settings = QGroupBox("Settings")
        QVBoxLayout(settings).addWidget(self.settings)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        self.train_button.setDefault(True)
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_scrolled(settings), 1)
        layout.addWidget(self.runs_folder)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.rate)
        layout.addWidget(self.status_line)
        return column

    def _connect(self) -> None:
        self.runs_folder.chosen.connect(self.runs_folder_chosen)
        self.train_button.clicked.connect(self.train)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        c = self.controller
        c.started.connect(self._started)
        c.status.connect(self._status)
        c.step.connect(self._step)
        c.epoch.connect(self.plots.add_epoch)
        c.health.connect(self.health)
        c.failed.connect(self._failed)
        c.finished.connect(self._finished)

    # --- the graph and its data ----------------------------------------------------------------------------

    def set_graph(self, graph: Any) -> None:
        """Remember the graph to train and show its template's settings (or the defaults). Loads torch: call it
        when the user turns to training, not at start-up."""
        from runtime.training.config import ConfigError, TrainConfig, template_config

        self.graph = graph
        self.data.set_graph(graph)
        try:
            config = template_config(graph.training) if getattr(graph, "training", None) else TrainConfig()
        except ConfigError as error:
            config = TrainConfig()
            self._message(f"The template's training settings were not usable: {error}", error=True)
        self.settings.fill(config)
        self.settings.detect_device()
        if config.dataset:
            self.set_dataset(config.dataset)
        else:
            self.refresh_preview()

    @property
    def runs_root(self) -> Path:
        """The folder new runs go to: the user's choice, or the default."""
        return self.runs_folder.folder()

    @runs_root.setter
    def runs_root(self, folder: Path | str) -> None:
        """Choose the runs folder (as typed in its field: "" for the default)."""
        self.runs_folder.set_chosen(folder)

    def set_default_runs_root(self, folder: Path) -> None:
        self.runs_folder.set_default(folder)

    def set_overrides(self, **settings: Any) -> None:
        """Settings not in the form (train_size, val_size, log_every, …) applied to every run from now on."""
        self.overrides = {k: v for k, v in settings.items() if v is not None}

    def dataset_source(self) -> str | None:
        return self.data.source()

    def set_dataset(self, source: str) -> None:
        """Select a built-in by name or a file/folder path (added to the list if new) and preview it."""
        self.data.set_dataset(source)

    def _dataset_activated(self, index: int) -> None:
        self.data.activated(index)

    def refresh_preview(self) -> None:
        self.data.refresh_preview()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.set_dataset(urls[0].toLocalFile())
            event.acceptProposedAction()

    # --- running -------------------------------------------------------------------------------------------

    def config(self) -> Any:
        """The TrainConfig of the form and the overrides; ConfigError when a setting is wrong."""
        return self.settings.config(self.dataset_source(), **self.overrides)

    def train(self) -> bool:
        """Start a run; False (with the reason in red) when there is no graph, a setting is wrong or the run
        cannot fit this machine's memory."""
        from runtime.training.config import ConfigError
        from runtime.training.memory import refusal_before_start

        if self.graph is None:
            self._message("Open or create a graph first.", error=True)
            return False
        try:
            config = self.config()
        except ConfigError as error:
            self._message(str(error), error=True)
            return False
        refusal = refusal_before_start(self.graph, config)  # a run that cannot fit: refused as `train` does
        if refusal:
            self._message(refusal, error=True)
            return False
        if not self._can_write(self.runs_root, f"No run can be written in the runs folder '{self.runs_root}'",
                               " Choose another folder (Browse…)."):
            return False
        self.plots.reset()
        settle_memory()  # now, while the user has just clicked: not in the middle of the run
        self.progress.setValue(0)
        self.rate.setText("starting…")
        self.controller.start(self.graph, config, self.runs_root)
        self._continuing, self._data_warnings = None, ()
        self._epochs = config.epochs
        self._set_buttons("running")
        self._message("Starting the training process…")
        return True

    def ask_continue_epochs(self, run_dir: str | Path) -> int | None:
        """Ask how many epochs in all the run should reach: None when cancelled, or when it cannot be continued
        (the reason in red). An unfinished run is offered its planned epochs, a finished one as many again;
        fewer than it has done cannot be chosen."""
        folder = Path(run_dir)
        if not self._can_continue(folder):
            return None
        done, planned = run_epochs(folder)
        offered = planned if done < planned else done + planned
        epochs, ok = QInputDialog.getInt(
            self, "Continue run", f"{folder.name} has trained {done} of {planned} epochs.\n"
            "Train up to this many epochs in all:", offered, max(1, done), MAX_EPOCHS)
        return epochs if ok else None

    def _can_continue(self, folder: Path) -> bool:
        from runtime.training.run_folder import LAST

        if self.controller.running:  # one run at a time: the panel shows one run's curves and controls
            self._message("A run is in progress: stop it before continuing another.", error=True)
            return False
        if not (folder / LAST).is_file():
            self._message(f"{folder.name} has no checkpoint to continue from.", error=True)
            return False
        return self._can_write(folder, f"Cannot continue {folder.name}")

    def _can_write(self, folder: Path, refusal: str, advice: str = "") -> bool:
        """A folder no run can be written in is named now, not by a training process failing later."""
        problem = unwritable_reason(folder)
        if problem:
            self._message(f"{refusal}: {problem}.{advice}", error=True)
        return problem is None

    def continue_run(self, run_dir: str | Path, epochs: int | None = None) -> bool:
        """Resume a stopped or interrupted run from its last checkpoint, in the same folder, with the same graph
        and settings (`epochs`: the total to reach, more than planned to extend a finished run). Its earlier
        curves are drawn again first."""
        from graph import load_graph
        from runtime.training.config import TrainConfig
        from runtime.training.run_folder import GRAPH_FILE, SETTINGS_FILE, read_json
        from runtime.training.runs import read_metrics

        folder = Path(run_dir)
        if not self._can_continue(folder):
            return False
        settings = read_json(folder / SETTINGS_FILE)["config"]
        if epochs is not None:
            settings["epochs"] = epochs
        config = TrainConfig.from_dict(settings)
        self.plots.reset()
        self.plots.add_overlay(f"{folder.name} (before)", read_metrics(folder))
        self.controller.start(load_graph(folder / GRAPH_FILE), config, self.runs_root, resume_dir=folder)
        self._continuing, self._data_warnings = folder.name, ()
        self._epochs = config.epochs
        self._set_buttons("running")
        self._message(f"Continuing {folder.name} from its last checkpoint…")
        return True

    def toggle_pause(self) -> None:
        if self.pause_button.text() == "Pause":
            self.controller.pause()
            self._set_buttons("paused")
        else:
            self.controller.resume()
            self._set_buttons("running")

    def stop(self) -> None:
        self.controller.stop()
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self._message("Stopping after the current step…")

    def shutdown(self) -> None:
        """Call from the main window's closeEvent: a run in progress stops cleanly (or is ended)."""
        self.controller.shutdown()

    def _started(self, event: Any) -> None:
        self._continuing = None
        self.run_dir = event.run_dir
        self.plots.export_folder = Path(event.run_dir)  # the curves' pictures and tables go with the run's files
        self._epochs = event.epochs
        self.plots.set_run_length(event.epochs * event.steps_per_epoch)
        self._data_warnings = tuple(event.warnings)
        self._run_message(f"Training on {event.device} · {event.parameters:,} parameters · {event.dataset}")
        self.run_started.emit(event.run_dir)

    def _status(self, state: str, message: str) -> None:
        if state in ("running", "paused") and self.stop_button.isEnabled():
            self._set_buttons(state)
        if message:
            self._run_message(f"{state.capitalize()}: {message}")
        self.state_changed.emit(state)

    def _step(self, metrics: Any) -> None:
        self.plots.add_step(metrics)
        self.progress.setValue(round(metrics.progress * 100))
        now = time.monotonic()
        if now - self._rate_shown >= RATE_EVERY_S:  # a rate rewritten 13 times a second cannot be read anyway
            self._rate_shown = now
            self.rate.setText(progress_text(metrics, self._epochs))

    def _failed(self, kind: str, message: str) -> None:
        if self._continuing:  # refused before it started (a checkpoint of another graph): like the other refusals
            self._message(f"Cannot continue {self._continuing}: {message}", error=True)
        else:
            self._message(f"Training failed ({kind}): {message}", error=True)

    def _finished(self, outcome: Any) -> None:
        self._set_buttons("idle")
        state = getattr(outcome, "state", "failed")
        if state != "failed":
            self.rate.setText(f"{state} · {self.rate.text().split(' · ETA')[0]}")  # no time left to announce
            self._run_message(f"Run {state}: {self.run_dir}")
        self.state_changed.emit(state)
        self.run_finished.emit(outcome)

    def _set_buttons(self, state: str) -> None:
        idle = state == "idle"
        self.train_button.setEnabled(idle)
        self.pause_button.setEnabled(not idle)
        self.stop_button.setEnabled(not idle)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.pause_button.setAccessibleName(self.pause_button.text())
        for widget in (self.settings, self.dataset, self.runs_folder):
            widget.setEnabled(idle)

    def _run_message(self, text: str) -> None:
        """A message of the run, with what its data warns of below it, in amber: the run goes on, but may learn
        less than the user thinks, and the warnings stay in sight until the run is over."""
        warnings = self._data_warnings
        self._message("\n".join([text, *(f"⚠ {warning}" for warning in warnings)]), warning=bool(warnings))

    def _message(self, text: str, error: bool = False, warning: bool = False) -> None:
        self.status_line.setStyleSheet(ERROR_STYLE if error else WARNING_STYLE if warning else "")
        self.status_line.setText(text)


def run_epochs(folder: Path) -> tuple[int, int]:
    """(epochs completed, epochs planned) of a run folder. The completed ones are counted from its validation
    rows, which every run has, even one interrupted before it wrote its summary."""
    from runtime.training.run_folder import SETTINGS_FILE, read_json
    from runtime.training.runs import read_metrics

    planned = int(read_json(folder / SETTINGS_FILE)["config"]["epochs"])
    done = int(max(read_metrics(folder).get("val", {}).get("epoch", []), default=0))
    return done, planned


def progress_text(metrics: Any, epochs: int) -> str:
    """'epoch 2/10 · 1,234 samples/s · ETA 0:42'."""
    eta = f" · ETA {_clock(metrics.eta)}" if metrics.eta is not None else ""
    return f"epoch {metrics.epoch}/{epochs} · {metrics.samples_per_s:,.0f} samples/s{eta}"


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _scrolled(widget: QWidget) -> QScrollArea:
    """`widget` with a vertical scroll bar when the panel is too low for it, so that the panel never forces its
    height on the window (a 768-pixel screen leaves the dock some 330)."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(widget.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
    return scroll


def _button(name: str, tip: str) -> QPushButton:
    button = QPushButton(name)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    return button
