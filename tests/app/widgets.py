"""Showing a widget or a main window under pytest-qt the way the app tests need it: owned by qtbot, sized,
on screen."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from app.main_window import MainWindow

W = TypeVar("W", bound=QWidget)


def shown(qtbot, widget: W, width: int, height: int) -> W:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def open_window(qtbot, tmp_path: Path, source: str | None = "lenet") -> MainWindow:
    """A main window with its settings and autosaves in `tmp_path`, showing `source` (a new graph for None)."""
    from PySide6.QtCore import QSettings

    import app.autosave as autosave
    from app.document import Document
    from app.main_window import MainWindow

    autosave.set_directory(tmp_path / "autosave")
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    if source is not None:
        assert window.open_graph(source)
    else:
        window.set_document(Document.new())
    window.show()
    qtbot.waitExposed(window)
    return window
