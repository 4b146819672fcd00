"""The quick-add popup (Tab, or a double-click on empty canvas): type a few letters of a layer's name, press
Enter, and the layer lands where the cursor was."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from graph.library import library_blocks
from graph.registry import layer_spec, layer_types


class QuickAdd(QFrame):
    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.field = QLineEdit()
        self.field.setPlaceholderText("add a layer: type its name")
        self.field.setAccessibleName("Quick add search")
        self.list = QListWidget()
        self.list.setAccessibleName("Quick add results")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.field)
        layout.addWidget(self.list)
        self.resize(260, 300)
        self.field.textChanged.connect(self.filter)
        self.field.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda item: self._choose(item.data(Qt.ItemDataRole.UserRole)))
        self.field.installEventFilter(self)
        self.extra_blocks: list[str] = []

    def candidates(self) -> list[tuple[str, str]]:
        """(type, description) of every layer and block that can be added."""
        layers = [(name, layer_spec(name).description) for name in layer_types()]
        blocks = sorted(set(library_blocks()) | set(self.extra_blocks))
        return layers + [(name, "block") for name in blocks]

    def popup(self, at: QPoint) -> None:
        self.field.clear()
        self.filter("")
        self.move(at)
        self.show()
        self.field.setFocus()

    def filter(self, text: str) -> None:
        """Names starting with the text first, then names containing it."""
        words = text.strip().lower()
        matches = [c for c in self.candidates() if words in c[0].lower()]
        matches.sort(key=lambda c: (not c[0].lower().startswith(words), c[0]))
        self.list.clear()
        for name, description in matches:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(description)
            self.list.addItem(item)
        self.list.setCurrentRow(0)

    def accept_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._choose(item.data(Qt.ItemDataRole.UserRole))

    def _choose(self, name: str) -> None:
        self.hide()
        self.chosen.emit(name)

    def eventFilter(self, watched: object, event: object) -> bool:
        # arrow keys in the search field move through the list
        if watched is self.field and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)
