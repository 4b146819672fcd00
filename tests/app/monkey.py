"""A seeded monkey for the editor: random edits through the real widgets (key presses and mouse drags on the
canvas, menu actions, the palette, the quick-add popup, the inspector's editors, the breadcrumb), interleaved with
undo and redo, and a check after each one that the canvas still shows exactly the graph it is editing.

Edits that no widget offers (disconnecting a wire, a box's label, a template knob) go through the Document's
intent methods, the same entry points the widgets use. Every operation is logged, so a failure names the steps
that led to it; `Monkey(window, seed).run(count)` replays the same steps for the same seed and starting file.
"""

from __future__ import annotations

import difflib
import json
import random
from collections import Counter
from collections.abc import Callable
from unittest import mock

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QInputDialog, QLineEdit, QSpinBox

from app.commands import MoveNodes
from app.items import BracketItem, EdgeItem, NodeItem
from app.items.text import is_io, node_label, param_text, shape_text
from app.main_window import MainWindow
from app.scene import GraphScene
from graph.fileformat import to_document
from graph.inference import Analysis
from graph.library import library_blocks
from graph.model import Graph, Node
from graph.registry import layer_spec, layer_types

Mod = Qt.KeyboardModifier
CTRL, SHIFT, NONE = Mod.ControlModifier, Mod.ShiftModifier, Mod.NoModifier
LEFT = Qt.MouseButton.LeftButton
MIN_MOUSE_ZOOM = 0.3  # below this a pixel is over 3 scene units: a port (8 units) is too small to aim at
TEXT_VALUES = ("", "0.3", "2", "3x3", "2*N", "N", "garbage!", "-1", "1e-3", "true", "same", "7, 5")
NEW_NAMES = ("a", "conv1", "X", "class", "n_7", "9bad", "relu1", "b2", "Y", "")
REPEATS = ("2", "3", "N", "1", "0", "", "99999", "2*N", "x!")


