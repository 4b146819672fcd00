"""The problems panel: every error and warning of the graph, with the node it concerns and quick fixes.

Clicking a problem selects its node on the canvas (`node_selected`); a Fix button (a menu when several fixes
apply) asks the main window to apply a graph.fixes.Fix as one undoable edit (`fix_requested`).
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from graph.fixes import Fix, fixes_for
from graph.model import Graph
from graph.problems import Problem

NODE, MESSAGE, FIX = 0, 1, 2
PROBLEM_ROLE = Qt.ItemDataRole.UserRole


class ProblemsPanel(QWidget):
    node_selected = Signal(str)
    fix_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(self)
        self.summary.setAccessibleName("Problem count")
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Problems")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Node", "Problem", "Fix"])
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setSectionResizeMode(NODE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MESSAGE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(FIX, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        self.detail = QLabel(self)  # the whole message of the current problem: rows elide long ones
        self.detail.setAccessibleName("Problem details")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail)
        self.tree.currentItemChanged.connect(self._show_detail)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        self.problems: list[Problem] = []
        self.fixes: list[list[Fix]] = []
        self._shown: list[tuple] | None = None  # what the rows show now
        self.set_problems(None, [])

    def set_problems(self, graph: Graph | None, problems: list[Problem]) -> None:
        """Errors first, then warnings, each in the order found; fixes are computed against `graph`. The rows are
        rebuilt only when what they show changed: an edit elsewhere in a big graph leaves a long list as it is."""
        self.problems = sorted(problems, key=lambda p: not p.is_error)
        analysis = graph.analyze() if graph is not None and problems else None
        self.fixes = [fixes_for(graph, p, analysis) if graph is not None else [] for p in self.problems]
        shown = [(p.node, p.path, p.code, p.message, tuple(f.label for f in fixes))
                 for p, fixes in zip(self.problems, self.fixes, strict=True)]
        if shown == self._shown:
            return
        self._shown = shown
        self._fill()
        self._count()
        first = self.tree.topLevelItem(0)
        self.tree.setCurrentItem(first) if first is not None else self.detail.clear()

    def _fill(self) -> None:
        style = self.style()
        icons = {True: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                 False: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)}
        items = []
        for row, problem in enumerate(self.problems):
            where = " › ".join((problem.node,) + problem.path) if problem.node else "graph"
            item = QTreeWidgetItem([where, problem.message, ""])
            item.setIcon(NODE, icons[problem.is_error])
            item.setToolTip(MESSAGE, f"{problem.severity} ({problem.code}): {problem.message}")
            item.setData(NODE, PROBLEM_ROLE, row)
            items.append(item)
        self.tree.clear()
        self.tree.addTopLevelItems(items)  # at once: inserting row by row re-measures the columns each time
        for row, item in enumerate(items):
            if self.fixes[row]:
                self.tree.setItemWidget(item, FIX, self._fix_button(row))

    def _show_detail(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None = None) -> None:
        if item is None:
            self.detail.clear()
            return
        index = item.data(NODE, PROBLEM_ROLE)
        problem = self.problems[index]
        fixes = "".join(f"<br>Fix: {escape(f.label)}" for f in self.fixes[index])
        self.detail.setText(f"<b>{problem.severity.capitalize()}</b> ({problem.code}): "
                            f"{escape(problem.message)}{fixes}")

    def _fix_button(self, row: int) -> QPushButton:
        # the button asks for the row's fixes when clicked: they are recomputed on every change, the button stays
        fixes, problem = self.fixes[row], self.problems[row]
        button = QPushButton("Fix" if len(fixes) == 1 else "Fix ▾", self.tree)
        button.setAccessibleName(f"Fix: {fixes[0].label}" if len(fixes) == 1 else f"Fixes for {problem.node}")
        button.setToolTip("\n".join(f.label for f in fixes))
        if len(fixes) == 1:
            button.clicked.connect(lambda: self.fix_requested.emit(self.fixes[row][0]))
        else:
            menu = QMenu(button)
            for choice, fix in enumerate(fixes):
                menu.addAction(fix.label, lambda c=choice: self.fix_requested.emit(self.fixes[row][c]))
            button.setMenu(menu)
        return button

    def _count(self) -> None:
        errors = sum(p.is_error for p in self.problems)
        warnings = len(self.problems) - errors
        if not self.problems:
            self.summary.setText("No problems: the model is ready to train.")
            return
        parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
        parts += [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
        self.summary.setText(", ".join(parts))

    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        problem = self.problems[item.data(NODE, PROBLEM_ROLE)]
        if problem.node:
            self.node_selected.emit(problem.node)

    def fix_button(self, row: int) -> QPushButton | None:
        """The Fix button of row `row` (tests, keyboard users)."""
        widget = self.tree.itemWidget(self.tree.topLevelItem(row), FIX)
        return widget if isinstance(widget, QPushButton) else None
