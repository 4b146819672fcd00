"""The problems panel: lists a broken graph's problems, a click selects the node, a Fix button offers a fix."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.problems_panel import MESSAGE, NODE, ProblemsPanel
from graph import Graph, load_graph
from graph.fixes import Fix
from graph.lint import lint
from tests.app.widgets import shown
from tests.graph.builders import chain


def broken() -> Graph:
    """An image into a fully-conn (an error) after a conv with a bias before batchnorm (a warning)."""
    return chain((3, 8, 8), ("conv-2d", {"out_channels": 8}), ("batchnorm", {}), ("fully-conn", {"out_features": 4}))


def make(qtbot, g: Graph) -> ProblemsPanel:
    panel = ProblemsPanel()
    analysis = g.analyze()
    panel.set_problems(g, analysis.problems + lint(g, analysis))
    return shown(qtbot, panel, 640, 240)


def test_lists_errors_then_warnings(qtbot) -> None:
    panel = make(qtbot, broken())
    tree = panel.tree
    assert tree.topLevelItemCount() == 2
    assert [tree.topLevelItem(i).text(NODE) for i in range(2)] == ["fc1", "conv1"]
    assert "insert a reshape" in tree.topLevelItem(0).text(MESSAGE)
    assert "bias right before batchnorm" in tree.topLevelItem(1).text(MESSAGE)
    assert panel.summary.text() == "1 error, 1 warning"
    assert "insert a reshape" in panel.detail.text()


def test_click_selects_the_node(qtbot) -> None:
    panel = make(qtbot, broken())
    item = panel.tree.topLevelItem(1)
    rect = panel.tree.visualItemRect(item)
    with qtbot.waitSignal(panel.node_selected) as signal:
        QTest.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == ["conv1"]
    assert "bias" in panel.detail.text()


def test_fix_buttons_resolve_their_problem(qtbot) -> None:
    g = broken()
    panel = make(qtbot, g)
    button = panel.fix_button(0)
    assert button is not None and button.accessibleName().startswith("Fix")
    with qtbot.waitSignal(panel.fix_requested) as signal:
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    fix = signal.args[0]
    assert isinstance(fix, Fix)
    fixed = g.copy()
    fix.apply(fixed)
    assert fixed.analyze().ok and len(fixed) == len(g) + 1
    with qtbot.waitSignal(panel.fix_requested) as signal:
        QTest.mouseClick(panel.fix_button(1), Qt.MouseButton.LeftButton)
    signal.args[0].apply(fixed)
    assert lint(fixed, fixed.analyze()) == []


def test_a_healthy_graph_has_no_problems(qtbot) -> None:
    panel = make(qtbot, load_graph("lenet"))
    assert panel.tree.topLevelItemCount() == 0
    assert panel.summary.text().startswith("No problems")
    assert panel.tree.accessibleName() and panel.summary.accessibleName()


def test_unchanged_problems_keep_their_rows_and_the_fixes_follow_the_graph(qtbot) -> None:
    g = broken()
    panel = make(qtbot, g)
    first = panel.tree.topLevelItem(0)
    g.move("conv1", (40.0, 40.0))  # an edit that changes no problem
    analysis = g.analyze()
    panel.set_problems(g, analysis.problems + lint(g, analysis))
    assert panel.tree.topLevelItem(0) is first  # not rebuilt
    with qtbot.waitSignal(panel.fix_requested) as signal:
        QTest.mouseClick(panel.fix_button(0), Qt.MouseButton.LeftButton)
    assert signal.args[0] is panel.fixes[0][0]  # the fix computed against the graph as it is now
    panel.set_problems(g, analysis.problems)  # the warning went: the rows change
    assert panel.tree.topLevelItemCount() == 1 and panel.summary.text() == "1 error"
