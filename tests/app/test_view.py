"""The canvas view: wheel zoom under the cursor, middle-button pan, frame all, and the far-out picture."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.scene import GraphScene
from app.view import OVERVIEW_BELOW, GraphView
from graph import Graph, load_graph
from tests.app.widgets import shown as shown_widget


def shown(qtbot, graph: Graph) -> GraphView:
    view = GraphView()
    scene = GraphScene()
    scene.set_graph(graph)
    scene.set_analysis(graph.analyze())
    view.setScene(scene)
    return shown_widget(qtbot, view, 800, 600)


def wheel(view: GraphView, steps: int) -> None:
    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(centre, QPointF(view.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def test_wheel_zooms_in_and_out_within_limits(qtbot) -> None:
    view = shown(qtbot, load_graph("lenet"))
    view.resetTransform()
    wheel(view, 2)
    assert view.zoom > 1.2
    wheel(view, -200)
    assert view.zoom >= 0.03 - 1e-9  # never zero: the graph cannot vanish


def test_middle_button_drag_pans(qtbot) -> None:
    view = shown(qtbot, load_graph("lenet"))
    view.resetTransform()
    view.zoom_by(3)
    before = view.verticalScrollBar().value()
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 300))
    QTest.mouseMove(viewport, QPoint(400, 380))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 380))
    assert view.verticalScrollBar().value() == before - 80


def test_far_out_the_view_shows_a_picture_of_everything_and_redraws_it_after_a_change(qtbot) -> None:
    graph = Graph()
    previous = graph.add("input", "X", shape=[8], position=(0, 0))
    for index in range(1, 2000):
        name = graph.add("relu", position=(0, -80 * index))
        graph.connect(previous, name)
        previous = name
    view = shown(qtbot, graph)
    view.frame()
    assert view.zoom < OVERVIEW_BELOW
    picture = view.viewport().grab().toImage()
    column = [QColor(picture.pixel(x, 300)) for x in range(picture.width())]
    assert any(c.lightness() < 240 for c in column)  # the boxes' column is drawn
    first = view._overview
    assert first is not None
    view.viewport().grab()
    assert view._overview is first  # an unchanged scene: the same picture, not a repaint of 2,000 boxes
    graph.add("relu", position=(300, -400))
    QApplication.processEvents()
    view.viewport().grab()
    assert view._overview is not first  # the scene changed: a new picture