class Monkey:
    """Drives one MainWindow. `states[i]` is the document text after i commands of the undo stack: undo and redo
    must land on exactly those texts, and a refused edit must leave the text as it was."""

    def __init__(self, window: MainWindow, seed: int) -> None:
        self.window = window
        self.rng = random.Random(seed)
        self.log: list[str] = []
        self.types = [*layer_types(), *library_blocks()]
        self.states: list[str | None] = [text_of(window)]
        self.counts: Counter[str] = Counter()  # operations done, by kind
        self.effective: Counter[str] = Counter()  # those that changed the document (the rest were refused)
        self.ops: list[tuple[str, int, Callable[[], str]]] = [
            ("palette-add", 4, self.palette_add), ("drop-add", 3, self.drop_add), ("quick-add", 3, self.quick_add),
            ("wire", 9, self.wire), ("move", 6, self.move), ("click", 5, self.click), ("rubber", 2, self.rubber),
            ("select", 4, self.select), ("select-all", 2, self.select_all), ("delete", 4, self.delete),
            ("cut", 1, self.cut), ("copy", 2, self.copy), ("paste", 3, self.paste),
            ("duplicate", 3, self.duplicate), ("group", 3, self.group), ("ungroup", 3, self.ungroup),
            ("repeat", 3, self.repeat), ("param", 10, self.param), ("rename", 2, self.rename),
            ("label", 1, self.label), ("disconnect", 3, self.disconnect), ("meta", 1, self.meta),
            ("enter", 2, self.enter), ("leave", 2, self.leave), ("layout", 1, self.layout), ("fix", 1, self.fix),
            ("view", 1, self.view),
            ("undo", 17, self.undo), ("redo", 10, self.redo)]

    # --- running -----------------------------------------------------------------------------------------------
    def run(self, count: int) -> None:
        names, weights = [op[0] for op in self.ops], [op[1] for op in self.ops]
        by_name = {op[0]: op[2] for op in self.ops}
        for _ in range(count):
            kind = self.rng.choices(names, weights)[0]
            self.step(kind, by_name[kind])

    def step(self, kind: str, action: Callable[[], str]) -> None:
        stack = self.window.document.undo_stack
        before = (stack.index(), stack.count())
        description = action()
        QApplication.processEvents()  # deferred work (a selection announced, a frame) happens now,
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # and deleteLater, as the event loop would
        self.log.append(f"{kind}: {description}")
        self.counts[kind] += 1
        self.check_history(kind in ("undo", "redo"), before)
        self.check_scene()
        if kind not in ("undo", "redo") and (stack.index(), stack.count()) != before:
            self.effective[kind] += 1

    def history(self, last: int = 25) -> str:
        return "\n".join(self.log[-last:])

    # --- picking -----------------------------------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        """The graph shown: the top level or a block's inside."""
        return self.window.document.scope_graph

    def names(self) -> list[str]:
        return [node.name for node in self.graph]

    def some(self, most: int = 4) -> list[str]:
        names = self.names()
        return self.rng.sample(names, min(len(names), self.rng.randint(1, most))) if names else []

    def instances(self) -> list[str]:
        return [n.name for n in self.graph if layer_spec(n.type) is None and n.type not in ("input", "output")]

    def box_in_view(self, names: list[str]) -> NodeItem | None:
        """The box of one of `names`, at random, scrolled into view; None when there are none."""
        if not names:
            return None
        item = self.window.scene.node_item(self.rng.choice(names))
        self.window.view.centerOn(item)
        return item

    def focus_canvas(self) -> None:
        window = self.window
        if QApplication.activeWindow() is not window:
            window.activateWindow()  # shortcuts go to the active window
            QApplication.processEvents()
        window.view.setFocus()

    def key(self, key: Qt.Key, modifiers: Mod = NONE) -> None:
        self.focus_canvas()
        QTest.keyClick(self.window.view, key, modifiers)

    def trigger(self, name: str) -> None:
        self.window.actions.by_name[name].trigger()

    def show(self, rect: QRectF) -> bool:
        """Frame `rect` in the view; False when the view must zoom out too far to aim at a port."""
        view = self.window.view
        view.frame(rect)
        return view.zoom >= MIN_MOUSE_ZOOM

    def at(self, point: QPointF) -> QPoint:
        return self.window.view.mapFromScene(point)

    def drag(self, start: QPointF, end: QPointF, modifiers: Mod = NONE) -> None:
        viewport = self.window.view.viewport()
        QTest.mousePress(viewport, LEFT, modifiers, self.at(start))
        for fraction in (0.3, 0.7, 1.0):
            QTest.mouseMove(viewport, self.at(start + (end - start) * fraction))
        QTest.mouseRelease(viewport, LEFT, modifiers, self.at(end))

    def empty_point(self) -> QPointF | None:
        """A point of the viewport with no item under it (a double-click there opens the quick-add)."""
        view = self.window.view
        rect = view.viewport().rect()
        for _ in range(20):
            point = QPoint(self.rng.randint(5, rect.width() - 5), self.rng.randint(5, rect.height() - 5))
            if view.itemAt(point) is None:
                return view.mapToScene(point)
        return None

    # --- adding ------------------------------------------------------------------------------------------------
    def palette_add(self) -> str:
        palette = self.window.palette
        chosen = self.rng.choice(self.types)
        palette.search.setText(chosen)
        QTest.keyClick(palette.search, Qt.Key.Key_Return)  # the first match lands at the view's centre
        palette.search.clear()
        return chosen

    def drop_add(self) -> str:
        window = self.window
        item = window.palette.item(self.rng.choice(self.types))
        data = window.palette.tree.mimeData([item])
        rect = window.view.viewport().rect()
        target = QPoint(self.rng.randint(0, rect.width()), self.rng.randint(0, rect.height()))
        viewport = window.view.viewport()
        enter = QDragEnterEvent(target, Qt.DropAction.CopyAction, data, LEFT, NONE)
        QApplication.sendEvent(viewport, enter)
        drop = QDropEvent(QPointF(target), Qt.DropAction.CopyAction, data, LEFT, NONE)
        QApplication.sendEvent(viewport, drop)
        return f"{item.text(0)} at {target.x()},{target.y()}"

    def quick_add(self) -> str:
        window = self.window
        self.focus_canvas()
        point = self.empty_point()
        if point is None:
            return "no empty place"
        QTest.mouseDClick(window.view.viewport(), LEFT, NONE, self.at(point))
        popup = window.view.quick_add
        if not popup.isVisible():
            return "double-click opened nothing"
        chosen = self.rng.choice(self.types)
        QTest.keyClicks(popup.field, chosen[: self.rng.randint(1, len(chosen))])
        QTest.keyClick(popup.field, Qt.Key.Key_Return if self.rng.random() < 0.9 else Qt.Key.Key_Escape)
        assert not popup.isVisible()
        return f"{chosen} at {point.x():.0f},{point.y():.0f}"

    # --- wiring and moving -------------------------------------------------------------------------------------
    def wire(self) -> str:
        scene = self.window.scene
        sources = [item for item in scene.node_items() if item.out_ports]
        targets = [item for item in scene.node_items() if item.in_ports]
        if not sources or not targets:
            return "nothing to wire"
        source, target = self.rng.choice(sources), self.rng.choice(targets)  # the same box: a refused cycle
        src, dst = source.name, target.name
        src_port, port = self.rng.choice(source.out_ports), self.rng.choice(target.in_ports)
        start, end = source.out_port_pos(src_port), target.in_port_pos(port)
        if not self.show(source.sceneBoundingRect().united(target.sceneBoundingRect())):
            # too far apart to aim at both ports on screen: the intent the scene would have sent
            self.window.attempt(self.window.document.connect, src, dst, port, src_port)
            return f"{src}.{src_port} → {dst}.{port} (intent)"
        self.drag(start, end)
        return f"{src}.{src_port} → {dst}.{port}"

    def move(self) -> str:
        item = self.box_in_view(self.names())
        if item is None:
            return "nothing to move"
        start = item.pos()
        end = start + QPointF(self.rng.uniform(-120, 120), self.rng.uniform(-120, 120))
        self.drag(start, end)  # a press on a selected box drags the whole selection
        return f"{item.name} by {end.x() - start.x():.0f},{end.y() - start.y():.0f}"

    # --- selecting ---------------------------------------------------------------------------------------------
    def click(self) -> str:
        item = self.box_in_view(self.names())
        if item is None:
            return "nothing to click"
        modifiers = CTRL if self.rng.random() < 0.4 else NONE  # ctrl adds to the selection
        QTest.mouseClick(self.window.view.viewport(), LEFT, modifiers, self.at(item.pos()))
        return f"{item.name}{' +ctrl' if modifiers == CTRL else ''}"

    def rubber(self) -> str:
        window = self.window
        window.view.frame()
        start = self.empty_point()
        if start is None:
            return "no empty place"
        rect = window.view.viewport().rect()
        end = window.view.mapToScene(QPoint(self.rng.randint(0, rect.width()), self.rng.randint(0, rect.height())))
        self.drag(start, end)
        return f"{start.x():.0f},{start.y():.0f} → {end.x():.0f},{end.y():.0f}"

    def select(self) -> str:
        chosen = self.some()
        self.window.scene.select_nodes(chosen)  # as the problems panel reveals a node
        return ", ".join(chosen)

    def select_all(self) -> str:
        if self.rng.random() < 0.5:
            self.key(Qt.Key.Key_A, CTRL)
            return "ctrl+a"
        self.trigger("select-all")
        return "menu"

    def select_for(self, most: int) -> str:
        """Selects a few nodes unless the canvas already has a selection (the user's, left by a click)."""
        if not self.window.scene.selected_nodes() or self.rng.random() < 0.5:
            self.window.scene.select_nodes(self.some(most))
        return ", ".join(self.window.scene.selected_nodes())

    # --- edit menu ---------------------------------------------------------------------------------------------
    def shortcut_or_menu(self, name: str, key: Qt.Key, modifiers: Mod) -> str:
        if self.rng.random() < 0.6:
            self.key(key, modifiers)
            return "key"
        self.trigger(name)
        return "menu"

    def delete(self) -> str:
        chosen = self.select_for(3)
        return f"{chosen} by {self.shortcut_or_menu('delete', Qt.Key.Key_Delete, NONE)}"

    def cut(self) -> str:
        chosen = self.select_for(3)
        return f"{chosen} by {self.shortcut_or_menu('cut', Qt.Key.Key_X, CTRL)}"

    def copy(self) -> str:
        chosen = self.select_for(5)
        return f"{chosen} by {self.shortcut_or_menu('copy', Qt.Key.Key_C, CTRL)}"

    def paste(self) -> str:
        return self.shortcut_or_menu("paste", Qt.Key.Key_V, CTRL)

    def duplicate(self) -> str:
        chosen = self.select_for(4)
        return f"{chosen} by {self.shortcut_or_menu('duplicate', Qt.Key.Key_D, CTRL)}"

    def group(self) -> str:
        chosen = self.select_for(4)
        return f"{chosen} by {self.shortcut_or_menu('group', Qt.Key.Key_G, CTRL)}"

    def ungroup(self) -> str:
        instances = self.instances()
        if instances and self.rng.random() < 0.8:
            self.window.scene.select_nodes([self.rng.choice(instances)])
        chosen = ", ".join(self.window.scene.selected_nodes())
        return f"{chosen} by {self.shortcut_or_menu('ungroup', Qt.Key.Key_G, CTRL | SHIFT)}"

    def repeat(self) -> str:
        names = self.names()
        if not names:
            return "nothing to repeat"
        name, text = self.rng.choice(names), self.rng.choice(REPEATS)
        self.window.scene.select_nodes([name])
        QApplication.processEvents()
        if self.rng.random() < 0.5:  # Ctrl+R asks in a dialog: the dialog answers as a user typing `text` would
            with mock.patch.object(QInputDialog, "getText", lambda *a, **k: (text, bool(text))):
                self.key(Qt.Key.Key_R, CTRL)
            return f"{name} ×{text!r} by ctrl+r"
        self.type_into(self.window.inspector.repeat_edit, text)
        return f"{name} ×{text!r} in the inspector"

    # --- the inspector -----------------------------------------------------------------------------------------
    def inspect_one(self) -> str | None:
        names = self.names()
        if not names:
            return None
        name = self.rng.choice(names)
        self.window.scene.select_nodes([name])
        QApplication.processEvents()  # the inspector follows the selection
        return name

    def type_into(self, field: QLineEdit | QSpinBox, text: str) -> None:
        field.setFocus()
        field.selectAll()
        if text:
            QTest.keyClicks(field, text)
        else:
            QTest.keyClick(field, Qt.Key.Key_Delete)
        QTest.keyClick(field, Qt.Key.Key_Return)

    def param(self) -> str:
        name = self.inspect_one()
        editors = self.window.inspector.editors
        if name is None or not editors:
            return f"{name}: no editor"
        key = self.rng.choice(sorted(editors))
        widget = editors[key].widget
        return f"{name}.{key} = {self.edit_widget(widget)}"

    def edit_widget(self, widget: object) -> str:
        """Edits as a user would; what it did is said beforehand, since a committed edit rebuilds the inspector
        and deletes the widget."""
        if isinstance(widget, QCheckBox):
            checked = not widget.isChecked()
            widget.click()
            return str(checked)
        if isinstance(widget, QComboBox):
            down = self.rng.random() < 0.6
            index = max(0, min(widget.count() - 1, widget.currentIndex() + (1 if down else -1)))
            chosen = widget.itemText(index)
            widget.setFocus()
            QTest.keyClick(widget, Qt.Key.Key_Down if down else Qt.Key.Key_Up)
            return chosen
        if isinstance(widget, QSpinBox):
            text = str(self.rng.choice([1, 2, 3, 8, 16, 64, 0, -1, 1000]))
            self.type_into(widget, text)
            return text
        assert isinstance(widget, QLineEdit)
        text = self.rng.choice(TEXT_VALUES)
        self.type_into(widget, text)
        return repr(text)

    def rename(self) -> str:
        name = self.inspect_one()
        if name is None:
            return "nothing to rename"
        new = self.rng.choice(NEW_NAMES) + (str(self.rng.randint(0, 9)) if self.rng.random() < 0.5 else "")
        self.type_into(self.window.inspector.name_edit, new)
        return f"{name} → {new!r}"

    # --- intents without a widget ------------------------------------------------------------------------------
    def label(self) -> str:
        names = self.names()
        if not names:
            return "nothing to label"
        name, text = self.rng.choice(names), self.rng.choice([None, "scores", "", "P̂(Y)", "x" * 101])
        self.window.attempt(self.window.document.set_label, name, text)  # no widget edits labels yet
        return f"{name}: {text!r}"

    def disconnect(self) -> str:
        edges = self.graph.edges
        if not edges:
            return "no wire"
        edge = self.rng.choice(edges)
        self.window.attempt(self.window.document.disconnect, edge.src, edge.dst, edge.port)  # no widget cuts wires
        return f"{edge.src} → {edge.dst}.{edge.port}"

    def meta(self) -> str:
        knobs = list(self.window.document.graph.params)
        if not knobs:
            return "no knob"
        key, value = self.rng.choice(knobs), self.rng.choice([None, 1, 2, 4, 64, 0, "x"])
        self.window.attempt(self.window.document.set_meta, key, value)  # the gallery sets knobs, before opening
        return f"{key} = {value!r}"

    # --- scopes and the view -----------------------------------------------------------------------------------
    def enter(self) -> str:
        item = self.box_in_view(self.instances())
        if item is None:
            return "no block here"
        self.focus_canvas()
        QTest.mouseDClick(self.window.view.viewport(), LEFT, NONE, self.at(item.pos()))
        return f"{item.name} → {self.window.document.scope}"

    def leave(self) -> str:
        window = self.window
        if not window.document.scope:
            return "at the top"
        if self.rng.random() < 0.5:
            QTest.mouseClick(window.breadcrumb.buttons[-2], LEFT)
            return "breadcrumb"
        self.key(Qt.Key.Key_Backspace)
        return "backspace"

    def layout(self) -> str:
        self.key(Qt.Key.Key_L)
        return "L"

    def view(self) -> str:
        """Zoom, frame, switch the theme: the canvas's own gestures, which must leave the scene as it was."""
        choice = self.rng.choice(["plus", "minus", "frame", "theme"])
        if choice == "theme":
            self.trigger("dark-theme")
        else:
            self.key({"plus": Qt.Key.Key_Plus, "minus": Qt.Key.Key_Minus, "frame": Qt.Key.Key_F}[choice])
        return choice

    def fix(self) -> str:
        button = self.window.problems.fix_button(0)
        if button is None:
            return "nothing to fix"
        QTest.mouseClick(button, LEFT)
        return button.text()

    # --- undo and redo -----------------------------------------------------------------------------------------
    def undo(self) -> str:
        steps = self.rng.choice([1, 1, 1, 2, 3])
        for _ in range(steps):
            choice = self.rng.random()
            if choice < 0.6:
                self.key(Qt.Key.Key_Z, CTRL)
            else:
                self.window.actions.undo.trigger()
        return f"{steps} step(s)"

    def redo(self) -> str:
        steps = self.rng.choice([1, 1, 2])
        for _ in range(steps):
            choice = self.rng.random()
            if choice < 0.3:
                self.key(Qt.Key.Key_Z, CTRL | SHIFT)
            elif choice < 0.6:
                self.key(Qt.Key.Key_Y, CTRL)
            else:
                self.window.actions.redo.trigger()
        return f"{steps} step(s)"

    # --- checks ------------------------------------------------------------------------------------------------
    def check_history(self, undoing: bool, before: tuple[int, int]) -> None:
        """Undo and redo land on the text recorded at that index; an edit replaces the redo branch with itself."""
        stack = self.window.document.undo_stack
        index, text = stack.index(), text_of(self.window)
        if undoing:
            assert stack.count() == before[1], "undo or redo changed the number of commands"
            expected = self.states[index]
            assert expected in (None, text), f"undo/redo to step {index} gave another document:\n{diff(expected, text)}"
            return
        if (index, stack.count()) == before:
            if self.states[index] in (None, text):
                return  # refused, or a selection: nothing changed
            merged = index == stack.count() and index > 0 and isinstance(stack.command(index - 1), MoveNodes)
            assert merged, "the document changed without an undo step"
        else:
            assert index == stack.count() and index >= before[0], "an edit must leave nothing to redo"
        # an edit may push more than one step (a field left with a new value commits as the focus leaves it)
        del self.states[index:]
        self.states += [None] * (index - len(self.states)) + [text]

    def check_scene(self) -> None:
        check_scene(self.window)


