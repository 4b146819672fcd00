"""The main window's menus and shortcuts. Each action calls one document intent or one file operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu

from app import files

if TYPE_CHECKING:
    from app.main_window import MainWindow

Keys = QKeySequence.StandardKey


class Menus:
    """The actions, kept so that tests and the window can trigger them, and the undo actions rebound per document."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.by_name: dict[str, QAction] = {}
        self.undo: QAction | None = None
        self.redo: QAction | None = None
        self.recent_menu: QMenu | None = None

    def add(self, menu: QMenu, name: str, text: str, slot, shortcut: object = None) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.window.addAction(action)  # shortcuts work wherever the focus is in the window
        self.by_name[name] = action
        return action

    def bind_undo_stack(self, stack: QUndoStack) -> None:
        """Undo/redo follow the shown document's stack (its texts say what they undo)."""
        edit = self.by_name["copy"].parent()
        for old in (self.undo, self.redo):
            if old is not None:
                self.window.removeAction(old)
                old.deleteLater()
        self.undo = stack.createUndoAction(edit, "Undo")
        self.undo.setShortcut(QKeySequence(Keys.Undo))
        self.redo = stack.createRedoAction(edit, "Redo")
        # the platform's redo key is often one of the two usual ones: a key listed twice is ambiguous to Qt,
        # which then does nothing, so each is listed once
        keys = dict.fromkeys([QKeySequence(Keys.Redo).toString(), "Ctrl+Shift+Z", "Ctrl+Y"])
        self.redo.setShortcuts([QKeySequence(key) for key in keys])
        for action in (self.undo, self.redo):
            self.window.addAction(action)
        self.edit_menu.insertActions(self.edit_menu.actions()[0] if self.edit_menu.actions() else None,
                                     [self.undo, self.redo])


def build_menus(window: MainWindow) -> Menus:
    menus = Menus(window)
    bar = window.menuBar()
    _file_menu(menus, bar.addMenu("&File"))
    menus.edit_menu = bar.addMenu("&Edit")
    _edit_menu(menus, menus.edit_menu)
    _view_menu(menus, bar.addMenu("&View"))
    _train_menu(menus, bar.addMenu("&Train"))
    return menus


def _train_menu(menus: Menus, menu: QMenu) -> None:
    w = menus.window
    menus.add(menu, "training", "Show &Training", w.show_training, "Ctrl+T")
    menus.add(menu, "train", "&Train", lambda: (w.show_training(), w.train_panel.train()), "F5")
    menus.add(menu, "stop", "&Stop", lambda: w.train_panel.stop(), "Shift+F5")
    menus.add(menu, "runs", "&Runs", lambda: (w.docks["Runs"].show(), w.docks["Runs"].raise_()), "Ctrl+Shift+R")


def _file_menu(menus: Menus, menu: QMenu) -> None:
    w = menus.window
    menus.add(menu, "new", "&New", lambda: files.new(w), Keys.New)
    menus.add(menu, "new-from-template", "New from &Template…", lambda: files.new_from_template(w), "Ctrl+Shift+N")
    menus.add(menu, "open", "&Open…", lambda: files.open_dialog(w), Keys.Open)
    menus.recent_menu = menu.addMenu("Open &Recent")
    menus.recent_menu.aboutToShow.connect(lambda: files.fill_recent(w, menus.recent_menu))
    menu.addSeparator()
    menus.add(menu, "save", "&Save", lambda: files.save(w), Keys.Save)
    menus.add(menu, "save-as", "Save &As…", lambda: files.save_as(w), Keys.SaveAs)
    menus.add(menu, "export-figure", "Export &Figure (SVG, PDF, PNG)…", lambda: files.export_figure(w), "Ctrl+E")
    menu.addSeparator()
    menus.add(menu, "quit", "&Quit", w.close, Keys.Quit)


def _edit_menu(menus: Menus, menu: QMenu) -> None:
    w = menus.window
    menus.add(menu, "cut", "Cu&t", lambda: _cut(w), Keys.Cut)
    menus.add(menu, "copy", "&Copy", lambda: _copy(w), Keys.Copy)
    menus.add(menu, "paste", "&Paste", lambda: _paste(w), Keys.Paste)
    menus.add(menu, "duplicate", "&Duplicate", lambda: _with_selection(w, w.document.duplicate), "Ctrl+D")
    menus.add(menu, "delete", "&Delete", lambda: _with_selection(w, w.document.remove_nodes), Keys.Delete)
    menus.add(menu, "select-all", "Select &All", lambda: w.scene.select_nodes(
        [n.name for n in w.document.scope_graph]), Keys.SelectAll)
    menu.addSeparator()
    menus.add(menu, "group", "&Group into a Block", lambda: _with_selection(w, w.document.group), "Ctrl+G")
    menus.add(menu, "ungroup", "&Ungroup", lambda: _ungroup(w), "Ctrl+Shift+G")
    menus.add(menu, "repeat", "&Repeat ×N…", lambda: _repeat(w), "Ctrl+R")


def _view_menu(menus: Menus, menu: QMenu) -> None:
    w = menus.window
    menus.add(menu, "frame-all", "&Frame All", w.view.frame, "F")
    menus.add(menu, "layout", "&Layout Bottom to Top", lambda: w.attempt(w.document.apply_layout), "L")
    menus.add(menu, "zoom-in", "Zoom &In", lambda: w.view.zoom_by(1.25), Keys.ZoomIn)
    menus.add(menu, "zoom-out", "Zoom &Out", lambda: w.view.zoom_by(0.8), Keys.ZoomOut)
    menus.add(menu, "up", "Leave the &Block", lambda: w.document.set_scope(w.document.scope[:-1]), "Backspace")
    dark = menus.add(menu, "dark-theme", "&Dark Theme", lambda: w.set_theme(
        "dark" if menus.by_name["dark-theme"].isChecked() else "light"))
    dark.setCheckable(True)
    dark.setChecked(w.theme_name == "dark")
    menu.addSeparator()
    for dock in w.docks.values():
        menu.addAction(dock.toggleViewAction())


def _with_selection(window: MainWindow, intent) -> None:
    names = window.selected()
    if not names:
        window.show_message("select one or more boxes first")
        return
    result = window.attempt(intent, names)
    if isinstance(result, list):
        window.scene.select_nodes(result)
    elif isinstance(result, str):
        window.scene.select_nodes([result])


def _copy(window: MainWindow) -> bool:
    names = window.selected()
    if not names:
        return False
    QApplication.clipboard().setText(window.document.copy(names))
    return True


def _cut(window: MainWindow) -> None:
    if _copy(window):
        window.attempt(window.document.remove_nodes, window.selected())


def _paste(window: MainWindow) -> None:
    names = window.attempt(window.document.paste, QApplication.clipboard().text())
    if names:
        window.scene.select_nodes(names)


def _ungroup(window: MainWindow) -> None:
    names = window.selected()
    if len(names) != 1:
        window.show_message("select one block to ungroup")
        return
    result = window.attempt(window.document.ungroup, names[0])
    if result:
        window.scene.select_nodes(result)


def _repeat(window: MainWindow) -> None:
    names = window.selected()
    if len(names) != 1:
        window.show_message("select one box to repeat")
        return
    node = window.document.scope_graph.node(names[0])
    text, ok = QInputDialog.getText(window, "Repeat", f"Repeat '{node.name}' in series (a number or a knob such "
                                    "as N):", text=str(node.repeat))
    if ok and text.strip():
        value: int | str = int(text) if text.strip().isdigit() else text.strip()
        window.attempt(window.document.set_repeat, node.name, value)
