"""A glimpse of the chosen dataset as the graph would receive it: an image grid with labels, table rows, a text
excerpt, or, in red, why the data does not fit the graph; in amber above the samples, what to know before
training on it (one class only, classes without a sample, spare output scores)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

ERROR_STYLE = "color: #c92a2a; font-weight: 600;"
WARNING_STYLE = "color: #a85d00;"  # amber, dark enough to read on a light panel: the run goes on
THUMB = 48


class DataPreview(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.description = QLabel("Choose a dataset to see a few samples.")
        self.description.setWordWrap(True)
        self.description.setAccessibleName("Dataset description")
        self.description.setStyleSheet("color: #555;")
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setAccessibleName("Dataset warnings")
        self.warnings.setStyleSheet(WARNING_STYLE)
        self.warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings.hide()
        self.images = QListWidget()
        self.images.setViewMode(QListView.ViewMode.IconMode)
        self.images.setIconSize(QSize(THUMB, THUMB))
        self.images.setGridSize(QSize(THUMB + 14, THUMB + 22))
        self.images.setResizeMode(QListView.ResizeMode.Adjust)
        self.images.setMovement(QListView.Movement.Static)
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.images.setAccessibleName("Sample images")
        self.images.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAccessibleName("Sample rows")
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Sample text")
        self.text.setStyleSheet("font-family: monospace;")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.message.setAccessibleName("Dataset message")
        self.stack = QStackedWidget()
        for page in (self.message, self.images, self.table, self.text):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.description)
        layout.addWidget(self.warnings)
        layout.addWidget(self.stack, 1)

    @property
    def error(self) -> str:
        """The red message shown when the data does not fit ('' otherwise)."""
        return self.message.text() if self.stack.currentWidget() is self.message and self._is_error else ""

    def show_busy(self, source: str) -> None:
        self._warn([])
        self._say(f"Loading '{source}'…", error=False)

    def show_error(self, message: str) -> None:
        self.description.setText("")
        self._warn([])
        self._say(message, error=True)

    def show_preview(self, shown: Any) -> None:
        """A runtime.data.preview.Preview."""
        if shown.kind == "error":
            self.show_error(shown.error)
            return
        self.description.setText(f"{shown.description}  ·  task: {shown.task}" if shown.task else shown.description)
        self._warn(shown.warnings)
        if shown.kind == "images":
            self._images(shown.images, shown.labels)
        elif shown.kind == "text":
            self.text.setPlainText(shown.text)
            self.stack.setCurrentWidget(self.text)
        else:
            self._rows(shown.rows, shown.labels)

    def _warn(self, warnings: list[str]) -> None:
        self.warnings.setText("\n".join(f"⚠ {warning}" for warning in warnings))
        self.warnings.setVisible(bool(warnings))

    def _say(self, text: str, error: bool) -> None:
        self._is_error = error
        self.message.setStyleSheet(ERROR_STYLE if error else "color: #555;")
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def _images(self, images: list[Any], labels: list[str]) -> None:
        self.images.clear()
        for i, picture in enumerate(images):
            array = picture.numpy()
            height, width = array.shape[:2]
            image = QImage(array.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()
            pixmap = QPixmap.fromImage(image).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                      Qt.TransformationMode.FastTransformation)  # crisp pixels
            item = QListWidgetItem(QIcon(pixmap), labels[i] if i < len(labels) else "")
            item.setToolTip(f"sample {i}: {labels[i]}" if i < len(labels) else f"sample {i}")
            self.images.addItem(item)
        self.stack.setCurrentWidget(self.images)

    def _rows(self, rows: list[list[float]], labels: list[str]) -> None:
        columns = max((len(r) for r in rows), default=0)
        self.table.clear()
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(columns + (1 if labels else 0))
        headers = [f"x{j}" for j in range(columns)] + (["label"] if labels else [])
        self.table.setHorizontalHeaderLabels(headers)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(f"{value:.3g}"))
            if labels and i < len(labels):
                self.table.setItem(i, columns, QTableWidgetItem(labels[i]))
        self.table.resizeColumnsToContents()
        self.stack.setCurrentWidget(self.table)

    _is_error = False
