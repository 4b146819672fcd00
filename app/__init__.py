"""The Qt application: the only package that imports PySide6 and pyqtgraph."""

from __future__ import annotations


def run_app(source: str = "lenet") -> int:
    """Start the application on a graph file or template; returns the process exit code."""
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    application = QApplication.instance() or QApplication([])
    application.setApplicationName("Layerbook")
    window = MainWindow()
    window.open_graph(source)
    window.show()
    return application.exec()
