"""The start-up recovery dialog: every autosave that editors now gone left behind is listed with what it belongs to
and when it was written; recovered ones open (in place of the start document, or in a window of their own) marked
modified, discarded ones are deleted, the rest are kept for the next start. Killed editors for real:
tests/test_killed_save.py."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app import autosave
from app.autosave import Leftovers
from app.document import Document
from app.main_window import MainWindow
from app.recovery import offer_crash_recovery
from graph import load_graph
from tests.app.leftovers import left_behind
from tests.app.widgets import open_window


@pytest.fixture(autouse=True)
def discard_on_close(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)


@pytest.fixture
def window(qtbot, tmp_path: Path) -> MainWindow:
    return open_window(qtbot, tmp_path, "lenet")


def edited(document: Document, width: int) -> Document:
    document.set_param("fc1", "out_features", width)  # lenet and mlp both have an fc1
    return document


def width(document: Document) -> int:
    return document.graph.node("fc1").params["out_features"]


def test_several_autosaves_are_listed_one_recovered_one_discarded_one_kept(window: MainWindow, qtbot,
                                                                          tmp_path: Path) -> None:
    folder = autosave.directory()
    file = Document.from_template("lenet").save(tmp_path / "work" / "net.layerbook.json")
    from_file = left_behind(edited(Document.open(file), 77), folder, "101-gone")
    time.sleep(0.01)  # distinct times: the list is newest first
    from_new = left_behind(edited(Document(load_graph("mlp")), 88), folder, "102-gone")
    time.sleep(0.01)
    from_template = left_behind(edited(Document.from_template("mlp"), 99), folder, "103-gone")
    dialog = offer_crash_recovery(window)
    assert dialog is not None and dialog.isVisible()
    rows = [[dialog.tree.topLevelItem(i).text(c) for c in range(3)] for i in range(dialog.tree.topLevelItemCount())]
    assert [row[:2] for row in rows] == [["unsaved graph from template mlp", "mlp"], ["unsaved new graph", "mlp"],
                                         [str(file), "lenet"]]
    assert rows[0][2] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(from_template.stat().st_mtime))

    by_path = {entry.path: entry for entry in dialog.entries()}
    dialog.select(by_path[from_template])
    qtbot.mouseClick(dialog.buttons["Recover"], Qt.MouseButton.LeftButton)
    document = window.document  # the start document, lenet's template unedited, gave its place
    assert (document.template, width(document), document.is_modified()) == ("mlp", 99, True)
    assert window.windowTitle().startswith("mlp.layerbook.json[*]") and window.isWindowModified()
    assert not from_template.exists() and document.autosave_path().is_file()  # now kept by this process
    document.undo_stack.undo()
    assert width(document) == width(Document.from_template("mlp"))  # undo: the template as it was

    dialog.select(by_path[from_new])
    qtbot.mouseClick(dialog.buttons["Discard"], Qt.MouseButton.LeftButton)
    assert not from_new.exists() and [entry.path for entry in dialog.entries()] == [from_file]
    qtbot.mouseClick(dialog.buttons["Keep for later"], Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    with Leftovers() as later:
        assert [entry.path for entry in later.entries] == [from_file]  # offered again next time


def test_a_file_recovered_beside_an_edited_graph_opens_in_its_own_window(window: MainWindow, qtbot,
                                                                        tmp_path: Path) -> None:
    file = Document.from_template("lenet").save(tmp_path / "net.layerbook.json")
    gone = left_behind(edited(Document.open(file), 77), autosave.directory())
    edited(window.document, 12)
    dialog = offer_crash_recovery(window)
    qtbot.mouseClick(dialog.buttons["Recover"], Qt.MouseButton.LeftButton)  # all are selected at first
    assert width(window.document) == 12  # the user's graph stays
    (other,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()
                and w is not window]
    qtbot.addWidget(other)
    assert other.document.path == file and width(other.document) == 77 and other.document.is_modified()
    assert not gone.exists() and not dialog.isVisible()  # nothing left to offer: the dialog closed
    other.document.undo_stack.undo()
    assert width(other.document) == width(Document.open(file))  # undo: the file as it is on disk


def test_an_autosave_that_cannot_be_read_is_named_and_kept(window: MainWindow, qtbot) -> None:
    gone = left_behind(Document.from_template("mlp"), autosave.directory())
    gone.write_text('{"format": "layerbook", "version": 1, "nodes": [')
    dialog = offer_crash_recovery(window)
    qtbot.mouseClick(dialog.buttons["Recover"], Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and gone.exists() and window.document.template == "lenet"
    assert dialog.note.text().startswith("Cannot recover unsaved graph from template mlp: ")
    assert "c92a2a" in dialog.note.styleSheet()
    dialog.reject()


def test_nothing_left_behind_shows_no_dialog(window: MainWindow) -> None:
    edited(window.document, 12)
    window.autosave()  # this process's own autosave: not left behind
    assert offer_crash_recovery(window) is None


def test_a_recovery_this_process_cannot_autosave_keeps_the_leftover(window: MainWindow, qtbot,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    gone = left_behind(edited(Document.from_template("mlp"), 99), autosave.directory())
    dialog = offer_crash_recovery(window)

    def full_disk(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(autosave, "write_autosave", full_disk)
    qtbot.mouseClick(dialog.buttons["Recover"], Qt.MouseButton.LeftButton)
    assert width(window.document) == 99 and window.document.is_modified()  # open all the same
    assert gone.exists()  # the one copy of the edits on disk stays, offered again at the next start
    assert window.statusBar().currentMessage().startswith("autosave failed: No space left on device (")
