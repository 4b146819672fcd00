"""The summary panel: a table of every layer's output shape, parameters and multiply-adds, the totals, and the
memory of one training step for a chosen batch size, compared with this machine's free memory and with a GPU's
memory when one is known; above them, the warning the graph's boxes carry when it cannot train here.

The memory figures are estimates (see graph/summary.py): weights, their gradients, the optimizer's state,
every layer's output kept for the backward pass and the step's workspace, in float32. The machine's memory and
its safety margin are graph/capacity.py's, the same `train` refuses a run with.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from graph.capacity import available_memory, format_bytes
from graph.inference import Analysis
from graph.lint import memory_warnings
from graph.model import Graph
from graph.summary import (
    Memory,
    Summary,
    largest_batch,
    memory_parts,
    summarize,
    training_batch,
    training_memory,
    training_optimizer,
)
from graph.tensor import format_shape

COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Multiply-adds")
OPTIMIZERS = ("adam", "adamw", "sgd", "momentum")
FITS, DOES_NOT_FIT = "#2e7d32", "#c62828"
NUMBER_COLUMNS = 3  # from this column on: figures, aligned right
SIZED_ROWS = 200  # the rows the header measures to size its columns: a 5,000-layer table stays instant


class SummaryModel(QAbstractTableModel):
    """The table's rows as texts, the last one (the totals) in bold. A model, not a QTableWidget: filling a
    widget item by item re-measures every column at each item (30 s for 500 layers); a model is reset once and
    the view asks only for the rows it shows."""

    def __init__(self, font: QFont) -> None:
        super().__init__()
        self.rows: list[tuple[str, ...]] = []
        self.bold = QFont(font)
        self.bold.setBold(True)

    def set_rows(self, rows: list[tuple[str, ...]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= NUMBER_COLUMNS:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.FontRole and index.row() == len(self.rows) - 1:
            return self.bold
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None


class SummaryPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = Summary()
        self._pending: tuple[Graph, Analysis] | None = None  # what to summarise when the panel is next shown
        self.gpu: tuple[str, int] | None = None
        self.model = SummaryModel(self.font())
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Layer summary")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setResizeContentsPrecision(SIZED_ROWS)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.totals = QLabel(self)
        self.totals.setAccessibleName("Totals")
        self.totals.setWordWrap(True)  # a narrow dock must not widen to fit the sentence
        self.batch = QSpinBox(self)
        self.batch.setAccessibleName("Batch size")
        self.batch.setRange(1, 1 << 20)
        self.batch.setValue(32)
        self.batch.setGroupSeparatorShown(True)
        self.optimizer = QComboBox(self)
        self.optimizer.setAccessibleName("Optimizer")
        self.optimizer.addItems(list(OPTIMIZERS))
        self.memory = QLabel(self)
        self.memory.setAccessibleName("Training memory")
        self.memory.setWordWrap(True)
        self.memory.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gpu_label = QLabel(self)
        self.gpu_label.setAccessibleName("GPU fit")
        self.gpu_label.setWordWrap(True)
        self.machine_label = QLabel(self)
        self.machine_label.setAccessibleName("Machine fit")
        self.machine_label.setWordWrap(True)
        self.warning = QLabel(self)  # the graph's own warning, as its box shows it: for its training settings
        self.warning.setAccessibleName("Memory warning")
        self.warning.setWordWrap(True)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning.setStyleSheet(f"color: {DOES_NOT_FIT}")
        self.warning.hide()
        self._lay_out()
        self.batch.valueChanged.connect(self._update_memory)
        self.optimizer.currentTextChanged.connect(self._update_memory)
        self._update_memory()

    def _lay_out(self) -> None:
        """The table above, the figures below, with a handle between them; in a short dock the figures scroll
        rather than squeeze the table (a warning takes several lines)."""
        form = QFormLayout()
        form.addRow("Batch size", self.batch)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Memory of a training step", self.memory)
        details = QWidget()
        below = QVBoxLayout(details)
        below.setContentsMargins(0, 0, 0, 0)
        for widget in (self.totals, self.warning):
            below.addWidget(widget)
        below.addLayout(form)
        below.addWidget(self.machine_label)
        below.addWidget(self.gpu_label)
        below.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(details)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(scroll)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

    def set_analysis(self, graph: Graph, analysis: Analysis) -> None:
        """Summarise the graph now if the panel is seen, else when it is next shown: behind the Problems tab it
        would cost every edit of a big graph a summary nobody reads."""
        self._pending = (graph, analysis)
        if self.isVisible():
            self._summarize()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._summarize()

    def _summarize(self) -> None:
        if self._pending is None:
            return
        graph, analysis = self._pending
        self._pending = None
        self.summary = summarize(graph, analysis)
        self.batch.blockSignals(True)
        self.batch.setValue(training_batch(graph))  # what `train` would use, as the warning below says
        self.batch.blockSignals(False)
        optimizer = training_optimizer(graph)
        if optimizer in OPTIMIZERS:
            self.optimizer.blockSignals(True)
            self.optimizer.setCurrentText(optimizer)
            self.optimizer.blockSignals(False)
        warnings = memory_warnings(graph, analysis, self.summary)
        self.warning.setText("\n".join(f"⚠ {p.message}" for p in warnings))
        self.warning.setVisible(bool(warnings))
        self._fill_table()
        skipped = len(graph) - len(self.summary.rows)
        note = f" ({skipped} node{'s' * (skipped != 1)} not inferred)" if skipped else ""
        self.totals.setText(f"<b>Total:</b> {self.summary.parameters:,} parameters, "
                            f"{self.summary.mult_adds:,} multiply-adds ({_short(self.summary.mult_adds)}) "
                            f"per sample{note}")
        self._update_memory()

    def _fill_table(self) -> None:
        rows = []
        for row in self.summary.rows:
            shape = format_shape(row.output_shape) if row.output_shape is not None else "—"
            name = row.name if row.copies == 1 else f"{row.name} ×{row.copies}"
            rows.append((name, row.type, shape, f"{row.parameters:,}", f"{row.mult_adds:,}"))
        rows.append(("Total", "", "", f"{self.summary.parameters:,}", f"{self.summary.mult_adds:,}"))
        self.model.set_rows(rows)

    def set_gpu(self, name: str, available_bytes: int) -> None:
        """Compare the training step with a GPU's memory and show the largest batch that fits."""
        self.gpu = (name, available_bytes)
        self._update_memory()

    def current_memory(self) -> Memory:
        return training_memory(self.summary, self.batch.value(), self.optimizer.currentText())

    def _update_memory(self) -> None:
        memory = self.current_memory()
        self.memory.setText(f"<b>{format_bytes(memory.total)}</b><br>"
                            + " · ".join(memory_parts(memory, self.optimizer.currentText())))
        self._show_machine_fit(memory)
        if self.gpu is None:
            self.gpu_label.clear()
            return
        name, available = self.gpu
        fits = memory.total <= available
        largest = largest_batch(self.summary, available, self.optimizer.currentText())
        verdict = (f"fits on {name} ({format_bytes(available)}): {_percent(memory.total, available)} used"
                   if fits else f"does not fit on {name} ({format_bytes(available)})")
        colour = FITS if fits else DOES_NOT_FIT
        self.gpu_label.setText(f"<span style='color:{colour}'>Batch {self.batch.value():,} {verdict}.</span> "
                               f"Largest batch that fits: <b>{largest:,}</b>")

    def _show_machine_fit(self, memory: Memory) -> None:
        """The step against this machine's free memory less the safety margin: what a run on the CPU may use."""
        available = available_memory()
        if available is None:
            self.machine_label.clear()
            return
        fits = memory.total <= available.usable
        largest = largest_batch(self.summary, available.usable, self.optimizer.currentText())
        verdict = (f"fits this machine: {_percent(memory.total, available.usable)} of what a run may use," if fits
                   else "does not fit this machine: a run may use")
        self.machine_label.setText(
            f"<span style='color:{FITS if fits else DOES_NOT_FIT}'>Batch {self.batch.value():,} {verdict} "
            f"{available.text()}.</span> Largest batch that fits: <b>{largest:,}</b>")

    def largest_batch(self) -> int | None:
        if self.gpu is None:
            return None
        return largest_batch(self.summary, self.gpu[1], self.optimizer.currentText())


def _short(count: int) -> str:
    for size, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return str(count)


def _percent(part: int, whole: int) -> str:
    share = 100 * part / whole
    return "&lt;1%" if 0 < share < 1 else f"{share:.0f}%"  # shown as rich text
