"""The palette: grouped as chapter 4, searchable by typing, drags carry the layer type, activation adds."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.palette import BLOCKS, MIME_TYPE, Palette
from graph.layers import CATEGORIES
from graph.library import library_blocks
from graph.registry import layer_spec, layer_types
from tests.app.widgets import shown


def make(qtbot) -> Palette:
    return shown(qtbot, Palette(), 260, 600)


def test_grouped_by_category_with_the_blocks_last(qtbot) -> None:
    palette = make(qtbot)
    assert list(palette.groups) == [*CATEGORIES, BLOCKS]
    for title, group in palette.groups.items():
        for i in range(group.childCount()):
            type_name = group.child(i).text(0)
            if title != BLOCKS:
                assert layer_spec(type_name).category == title
    assert sorted(t for t in palette.visible_types() if layer_spec(t)) == sorted(layer_types())
    blocks = palette.groups[BLOCKS]
    assert {blocks.child(i).text(0) for i in range(blocks.childCount())} == set(library_blocks())


def test_typing_in_the_search_field_filters(qtbot) -> None:
    palette = make(qtbot)
    QTest.keyClicks(palette.search, "pool")
    shown = palette.visible_types()
    assert shown and all("pool" in t for t in shown)
    assert "conv-2d" not in shown and "maxpool" in shown
    assert palette.groups["linear"].isHidden() and not palette.groups["pooling"].isHidden()
    palette.search.clear()
    QTest.keyClicks(palette.search, "linear")  # a category and a former name both count
    assert "fully-conn" in palette.visible_types()
    palette.search.clear()
    assert len(palette.visible_types()) == len(palette.items())


def test_enter_in_the_search_field_activates_the_first_match(qtbot) -> None:
    palette = make(qtbot)
    QTest.keyClicks(palette.search, "batchn")
    with qtbot.waitSignal(palette.layer_activated) as signal:
        QTest.keyClick(palette.search, Qt.Key.Key_Return)
    assert signal.args == ["batchnorm"]


def test_a_drag_carries_the_layer_type(qtbot) -> None:
    palette = make(qtbot)
    item = palette.item("conv-2d")
    data = palette.tree.mimeData([item])
    assert data.hasFormat(MIME_TYPE)
    assert bytes(data.data(MIME_TYPE)).decode() == "conv-2d" and data.text() == "conv-2d"
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert not palette.groups["linear"].flags() & Qt.ItemFlag.ItemIsDragEnabled  # headings are not dragged


def test_double_click_and_enter_emit_layer_activated(qtbot) -> None:
    palette = make(qtbot)
    item = palette.item("relu")
    palette.tree.scrollToItem(item)
    rect = palette.tree.visualItemRect(item)
    viewport = palette.tree.viewport()
    with qtbot.waitSignal(palette.layer_activated) as signal:
        # a real double-click: press-release, then the second press Qt reports as a double-click
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
        QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == ["relu"]
    palette.tree.setCurrentItem(palette.item("gelu"))
    palette.tree.setFocus()
    with qtbot.waitSignal(palette.layer_activated) as signal:
        QTest.keyClick(palette.tree, Qt.Key.Key_Return)
    assert signal.args == ["gelu"]


def test_document_blocks_are_listed(qtbot) -> None:
    palette = make(qtbot)
    palette.set_blocks(["my-block"])
    assert palette.item("my-block") is not None
    QTest.keyClicks(palette.search, "my-bl")
    assert palette.visible_types() == ["my-block"]
    palette.set_blocks([])
    assert palette.item("my-block") is None
    assert palette.search.accessibleName() and palette.tree.accessibleName()
