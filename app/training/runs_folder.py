"""The Train panel's runs folder: where new runs go. Left empty, the default (beside the saved graph, or the
application's data folder for a template or an unsaved graph); or a folder the user typed or browsed to, which
the main window remembers. The folder runs go to is always shown, in red when no run can be written there."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.places import shown_path
from app.training.preview_view import ERROR_STYLE
from graph.outputs import unwritable_reason

NOTE_STYLE = "color: #555;"


class RunsFolderField(QWidget):
    chosen = Signal(str)  # the user changed the folder: its absolute path, or "" for the default

    def __init__(self, default: Path = Path("runs"), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._default = default
        self._chosen = ""  # the folder the user chose (absolute), "" for the default
        self.line = QLineEdit()
        self.line.setAccessibleName("Runs folder")
        self.line.setPlaceholderText("default")
        self.line.setToolTip("The folder in which each run makes its own folder. Empty: beside the saved graph, "
                             "or the application's data folder for a template or an unsaved graph. A relative "
                             "path starts from the graph's folder.")
        self.browse = QPushButton("Browse…")
        self.browse.setAccessibleName("Browse for the runs folder")
        self.browse.setToolTip("Choose the runs folder")
        self.effective = QLabel()
        self.effective.setAccessibleName("Runs are written to")
        self.effective.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Runs folder"))
        row.addWidget(self.line, 1)
        row.addWidget(self.browse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.effective)
        self.line.editingFinished.connect(self._typed)
        self.browse.clicked.connect(self._browse)
        self._show()

    def folder(self) -> Path:
        """The folder new runs go to."""
        return Path(self._chosen) if self._chosen else self._default

    def set_default(self, default: Path) -> None:
        """The default of the open document (it changes with the document, and when it is saved elsewhere)."""
        self._default = default
        self._show()

    def set_chosen(self, folder: str | Path) -> None:
        """The user's folder (remembered from an earlier session); "" for the default. Emits nothing."""
        self._chosen = self._absolute(str(folder)) if str(folder).strip() else ""
        self.line.setText(self._chosen)
        self._show()

    def problem(self) -> str | None:
        """Why no run can be written in the folder; None when one can."""
        return unwritable_reason(self.folder())

    def _typed(self) -> None:
        text = self.line.text().strip()
        self._commit(self._absolute(text) if text else "")

    def _browse(self) -> None:
        start = self.folder() if self.folder().is_dir() else self.folder().parent
        path = QFileDialog.getExistingDirectory(self, "Choose the runs folder", str(start))
        if path:  # cancelled: the folder stays
            self._commit(str(Path(path)))

    def _commit(self, chosen: str) -> None:
        self.line.setText(chosen)
        if chosen != self._chosen:
            self._chosen = chosen
            self._show()
            self.chosen.emit(chosen)

    def _absolute(self, text: str) -> str:
        """A typed path as an absolute one: ~ expanded, a relative one taken from the default's folder (the graph's
        folder, or the data folder), never from wherever the process was started."""
        path = Path(text).expanduser()
        return str(path if path.is_absolute() else (self._default.parent / path).resolve())

    def _show(self) -> None:
        folder, problem = self.folder(), self.problem()
        where = f"→ {shown_path(folder)}" + ("" if self._chosen else " (default)")
        self.effective.setText(f"{where}: {problem}" if problem else where)
        self.effective.setToolTip(str(folder))
        self.effective.setStyleSheet(ERROR_STYLE if problem else NOTE_STYLE)
