"""`python main.py screenshot [GRAPH] -o window.png`: the main window, off-screen, with GRAPH open, as a picture
(for the docs and the tests). Uses the same window a person sees, at a fixed size."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_SIZE = (1400, 860)


def screenshot_command(source: str, output: str, size: tuple[int, int] = DEFAULT_SIZE, theme: str = "light",
                       train_seconds: float = 0.0) -> int:
    """0 when the picture was written; 2 with a message otherwise. `train_seconds`: start training from the Train
    panel with the graph's own settings, wait that long, and take the picture with the curves as they are."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no screen: draw off-screen
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    application = QApplication.instance() or QApplication([])
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Layerbook", "screenshot")
    settings.clear()  # a picture for the docs: the default layout, not the user's
    window = MainWindow(settings)
    if theme != "light":
        window.set_theme(theme)
    if not window.open_graph(source):
        print(f"cannot open '{source}'", file=sys.stderr)
        return 2
    window.resize(*size)
    window.show()
    for _ in range(3):
        application.processEvents()
    window.view.frame()
    application.processEvents()
    if train_seconds > 0:
        _train_for(window, train_seconds)
    path = Path(output)
    if not window.grab().save(str(path)):
        print(f"cannot write '{path}' (a .png or .jpg path in a writable folder)", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    window.document.undo_stack.setClean()
    window.close()  # stops a run in progress, which keeps its run folder
    return 0


def _train_for(window: object, seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    window.show_training()
    window.train_panel.train()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
