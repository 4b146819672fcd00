"""The canvas: the book's drawing of a graph, kept in sync with the graph, and the intents its mouse gestures send."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsView

from app.items import EdgeItem, NodeItem
from app.scene import GraphScene
from app.style import BLOCK_HEIGHT, LIGHT
from graph import load_graph
from graph.connections import check_connect
from graph.model import Graph
from tests.app.widgets import shown

FIGURE_5_2 = ["conv-2d", "maxpool", "relu", "conv-2d", "maxpool", "relu", "reshape", "fully-conn", "relu", "fully-conn"]


def _scene(qtbot, graph: Graph) -> GraphScene:
    scene = GraphScene()
    scene.set_graph(graph)
    scene.set_analysis(graph.analyze())
    return scene


def _boxes(scene: GraphScene) -> list[NodeItem]:
    """The boxes (inputs and outputs are plain text) from the bottom of the figure to the top."""
    return sorted((item for item in scene.node_items() if not item.io), key=lambda item: -item.pos().y())


def test_lenet_is_drawn_as_figure_5_2(qtbot) -> None:
    scene = _scene(qtbot, load_graph("lenet"))
    boxes = _boxes(scene)
    assert [item.label for item in boxes] == FIGURE_5_2
    dark, light = QColor(LIGHT.box_fill_trainable), QColor(LIGHT.box_fill)
    assert dark.lightness() < light.lightness()
    for item in boxes:
        assert item.fill_color() == (dark if item.label in ("conv-2d", "fully-conn") else light), item.label
    assert [item.params for item in boxes if item.params] == ["k=5", "k=3", "k=5", "k=2"]
    shapes = [item.output_shape for item in boxes if item.output_shape]
    assert shapes == ["32×24×24", "32×8×8", "64×4×4", "64×2×2", "256", "200", "10"]
    io = {item.name: item.label for item in scene.node_items() if item.io}
    assert io == {"X": "X", "Y": "P̂(Y)"} and scene.node_item("X").output_shape == "1×28×28"
    assert len(scene.edge_items()) == len(load_graph("lenet").edges)
    assert [b.label for b in scene.bracket_items()] == ["Feature extractor", "Classifier"]


def test_resnet50_frames_its_repeated_blocks_and_draws_blocks_taller(qtbot) -> None:
    scene = _scene(qtbot, load_graph("resnet50"))
    frames = [item.frame.text for item in _boxes(scene) if item.frame is not None]
    assert frames == ["×2", "×3", "×5", "×2"]
    down = scene.node_item("down2")
    assert down.box_rect().height() == BLOCK_HEIGHT and down.params == "S=2" and down.trainable
    assert scene.node_item("maxpool1").params == "k=3 s=2 p=1"
    assert scene.node_item("conv1").params == "k=7 s=2 p=3"


def test_a_skip_connection_takes_a_side_path(qtbot) -> None:
    from graph.library import library_blocks

    scene = _scene(qtbot, library_blocks()["resblock"].copy())
    side = [item for item in scene.edge_items() if item.side]
    assert [(e.edge.src, e.edge.dst) for e in side] == [("x", "add1")]
    column_right = max(item.scene_box().right() for item in scene.node_items())
    assert side[0].path().boundingRect().right() > column_right


def test_an_edit_redraws_the_boxes_it_changes_and_the_side_paths_around_them(qtbot) -> None:
    from graph.library import library_blocks

    graph = library_blocks()["resblock"].copy()
    scene = _scene(qtbot, graph)
    side = next(item for item in scene.edge_items() if item.side)
    inner = [item for item in _boxes(scene) if item.label == "conv-2d"]
    untouched = {item.name: item.output_shape for item in _boxes(scene)}
    before = side.path().boundingRect().right()
    refreshed: list[str] = []
    for item in _boxes(scene):
        original = item.refresh
        item.refresh = lambda *args, _item=item, _original=original: (refreshed.append(_item.name),
                                                                     _original(*args))
    graph.set_param(inner[0].name, "dilation", 123_456_789)  # wider parameters beside a box the skip goes around
    scene.set_analysis(graph.analyze())
    assert refreshed[0] == inner[0].name and "123456789" in inner[0].params
    assert inner[0].sceneBoundingRect().right() > before  # its text now reaches past where the skip went
    assert len(set(refreshed)) < len(untouched)  # the boxes whose shapes did not change were left alone
    assert side.path().boundingRect().right() > inner[0].sceneBoundingRect().right()  # it went round the text


def test_the_scene_follows_graph_edits(qtbot) -> None:
    graph = load_graph("lenet")
    scene = _scene(qtbot, graph)
    before = len(scene.items())
    name = graph.add("dropout", position=(200, -100), p=0.1)
    assert scene.node_item(name).pos() == QPointF(200, -100) and scene.node_item(name).params == "p=0.1"
    graph.connect("relu3", name)
    assert len(scene.edge_items()) == len(graph.edges)
    graph.move("fc1", (30, -650))
    assert scene.node_item("fc1").pos() == QPointF(30, -650)
    graph.rename("fc1", "classifier")
    assert scene.node_item("fc1") is None and scene.node_item("classifier") is not None
    assert {(e.edge.src, e.edge.dst) for e in scene.edge_items()} == {(e.src, e.dst) for e in graph.edges}
    graph.set_param("conv1", "stride", 2)
    assert scene.node_item("conv1").params == "k=5 s=2"
    graph.set_repeat("relu1", 3)
    assert scene.node_item("relu1").frame.text == "×3"
    graph.set_repeat("relu1", 1)
    assert scene.node_item("relu1").frame is None
    graph.remove(name)
    assert scene.node_item(name) is None and len(scene.items()) == before
    assert len(scene.node_items()) == len(graph)
    for node in graph:
        assert scene.node_item(node.name).pos() == QPointF(*node.position)
    graph.touch()  # "changed": everything rebuilt, still in agreement
    assert sorted(i.name for i in scene.node_items()) == sorted(n.name for n in graph)


def test_problems_are_outlined_with_their_message(qtbot) -> None:
    graph = load_graph("lenet")
    graph.set_param("fc1", "out_features", 300)  # fc2 still fine; break the reshape instead
    graph.set_param("reshape1", "shape", [255])
    scene = _scene(qtbot, graph)
    item = scene.node_item("reshape1")
    messages = [p.message for p in graph.analyze().problems_of("reshape1")]
    assert messages and item.severity == "error"
    assert all(m in item.toolTip() for m in messages)
    assert item._outline().color() == QColor(LIGHT.error)
    assert scene.node_item("conv1").severity is None and scene.node_item("conv1").toolTip() == ""


def _view(qtbot, scene: GraphScene) -> QGraphicsView:
    return shown(qtbot, QGraphicsView(scene), 900, 700)


def _point(view: QGraphicsView, pos: QPointF) -> QPoint:
    return view.mapFromScene(pos)


def _drag(view: QGraphicsView, start: QPointF, end: QPointF) -> None:
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _point(view, start))
    middle = (start + end) / 2
    for pos in (middle, end):
        QTest.mouseMove(viewport, _point(view, pos))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _point(view, end))


def _small_graph() -> Graph:
    graph = Graph()
    graph.add("input", "X", position=(0, 0), shape=[8])
    graph.add("fully-conn", "fc1", position=(0, -80), out_features=4)
    graph.add("relu", "relu1", position=(250, -160))
    graph.connect("X", "fc1")
    return graph


def test_a_wire_from_an_output_port_to_an_input_port_requests_the_connection(qtbot) -> None:
    graph = _small_graph()
    scene = _scene(qtbot, graph)
    view = _view(qtbot, scene)
    fc1, relu = scene.node_item("fc1"), scene.node_item("relu1")
    with qtbot.waitSignal(scene.connect_requested) as blocker:
        _drag(view, fc1.out_port_pos("y"), relu.in_port_pos("x"))
    assert blocker.args == ["fc1", "relu1", "x", None]
    assert len(graph.edges) == 1  # the scene asks; it does not edit the graph
    assert not [i for i in scene.items() if i.zValue() == 10]  # the temporary curve is gone


def test_a_wire_dropped_on_a_box_takes_its_first_free_input(qtbot) -> None:
    graph = _small_graph()
    scene = _scene(qtbot, graph)
    view = _view(qtbot, scene)
    with qtbot.waitSignal(scene.connect_requested) as blocker:
        _drag(view, scene.node_item("fc1").out_port_pos("y"), scene.node_item("relu1").pos())
    assert blocker.args == ["fc1", "relu1", "x", None]


def test_a_refused_wire_says_why_and_requests_nothing(qtbot) -> None:
    graph = _small_graph()
    scene = _scene(qtbot, graph)
    view = _view(qtbot, scene)
    requested: list = []
    scene.connect_requested.connect(lambda *args: requested.append(args))
    with qtbot.waitSignal(scene.message) as blocker:
        _drag(view, scene.node_item("relu1").out_port_pos("y"), scene.node_item("X").pos())
    assert blocker.args == [check_connect(graph, "relu1", "X", None)]
    assert "input" in blocker.args[0] and requested == []


def test_hovering_targets_during_a_wire_drag_highlights_them(qtbot) -> None:
    graph = _small_graph()
    scene = _scene(qtbot, graph)
    view = _view(qtbot, scene)
    viewport = view.viewport()
    start = scene.node_item("fc1").out_port_pos("y")
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _point(view, start))
    QTest.mouseMove(viewport, _point(view, scene.node_item("relu1").pos()))
    assert scene.node_item("relu1").highlight == "valid"
    QTest.mouseMove(viewport, _point(view, scene.node_item("X").pos()))
    assert scene.node_item("X").highlight == "invalid" and scene.node_item("relu1").highlight is None
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       _point(view, QPointF(600, 300)))
    assert scene.node_item("X").highlight is None


def test_dragging_a_box_emits_one_move_and_edges_follow(qtbot) -> None:
    graph = _small_graph()
    scene = _scene(qtbot, graph)
    view = _view(qtbot, scene)
    fc1 = scene.node_item("fc1")
    edge = scene.edge_items()[0]
    moves: list[dict] = []
    scene.nodes_moved.connect(moves.append)
    _drag(view, fc1.pos() + QPointF(-30, 0), fc1.pos() + QPointF(10, -20))
    assert len(moves) == 1 and list(moves[0]) == ["fc1"]
    x, y = moves[0]["fc1"]
    assert (x, y) == (fc1.pos().x(), fc1.pos().y()) and (x, y) != (0.0, -80.0)
    assert abs(x - 40) <= 2 and abs(y + 100) <= 2
    assert graph.node("fc1").position == (0.0, -80.0)  # the Document moves the graph, not the scene
    assert edge.path().pointAtPercent(1) == fc1.in_port_pos("x")


def test_double_click_on_a_box_activates_it(qtbot) -> None:
    scene = _scene(qtbot, load_graph("resnet50"))
    view = _view(qtbot, scene)
    view.centerOn(scene.node_item("stage1"))
    with qtbot.waitSignal(scene.node_activated) as blocker:
        QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                          _point(view, scene.node_item("stage1").pos()))
    assert blocker.args == ["stage1"]


def test_selection_round_trips(qtbot) -> None:
    scene = _scene(qtbot, load_graph("lenet"))
    scene.select_nodes(["conv1", "fc2"])
    assert sorted(scene.selected_nodes()) == ["conv1", "fc2"]
    assert scene.graph_rect().contains(scene.node_item("fc2").sceneBoundingRect())


def test_a_long_chain_is_drawn_straight(qtbot) -> None:
    """(How fast a 5,000-node graph is drawn is measured by `python -m bench editor`, not asserted here.)"""
    count = 1000
    graph = Graph()
    previous = graph.add("input", "X", shape=[16])
    for _ in range(count - 1):
        name = graph.add("relu")
        graph.connect(previous, name)
        previous = name
    scene = GraphScene()
    scene.set_graph(graph)
    assert len(scene.node_items()) == count and len(scene.edge_items()) == count - 1
    assert all(isinstance(item, EdgeItem) and not item.side for item in scene.edge_items())
