"""A graph that cannot train on this machine says so in the editor before any training: the warning on the box
that takes the most, in the Problems panel and in the Summary panel; the Train panel refuses to start the run,
with the message `train` gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import graph.lint
import runtime.training.memory as memory
from graph import load_graph
from graph.capacity import GIB, Available
from runtime.training.config import TrainConfig
from runtime.training.memory import fit_refusal
from tests.app.widgets import open_window
from tests.probes import probe

FREE = Available(20 * GIB, "of free RAM")


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Available:
    """A machine with 20 GiB of free RAM, for the editor (graph/) and the runtime's check alike."""
    import app.summary_panel

    for module in (graph.lint, memory, app.summary_panel):
        monkeypatch.setattr(module, "available_memory", lambda: FREE)
    monkeypatch.setattr(graph.lint, "total_memory", lambda: 256 * GIB)
    return FREE


def test_the_box_the_problems_and_the_summary_show_the_warning(qtbot, tmp_path: Path, machine: Available) -> None:
    window = open_window(qtbot, tmp_path, str(probe("wide-conv")))
    box = window.scene.node_item("conv")
    assert box.severity == "warning"
    assert box.toolTip().startswith("warning: training 'wide-conv' will not fit this machine's memory: one "
                                    "training step at batch size 64 needs about 733.3 GiB")
    assert "batch size 1 fits" in box.toolTip() and "16.0 GiB (80% of the 20.0 GiB of free RAM" in box.toolTip()
    listed = [p for p in window.problems.problems if p.code == "memory"]
    assert [p.node for p in listed] == ["conv"]
    window.docks["Summary"].raise_()
    qtbot.waitUntil(lambda: window.summary.warning.isVisible())
    assert window.summary.warning.text() == f"⚠ {listed[0].message}"
    assert "does not fit this machine" in window.summary.machine_label.text()
    assert window.statusBar().currentMessage().endswith("valid, 1 warning")


def test_a_graph_that_fits_shows_no_warning(qtbot, tmp_path: Path, machine: Available) -> None:
    window = open_window(qtbot, tmp_path, "lenet")
    assert all(window.scene.node_item(n.name).severity is None for n in window.document.graph)
    window.docks["Summary"].raise_()
    qtbot.waitUntil(lambda: "fits this machine" in window.summary.machine_label.text())
    assert not window.summary.warning.isVisible()


def test_the_train_panel_refuses_a_run_that_cannot_fit(qtbot, tmp_path: Path, machine: Available) -> None:
    window = open_window(qtbot, tmp_path, str(probe("wide-conv")))
    window.show_training()
    panel = window.train_panel
    panel.runs_root = tmp_path / "runs"
    panel.settings.device.setCurrentText("cpu")
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    expected = fit_refusal(load_graph(probe("wide-conv")), TrainConfig(batch_size=64), memory.torch.device("cpu"))
    assert panel.status_line.text() == expected
    assert expected.startswith("cannot train 'wide-conv' on cpu: one training step at batch size 64 needs about")
    assert not panel.controller.running and not (tmp_path / "runs").exists()
    panel.settings.batch_size.setValue(1)  # the batch the message names: the run is let through
    assert memory.refusal_before_start(panel.graph, panel.config()) is None
