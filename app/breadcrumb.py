"""The breadcrumb above the canvas: where the editor is (the graph, or a block's inside), one click to go back up."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class Breadcrumb(QWidget):
    scope_chosen = Signal(list)  # the scope to go to: [] for the graph, ["resblock"] for a block's inside

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Breadcrumb")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(6, 2, 6, 2)
        self.buttons: list[QPushButton] = []

    def show_scope(self, graph_name: str, scope: list[str]) -> None:
        while self._layout.count():
            widget = self._layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.buttons = []
        for depth, name in enumerate([graph_name, *scope]):
            if depth:
                self._layout.addWidget(QLabel("›"))
            button = QPushButton(name if depth else f"{name} (graph)")
            button.setFlat(True)
            button.setAccessibleName(f"Go to {name}")
            button.setEnabled(depth < len(scope))  # the current level is where we are
            button.clicked.connect(lambda _=False, d=depth: self.scope_chosen.emit(list(scope[:d])))
            self._layout.addWidget(button)
            self.buttons.append(button)
        if scope:
            hint = QLabel("editing a block: every use of it sees the change")
            hint.setStyleSheet("color: #777;")
            self._layout.addWidget(hint)
        self._layout.addStretch(1)
        self.setVisible(bool(scope))