def text_of(window: MainWindow) -> str:
    """The document as the file holds it, in plain JSON (five times faster than the file's layout, same content)."""
    return json.dumps(to_document(window.document.graph), ensure_ascii=False, indent=0)


def diff(expected: str | None, actual: str) -> str:
    lines = difflib.unified_diff((expected or "").splitlines(), actual.splitlines(), "expected", "actual", lineterm="")
    return "\n".join(list(lines)[:40])


def check_scene(window: MainWindow) -> None:
    """The canvas shows the scope's graph: one box per node with its texts, one arrow per edge, frames, brackets."""
    document, scene = window.document, window.scene
    graph = document.scope_graph
    assert scene.graph is graph, "the scene shows another graph than the scope's"
    assert {item.name for item in scene.node_items()} == {node.name for node in graph}
    analysis = document.scope_analysis()
    for node in graph:
        check_node(scene.node_item(node.name), node, scene, analysis)
    items = scene.edge_items()
    check_edges(scene, graph, items)
    kinds = Counter(type(item) for item in scene.items() if isinstance(item, NodeItem | EdgeItem | BracketItem))
    assert kinds[NodeItem] == len(graph) and kinds[EdgeItem] == len(items), "stray items left in the scene"
    shown_brackets = [b for b in graph.brackets if any(n in graph for n in b.nodes)]
    assert kinds[BracketItem] == len(shown_brackets) == len(scene.bracket_items())
    assert len(window.breadcrumb.buttons) == len(document.scope) + 1
    selected, shown = scene.selected_nodes(), window.inspector.node_name
    assert shown == (selected[0] if len(selected) == 1 else None), "the inspector shows another node"
    assert window.isWindowModified() == document.is_modified()


