"""What a trained run does on its validation data: for a classifier, the confusion matrix and the worst mistakes
as a gallery; for a language model, text sampled from a prompt. The model runs in a worker thread."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.training.preview_view import ERROR_STYLE
from app.training.tasks import run_task

THUMB = 56
GALLERY_SIZE = 120  # the worst predictions shown: enough to see a pattern in the mistakes
TEXT_TASKS = ("next-token",)


class ResultsDialog(QDialog):
    def __init__(self, run_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.results: Any = None
        self.setWindowTitle(f"Results · {self.run_dir.name}")
        self.resize(900, 640)
        self.busy = QLabel("")
        self.busy.setAccessibleName("Results status")
        self.tabs = QTabWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.busy)
        if _task(self.run_dir) in TEXT_TASKS:
            self._build_generate()
        else:
            self._build_classification()

    # --- classification ------------------------------------------------------------------------------------

    def _build_classification(self) -> None:
        self.matrix = QTableWidget()
        self.matrix.setAccessibleName("Confusion matrix")
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.gallery = QListWidget()
        self.gallery.setAccessibleName("Worst predictions")
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setGridSize(QSize(THUMB + 56, THUMB + 30))
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.tabs.addTab(self.matrix, "Confusion matrix")
        self.tabs.addTab(self.gallery, "Worst predictions")
        self._busy("Running the model on the validation data…")
        from runtime.results import classification_results  # lazily: it imports torch

        run_task(partial(classification_results, self.run_dir), self.show_classification, self._error,
                 owner=self.busy)

    def show_classification(self, results: Any) -> None:
        self.results = results
        confusion = results.confusion.tolist()
        self._fill_matrix(confusion, results.classes)
        self._fill_gallery(results)
        total = sum(map(sum, confusion))
        self._busy(f"{total:,} validation samples · accuracy {results.accuracy:.1%} · "
                   f"{len(results.mistakes()):,} mistakes (worst first in the gallery)")

    def _fill_matrix(self, confusion: list[list[int]], classes: list[str]) -> None:
        count = len(confusion)
        self.matrix.setRowCount(count)
        self.matrix.setColumnCount(count)
        self.matrix.setHorizontalHeaderLabels([f"→ {c}" for c in classes[:count]])
        self.matrix.setVerticalHeaderLabels([str(c) for c in classes[:count]])
        self.matrix.setToolTip("Rows: the true class; columns: the predicted class")
        peak = max((max(row) for row in confusion), default=0) or 1
        for i, row in enumerate(confusion):
            for j, value in enumerate(row):
                item = QTableWidgetItem(str(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(_heat(value / peak, i == j))
                if value / peak > 0.55:
                    item.setForeground(QColor("white"))
                self.matrix.setItem(i, j, item)
        for header in (self.matrix.horizontalHeader(), self.matrix.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # the matrix fills the tab

    def _fill_gallery(self, results: Any) -> None:
        images = next(iter(results.inputs.values()), None)
        pictures = images is not None and images.dim() == 4 and images.shape[1] in (1, 3)
        for p in results.predictions[:GALLERY_SIZE]:
            def name(k: int) -> str:
                return results.classes[k] if k < len(results.classes) else str(k)

            wrong = p.predicted != p.target
            item = QListWidgetItem(f"{name(p.predicted)}, true {name(p.target)}" if wrong else f"{name(p.predicted)} ✓")
            item.setToolTip(f"sample {p.index}: predicted {name(p.predicted)} with {p.confidence:.0%}, "
                            f"true {name(p.target)}, loss {p.loss:.3f}")
            if pictures:
                item.setIcon(QIcon(_pixmap(images[p.index])))
            item.setForeground(QColor("#c92a2a" if wrong else "#2b8a3e"))
            self.gallery.addItem(item)

    # --- language model ------------------------------------------------------------------------------------

    def _build_generate(self) -> None:
        page = QWidget()
        self.prompt = QLineEdit("def ")
        self.prompt.setAccessibleName("Prompt")
        self.length = QSpinBox()
        self.length.setRange(1, 5000)
        self.length.setValue(300)
        self.length.setAccessibleName("Length")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.05, 3.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setAccessibleName("Temperature")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setAccessibleName("Generate")
        self.generate_button.clicked.connect(self.generate)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setAccessibleName("Generated text")
        self.output.setStyleSheet("font-family: monospace;")
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        row = QHBoxLayout()
        for label, widget in (("Length", self.length), ("Temperature", self.temperature)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.generate_button)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.output, 1)
        self.tabs.addTab(page, "Generate")

    def generate(self) -> None:
        from runtime.results import generate_text

        prompt, length, temperature = self.prompt.text(), self.length.value(), self.temperature.value()
        self.generate_button.setEnabled(False)
        self._busy("Sampling…")
        run_task(partial(generate_text, self.run_dir, prompt or "\n", length, temperature), self._generated,
                 self._error, owner=self.busy)

    def _generated(self, text: str) -> None:
        self.generate_button.setEnabled(True)
        self.output.setPlainText(self.prompt.text() + text)
        self._busy("")

    # --- common --------------------------------------------------------------------------------------------

    def _busy(self, text: str) -> None:
        self.busy.setStyleSheet("color: #555;")
        self.busy.setText(text)

    def _error(self, message: str) -> None:
        if hasattr(self, "generate_button"):
            self.generate_button.setEnabled(True)
        self.busy.setStyleSheet(ERROR_STYLE)
        self.busy.setText(message)


def _task(run_dir: Path) -> str:
    import json

    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(summary.get("task", "")) if isinstance(summary, dict) else ""  # a damaged summary: no task known


def _heat(share: float, diagonal: bool) -> QColor:
    """White to blue for the right answers, white to red for the mistakes: errors stand out at a glance."""
    end = (31, 95, 191) if diagonal else (201, 42, 42)
    t = min(1.0, max(0.0, share)) ** 0.6  # a few mistakes among many still show
    return QColor(*(round(255 + (e - 255) * t) for e in end))


def _pixmap(image: Any) -> QPixmap:
    """A standardised float (C, H, W) image stretched to 0..255."""
    low, high = float(image.min()), float(image.max())
    scaled = ((image - low) / (high - low if high > low else 1.0) * 255).round().byte()
    array = scaled.permute(1, 2, 0).expand(-1, -1, 3).contiguous().numpy() if scaled.shape[0] == 1 \
        else scaled.permute(1, 2, 0).contiguous().numpy()
    height, width = array.shape[:2]
    image = QImage(array.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation)
