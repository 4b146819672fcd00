"""File handling for the main window: new, open (dialog, recent, dropped, template), save, save as, export a
figure, recovery of autosaved edits. Errors are shown in a message box naming the file and the cause; nothing
is lost: a failed open keeps the current graph, a failed save keeps the edits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from app.document import Document
from graph import GraphFileError
from graph.library import template_path

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
    window.set_document(Document(gallery.graph()))
    return True


def open_dialog(window: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open a graph", str(Path.home()), GRAPH_FILTER)
    if path:
        open_path(window, Path(path))


def open_source(window: MainWindow, source: str) -> bool:
    """A path, or a template's name (as on the command line)."""
    if not Path(source).exists() and template_path(source) is not None:
        if not window.confirm_discard():
            return False
        window.set_document(Document.from_template(source))
        return True
    return open_path(window, Path(source))


def open_path(window: MainWindow, path: Path) -> bool:
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
    offer_recovery(window)
    return True


def offer_recovery(window: MainWindow) -> None:
    """An autosave newer than the file means the editor stopped before its last edits were saved."""
    from app.autosave import recoverable

    document = window.document
    autosaved = recoverable(document.path) if document.path else None
    if autosaved is None:
        return
    answer = QMessageBox.question(window, "Recover unsaved edits",
                                  f"Layerbook kept edits of {document.path.name} that were never saved "
                                  f"({autosaved}). Recover them?")
    if answer == QMessageBox.StandardButton.Yes:
        recovered = Document.open(autosaved)
        window.attempt(document.edit, "Recover autosaved edits", lambda g: _replace(g, recovered.graph))


def _replace(graph, other) -> None:
    from graph.fileformat import to_document
    from graph.snapshot import restore

    restore(graph, to_document(other))


def save(window: MainWindow) -> bool:
    if window.document.path is None:
        return save_as(window)
    return _write(window, window.document.path)


def save_as(window: MainWindow) -> bool:
    start = str(window.document.path or Path.home() / f"{window.document.graph.name}.layerbook.json")
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

    start = str(Path.home() / f"{window.document.graph.name}.svg")
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
