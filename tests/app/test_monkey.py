"""Monkey test: thousands of random edits through the editor's real widgets, interleaved with undo and redo. After
each, the canvas matches the graph and no exception escaped a Qt slot; at the end, undoing everything gives back
the original file byte for byte, and redoing everything gives back the file as it was at its peak."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from shiboken6 import isValid

from app.document import Document
from app.main_window import MainWindow
from graph.fileformat import dumps
from graph.model import Bracket, Graph
from tests.app.monkey import Monkey, check_scene
from tests.app.test_commands import concat_graph
from tests.app.widgets import open_window as shown_window


@pytest.fixture(autouse=True)
def discard_on_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modified window asks before closing: the tests' windows answer Discard (a modal box would wait)."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)


def open_window(qtbot, tmp_path: Path, source: str | None) -> MainWindow:
    window = shown_window(qtbot, tmp_path, source)
    window.activateWindow()
    QApplication.processEvents()
    return window


def saved_bytes(window: MainWindow, path: Path) -> bytes:
    window.document.save(path)
    return path.read_bytes()


# 2,050 operations in all, about 45 ms each with the checks (two shared cores): about 95 s
RUNS = [("lenet", 1, 450), ("resnet50", 2, 400), ("gpt", 3, 400), ("transformer", 5, 400), (None, 4, 400)]


@pytest.mark.parametrize("source, seed, count", RUNS, ids=[str(run[0] or "empty") for run in RUNS])
def test_random_edits_keep_the_scene_in_step_and_undo_to_the_same_bytes(qtbot, tmp_path: Path, source: str | None,
                                                                        seed: int, count: int) -> None:
    window = open_window(qtbot, tmp_path, source)
    original = saved_bytes(window, tmp_path / "original.layerbook.json")
    monkey = Monkey(window, seed)
    started = time.perf_counter()
    with qtbot.captureExceptions() as exceptions:
        drive(monkey, count, exceptions)
        stack = window.document.undo_stack
        while stack.canRedo():  # the peak: every command still on the stack done
            window.actions.redo.trigger()
        check_scene(window)
        peak = saved_bytes(window, tmp_path / "peak.layerbook.json")
        walk_the_stack(window, window.actions.undo)
        assert stack.index() == 0
        assert saved_bytes(window, tmp_path / "undone.layerbook.json") == original
        walk_the_stack(window, window.actions.redo)
        assert saved_bytes(window, tmp_path / "redone.layerbook.json") == peak
        assert not exceptions, f"{exceptions}"
    print(f"{source}: {count} operations in {time.perf_counter() - started:.1f} s, {stack.count()} commands; "
          f"done {dict(monkey.counts)}; changed the document {dict(monkey.effective)}")


def drive(monkey: Monkey, count: int, exceptions: list) -> None:
    """`count` operations, each checked; a failure shows the operations that led to it."""
    for _ in range(count):
        try:
            monkey.run(1)
        except AssertionError as error:
            raise AssertionError(f"{error}\nafter:\n{monkey.history()}") from error
        assert not exceptions, f"an exception escaped a Qt slot after:\n{monkey.history()}\n{exceptions}"
    edits = {"wire", "move", "delete", "paste", "duplicate", "group", "repeat", "param"}
    assert len(edits & set(monkey.effective)) >= 6, f"too few kinds of edit went through: {monkey.effective}"


def walk_the_stack(window: MainWindow, action) -> None:
    """Undo (or redo) to the end of the stack through the menu's action, the canvas checked at every step."""
    stack = window.document.undo_stack
    while action.isEnabled():
        index = stack.index()
        action.trigger()
        QApplication.processEvents()
        assert stack.index() != index, f"{action.text()} changed nothing"
        check_scene(window)


# --- defects the monkey found, each as a fixed sequence --------------------------------------------------------

def test_undoing_a_removal_after_an_undone_compound_edit_keeps_the_concat_order(qtbot) -> None:
    """An undone compound edit restores the whole document, numbering its edges afresh; a removal undone after it
    must still put its wires back in their places (here B second among cat1's inputs), not by stale numbers."""
    document = Document(concat_graph())
    original = dumps(document.graph)
    document.remove_nodes(["B"])
    document.paste(document.copy(["A"]))  # a compound edit (a snapshot of the whole document)...
    document.undo_stack.undo()  # ...undone: the document is rebuilt from its text
    document.undo_stack.undo()
    assert [edge.src for edge in document.graph.in_edges("cat1")] == ["A", "B", "C"]
    assert dumps(document.graph) == original


