"""The runs panel: runs made by the engine are listed; open, compare, delete; results and ONNX export."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.training.runs_panel import RunsPanel
from graph import load_graph
from runtime.training import TrainConfig, Trainer

VAL_SIZE = 100


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs-panel") / "runs"
    for name, lr in (("mlp-1", 0.01), ("mlp-2", 0.05)):
        config = TrainConfig(dataset="blobs", epochs=1, lr=lr, train_size=256, val_size=VAL_SIZE)
        Trainer(load_graph("mlp"), config, run_dir=root / name).run()
    return root


@pytest.fixture
def panel(qtbot, runs_root: Path) -> RunsPanel:
    widget = RunsPanel(runs_root)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    widget.refresh()
    return widget


def test_lists_runs_and_opens_a_graph(qtbot, panel: RunsPanel, runs_root: Path) -> None:
    names = {panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())}
    assert names == {"mlp-1", "mlp-2"}
    item = panel.tree.topLevelItem(0)
    assert item.text(1) == "mlp" and item.text(2) == "blobs" and item.text(3) == "finished"
    assert item.text(4).endswith("%")
    panel.select(runs_root / "mlp-1")
    with qtbot.waitSignal(panel.open_graph_requested) as opened:
        qtbot.mouseClick(panel.buttons["Open graph"], Qt.MouseButton.LeftButton)
    assert opened.args == [str(runs_root / "mlp-1" / "graph.layerbook.json")]


def test_compare_two_runs(qtbot, panel: RunsPanel, runs_root: Path) -> None:
    panel.select(runs_root / "mlp-1", runs_root / "mlp-2")
    assert panel.buttons["Compare"].isEnabled() and not panel.buttons["Results"].isEnabled()
    with qtbot.waitSignal(panel.compare_requested):
        qtbot.mouseClick(panel.buttons["Compare"], Qt.MouseButton.LeftButton)
    settings = [panel.differences.item(r, 0).text() for r in range(panel.differences.rowCount())]
    assert settings == ["lr"]
    assert sorted(panel.plots.overlay_names()) == ["mlp-1", "mlp-2"]


def test_results_dialog_confusion_matrix(qtbot, panel: RunsPanel, runs_root: Path) -> None:
    panel.select(runs_root / "mlp-1")
    dialog = panel.show_results()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.results is not None, timeout=30_000)
    matrix = dialog.matrix
    classes = len(dialog.results.classes)
    assert matrix.rowCount() == matrix.columnCount() == classes >= 2
    total = sum(int(matrix.item(r, c).text()) for r in range(classes) for c in range(classes))
    assert total == VAL_SIZE
    assert dialog.gallery.count() == VAL_SIZE and "validation samples" in dialog.busy.text()


def test_export_onnx_shows_the_parity(qtbot, panel: RunsPanel, runs_root: Path, tmp_path: Path) -> None:
    panel.select(runs_root / "mlp-2")
    dialog = panel.show_export()
    qtbot.addWidget(dialog)
    dialog.export("ONNX", tmp_path / "mlp.onnx")
    qtbot.waitUntil(lambda: dialog.status.text() in ("Done.",) or "failed" in dialog.status.text(), timeout=60_000)
    assert dialog.status.text() == "Done.", dialog.status.text()
    assert (tmp_path / "mlp.onnx").is_file()
    assert "verified with onnxruntime" in dialog.report.toPlainText()


def test_delete_after_confirmation(qtbot, panel: RunsPanel, runs_root: Path, monkeypatch, tmp_path: Path) -> None:
    import shutil

    copy = runs_root / "mlp-copy"
    shutil.copytree(runs_root / "mlp-1", copy)
    panel.refresh()
    panel.select(copy)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    qtbot.mouseClick(panel.buttons["Delete"], Qt.MouseButton.LeftButton)
    assert copy.is_dir()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.run_deleted):
        qtbot.mouseClick(panel.buttons["Delete"], Qt.MouseButton.LeftButton)
    assert not copy.exists() and panel.tree.topLevelItemCount() == 2


def test_results_dialog_samples_text_from_a_language_model(qtbot, tmp_path: Path) -> None:
    from app.training.results import ResultsDialog

    run = tmp_path / "gpt-tiny"
    config = TrainConfig(dataset="pytext", epochs=1, train_size=64, val_size=32, batch_size=16)
    Trainer(load_graph("gpt"), config, run_dir=run).run()
    dialog = ResultsDialog(run)
    qtbot.addWidget(dialog)
    assert dialog.tabs.tabText(0) == "Generate"
    dialog.prompt.setText("def ")
    dialog.length.setValue(40)
    qtbot.mouseClick(dialog.generate_button, Qt.MouseButton.LeftButton)
    assert not dialog.generate_button.isEnabled()  # busy while the model samples
    qtbot.waitUntil(lambda: dialog.generate_button.isEnabled(), timeout=30_000)
    assert dialog.output.toPlainText().startswith("def ") and len(dialog.output.toPlainText()) == 44


def test_continue_a_finished_run_for_more_epochs(qtbot, tmp_path: Path, monkeypatch) -> None:
    """Continue in the Runs panel asks for the total epochs (a finished run: as many again, at least those done)
    and the run folder goes on to them."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QInputDialog

    from app import autosave
    from app.main_window import MainWindow
    from runtime.training.runs import read_metrics

    root = tmp_path / "runs"
    run = root / "mlp-short"
    Trainer(load_graph("mlp"), TrainConfig(dataset="blobs", epochs=1, train_size=256, val_size=64),
            run_dir=run).run()
    autosave.set_directory(tmp_path / "autosave")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    runs, train = window.runs_panel, window.train_panel
    window.set_runs_folder(str(root))  # as the user's choice in the Train panel: the Runs panel lists it too
    assert runs.runs_root == train.runs_root == root
    window.show()
    runs.refresh()
    runs.select(run)
    asked = []

    def choose(parent: object, title: str, label: str, value: int, minimum: int, maximum: int) -> tuple[int, bool]:
        asked.append((value, minimum))
        return 2, True

    monkeypatch.setattr(QInputDialog, "getInt", choose)
    qtbot.mouseClick(runs.buttons["Continue"], Qt.MouseButton.LeftButton)
    assert asked == [(2, 1)]
    qtbot.waitUntil(lambda: train.controller.outcome is not None and not train.controller.running, timeout=60_000)
    assert train.controller.outcome.state == "finished"
    assert read_metrics(run)["val"]["epoch"] == [1.0, 2.0]


