"""The train panel: a real run started with the Train button, paused, resumed and stopped; settings errors;
the data preview; drag and drop of a data file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.training.panel import TrainPanel, progress_text
from graph import load_graph
from runtime.training.events import StepMetrics


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> TrainPanel:
    widget = TrainPanel(tmp_path / "runs")
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    widget.set_graph(load_graph("lenet"))
    yield widget
    widget.controller.kill()  # never leave a training process behind a failed test


def test_train_pause_resume_stop_with_the_buttons(qtbot, panel: TrainPanel, tmp_path: Path) -> None:
    assert panel.dataset_source() == "digits" and panel.settings.epochs.value() == 10  # the template's
    panel.settings.epochs.setValue(200)  # long enough to still be running when Stop is clicked
    panel.set_overrides(train_size=256, val_size=64, log_every=1)
    started = []
    panel.run_started.connect(started.append)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert not panel.train_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.plots.point_count() > 0, timeout=60_000)
    assert started and Path(started[0]).parent == tmp_path / "runs"
    assert "epoch" in panel.rate.text() and "samples/s" in panel.rate.text()

    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Resume" and panel.pause_button.accessibleName() == "Resume"
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Pause"

    with qtbot.waitSignal(panel.run_finished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert finished.args[0].state in ("stopped", "finished")
    run = Path(started[0])
    assert run.is_dir() and (run / "last.pt").is_file()
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.settings.isEnabled()


def test_a_wrong_setting_is_shown_and_starts_nothing(qtbot, panel: TrainPanel, tmp_path: Path) -> None:
    panel.settings.lr.setText("-1")
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert panel.status_line.text().startswith("lr must be") and "-1" in panel.status_line.text()  # the setting named
    assert "c92a2a" in panel.status_line.styleSheet()
    assert not panel.controller.running and not (tmp_path / "runs").exists()
    panel.settings.lr.setText("fast")
    assert panel.train() is False and "learning rate must be a number" in panel.status_line.text()


def test_the_forms_fields_hold_the_ranges_of_the_settings(qtbot, panel: TrainPanel) -> None:
    """The spin boxes hold TrainConfig's declared ranges (they had their own: 1,000,000 epochs where 100,000 is
    the most, a seed cut at 31 bits), so a value out of range cannot be typed, and a template's seed above 2**31
    is trained with as it is; a learning rate out of range is named before a run starts."""
    from runtime.training.config import TrainConfig, setting_range

    form = panel.settings
    for box, name in ((form.epochs, "epochs"), (form.batch_size, "batch_size"), (form.warmup, "warmup_steps"),
                      (form.seed, "seed")):
        allowed = setting_range(name)
        assert (box.minimum(), box.maximum()) == (allowed.low, allowed.high), name
    form.epochs.lineEdit().selectAll()
    qtbot.keyClicks(form.epochs, "999999")
    assert form.epochs.value() <= setting_range("epochs").high
    form.fill(TrainConfig(seed=2**32 - 1))
    assert panel.config().seed == 2**32 - 1
    form.lr.setText("20")
    assert panel.train() is False
    assert panel.status_line.text() == "lr must be a number above 0, at most 10, got 20.0"


def test_config_comes_from_the_form_and_the_overrides(panel: TrainPanel) -> None:
    panel.settings.optimizer.setCurrentText("sgd")
    panel.settings.lr.setText("3e-2")
    panel.set_overrides(train_size=128)
    config = panel.config()
    assert (config.optimizer, config.lr, config.train_size, config.schedule) == ("sgd", 0.03, 128, "cosine")
    assert config.dataset == "digits"


def test_preview_shows_images_or_why_the_data_does_not_fit(qtbot, panel: TrainPanel) -> None:
    qtbot.waitUntil(lambda: panel.preview.images.count() == 16, timeout=20_000)
    assert panel.preview.stack.currentWidget() is panel.preview.images
    panel.set_dataset("pytext")  # characters cannot feed an image classifier
    qtbot.waitUntil(lambda: bool(panel.preview.error), timeout=20_000)
    assert "c92a2a" in panel.preview.message.styleSheet()


def test_dropping_a_file_selects_it(qtbot, panel: TrainPanel, tmp_path: Path) -> None:
    data = tmp_path / "points.csv"
    data.write_text("a,b,label\n0,1,0\n1,0,1\n", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(data))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    assert panel.dataset_source() == str(data) and panel.dataset.currentText() == "points.csv"


def drop(panel: TrainPanel, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    panel.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                               Qt.KeyboardModifier.NoModifier))


def test_what_the_data_warns_of_is_shown_in_amber_in_the_preview_and_the_run(qtbot, panel: TrainPanel,
                                                                            tmp_path: Path) -> None:
    """An .npz whose labels lost one of the output's two classes: the preview says so above the samples, and the
    run's status line below its start, in amber (the run goes on), until the run is over. Both were computed
    (Preview.warnings, Started.warnings) and shown nowhere."""
    import numpy as np

    panel.set_graph(load_graph("mlp"))  # input X: 50 features, output Y: 2 classes
    data = tmp_path / "one-class.npz"
    np.savez(data, X=np.random.default_rng(0).normal(size=(40, 50)).astype(np.float32), Y=np.zeros(40, np.int64))
    drop(panel, data)
    warning = "every label in one-class.npz (array 'Y') is class 0: output 'Y' scores 2 classes"
    qtbot.waitUntil(lambda: panel.preview.warnings.isVisible(), timeout=20_000)
    assert warning in panel.preview.warnings.text() and "a8" in panel.preview.warnings.styleSheet()
    assert panel.preview.stack.currentWidget() is panel.preview.table and not panel.preview.error
    panel.settings.epochs.setValue(1)
    with qtbot.waitSignal(panel.run_finished, timeout=60_000):
        assert panel.train()
    lines = panel.status_line.text().splitlines()
    assert lines[0].startswith("Run finished: ") and lines[1].startswith(f"⚠ {warning}")
    assert "a85d00" in panel.status_line.styleSheet()
    panel.set_dataset("blobs")  # data without warnings: none left from the file
    qtbot.waitUntil(lambda: panel.preview.stack.currentWidget() is panel.preview.table, timeout=20_000)
    assert not panel.preview.warnings.isVisible()


def test_controls_have_accessible_names(panel: TrainPanel) -> None:
    names = {w.accessibleName() for w in (panel.train_button, panel.pause_button, panel.stop_button, panel.dataset,
                                          panel.settings.epochs, panel.settings.batch_size, panel.settings.lr,
                                          panel.settings.optimizer, panel.settings.device, panel.settings.seed,
                                          panel.runs_folder.line, panel.runs_folder.browse)}
    assert {"Train", "Pause", "Stop", "Dataset", "Epochs", "Batch size", "Learning rate", "Runs folder",
            "Browse for the runs folder"} <= names


def type_runs_folder(qtbot, panel: TrainPanel, text: str) -> None:
    line = panel.runs_folder.line
    line.clear()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def test_a_runs_folder_that_cannot_take_a_run_is_named_before_the_run_starts(qtbot, panel: TrainPanel,
                                                                              tmp_path: Path) -> None:
    """A file in the folder's place, or in the place of a parent folder to create: named in red beside the field
    at once, and in the status line when Train is clicked, which starts nothing. A folder without write
    permission too, unless the tests run as root (whom no permission stops: a path under a file is what no
    one can create)."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    cases = [(blocker, f"'{blocker}' is a file, not a folder"),
             (blocker / "deeper" / "runs", f"'{blocker}' is a file, not a folder")]
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        cases.append((locked / "runs", f"the folder '{locked}' is not writable (Permission denied)"))
    field = panel.runs_folder
    for folder, cause in cases:
        type_runs_folder(qtbot, panel, str(folder))
        assert panel.runs_root == folder
        assert field.effective.text() == f"→ {folder}: {cause}" and "c92a2a" in field.effective.styleSheet()
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
        assert panel.status_line.text() == (f"No run can be written in the runs folder '{folder}': {cause}. "
                                            "Choose another folder (Browse…).")
        assert "c92a2a" in panel.status_line.styleSheet()
        assert not panel.controller.running and panel.controller.outcome is None and panel.train_button.isEnabled()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["notes.txt", *(["locked"] * (os.geteuid() != 0))])
    type_runs_folder(qtbot, panel, str(tmp_path / "fine"))
    assert "c92a2a" not in field.effective.styleSheet() and panel.settings.isEnabled()