def check_edges(scene: GraphScene, graph: Graph, items: list[EdgeItem]) -> None:
    assert Counter(item.edge for item in items) == Counter(graph.edges), "arrows differ from the edges"
    for item in items:
        assert item.scene() is scene
        assert item.src is scene.node_item(item.edge.src) and item.dst is scene.node_item(item.edge.dst)
        assert item in item.src.edges and item in item.dst.edges
        start = item.path().elementAt(0)  # the arrow leaves from its port, where the box is now
        assert QPointF(start.x, start.y) == item.src.out_port_pos(item.edge.src_port), f"{item.edge}: stale arrow"


def check_node(item: NodeItem | None, node: Node, scene: GraphScene, analysis: Analysis) -> None:
    assert item is not None and item.scene() is scene, f"no box for {node.name}"
    assert item.name == node.name and item.layer_type == node.type
    assert item.label == node_label(node), f"{node.name}: label {item.label!r}"
    assert item.params == param_text(node), f"{node.name}: parameters {item.params!r}"
    assert item.output_shape == shape_text(node, analysis.nodes.get(node.name)), f"{node.name}: shape"
    framed = node.repeat != 1 and not is_io(node)
    assert (item.frame is not None) == framed, f"{node.name}: repeat frame"
    if framed:
        assert item.frame.text == f"×{node.repeat}" and item.frame.parentItem() is item
    if node.position is not None:
        assert (item.pos().x(), item.pos().y()) == node.position, f"{node.name}: box not where the node is"
    assert all(edge.scene() is scene for edge in item.edges), f"{node.name}: holds an arrow no longer shown"
