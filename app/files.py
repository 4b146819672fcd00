"""File handling for the main window: new, open (dialog, recent, dropped, template), save, save as, export a
figure, recovery of autosaved edits. Errors are shown in a message box naming the file and the cause; nothing
is lost: a failed open keeps the current graph, a failed save keeps the edits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from app.document import Document
from graph import GraphFileError
from graph.library import template_path
from graph.names import file_stem

if TYPE_CHECKING:
    from app.main_window import MainWindow

GRAPH_FILTER = "Layerbook graphs (*.layerbook.json *.json)"
FIGURE_FILTER = "SVG figure (*.svg);;PDF figure (*.pdf);;PNG image (*.png)"
RECENT_KEY, RECENT_COUNT = "recent", 10


def new(window: MainWindow) -> None:
    if window.confirm_discard():
        window.set_document(Document.new())


def new_from_template(window: MainWindow, name: str | None = None) -> bool:
    from app.gallery import TemplateGallery

    if not window.confirm_discard():
        return False
    gallery = TemplateGallery(window)
    if name:
        gallery.select(name)
    if name is None and not gallery.exec():
        return False
    window.set_document(Document(gallery.graph(), template=gallery.chosen))
    return True


def open_dialog(window: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open a graph", str(Path.home()), GRAPH_FILTER)
    if path:
        open_path(window, Path(path))


def open_source(window: MainWindow, source: str, offer: bool = True) -> bool:
    """A path, or a template's name (as on the command line). `offer`: the file's autosave left behind, if any."""
    if not Path(source).exists() and template_path(source) is not None:
        if not window.confirm_discard():
            return False
        window.set_document(Document.from_template(source))
        return True
    return open_path(window, Path(source), offer)


def open_path(window: MainWindow, path: Path, offer: bool = True) -> bool:
    if not window.confirm_discard():
        return False
    try:
        document = Document.open(path)
    except GraphFileError as error:
        QMessageBox.warning(window, "Cannot open the graph", str(error))
        return False
    except OSError as error:
        QMessageBox.warning(window, "Cannot open the graph", f"{path}: {error.strerror or error}")
        return False
    window.set_document(document)
    remember(window, path)
    if offer:
        offer_recovery(window, path)
    return True


def offer_recovery(window: MainWindow, path: Path) -> None:
    """An autosave of the file newer than it, left by an editor now gone: its last edits were never saved."""
    from app.autosave import Leftovers
    from app.recovery import recover

    with Leftovers() as leftovers:
        entry = leftovers.of_file(path)
        if entry is None:
            return
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.written))
        answer = QMessageBox.question(window, "Recover unsaved edits",
                                      f"Layerbook kept edits of {path.name} that were never saved (autosaved "
                                      f"{written}, newer than the file). Recover them?")
        problem = recover(window, leftovers, entry) if answer == QMessageBox.StandardButton.Yes else None
    if problem:
        QMessageBox.warning(window, "Cannot recover the edits", problem)


def save(window: MainWindow) -> bool:
    if window.document.path is None:
        return save_as(window)
    return _write(window, window.document.path)


def save_as(window: MainWindow) -> bool:
    start = str(window.document.path or Path.home() / f"{file_stem(window.document.graph.name)}.layerbook.json")
    path, _ = QFileDialog.getSaveFileName(window, "Save the graph", start, GRAPH_FILTER)
    if not path:
        return False
    if not path.endswith(".json"):
        path += ".layerbook.json"
    return _write(window, Path(path))


def _write(window: MainWindow, path: Path) -> bool:
    try:
        window.document.save(path)
    except OSError as error:
        QMessageBox.warning(window, "Cannot save", f"{path}: {error.strerror or error}. Your edits are still open.")
        return False
    remember(window, path)
    window.show_message(f"saved {path}")
    return True


def export_figure(window: MainWindow) -> None:
    from app.render import render_to_file

    start = str(Path.home() / f"{file_stem(window.document.graph.name)}.svg")
    path, _ = QFileDialog.getSaveFileName(window, "Export the figure", start, FIGURE_FILTER)
    if not path:
        return
    try:
        written = render_to_file(window.document.scope_graph, path, window.theme_name)
    except (OSError, ValueError) as error:
        QMessageBox.warning(window, "Cannot export the figure", str(error))
        return
    window.show_message(f"figure written to {written}")


def recent_files(window: MainWindow) -> list[str]:
    value = window.settings.value(RECENT_KEY, [])
    return [value] if isinstance(value, str) else list(value or [])


def remember(window: MainWindow, path: Path) -> None:
    entries = [str(path.resolve())] + [p for p in recent_files(window) if p != str(path.resolve())]
    window.settings.setValue(RECENT_KEY, entries[:RECENT_COUNT])


def fill_recent(window: MainWindow, menu: QMenu) -> None:
    menu.clear()
    entries = [p for p in recent_files(window) if Path(p).exists()]
    for entry in entries:
        menu.addAction(Path(entry).name, lambda e=entry: open_path(window, Path(e))).setToolTip(entry)
    if not entries:
        menu.addAction("(none)").setEnabled(False)
