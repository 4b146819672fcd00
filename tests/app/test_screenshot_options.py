"""`python main.py screenshot` options: a selected box, a block's inside, a dock, the runs compared, a run's
Results window. Each is checked on the window state it sets up, and one picture is written end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

import app.autosave as autosave
import main
from app.screenshot import View, _arrange, _results_window, screenshot_command
from graph import load_graph
from runtime.training import TrainConfig, Trainer
from tests.app.widgets import open_window


@pytest.fixture(autouse=True)
def discard_on_close(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder whose runs/ holds two small finished runs of the mlp template."""
    folder = tmp_path_factory.mktemp("screenshot-runs")
    for name, lr in (("mlp-a", 0.01), ("mlp-b", 0.05)):
        config = TrainConfig(dataset="blobs", epochs=1, lr=lr, train_size=256, val_size=100)
        Trainer(load_graph("mlp"), config, run_dir=folder / "runs" / name).run()
    return folder


def test_block_opens_its_inside_with_the_breadcrumb(qtbot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "gpt")
    assert _arrange(window, View(block="blocks")) is None
    assert window.document.scope == ["gpt-block"]
    assert window.breadcrumb.isVisible()


def test_select_shows_the_box_in_the_inspector(qtbot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "lenet")
    assert _arrange(window, View(select="conv2", dock="summary")) is None
    assert window.scene.selected_nodes() == ["conv2"]
    assert window.docks["Summary"].isVisible()


def test_unknown_names_are_explained(qtbot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "lenet")
    assert "cannot open block 'nothing'" in _arrange(window, View(block="nothing"))
    assert "no box named 'nothing'" in _arrange(window, View(select="nothing"))
    assert "no dock named 'nothing'" in _arrange(window, View(dock="nothing"))


def test_runs_and_training_use_the_working_directory_runs_folder(qtbot, tmp_path: Path, runs_folder: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """As documented: --runs compares the two newest runs of ./runs, and training writes under ./runs (not the
    app's default, the data folder, for a template)."""
    import app.screenshot as screenshot

    monkeypatch.chdir(runs_folder)
    autosave.set_directory(tmp_path / "autosave")
    seen = {}

    def record(window: object, seconds: float) -> None:  # training itself is the train panel's tests' business
        seen["training into"] = window.train_panel.runs_root

    def close(window: object) -> None:
        seen["compared"] = sorted(window.runs_panel.plots.overlay_names())
        real_close(window)

    real_close = screenshot._close
    monkeypatch.setattr(screenshot, "_train_for", record)
    monkeypatch.setattr(screenshot, "_close", close)
    output = tmp_path / "runs.png"
    assert screenshot_command("mlp", str(output), (900, 600), train_seconds=1, view=View(runs=True)) == 0
    assert seen == {"training into": runs_folder / "runs", "compared": ["mlp-a", "mlp-b"]}
    assert QImage(str(output)).width() >= 900


def test_results_window_waits_for_the_confusion_matrix(qtbot, tmp_path: Path, runs_folder: Path) -> None:
    window = open_window(qtbot, tmp_path, "mlp")
    dialog = _results_window(window, runs_folder / "runs" / "mlp-a", (900, 600))
    assert dialog.results is not None and dialog.matrix.rowCount() == 2
    damaged = tmp_path / "damaged"  # a summary, but nothing else that a run holds
    damaged.mkdir()
    (damaged / "summary.json").write_text("null")  # was an AttributeError traceback in the dialog
    problem = _results_window(window, damaged, (900, 600))
    assert isinstance(problem, str) and problem.startswith(f"cannot show the results of '{damaged}': ")


@pytest.mark.parametrize(("view", "seconds", "words"), [
    (View(select=""), 0, "--select is empty: give a box's name, or leave --select out"),
    (View(block=""), 0, "--block is empty: give a block's name, or leave --block out"),
    (View(dock=""), 0, "--dock is empty: give a panel's name, or leave --dock out"),
    (View(results=""), 0, "--results is empty: give a run folder, or leave --results out"),
    (View(results="nowhere"), 0, "'nowhere' is not a run folder (no summary.json)"),
    (View(results="r" * 300), 0, f"cannot read '{'r' * 300}': File name too long"),
    (View(results="nowhere"), 5, "--train-seconds and --results cannot be given together: the picture is then"),
])
def test_what_the_view_asks_for_is_refused_before_the_window(view: View, seconds: float, words: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """An empty name was ignored (a picture of something else, exit 0), and --results with --train-seconds trained
    for that long, writing a run folder, before the results folder was refused."""
    import app.main_window

    def no_window(*args: object) -> None:
        raise AssertionError("a window was made")

    monkeypatch.setattr(app.main_window, "MainWindow", no_window)
    monkeypatch.chdir(tmp_path)
    assert screenshot_command("mlp", "shot.png", (900, 600), train_seconds=seconds, view=view) == 2
    assert capsys.readouterr().err.startswith(words)
    assert list(tmp_path.iterdir()) == []


def test_command_writes_a_picture_with_the_options(qtbot, tmp_path: Path) -> None:
    autosave.set_directory(tmp_path / "autosave")
    output = tmp_path / "block.png"
    args = main.build_parser().parse_args(["screenshot", "gpt", "-o", str(output), "--size", "900x600",
                                           "--block", "gpt-block", "--select", "ff", "--dock", "Summary"])
    view = View(select=args.select, block=args.block, dock=args.dock, runs=args.runs, results=args.results)
    assert view == View(select="ff", block="gpt-block", dock="Summary")
    assert screenshot_command(args.graph, args.output, args.size, view=view) == 0
    assert QImage(str(output)).width() >= 900
    assert screenshot_command("gpt", str(tmp_path / "no.png"), (900, 600), view=View(block="nothing")) == 2
    assert not (tmp_path / "no.png").exists()
