"""The runs on disk: their graph, data, state and best result; open one's graph, compare two (settings that
differ, curves overlaid), look at a run's results, export it, delete it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.places import shown_path
from app.training.plots import LivePlots

COLUMNS = ("Run", "Graph", "Dataset", "State", "Best accuracy", "Best loss", "Date")
GRAPH_FILE = "graph.layerbook.json"
PATH_ROLE = Qt.ItemDataRole.UserRole


class RunsPanel(QWidget):
    open_graph_requested = Signal(str)  # the run's graph.layerbook.json
    compare_requested = Signal(list)  # the compared run folders (str)
    run_deleted = Signal(str)
    continue_requested = Signal(str)  # a run folder to resume from its last checkpoint

    def __init__(self, runs_root: Path = Path("runs"), parent: QWidget | None = None,
                 figure_svg: Any = None) -> None:
        super().__init__(parent)
        self.runs_root = runs_root
        self.figure_svg = figure_svg  # Callable[[Graph], bytes] | None: the bundle's figure (export dialog)
        self.runs: list[Any] = []
        self._build()
        self._update_buttons()

    def _build(self) -> None:
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Runs")
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self.open_graph())
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for name, slot, tip in (("Refresh", self.refresh, "Read the runs folder again"),
                                ("Open graph", self.open_graph, "Open the graph this run trained"),
                                ("Continue", self.continue_run, "Resume this run from its last checkpoint "
                                 "(a stopped or interrupted run, or more epochs)"),
                                ("Compare", self.compare, "Two runs: the settings that differ and both curves"),
                                ("Results", self.show_results, "Confusion matrix, worst mistakes, or sampled text"),
                                ("Export", self.show_export, "ONNX, PyTorch source, checkpoint or bundle"),
                                ("Delete", self.delete_selected, "Delete the selected run folders")):
            self.buttons[name] = _button(name, tip, slot)
            bar.addWidget(self.buttons[name])
            if name != "Refresh":
                self.tree.addAction(_action(self, name, slot))
        self.folder = QLabel()
        self.folder.setAccessibleName("Runs folder listed")
        self.folder.setStyleSheet("color: #555;")
        # the space left beside the buttons, never more: a long path is cut at its start, its end stays in sight
        self.folder.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.folder.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.folder, 1)
        self._show_folder()
        self.plots = LivePlots(live=False)
        self.differences = QTableWidget(0, 3)
        self.differences.setAccessibleName("Settings that differ")
        self.differences.setHorizontalHeaderLabels(["Setting", "Run A", "Run B"])
        self.differences.horizontalHeader().setStretchLastSection(True)
        self.differences.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.plots, "Curves")
        self.tabs.addTab(self.differences, "Settings that differ")
        self.note = QLabel("Select a run to see its curves; two to compare them.")
        self.note.setStyleSheet("color: #555;")
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(bar)
        top_layout.addWidget(self.tree, 1)
        top_layout.addWidget(self.note)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.tabs)
        splitter.setSizes([260, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

    # --- listing -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        from runtime.training.runs import list_runs  # lazily: the runtime.training package loads torch

        self.runs = list_runs(self.runs_root)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for info in self.runs:
            self.tree.addTopLevelItem(_row(info))
        self.tree.setSortingEnabled(True)
        for i in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(i)
        self._update_buttons()

    def set_runs_root(self, folder: Path) -> None:
        """List the runs of `folder` from now on (the Train panel's runs folder, which follows the document and the
        setting); read at once when the panel is on screen, else when it is next shown."""
        if folder == self.runs_root:
            return
        self.runs_root = folder
        self._show_folder()
        if self.isVisible():
            self.refresh()

    def _show_folder(self) -> None:
        self.folder.setText(f"in {shown_path(self.runs_root)}")
        self.folder.setToolTip(str(self.runs_root))

    def selected_paths(self) -> list[Path]:
        return [Path(item.data(0, PATH_ROLE)) for item in self.tree.selectedItems()]

    def select(self, *paths: Path) -> None:
        wanted = {str(p) for p in paths}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, PATH_ROLE) in wanted)

    def _update_buttons(self) -> None:
        count = len(self.tree.selectedItems())
        for name, enabled in (("Open graph", count == 1), ("Continue", count == 1), ("Compare", count in (1, 2)),
                              ("Results", count == 1),
                              ("Export", count == 1), ("Delete", count >= 1)):
            self.buttons[name].setEnabled(enabled)

    # --- actions -------------------------------------------------------------------------------------------

    def open_graph(self) -> None:
        paths = self.selected_paths()
        if len(paths) == 1:
            self.open_graph_requested.emit(str(paths[0] / GRAPH_FILE))

    def continue_run(self) -> None:
        paths = self.selected_paths()
        if len(paths) == 1:
            self.continue_requested.emit(str(paths[0]))

    def compare(self) -> None:
        """One run: its curves. Two: both curves overlaid, and the settings that differ."""
        from runtime.training.runs import compare_settings, read_metrics, read_run

        paths = self.selected_paths()[:2]
        if not paths:
            return
        self.plots.reset()
        self.plots.clear_overlays()
        for path in paths:
            self.plots.add_overlay(path.name, read_metrics(path))
        self.plots.fit()
        infos = [read_run(p) for p in paths]
        differences = compare_settings(infos[0], infos[1]) if len(paths) == 2 and all(infos) else {}
        self._show_differences(differences, [p.name for p in paths])
        two = len(paths) == 2
        self.note.setText(f"{len(differences)} setting(s) differ." if two else f"Curves of {paths[0].name}.")
        self.compare_requested.emit([str(p) for p in paths])

    def _show_differences(self, differences: dict[str, tuple[Any, Any]], names: list[str]) -> None:
        self.differences.setHorizontalHeaderLabels(["Setting", *names, *[""] * (2 - len(names))])
        self.differences.setRowCount(len(differences))
        for i, (name, (a, b)) in enumerate(differences.items()):
            for j, value in enumerate((name, a, b)):
                self.differences.setItem(i, j, QTableWidgetItem("—" if value is None else str(value)))
        self.differences.resizeColumnsToContents()

    def delete_selected(self) -> None:
        from runtime.training.runs import delete_run

        paths = self.selected_paths()
        if not paths:
            return
        names = "\n".join(p.name for p in paths)
        answer = QMessageBox.question(self, "Delete runs", f"Delete these run folders and their checkpoints?\n\n"
                                      f"{names}", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        for path in paths:
            try:
                delete_run(path)
                self.run_deleted.emit(str(path))
            except (OSError, ValueError) as error:
                QMessageBox.warning(self, "Delete runs", str(error))
        self.refresh()

    def show_results(self) -> Any:
        from app.training.results import ResultsDialog

        paths = self.selected_paths()
        if len(paths) != 1:
            return None
        dialog = ResultsDialog(paths[0], self)
        dialog.show()
        return dialog

    def show_export(self) -> Any:
        from app.training.export import ExportDialog

        paths = self.selected_paths()
        if len(paths) != 1:
            return None
        dialog = ExportDialog(paths[0], self, figure_svg=self.figure_svg)
        dialog.show()
        return dialog


class _Item(QTreeWidgetItem):
    def __lt__(self, other: QTreeWidgetItem) -> bool:  # numbers and dates sort by value, not as text
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        mine, theirs = self.data(column, Qt.ItemDataRole.UserRole + 1), other.data(column, Qt.ItemDataRole.UserRole + 1)
        if mine is not None and theirs is not None:
            return mine < theirs
        return self.text(column) < other.text(column)


def _row(info: Any) -> QTreeWidgetItem:
    config = info.settings.get("config", {})
    mtime = info.path.stat().st_mtime
    accuracy, loss = info.best_accuracy, info.best_loss
    texts = (info.name, info.graph, str(config.get("dataset") or info.dataset), info.state,
             "—" if accuracy is None else f"{accuracy:.1%}", "—" if loss is None else f"{loss:.4f}",
             time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime)))
    item = _Item(list(texts))
    item.setData(0, PATH_ROLE, str(info.path))
    item.setToolTip(2, info.dataset)
    for column, value in ((4, accuracy), (5, loss), (6, mtime)):
        item.setData(column, Qt.ItemDataRole.UserRole + 1, -1.0 if value is None else float(value))
        item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _button(name: str, tip: str, slot: Any) -> QPushButton:
    button = QPushButton(name)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


def _action(parent: QWidget, name: str, slot: Any) -> QAction:
    action = QAction(name + "…" if name in ("Delete", "Export") else name, parent)
    action.triggered.connect(slot)
    return action
