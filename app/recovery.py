"""Recovering the edits of editors that ended without saving them (a crash, a kill): on start, every autosave they
left behind is listed, with what it belongs to and when it was written; the user recovers some, discards some,
and keeps the rest for later (they are offered again at the next start).

A recovered graph opens in the window in place of its start document (a template or an untitled graph nobody has
edited, or the same file), else in a window of its own. It is recovered as one undoable edit of what it belongs to
(its file, its template, or a new graph), so that it shows as modified until saved and undo shows what it changed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.autosave import Autosave, Leftovers
from app.document import Document
from app.training.preview_view import ERROR_STYLE
from graph import GraphFileError, load_graph
from graph.library import template_path

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from graph import Graph

COLUMNS = ("Belongs to", "Graph", "Written")
ENTRY_ROLE = Qt.ItemDataRole.UserRole
RECOVER_LABEL = "Recover autosaved edits"


class RecoveryDialog(QDialog):
    """The autosaves left behind, to recover, discard or keep. `window`: where recovered graphs open."""

    def __init__(self, leftovers: Leftovers, window: MainWindow) -> None:
        super().__init__(window)
        self.leftovers, self.window = leftovers, window
        self.setWindowTitle("Recover unsaved edits")
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Autosaves left behind")
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for entry in leftovers.entries:
            self.tree.addTopLevelItem(_row(entry))
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        self.tree.selectAll()
        self.note = QLabel("Select the ones to recover or to discard; those kept are offered again next time.")
        self.note.setWordWrap(True)
        self.buttons = {name: _button(name, tip, self) for name, tip in (
            ("Recover", "Open the selected graphs with their edits (each marked modified until saved)"),
            ("Discard", "Delete the selected autosaves: their edits are lost"),
            ("Keep for later", "Close; the autosaves left are offered at the next start"))}
        self.buttons["Recover"].clicked.connect(self.recover_selected)
        self.buttons["Discard"].clicked.connect(self.discard_selected)
        self.buttons["Keep for later"].clicked.connect(self.reject)
        self.buttons["Recover"].setDefault(True)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self._lay_out()
        self.resize(760, 320)

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.addStretch(1)
        for button in self.buttons.values():
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Layerbook ended without saving these edits (a crash, or a process that was "
                                "killed):"))
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.note)
        layout.addLayout(bar)

    def entries(self) -> list[Autosave]:
        """The autosaves still listed."""
        return [self.tree.topLevelItem(i).data(0, ENTRY_ROLE) for i in range(self.tree.topLevelItemCount())]

    def select(self, *entries: Autosave) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, ENTRY_ROLE) in entries)

    def recover_selected(self) -> None:
        failures = []
        for item in self.tree.selectedItems():
            problem = recover(self.window, self.leftovers, item.data(0, ENTRY_ROLE))
            if problem:
                failures.append(problem)
            else:
                self._drop(item)
        if failures:
            self.note.setText("\n".join(failures))
            self.note.setStyleSheet(ERROR_STYLE)

    def discard_selected(self) -> None:
        for item in self.tree.selectedItems():
            self.leftovers.discard(item.data(0, ENTRY_ROLE))
            self._drop(item)

    def _drop(self, item: QTreeWidgetItem) -> None:
        self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
        if not self.tree.topLevelItemCount():
            self.accept()

    def _update_buttons(self) -> None:
        for name in ("Recover", "Discard"):
            self.buttons[name].setEnabled(bool(self.tree.selectedItems()))

    def done(self, result: int) -> None:
        self.leftovers.close()  # the autosaves kept are free for the next editor to offer
        super().done(result)


def offer_crash_recovery(window: MainWindow) -> RecoveryDialog | None:
    """On start: list the autosaves of editors now gone, in a dialog over `window` (shown, not waited for);
    None when there are none."""
    leftovers = Leftovers()
    if not leftovers.entries:
        leftovers.close()
        return None
    dialog = RecoveryDialog(leftovers, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def recover(window: MainWindow, leftovers: Leftovers, entry: Autosave) -> str | None:
    """Open the autosave's graph in `window` or a new window; once this process has autosaved it, the leftover
    goes. A message when it cannot be read (it is kept)."""
    try:
        document = recovered_document(entry)
    except (GraphFileError, OSError) as error:
        return f"Cannot recover {entry.describe()}: {error}"
    target = window if _replaceable(window, entry) else window.new_window()
    target.set_document(document)
    if target.autosave():  # else the leftover stays, the one copy on disk of the edits, offered again next time
        leftovers.discard(entry)
    return None


def recovered_document(entry: Autosave) -> Document:
    """What the autosave belongs to (its file, as it is on disk; its template; a new graph), with the autosaved
    graph put in as one undoable edit."""
    graph = load_graph(entry.path, strict=False)
    if entry.belongs_to is not None:
        try:
            document = Document.open(entry.belongs_to)
        except (GraphFileError, OSError):  # gone or broken since: saving the recovered graph writes it again
            document = Document(path=entry.belongs_to)
    elif entry.template and template_path(entry.template) is not None:
        document = Document.from_template(entry.template)
    else:
        document = Document.new()
    document.edit(RECOVER_LABEL, lambda target: replace_graph(target, graph))
    return document


def replace_graph(graph: Graph, other: Graph) -> None:
    from graph.fileformat import to_document
    from graph.snapshot import restore

    restore(graph, to_document(other))


def _replaceable(window: MainWindow, entry: Autosave) -> bool:
    """The window shows what it was started on, unedited: a template or new graph, or the recovered file."""
    document = window.document
    if document.is_modified():
        return False
    return document.path is None or document.path.resolve() == entry.belongs_to


def _row(entry: Autosave) -> QTreeWidgetItem:
    written = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.written))
    item = QTreeWidgetItem([entry.describe(), entry.graph, written])
    item.setData(0, ENTRY_ROLE, entry)
    item.setToolTip(0, str(entry.belongs_to or entry.path))
    return item


def _button(name: str, tip: str, parent: QWidget) -> QPushButton:
    button = QPushButton(name, parent)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    return button