def test_a_typed_runs_folder_is_made_absolute_from_the_graph_folder(qtbot, panel: TrainPanel, tmp_path: Path) -> None:
    chosen = []
    panel.runs_folder_chosen.connect(chosen.append)
    type_runs_folder(qtbot, panel, "experiments/mine")  # relative: from the default's folder, never the process's
    assert panel.runs_root == tmp_path / "experiments" / "mine" and chosen == [str(panel.runs_root)]
    assert panel.runs_folder.line.text() == str(panel.runs_root)
    type_runs_folder(qtbot, panel, "~/lb-runs")
    assert panel.runs_root == Path.home() / "lb-runs"
    assert panel.runs_folder.effective.text() == "→ ~/lb-runs"
    type_runs_folder(qtbot, panel, "")
    assert panel.runs_root == tmp_path / "runs" and chosen[-1] == ""  # the default again


def test_progress_text() -> None:
    metrics = StepMetrics(step=5, epoch=2, loss=1.0, accuracy=None, lr=1e-3, samples_per_s=1234.4, elapsed=3.0,
                          progress=0.2, eta=42.0)
    assert progress_text(metrics, 10) == "epoch 2/10 · 1,234 samples/s · ETA 0:42"


class FakeProcess:
    """Stands in for TrainingProcess: a flood of events waiting in its queue."""

    def __init__(self, events: list[object]) -> None:
        self.events, self.outcome = events, None
        self.exited, self.joins = True, []

    def poll(self) -> list[object]:
        from runtime.training.events import Finished

        waiting, self.events = self.events, []
        self.outcome = next((e for e in waiting if isinstance(e, Finished)), self.outcome)
        return waiting

    def join(self, timeout: float | None = None) -> None:
        assert self.exited and timeout == 0, "the editor must never wait for the child"
        self.joins.append(timeout)