def test_undoing_a_disconnect_after_an_undone_compound_edit_keeps_the_concat_order(qtbot) -> None:
    document = Document(concat_graph())
    original = dumps(document.graph)
    document.disconnect("A", "cat1")
    document.remove_nodes(["B"])
    document.group(["C"])
    document.undo_stack.undo()
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert [edge.src for edge in document.graph.in_edges("cat1")] == ["A", "B", "C"]
    assert dumps(document.graph) == original


def test_return_in_an_inspector_spin_box_commits_without_crashing(qtbot, tmp_path: Path) -> None:
    """Return in a spin box commits; the commit rebuilds the inspector while the spin box is still handling the
    key (it emits editingFinished, then goes on using itself): deleting it then crashed the editor."""
    window = open_window(qtbot, tmp_path, "lenet")
    for value in ("7", "9", "11"):
        window.scene.select_nodes(["conv1"])
        QApplication.processEvents()
        box = window.inspector.editor("out_channels")
        box.setFocus()
        box.selectAll()
        QTest.keyClicks(box, value)
        QTest.keyClick(box, Qt.Key.Key_Return)
        assert window.document.graph.node("conv1").params["out_channels"] == int(value)
        assert isValid(box), "the spin box was deleted while it was still handling the key"
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # as the event loop does next
        assert not isValid(box)


@pytest.mark.parametrize("keys", ["Ctrl+Y", "Ctrl+Shift+Z"])
def test_every_redo_shortcut_redoes(qtbot, tmp_path: Path, keys: str) -> None:
    """The redo action lists the platform's redo key and both usual ones; a key listed twice (Ctrl+Y where the
    platform's redo is Ctrl+Y) was an ambiguous shortcut, and Qt then does nothing."""
    window = open_window(qtbot, tmp_path, "lenet")
    window.document.set_param("fc1", "out_features", 100)
    window.document.undo_stack.undo()
    window.view.setFocus()
    modifiers = Qt.KeyboardModifier.ControlModifier | (Qt.KeyboardModifier.ShiftModifier if "Shift" in keys
                                                       else Qt.KeyboardModifier.NoModifier)
    QTest.keyClick(window.view, Qt.Key.Key_Y if keys.endswith("Y") else Qt.Key.Key_Z, modifiers)
    assert window.document.graph.node("fc1").params["out_features"] == 100


def test_undoing_a_removal_puts_each_box_back_in_its_bracket_place(qtbot) -> None:
    """Nodes come back in node order; their bracket places must be filled in bracket order, or a box whose place
    is past the end of the bracket, as still emptied, lands last."""
    graph = Graph("brackets")
    for name in ("A", "B", "C"):
        graph.add("relu", name, position=(0, 0))
    graph.brackets = [Bracket("Part", ["C", "B", "A"])]
    document = Document(graph)
    original = dumps(document.graph)
    document.remove_nodes(["A", "B", "C"])
    document.undo_stack.undo()
    assert document.graph.brackets[0].nodes == ["C", "B", "A"]
    assert dumps(document.graph) == original


def sum_graph() -> Graph:
    """X → A, then A and X summed by add1 (a `+` takes any number of wires on its one port)."""
    graph = Graph("sum")
    graph.add("input", "X", shape=[4], position=(0, 0))
    graph.add("relu", "A", position=(0, -80))
    graph.add("+", "add1", position=(0, -160))
    graph.add("output", "Y", position=(0, -240))
    for src, dst in (("X", "A"), ("A", "add1"), ("X", "add1"), ("add1", "Y")):
        graph.connect(src, dst)
    return graph


def test_undoing_a_second_identical_wire_removes_that_wire_not_the_first(qtbot) -> None:
    """A second wire from A into add1 (A + X + A) is the same Edge as the first: undo must take away the new one,
    not the first, which would move A's first wire to the end of the file."""
    document = Document(sum_graph())
    original = dumps(document.graph)
    document.connect("A", "add1")
    assert [edge.src for edge in document.graph.in_edges("add1")] == ["A", "X", "A"]
    document.undo_stack.undo()
    assert dumps(document.graph) == original
    document.disconnect("A", "add1")  # and a disconnect undone comes back in its place
    document.undo_stack.undo()
    assert dumps(document.graph) == original
