"""The Qt application: the only package that imports PySide6 and pyqtgraph."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.main_window import MainWindow


def run_app(source: str = "lenet") -> int:
    """Start the application on a graph file or template; returns the process exit code. A clean exit removes
    this process's autosaves (each window asked about its edits as it closed)."""
    from PySide6.QtWidgets import QApplication

    from app.autosave import end_session

    window = start_app(source)  # referenced until the end: a window nobody holds is collected, and closes
    code = QApplication.instance().exec()
    del window
    end_session()
    return code


def start_app(source: str = "lenet") -> MainWindow:
    """The application and its first window, on screen, showing `source`, with the edits that editors which ended
    without saving left behind offered over it."""
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.recovery import offer_crash_recovery

    application = QApplication.instance() or QApplication([])
    application.setApplicationName("Layerbook")
    window = MainWindow()
    window.open_graph(source, offer_recovery=False)
    window.show()
    offer_crash_recovery(window)
    return window
