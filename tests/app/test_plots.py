"""The live curves: many points stay fast, other runs overlaid, read-out under the mouse, PNG and CSV export."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from app.training.plots import MAX_POINTS, LivePlots
from runtime.training.events import EpochMetrics, StepMetrics
from tests.app.widgets import shown


def step(i: int, loss: float = 1.0) -> StepMetrics:
    return StepMetrics(step=i, epoch=1 + i // 100, loss=loss, accuracy=0.5, lr=1e-3, samples_per_s=1000.0,
                       elapsed=i / 10, progress=0.5, eta=1.0)


def make(qtbot) -> LivePlots:
    return shown(qtbot, LivePlots(), 800, 500)


def test_two_hundred_thousand_points_are_thinned_keeping_the_newest(qtbot) -> None:
    """How fast this goes is measured by `python -m bench editor` (live curves), not here."""
    plots = make(qtbot)
    for i in range(1, 200_001):
        plots.add_step(step(i, 2.0 / i))
        if i % 20_000 == 0:
            QApplication.processEvents()  # the UI gets its turn, as it would between training events
    plots.redraw()
    QApplication.processEvents()
    assert MAX_POINTS // 2 <= plots.point_count() <= MAX_POINTS  # thinned, newest kept
    assert plots.steps.column("step")[-1] == 200_000
    assert plots.raw_loss.getData()[0] is not None


def test_epochs_smoothing_and_readout(qtbot) -> None:
    plots = make(qtbot)
    for i in range(1, 101):
        plots.add_step(step(i, 1.0 if i % 2 else 3.0))
    plots.add_epoch(EpochMetrics(epoch=1, step=100, train_loss=2.0, train_accuracy=0.5, val_loss=1.5,
                                 val_accuracy=0.6, best=True, elapsed=10.0))
    plots.redraw()
    assert plots.point_count() == 101
    smoothed = plots.steps.column("smoothed")
    assert 1.5 < smoothed[-1] < 2.5  # the EMA sits between the alternating values
    assert list(plots.val_loss.getData()[1]) == [1.5]
    assert plots.readout_at(41.2) == "step 41 · loss 1"
    qtbot.wait(50)  # the plots lay out and range themselves before points map to the scene
    centre = plots.loss_plot.vb.mapViewToScene(QPointF(60, 2.0))
    plots.canvas.scene().sigMouseMoved.emit(centre)  # as a mouse move over the loss plot does
    qtbot.waitUntil(lambda: plots.readout.text().startswith("step 60"), timeout=2000)


def test_log_scale_checkbox(qtbot) -> None:
    plots = make(qtbot)
    assert plots.log_scale.accessibleName() == "Log scale loss"
    qtbot.mouseClick(plots.log_scale, Qt.MouseButton.LeftButton)
    assert plots.log_scale.isChecked() and plots.loss_plot.getAxis("left").logMode


def test_overlays_and_export(qtbot, tmp_path: Path) -> None:
    plots = make(qtbot)
    for i in range(1, 51):
        plots.add_step(step(i))
    plots.add_epoch(EpochMetrics(1, 50, None, None, 0.9, 0.7, True, 5.0))
    other = {"train": {"step": [10.0, 20.0], "loss": [2.0, 1.0], "lr": [1e-3, 1e-3],
                       "samples_per_s": [900.0, 950.0]},
             "val": {"step": [20.0], "loss": [1.2], "accuracy": [0.6]}}
    plots.add_overlay("older run", other)
    assert plots.overlay_names() == ["older run"]
    assert len(plots._overlays["older run"]) == 5
    plots.clear_overlays()
    assert plots.overlay_names() == [] and all(len(p.listDataItems()) <= 3 for p in (plots.loss_plot,))
    plots.redraw()
    png = plots.export_png(tmp_path / "curves.png")
    assert png.stat().st_size > 1000
    with open(plots.export_csv(tmp_path / "curves.csv"), encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 51 and rows[0]["phase"] == "train" and rows[-1]["phase"] == "val"
    assert rows[-1]["loss"] == "0.9" and rows[0]["accuracy"] == "0.5"


def test_a_run_spans_the_step_axis_and_value_ranges_only_grow(qtbot) -> None:
    plots = make(qtbot)
    plots.set_run_length(1000)
    for i in range(1, 21):
        plots.add_step(step(10 * i, loss=2.0 - 0.05 * i))
    plots.redraw()
    left, right = plots.speed_plot.viewRange()[0]  # linked to the loss plot's step axis
    assert left <= 0 and 1000 <= right < 1100
    bottom, top = plots.loss_plot.viewRange()[1]
    assert bottom < 1.0 and top > 1.95  # every loss in view
    plots.add_step(step(210, loss=1.5))  # inside the range: the axes stay as they are
    plots.redraw()
    assert plots.loss_plot.viewRange()[1] == [bottom, top]
    plots.add_step(step(220, loss=0.2))  # below it: the range grows to show it
    plots.redraw()
    assert plots.loss_plot.viewRange()[1][0] < 0.2
    box = plots.loss_plot.getViewBox()
    box.setYRange(1.4, 1.6, padding=0)
    box.sigRangeChangedManually.emit(box.state["mouseEnabled"])  # as the mouse wheel does
    plots.add_step(step(230, loss=0.05))
    plots.redraw()
    assert plots.loss_plot.viewRange()[1] == [1.4, 1.6]  # the user's view is left alone
