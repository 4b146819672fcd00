"""The main window. Until the node editor lands (step 5) it shows the open graph as the book's table:
each layer, its output shape and its parameter count, with any problem found by validation."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from graph import Graph, GraphFileError, load_graph
from graph.inference import Analysis
from graph.tensor import format_shape

COLUMNS = ("name", "type", "output", "parameters")
NEXT = ("The node editor, where you drag layers from a palette and wire them into a figure of the book, "
        "arrives in the next release; training and ONNX export follow.")


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.graph: Graph | None = None
        self.resize(760, 620)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.status = QLabel()
        self.status.setWordWrap(True)
        upcoming = QLabel(NEXT)
        upcoming.setWordWrap(True)
        upcoming.setStyleSheet("color: #555;")
        layout = QVBoxLayout()
        for widget in (self.heading, self.table, self.status, upcoming):
            layout.addWidget(widget)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)

    def open_graph(self, source: str) -> bool:
        """Open a file or template; a bad file is explained in the window, never raised."""
        try:
            graph = load_graph(source)
        except GraphFileError as exc:
            self.graph = None
            self.setWindowTitle("Layerbook")
            self.heading.setText(f"<h2>Layerbook</h2><p>Cannot open <b>{source}</b>.</p>")
            self.table.setRowCount(0)
            self.status.setText("\n".join(exc.defects))
            self.status.setStyleSheet("color: #b00020;")
            return False
        self.show_graph(graph)
        return True

    def show_graph(self, graph: Graph) -> None:
        self.graph = graph
        analysis = graph.analyze()
        self.setWindowTitle(f"Layerbook — {graph.name}")
        title = graph.title or graph.name
        source = f"<br><i>{graph.source}</i>" if graph.source else ""
        self.heading.setText(f"<h2>{title}</h2><p>{graph.description}{source}</p>")
        self._fill_table(graph, analysis)
        self._show_status(graph, analysis)

    def _fill_table(self, graph: Graph, analysis: Analysis) -> None:
        self.table.setRowCount(len(graph))
        for row, node in enumerate(graph):
            info = analysis.nodes.get(node.name)
            cells = (
                node.name,
                node.type + (f" ×{info.copies}" if info and info.copies > 1 else ""),
                format_shape(info.output.shape) if info and info.output else "?",
                f"{info.parameters:,}" if info else "?",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)

    def _show_status(self, graph: Graph, analysis: Analysis) -> None:
        if analysis.ok:
            self.status.setText(f"Valid: {len(graph)} nodes, {analysis.parameters:,} trainable parameters.")
            self.status.setStyleSheet("color: #1b5e20;")
        else:
            self.status.setText("\n".join(str(p) for p in analysis.problems))
            self.status.setStyleSheet("color: #b00020;")
