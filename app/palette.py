"""The layer palette: every layer type grouped as chapter 4 of the book, then the blocks, with a search field.

A layer is added by dragging it onto the canvas (mime type `application/x-layerbook-layer`, text = the type
name), or by double-clicking it / pressing Enter (`layer_activated`), which the main window turns into an add.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from graph.layers import CATEGORIES
from graph.library import library_blocks
from graph.registry import by_category, layer_spec

MIME_TYPE = "application/x-layerbook-layer"
BLOCKS = "blocks"
TYPE_ROLE = Qt.ItemDataRole.UserRole


class PaletteTree(QTreeWidget):
    """The tree; its drags carry the layer type under MIME_TYPE."""

    activated_type = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAccessibleName("Layers")
        self.itemDoubleClicked.connect(self._double_clicked)

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        types = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        if types:
            data.setData(MIME_TYPE, types[0].encode("utf-8"))
            data.setText(types[0])
        return data

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            item = self.currentItem()
            if item is not None and item.data(0, TYPE_ROLE):
                self.activated_type.emit(item.data(0, TYPE_ROLE))
                return
        super().keyPressEvent(event)

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, TYPE_ROLE):
            self.activated_type.emit(item.data(0, TYPE_ROLE))


class Palette(QWidget):
    layer_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setAccessibleName("Search layers")
        self.search.setClearButtonEnabled(True)
        self.tree = PaletteTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.groups: dict[str, QTreeWidgetItem] = {}
        self._document_blocks: list[str] = []
        self._build()
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.activated_type.connect(self.layer_activated)

    # --- content -------------------------------------------------------------------------------------------
    def _build(self) -> None:
        groups = by_category()
        for category in CATEGORIES:
            group = self._group(category)
            for spec in groups[category]:
                self._leaf(group, spec.type, spec.description)
        self._group(BLOCKS)
        self._fill_blocks()
        self.tree.expandAll()

    def _group(self, title: str) -> QTreeWidgetItem:
        group = QTreeWidgetItem(self.tree, [title])
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: neither dragged nor activated
        font = group.font(0)
        font.setBold(True)
        group.setFont(0, font)
        self.groups[title] = group
        return group

    @staticmethod
    def _leaf(group: QTreeWidgetItem, type_name: str, description: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(group, [type_name])
        item.setData(0, TYPE_ROLE, type_name)
        item.setToolTip(0, description)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
        return item

    def _fill_blocks(self) -> None:
        group = self.groups[BLOCKS]
        group.takeChildren()
        library = library_blocks()
        for name in self._document_blocks:
            self._leaf(group, name, "a block of this document")
        for name, block in library.items():
            if name not in self._document_blocks:
                self._leaf(group, name, block.description or block.title or "a block of the library")
        self._filter(self.search.text())

    def set_blocks(self, names: list[str]) -> None:
        """The document's own blocks (shown first in the blocks group, with the library's)."""
        self._document_blocks = list(names)
        self._fill_blocks()

    # --- lookup --------------------------------------------------------------------------------------------
    def items(self, visible_only: bool = False) -> list[QTreeWidgetItem]:
        found = []
        for group in self.groups.values():
            for i in range(group.childCount()):
                item = group.child(i)
                if not visible_only or not item.isHidden():
                    found.append(item)
        return found

    def item(self, type_name: str) -> QTreeWidgetItem | None:
        return next((i for i in self.items() if i.data(0, TYPE_ROLE) == type_name), None)

    def visible_types(self) -> list[str]:
        return [i.data(0, TYPE_ROLE) for i in self.items(visible_only=True)]

    # --- behaviour -----------------------------------------------------------------------------------------
    def _filter(self, text: str) -> None:
        words = text.strip().lower().split()
        for group in self.groups.values():
            shown = 0
            for i in range(group.childCount()):
                item = group.child(i)
                haystack = f"{item.text(0)} {group.text(0)} {_aliases(item.text(0))}".lower()
                match = all(w in haystack for w in words)
                item.setHidden(not match)
                shown += match
            group.setHidden(shown == 0)
        if words:
            self.tree.expandAll()
            first = self.items(visible_only=True)
            if first:
                self.tree.setCurrentItem(first[0])

    def _activate_first(self) -> None:
        item = self.tree.currentItem()
        if item is None or item.isHidden() or not item.data(0, TYPE_ROLE):
            visible = self.items(visible_only=True)
            item = visible[0] if visible else None
        if item is not None:
            self.layer_activated.emit(item.data(0, TYPE_ROLE))


def _aliases(type_name: str) -> str:
    """Former names count in a search: 'linear' finds fully-conn, 'conv2d' finds conv-2d."""
    spec = layer_spec(type_name)
    return " ".join(spec.aliases) if spec is not None else ""
