"""The inspector: the selected node's name, type, meta-parameters, repeat, inferred shapes and parameter count.

Each meta-parameter gets an editor of its kind (a spin box for integers, a check box, a combo box, a line edit
for floats, sizes, shapes, texts and expressions). A value that differs from the default is drawn in blue; the
default shows as the placeholder or the tooltip. An edit is only an intent (`param_edited`): the main window
turns it into an undoable command. Text that is not a valid value turns the field red and emits nothing.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from graph.capacity import repeat_problem
from graph.catalog import BOOL, CHOICE, FLOAT, INT, LARGEST, SHAPE, SIZE, LayerSpec, ParamError, ParamSpec
from graph.inference import Analysis
from graph.model import Graph, GraphError
from graph.resolve import resolve

PARAM_BLUE = "#1f5fbf"
ERROR_RED = "#c62828"


class Inspector(QWidget):
    param_edited = Signal(str, str, object)
    rename_requested = Signal(str, str)
    repeat_edited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph: Graph | None = None
        self.node_name: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self._build()
        self.show_node(None, None, None)

    def _build(self) -> None:
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Node name")
        self.name_edit.editingFinished.connect(self._rename)
        self.type_label = QLabel(self)
        self.type_label.setAccessibleName("Layer type")
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setAccessibleName("Layer description")
        self.description.setStyleSheet("color: #555555;")
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.repeat_edit = QLineEdit(self)
        self.repeat_edit.setAccessibleName("Repeat factor")
        self.repeat_edit.setPlaceholderText("1")
        self.repeat_edit.setToolTip("repeat ×N: N copies in series, each with its own parameters (default 1)")
        self.repeat_edit.editingFinished.connect(self._repeat)
        self.shapes = QLabel(self)
        self.shapes.setAccessibleName("Inferred shapes")
        self.shapes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count = QLabel(self)
        self.count.setAccessibleName("Parameter count")
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Inspector message")
        self.message.setStyleSheet(f"color: {ERROR_RED};")
        self.empty = QLabel("Select a layer to see and edit its meta-parameters.", self)
        self.empty.setWordWrap(True)
        self._lay_out()

    def _lay_out(self) -> None:
        body = QWidget()
        self.params_box = QWidget(body)
        self.params_box.setLayout(self.form)
        self.form.setContentsMargins(0, 4, 0, 4)
        header = QFormLayout()
        header.addRow("Name", self.name_edit)
        header.addRow("Type", self.type_label)
        column = QVBoxLayout(body)
        column.addWidget(self.empty)
        column.addLayout(header)
        column.addWidget(self.description)
        column.addWidget(self.params_box)
        repeat_row = QFormLayout()
        repeat_row.addRow("Repeat ×", self.repeat_edit)
        column.addLayout(repeat_row)
        column.addWidget(self.shapes)
        column.addWidget(self.count)
        column.addWidget(self.message)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._detail = [self.name_edit, self.type_label, self.description, self.params_box, self.repeat_edit,
                        self.shapes, self.count]

    # --- showing -------------------------------------------------------------------------------------------
    def show_node(self, graph: Graph | None, name: str | None, analysis: Analysis | None,
                  in_block: bool | None = None) -> None:
        """Show node `name` of `graph` (None: nothing selected). `in_block` (the graph is a block's inside) allows
        any expression, left for the graph to validate; elsewhere text is accepted only over the graph's knobs."""
        self.graph, self.node_name = graph, name
        self.message.clear()
        self._clear_form()
        present = graph is not None and name is not None and name in graph
        self.empty.setVisible(not present)
        for widget in self._detail:
            widget.setEnabled(present)
        if not present:
            for field in (self.name_edit, self.repeat_edit):
                field.clear()
            for label in (self.type_label, self.description, self.shapes, self.count):
                label.clear()
            return
        node = graph.node(name)
        target = resolve(graph, node.type)
        self.name_edit.setText(name)
        _set_valid(self.name_edit, True)
        self._show_type(node.type, target)
        expressions = bool(in_block)
        self._fill_form(node.params, _param_specs(target), expressions, set(graph.params))
        self.repeat_edit.setText("" if node.repeat == 1 else str(node.repeat))
        self._expressions, self._knobs = expressions, set(graph.params)
        self._show_analysis(name, analysis)

    def _show_type(self, type_name: str, target: LayerSpec | Graph | None) -> None:
        if isinstance(target, LayerSpec):
            self.type_label.setText(f"<b>{type_name}</b> <span style='color:gray'>({target.category})</span>")
            self.description.setText(target.description)
        elif isinstance(target, Graph):
            self.type_label.setText(f"<b>{type_name}</b> <span style='color:gray'>(block)</span>")
            self.description.setText(target.description or target.title or "A block: double-click it to edit it.")
        else:
            self.type_label.setText(f"<b>{type_name}</b>")
            self.description.setText("Unknown type: neither a layer nor a block.")

    def _fill_form(self, values: dict[str, Any], specs: list[ParamSpec], expressions: bool, knobs: set[str]) -> None:
        for spec in specs:
            editor = editor_for(spec, values.get(spec.name), expressions, knobs, self.params_box)
            editor.edited.connect(self._param_edited)
            editor.invalid.connect(self._invalid)
            label = QLabel(spec.name)
            label.setToolTip(spec.description)
            label.setBuddy(editor.widget)
            if spec.name in values:
                label.setStyleSheet(f"color: {PARAM_BLUE};")
            self.form.addRow(label, editor.widget)
            self.editors[spec.name] = editor
        self.params_box.setVisible(bool(specs))

    def _clear_form(self) -> None:
        for editor in self.editors.values():
            editor.edited.disconnect(self._param_edited)
            editor.invalid.disconnect(self._invalid)
        # The edit that asked for this rebuild may come from one of these editors, still inside its own key
        # handling (a spin box goes on using itself after emitting editingFinished): deleting it now crashed the
        # editor, so the rows leave the form now and their widgets are deleted once control is back in the loop.
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.hide()
                    widget.deleteLater()
        self.editors = {}

    def _show_analysis(self, name: str, analysis: Analysis | None) -> None:
        info = analysis.nodes.get(name) if analysis is not None else None
        if info is None:
            self.shapes.setText("Shapes: not inferred (see the problems)")
            self.count.setText("")
            problems = analysis.problems_of(name) if analysis is not None else []
            self.message.setText("\n".join(p.message for p in problems))
            return
        inputs = [f"{port}: {', '.join(str(t) for t in types)}" for port, types in info.inputs.items()]
        outputs = [str(t) for t in info.outputs.values()]
        shown_in = "; ".join(inputs) if len(info.inputs) > 1 else ", ".join(
            str(t) for types in info.inputs.values() for t in types)
        copies = f" ×{info.copies}" if info.copies > 1 else ""
        self.shapes.setText(f"Input: {shown_in or '—'}\nOutput{copies}: {', '.join(outputs) or '—'}")
        self.count.setText(f"{info.parameters:,} trainable parameters")
        warnings = analysis.problems_of(name)
        self.message.setText("\n".join(p.message for p in warnings))

    # --- intents -------------------------------------------------------------------------------------------
    def _param_edited(self, key: str, value: object) -> None:
        if self.node_name is not None:
            self.message.clear()
            self.param_edited.emit(self.node_name, key, value)

    def _invalid(self, key: str, message: str) -> None:
        self.message.setText(f"{key} {message}")

    def _rename(self) -> None:
        if self.graph is None or self.node_name is None:
            return
        new = self.name_edit.text().strip()
        if new == self.node_name:
            _set_valid(self.name_edit, True)
            return
        try:
            self.graph.check_name(new)
        except GraphError as exc:
            _set_valid(self.name_edit, False)
            self.message.setText(str(exc))
            return
        _set_valid(self.name_edit, True)
        self.message.clear()
        old, self.node_name = self.node_name, new
        self.rename_requested.emit(old, new)

    def _repeat(self) -> None:
        if self.graph is None or self.node_name is None:
            return
        text = self.repeat_edit.text()
        value, error = parse_repeat(text, self._expressions, self._knobs)
        if error:
            _set_valid(self.repeat_edit, False)
            self.message.setText(error)
            return
        _set_valid(self.repeat_edit, True)
        if value != self.graph.node(self.node_name).repeat:
            self.repeat_edited.emit(self.node_name, value)

    def editor(self, key: str) -> QWidget:
        """The widget editing meta-parameter `key` (tests and keyboard navigation)."""
        return self.editors[key].widget


def _param_specs(target: LayerSpec | Graph | None) -> list[ParamSpec]:
    if isinstance(target, LayerSpec):
        return list(target.params)
    if isinstance(target, Graph):
        return list(target.params.values())
    return []


def _set_valid(widget: QWidget, valid: bool) -> None:
    widget.setProperty("invalid", not valid)
    widget.setStyleSheet("" if valid else f"border: 1px solid {ERROR_RED}; background: #fdecea;")



# --- editors, one per meta-parameter kind ------------------------------------------------------------------------

class ParamEditor(QObject):
    """Wraps one editing widget; emits `edited(key, value)` (None = back to the default) or `invalid(key, why)`."""

    edited = Signal(str, object)
    invalid = Signal(str, str)

    def __init__(self, spec: ParamSpec, value: Any, widget: QWidget) -> None:
        super().__init__(widget)
        self.spec, self.value, self.widget = spec, value, widget
        widget.setAccessibleName(spec.name)
        widget.setToolTip(f"{spec.description}\ndefault: {_shown(spec.default)}".strip())
        if value is not None:
            widget.setStyleSheet(f"color: {PARAM_BLUE};")

    def commit(self, value: Any) -> None:
        """Emit `value` when it differs from what is set; the default is emitted as None (the file stays lean)."""
        stored = None if value == _jsonable(self.spec.default) else value
        if stored != self.value:
            self.value = stored
            self.edited.emit(self.spec.name, stored)


class IntEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, value: Any, parent: QWidget) -> None:
        box = QSpinBox(parent)
        box.setRange(int(spec.minimum) if spec.minimum is not None else -LARGEST,
                     int(spec.maximum) if spec.maximum is not None else LARGEST)
        box.setGroupSeparatorShown(True)
        box.setKeyboardTracking(False)
        box.setValue(value if value is not None else spec.default)
        super().__init__(spec, value, box)
        box.editingFinished.connect(lambda: self.commit(box.value()))


class BoolEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, value: Any, parent: QWidget) -> None:
        box = QCheckBox(parent)
        box.setChecked(bool(spec.default if value is None else value))
        super().__init__(spec, value, box)
        box.clicked.connect(lambda checked: self.commit(bool(checked)))


class ChoiceEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, value: Any, parent: QWidget) -> None:
        box = QComboBox(parent)
        box.addItems(list(spec.choices))
        box.setCurrentText(spec.default if value is None else value)
        super().__init__(spec, value, box)
        box.activated.connect(lambda index: self.commit(box.itemText(index)))


class TextEditor(ParamEditor):
    """Floats, sizes, shapes, texts and expressions: typed text, parsed and checked when editing ends."""

    def __init__(self, spec: ParamSpec, value: Any, parent: QWidget, expressions: bool, knobs: set[str]) -> None:
        field = QLineEdit(parent)
        field.setText("" if value is None else _shown(value))
        field.setPlaceholderText("none" if spec.default is None else _shown(spec.default))
        super().__init__(spec, value, field)
        self.field, self.expressions, self.knobs = field, expressions, knobs
        field.editingFinished.connect(self._finished)

    def _finished(self) -> None:
        value, error = parse_value(self.spec, self.field.text(), self.expressions, self.knobs)
        if error:
            self.field.setStyleSheet(f"border: 1px solid {ERROR_RED}; background: #fdecea;")
            self.field.setProperty("invalid", True)
            self.invalid.emit(self.spec.name, error)
            return
        self.field.setProperty("invalid", False)
        self.field.setStyleSheet(f"color: {PARAM_BLUE};" if value is not None else "")
        self.commit(value)


