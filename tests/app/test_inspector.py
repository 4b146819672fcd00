"""The inspector: typed editors driven by real key presses; edits are intents, invalid text emits nothing."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from app.inspector import ERROR_RED, PARAM_BLUE, Inspector
from graph import Graph, load_graph
from tests.app.widgets import shown
from tests.graph.builders import chain


def make(qtbot, graph: Graph, name: str | None) -> Inspector:
    inspector = Inspector()
    inspector.show_node(graph, name, graph.analyze())
    return shown(qtbot, inspector, 320, 600)


def type_into(qtbot, widget, text: str) -> None:
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(widget, Qt.Key.Key_Backspace)
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key.Key_Return)


def test_shows_type_description_shapes_and_count(qtbot) -> None:
    g = load_graph("lenet")
    inspector = make(qtbot, g, "conv1")
    assert inspector.name_edit.text() == "conv1"
    assert "conv-2d" in inspector.type_label.text()
    assert inspector.description.text().startswith("Convolution")
    assert "1×28×28" in inspector.shapes.text() and "32×24×24" in inspector.shapes.text()
    assert inspector.count.text() == "832 trainable parameters"
    assert isinstance(inspector.editor("out_channels"), QSpinBox)
    assert isinstance(inspector.editor("bias"), QCheckBox)
    assert isinstance(inspector.editor("padding"), QLineEdit)
    assert all(e.widget.accessibleName() for e in inspector.editors.values())


def test_non_defaults_are_blue_and_defaults_shown(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "conv1")
    assert PARAM_BLUE in inspector.editor("out_channels").styleSheet()
    assert PARAM_BLUE in inspector.editor("kernel_size").styleSheet()
    assert PARAM_BLUE not in inspector.editor("stride").styleSheet()
    assert inspector.editor("stride").placeholderText() == "1"
    assert "default: 16" in inspector.editor("out_channels").toolTip()


def test_spin_box_edit_emits_a_typed_value(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "conv1")
    box = inspector.editor("out_channels")
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, box, "48")
    assert signal.args == ["conv1", "out_channels", 48] and type(signal.args[2]) is int


def test_back_to_the_default_emits_none(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "conv1")
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, inspector.editor("kernel_size"), "")
    assert signal.args == ["conv1", "kernel_size", None]


def test_size_text_is_parsed(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "conv1")
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, inspector.editor("kernel_size"), "3, 5")
    assert signal.args == ["conv1", "kernel_size", [3, 5]]
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, inspector.editor("padding"), "same")
    assert signal.args == ["conv1", "padding", "same"]


def test_invalid_text_is_red_and_emits_nothing(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "conv1")
    field = inspector.editor("stride")
    with qtbot.assertNotEmitted(inspector.param_edited):
        type_into(qtbot, field, "two")
    assert ERROR_RED in field.styleSheet() and field.property("invalid")
    assert "stride must be" in inspector.message.text()


def test_expressions_are_accepted_inside_a_block(qtbot) -> None:
    g = chain((8, 4, 4), ("conv-2d", {"out_channels": 8}))
    inspector = make(qtbot, g, "conv1")
    with qtbot.assertNotEmitted(inspector.param_edited):
        type_into(qtbot, inspector.editor("stride"), "S")  # at the top level without knobs: not a value
    inspector.show_node(g, "conv1", g.analyze(), in_block=True)
    assert isinstance(inspector.editor("out_channels"), QLineEdit)  # room for an expression
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, inspector.editor("stride"), "S")
    assert signal.args == ["conv1", "stride", "S"]
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, inspector.editor("out_channels"), "2*C")
    assert signal.args == ["conv1", "out_channels", "2*C"]


def test_check_box_and_combo_box(qtbot) -> None:
    g = load_graph("lenet")
    inspector = make(qtbot, g, "conv1")
    box = inspector.editor("bias")
    indicator = box.rect().topLeft() + QPoint(8, box.height() // 2)
    with qtbot.waitSignal(inspector.param_edited) as signal:
        QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=indicator)
    assert signal.args == ["conv1", "bias", False]
    inspector.show_node(g, "Y", g.analyze())
    combo = inspector.editor("loss")
    assert isinstance(combo, QComboBox)
    combo.setFocus()
    with qtbot.waitSignal(inspector.param_edited) as signal:
        QTest.keyClick(combo, Qt.Key.Key_Down)
    assert signal.args == ["Y", "loss", "mse"]


def test_rename(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "conv1")
    with qtbot.waitSignal(inspector.rename_requested) as signal:
        type_into(qtbot, inspector.name_edit, "stem")
    assert signal.args == ["conv1", "stem"]


def test_rename_to_a_taken_or_bad_name_is_refused(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "conv1")
    with qtbot.assertNotEmitted(inspector.rename_requested):
        type_into(qtbot, inspector.name_edit, "conv2")
    assert "already exists" in inspector.message.text()
    assert ERROR_RED in inspector.name_edit.styleSheet()
    with qtbot.assertNotEmitted(inspector.rename_requested):
        type_into(qtbot, inspector.name_edit, "2bad")


def test_repeat(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), "relu1")
    with qtbot.waitSignal(inspector.repeat_edited) as signal:
        type_into(qtbot, inspector.repeat_edit, "3")
    assert signal.args == ["relu1", 3]
    with qtbot.assertNotEmitted(inspector.repeat_edited):
        type_into(qtbot, inspector.repeat_edit, "many")
    assert ERROR_RED in inspector.repeat_edit.styleSheet()


def test_nothing_selected(qtbot) -> None:
    inspector = make(qtbot, load_graph("lenet"), None)
    assert not inspector.empty.isHidden() and not inspector.name_edit.isEnabled()
    assert inspector.editors == {}


def test_a_knob_name_is_accepted_at_the_top_level(qtbot) -> None:
    g = load_graph("vgg16")
    inspector = make(qtbot, g, "fc3")
    field = inspector.editor("out_features")
    assert isinstance(field, QLineEdit) and field.text() == "classes"
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, field, "2*classes")
    assert signal.args == ["fc3", "out_features", "2*classes"]
    with qtbot.assertNotEmitted(inspector.param_edited):
        type_into(qtbot, field, "klasses")
    assert field.property("invalid")
    with qtbot.waitSignal(inspector.param_edited) as signal:
        type_into(qtbot, field, "100")
    assert signal.args == ["fc3", "out_features", 100]


def test_the_repeat_field_applies_the_graphs_limit(monkeypatch) -> None:
    """The inspector's repeat field reads graph.capacity's limit (it wrote 10,000 out before)."""
    import graph.capacity
    from app.inspector import parse_repeat

    assert parse_repeat("10000", False, set()) == (10_000, "")
    monkeypatch.setattr(graph.capacity, "MAX_REPEAT", 5)
    assert parse_repeat("6", False, set()) == (None, "repeat must be an integer from 1 to 5")
    assert parse_repeat("many", False, set()) == (None, "repeat must be an integer from 1 to 5")
    assert parse_repeat("5", False, set()) == (5, "")