def test_continuing_with_a_checkpoint_of_another_graph_is_refused_in_one_line(qtbot, tmp_path: Path, monkeypatch,
                                                                            capfd) -> None:
    """Trainer.resuming's refusal reaches the Train panel's status line as its one-line message, like the other
    refusals; it used to arrive as "CheckpointError: …" with a traceback on the training process's stderr."""
    import shutil

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QInputDialog

    from app import autosave
    from app.main_window import MainWindow

    root = tmp_path / "runs"
    run, other = root / "mlp-short", tmp_path / "other"
    for graph, folder in (("mlp", run), ("autoencoder", other)):
        Trainer(load_graph(graph), TrainConfig(dataset="blobs" if graph == "mlp" else "digits", epochs=1,
                                               train_size=64, val_size=16), run_dir=folder).run()
    shutil.copyfile(other / "last.pt", run / "last.pt")
    autosave.set_directory(tmp_path / "autosave")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (2, True))
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    runs, train = window.runs_panel, window.train_panel
    window.set_runs_folder(str(root))
    window.show()
    runs.refresh()
    runs.select(run)
    capfd.readouterr()
    qtbot.mouseClick(runs.buttons["Continue"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.controller.outcome is not None and not train.controller.running, timeout=60_000)
    qtbot.waitUntil(lambda: train.controller._process.exited, timeout=10_000)  # all it wrote is on stderr
    assert train.controller.outcome.kind == "resume"
    shown = train.status_line.text()
    assert shown == f"Cannot continue mlp-short: {train.controller.outcome.message}" and "\n" not in shown
    assert shown.startswith(f"Cannot continue mlp-short: '{run / 'last.pt'}' is not a checkpoint of the graph of "
                            f"'{run}' (graph.layerbook.json): ")
    assert "c92a2a" in train.status_line.styleSheet() and train.train_button.isEnabled()
    assert "Traceback" not in capfd.readouterr().err
