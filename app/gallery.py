"""New from template: a gallery of the ready-made graphs with thumbnails drawn by the figure renderer, the
description, and the template's knobs (depth, width, classes...) to set before the graph opens."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from graph import Graph, load_graph
from graph.catalog import BOOL, FLOAT, INT, ParamSpec
from graph.library import template_names

THUMBNAIL = QSize(150, 190)
_thumbnails: dict[str, QPixmap] = {}  # drawn once per session: the renderer is the costly part


def thumbnail(name: str, graph: Graph) -> QPixmap:
    if name not in _thumbnails:
        from app.render import render_image

        _thumbnails[name] = QPixmap.fromImage(render_image(graph, THUMBNAIL.width(), THUMBNAIL.height()))
    return _thumbnails[name]


class TemplateGallery(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New from template")
        self.resize(980, 620)
        self.graphs = {name: load_graph(name) for name in template_names()}
        self.list = QListWidget()
        self.list.setAccessibleName("Templates")
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(THUMBNAIL)
        self.list.setGridSize(QSize(THUMBNAIL.width() + 24, THUMBNAIL.height() + 40))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        for name, graph in self.graphs.items():
            item = QListWidgetItem(QIcon(thumbnail(name, graph)), name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(graph.title or name)
            self.list.addItem(item)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setAccessibleName("Template description")
        self.knobs = QFormLayout()
        self.editors: dict[str, QWidget] = {}
        side = QVBoxLayout()
        side.addWidget(self.description)
        side.addLayout(self.knobs)
        side.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        side.addWidget(buttons)
        panel = QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(320)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(panel)
        self.list.currentItemChanged.connect(self._show)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.list.setCurrentRow(0)

    @property
    def chosen(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else ""

    def select(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(row)

    def graph(self) -> Graph:
        """A fresh copy of the chosen template with the knobs as set."""
        graph = load_graph(self.chosen)
        for key, editor in self.editors.items():
            value = editor.isChecked() if isinstance(editor, QCheckBox) else editor.value()
            if value != graph.params[key].default:
                graph.set_meta(key, value)
        return graph

    def _show(self) -> None:
        graph = self.graphs.get(self.chosen)
        if graph is None:
            return
        parameters = graph.analyze().parameters
        self.description.setText(f"<b>{graph.title or graph.name}</b><br><i>{graph.source}</i><br><br>"
                                 f"{graph.description}<br><br>{parameters:,} parameters")
        while self.knobs.rowCount():
            self.knobs.removeRow(0)
        self.editors = {}
        for key, spec in graph.params.items():
            editor = _editor(spec)
            editor.setAccessibleName(f"Knob {key}")
            editor.setToolTip(spec.description)
            self.editors[key] = editor
            self.knobs.addRow(f"{key}:", editor)


def _editor(spec: ParamSpec) -> QWidget:
    if spec.kind == BOOL:
        box = QCheckBox()
        box.setChecked(bool(spec.default))
        return box
    spin: QSpinBox | QDoubleSpinBox = QDoubleSpinBox() if spec.kind == FLOAT else QSpinBox()
    spin.setRange(spec.minimum if spec.minimum is not None else (0 if spec.kind == INT else -1e9),
                  spec.maximum if spec.maximum is not None else 1_000_000)
    spin.setValue(spec.default)
    return spin