def test_controller_drains_a_flood_a_slice_per_tick(qtbot) -> None:
    from app.training.controller import MAX_EVENTS_PER_TICK, TrainingController
    from runtime.training.events import Finished, Status

    controller = TrainingController()
    flood = [step_event(i) for i in range(1, 2 * MAX_EVENTS_PER_TICK + 11)] + [Status("finished"), Finished("finished")]
    controller._process = FakeProcess(flood)
    steps, states, outcomes = [], [], []
    controller.step.connect(steps.append)
    controller.status.connect(lambda state, _: states.append(state))
    controller.finished.connect(outcomes.append)
    controller.drain()
    assert len(steps) == MAX_EVENTS_PER_TICK and not outcomes  # the rest waits for the next tick
    controller.drain()
    controller.drain()
    controller.drain()  # a late tick after the end emits nothing more
    assert len(steps) == 2 * MAX_EVENTS_PER_TICK + 10 and states == ["finished"]
    assert outcomes == [Finished("finished")]


def test_the_end_of_a_run_is_shown_at_once_and_the_child_reaped_when_it_has_exited(qtbot) -> None:
    from app.training.controller import TrainingController
    from runtime.training.events import Finished

    controller = TrainingController()
    child = FakeProcess([Finished("finished")])
    child.exited = False  # still tearing torch down after its last event
    controller._process = child
    outcomes: list[object] = []
    controller.finished.connect(outcomes.append)
    controller.drain()
    assert outcomes == [Finished("finished")] and child.joins == []
    child.exited = True
    qtbot.waitUntil(lambda: child.joins == [0], timeout=2000)