def editor_for(spec: ParamSpec, value: Any, expressions: bool, knobs: set[str], parent: QWidget) -> ParamEditor:
    literal = not isinstance(value, str) or (spec.kind == CHOICE and value in spec.choices)
    if spec.kind == BOOL and literal:
        return BoolEditor(spec, value, parent)
    if spec.kind == CHOICE and literal and not expressions:
        return ChoiceEditor(spec, value, parent)
    if spec.kind == INT and literal and not spec.optional and not expressions:
        return IntEditor(spec, value, parent)
    return TextEditor(spec, value, parent, expressions, knobs)


_SEPARATORS = re.compile(r"[\s,×x*\[\]()]+")


def parse_value(spec: ParamSpec, text: str, expressions: bool, knobs: set[str]) -> tuple[Any, str]:
    """(value, "") or (None, why not). Empty text is the default (None); a non-literal is an expression where
    expressions are allowed (inside a block, or naming a template knob), else invalid."""
    text = text.strip()
    if not text:
        return None, ""
    try:
        value = _literal(spec, text)
        spec.coerce(value)
        return value, ""
    except (ValueError, ParamError) as exc:
        if expressions or over_knobs(text, knobs):
            return text, ""
        reason = str(exc) if isinstance(exc, ParamError) else f"must be {spec.expected()}"
        return None, reason


def _literal(spec: ParamSpec, text: str) -> Any:
    if spec.kind == INT:
        return int(text.replace("_", "").replace(",", ""))
    if spec.kind == FLOAT:
        return float(text)
    if spec.kind in (SIZE, SHAPE):
        if text in spec.choices:
            return text
        numbers = [int(part) for part in _SEPARATORS.split(text) if part]
        if spec.kind == SIZE and len(numbers) == 1:
            return numbers[0]
        return numbers
    return text  # text and choices are checked by coerce


def parse_repeat(text: str, expressions: bool, knobs: set[str]) -> tuple[Any, str]:
    text = text.strip()
    if not text:
        return 1, ""
    try:
        value = int(text)
    except ValueError:
        if expressions or over_knobs(text, knobs):
            return text, ""
        value = None
    problem = repeat_problem(value)
    return (None, f"repeat {problem}") if problem else (value, "")


_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def over_knobs(text: str, knobs: set[str]) -> bool:
    """Text naming only the graph's knobs (`classes`, `2*width`): an expression the graph will evaluate."""
    names = _NAMES.findall(text)
    return bool(names) and all(n in knobs for n in names) and bool(re.fullmatch(r"[\w\s+\-*/%().]+", text))


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value)  # as the book writes shapes; commas and x are read too
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)
