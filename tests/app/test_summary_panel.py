"""The summary panel: per-layer table, totals equal to the analysis, memory for a batch, the largest batch."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.summary_panel import SummaryPanel
from graph import load_graph
from graph.capacity import GIB, Available
from graph.lint import lint
from graph.summary import largest_batch, summarize, training_memory
from tests.app.widgets import shown
from tests.probes import probe


def make(qtbot, name: str = "lenet") -> tuple[SummaryPanel, object]:
    g = load_graph(name)
    panel = SummaryPanel()
    panel.set_analysis(g, g.analyze())
    return shown(qtbot, panel, 560, 560), g


def test_table_and_totals(qtbot) -> None:
    panel, g = make(qtbot)
    model = panel.table.model()
    assert model.rowCount() == len(g) + 1
    conv1 = [model.index(1, c).data() for c in range(5)]
    assert conv1 == ["conv1", "conv-2d", "32×24×24", "832", "460,800"]
    total = [model.index(model.rowCount() - 1, c).data() for c in range(5)]
    assert model.index(model.rowCount() - 1, 0).data(Qt.ItemDataRole.FontRole).bold()
    assert not model.index(1, 0).data(Qt.ItemDataRole.FontRole)
    assert total[0] == "Total" and total[3] == f"{g.analyze().parameters:,}" == "105,506"
    assert total[4] == "1,333,200"
    assert "105,506 parameters" in panel.totals.text()


def test_batch_size_changes_the_memory(qtbot) -> None:
    panel, g = make(qtbot)
    assert panel.batch.value() == 32  # the template's training batch size
    before = panel.current_memory()
    text_before = panel.memory.text()
    panel.batch.setFocus()
    QTest.keyClick(panel.batch, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(panel.batch, "256")
    QTest.keyClick(panel.batch, Qt.Key.Key_Return)
    assert panel.batch.value() == 256
    after = panel.current_memory()
    assert after == training_memory(summarize(g), 256)
    assert after.activations == 8 * before.activations and after.parameters == before.parameters
    assert panel.memory.text() != text_before


def test_gpu_comparison_and_largest_batch(qtbot) -> None:
    panel, g = make(qtbot, "resnet50")
    assert panel.gpu_label.text() == ""
    gib = 2**30
    panel.set_gpu("Test GPU", 16 * gib)
    expected = largest_batch(summarize(g), 16 * gib)
    assert panel.largest_batch() == expected > 0
    assert f"{expected:,}" in panel.gpu_label.text() and "Test GPU" in panel.gpu_label.text()
    panel.batch.setValue(expected + 1)
    assert "does not fit" in panel.gpu_label.text()
    panel.batch.setValue(expected)
    assert "fits on Test GPU" in panel.gpu_label.text()
    assert all(w.accessibleName() for w in (panel.table, panel.batch, panel.optimizer, panel.memory))


def test_a_hidden_panel_summarises_when_it_is_shown(qtbot) -> None:
    panel, g = make(qtbot)
    panel.hide()
    bigger = load_graph("alexnet")
    panel.set_analysis(bigger, bigger.analyze())
    assert panel.model.rowCount() == len(g) + 1  # still lenet's table: nobody looks at it
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.model.rowCount() == len(bigger) + 1
    assert f"{bigger.analyze().parameters:,} parameters" in panel.totals.text()


def test_the_machine_line_compares_with_the_free_memory_less_the_margin(qtbot, monkeypatch) -> None:
    import app.summary_panel

    free = Available(GIB, "of free RAM")
    monkeypatch.setattr(app.summary_panel, "available_memory", lambda: free)
    panel, g = make(qtbot, "resnet50")  # about 9.6 GiB at its batch size of 64
    fits = largest_batch(summarize(g), free.usable)
    text = panel.machine_label.text()
    assert "Batch 64 does not fit this machine: a run may use 819.2 MiB (80% of the 1.0 GiB of free RAM, a 20% " \
           "safety margin)." in text and f"Largest batch that fits: <b>{fits:,}</b>" in text
    panel.batch.setValue(fits)
    assert f"Batch {fits} fits this machine:" in panel.machine_label.text()


def test_the_panel_shows_the_warning_of_the_graphs_box(qtbot, monkeypatch) -> None:
    """The probe: a 10**6-channel convolution was summarised without a word. Now the warning its box carries
    stands above the figures, in red; the batch and optimizer are those `train` would use."""
    import app.summary_panel
    import graph.lint

    for module in (app.summary_panel, graph.lint):
        monkeypatch.setattr(module, "available_memory", lambda: Available(20 * GIB, "of free RAM"))
    g = load_graph(probe("wide-conv"))
    panel = SummaryPanel()
    panel.set_analysis(g, g.analyze())
    shown(qtbot, panel, 560, 640)
    [warning] = lint(g, g.analyze())
    assert panel.warning.isVisible() and panel.warning.text() == f"⚠ {warning.message}"
    assert panel.batch.value() == 64 and panel.optimizer.currentText() == "adam"  # train's defaults
    assert "activations 244.4 GiB · workspace 488.4 GiB" in panel.memory.text()
    gpt = load_graph("gpt")
    panel.set_analysis(gpt, gpt.analyze())
    assert not panel.warning.isVisible() and panel.optimizer.currentText() == "adamw"