def step_event(i: int) -> StepMetrics:
    return StepMetrics(step=i, epoch=1, loss=1.0, accuracy=None, lr=1e-3, samples_per_s=1.0, elapsed=0.0,
                       progress=0.0, eta=None)


def test_choose_file_entry_opens_a_file_dialog(qtbot, panel: TrainPanel, tmp_path: Path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    data = tmp_path / "table.csv"
    data.write_text("x,y\n1,0\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(data), ""))
    panel._dataset_activated(panel.dataset.findData("Choose file…"))
    assert panel.dataset_source() == str(data)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")  # cancelled: back to the file
    panel._dataset_activated(panel.dataset.findData("Choose folder…"))
    assert panel.dataset_source() == str(data)


def test_the_panel_is_built_without_loading_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from app.training.panel import TrainPanel; from app.training.runs_panel import RunsPanel; "
            "TrainPanel(); RunsPanel(); assert 'torch' not in sys.modules, 'torch loaded'")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr


def fill_curves(panel: TrainPanel) -> None:
    from runtime.training.events import EpochMetrics

    for i in range(1, 31):
        panel.plots.add_step(StepMetrics(step=i, epoch=1, loss=2.0 / i, accuracy=0.5, lr=1e-3, samples_per_s=900.0,
                                         elapsed=i / 10, progress=i / 30, eta=1.0))
    panel.plots.add_epoch(EpochMetrics(1, 30, None, None, 0.8, 0.7, True, 3.0))
    panel.plots.redraw()


def test_save_picture_and_data_buttons_write_the_curves(qtbot, panel: TrainPanel, tmp_path: Path,
                                                        monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    fill_curves(panel)
    plots = panel.plots
    assert plots.save_picture_button.isVisible() and plots.save_data_button.isVisible()
    assert {plots.save_picture_button.accessibleName(), plots.save_data_button.accessibleName()} == \
        {"Save curves as picture", "Save curves as data"}
    asked = []

    def choose(parent: object, title: str, start: str, file_filter: str) -> tuple[str, str]:
        asked.append((title, Path(start).name, file_filter))
        return str(tmp_path / ("curves" if "PNG" in file_filter else "table.csv")), file_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose)
    qtbot.mouseClick(plots.save_picture_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(plots.save_data_button, Qt.MouseButton.LeftButton)
    assert [a[1] for a in asked] == ["curves.png", "curves.csv"]
    png = tmp_path / "curves.png"  # the extension the user left out is added
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    rows = (tmp_path / "table.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 30 + 1 and rows[0].startswith("phase,step,epoch,loss")
    assert "table.csv" in plots.readout.text()


def test_a_failed_save_names_the_file_and_loses_nothing(qtbot, panel: TrainPanel, tmp_path: Path,
                                                        monkeypatch) -> None:
    import os

    from PySide6.QtWidgets import QFileDialog, QMessageBox

    fill_curves(panel)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    missing = tmp_path / "no-such-folder" / "curves.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(missing), ""))
    qtbot.mouseClick(panel.plots.save_picture_button, Qt.MouseButton.LeftButton)
    assert len(warnings) == 1 and str(missing) in warnings[0] and not missing.exists()

    kept = tmp_path / "curves.csv"  # an earlier table, and then the disk fills up while saving over it
    kept.write_text("an earlier table\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(kept), ""))

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    qtbot.mouseClick(panel.plots.save_data_button, Qt.MouseButton.LeftButton)
    assert str(kept) in warnings[1] and "No space left on device" in warnings[1]
    assert kept.read_text(encoding="utf-8") == "an earlier table\n"  # not truncated
    assert [p.name for p in tmp_path.iterdir()] == ["curves.csv"]  # nothing half-written left behind
    assert panel.plots.point_count() == 31  # the curves are still there to save elsewhere
