"""Every command, undone and redone, gives back exactly the document it started from (the file text)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from app.document import Document
from graph.fileformat import dumps, load_graph
from graph.model import Graph, GraphError


def concat_graph() -> Graph:
    """X feeds three branches joined by a concat whose input order matters (A, B, C)."""
    g = Graph("cat")
    g.add("input", "X", shape=[4, 8, 8], position=(0, 0))
    for index, name in enumerate(("A", "B", "C")):
        g.add("conv-2d", name, out_channels=index + 1, kernel_size=1, position=(index * 100, -80))
        g.connect("X", name)
    g.add("concat", "cat1", position=(0, -160))
    for name in ("A", "B", "C"):
        g.connect(name, "cat1")
    g.add("output", "Y", loss="none", position=(0, -240))
    g.connect("cat1", "Y")
    return g


def check_round_trip(doc: Document, action: Callable[[], object]) -> None:
    before = dumps(doc.graph)
    index = doc.undo_stack.index()
    action()
    after = dumps(doc.graph)
    assert after != before
    assert doc.undo_stack.index() == index + 1
    doc.undo_stack.undo()
    assert dumps(doc.graph) == before
    doc.undo_stack.redo()
    assert dumps(doc.graph) == after
    doc.undo_stack.undo()
    assert dumps(doc.graph) == before


@pytest.fixture
def lenet(qtbot) -> Document:
    return Document.from_template("lenet")


@pytest.mark.parametrize("action", [
    lambda d: d.add_node("relu", (10, 20)),
    lambda d: d.add_node("conv-2d", (0, 0), out_channels=7, kernel_size=3),
    lambda d: d.remove_nodes(["relu1"]),
    lambda d: d.remove_nodes(["conv1", "relu2", "Y"]),
    lambda d: d.disconnect("relu1", "conv2"),
    lambda d: d.move_nodes({"conv1": (50, -90), "fc1": (3.5, 2)}),
    lambda d: d.set_param("conv1", "out_channels", 16),
    lambda d: d.set_param("conv1", "kernel_size", None),
    lambda d: d.set_param("conv1", "padding", 2),
    lambda d: d.rename("conv1", "first"),
    lambda d: d.set_repeat("relu3", 3),
    lambda d: d.set_label("fc2", "scores"),
    lambda d: d.set_label("X", None),
    lambda d: d.group(["conv1", "maxpool1", "relu1"]),
    lambda d: d.paste(d.copy(["conv1", "maxpool1"])),
    lambda d: d.duplicate(["fc1"]),
    lambda d: d.edit("Quick fix", lambda g: g.set_param("fc1", "bias", False)),
], ids=["add", "add-params", "remove", "remove-several", "disconnect", "move", "set-param", "reset-param",
        "new-param", "rename", "repeat", "label", "clear-label", "group", "paste", "duplicate", "edit"])
def test_undo_and_redo_restore_the_exact_document(lenet: Document, action: Callable[[Document], object]) -> None:
    check_round_trip(lenet, lambda: action(lenet))


def test_connect_round_trip(lenet: Document) -> None:
    lenet.disconnect("relu1", "conv2")
    check_round_trip(lenet, lambda: lenet.connect("relu1", "conv2"))


def test_set_meta_round_trip(qtbot) -> None:
    doc = Document.from_template("resnet50")
    check_round_trip(doc, lambda: doc.set_meta("classes", 10))
    assert doc.analysis().nodes["fc1"].output.shape == (1000,)


def test_ungroup_round_trip(qtbot) -> None:
    doc = Document.from_template("resnet50")
    check_round_trip(doc, lambda: doc.ungroup("down2"))


def test_removing_the_middle_of_a_concat_keeps_the_input_order(qtbot) -> None:
    doc = Document(concat_graph())
    before = [e.src for e in doc.graph.in_edges("cat1")]
    check_round_trip(doc, lambda: doc.remove_nodes(["B"]))
    assert [e.src for e in doc.graph.in_edges("cat1")] == before == ["A", "B", "C"]
    check_round_trip(doc, lambda: doc.disconnect("B", "cat1"))
    assert doc.analysis().nodes["cat1"].output.shape == (6, 8, 8)


def test_ten_moves_of_the_same_node_are_one_undo_step(lenet: Document) -> None:
    before = dumps(lenet.graph)
    for step in range(10):
        lenet.move_nodes({"conv1": (step * 10.0, -80.0 - step)})
    assert lenet.undo_stack.count() == 1
    assert lenet.graph.node("conv1").position == (90.0, -89.0)
    lenet.move_nodes({"fc1": (1, 1)})  # another node: a step of its own
    assert lenet.undo_stack.count() == 2
    lenet.undo_stack.undo()
    lenet.undo_stack.undo()
    assert dumps(lenet.graph) == before


def test_a_save_ends_merging(lenet: Document, tmp_path) -> None:
    lenet.move_nodes({"conv1": (1, 1)})
    lenet.save(tmp_path / "a.layerbook.json")
    lenet.move_nodes({"conv1": (2, 2)})
    assert lenet.undo_stack.count() == 2


@pytest.mark.parametrize("action, message", [
    (lambda d: d.connect("Y", "conv1"), "output"),
    (lambda d: d.connect("conv1", "conv2"), "already connected"),
    (lambda d: d.add_node("no-such-layer"), "unknown"),
    (lambda d: d.set_param("conv1", "out_channels", 0), "positive"),
    (lambda d: d.set_param("conv1", "colour", 1), "no meta-parameter"),
    (lambda d: d.set_param("conv1", "out_channels", "N*2"), "expressions"),
    (lambda d: d.rename("conv1", "conv2"), "already exists"),
    (lambda d: d.rename("conv1", "class"), "reserved"),
    (lambda d: d.set_repeat("fc1", 0), "from 1 to"),
    (lambda d: d.disconnect("X", "fc2"), "no wire"),
    (lambda d: d.group(["X", "conv1"]), "input"),
    (lambda d: d.group(["conv1", "relu1"]), "comes back"),
    (lambda d: d.ungroup("conv1"), "not a block"),
    (lambda d: d.paste("{not json"), "not Layerbook"),
    (lambda d: d.set_meta("depth", 3), "no meta-parameter"),
    (lambda d: d.remove_nodes(["nobody"]), "no node"),
])
def test_refused_edits_push_nothing(lenet: Document, action: Callable[[Document], object], message: str) -> None:
    before = dumps(lenet.graph)
    with pytest.raises(ValueError, match=message):
        action(lenet)
    assert lenet.undo_stack.count() == 0
    assert dumps(lenet.graph) == before


def test_a_wire_making_a_cycle_is_refused(qtbot) -> None:
    doc = Document(concat_graph())
    doc.connect("cat1", doc.add_node("+"))
    before, index = dumps(doc.graph), doc.undo_stack.index()
    with pytest.raises(GraphError, match="cycle"):
        doc.connect("add1", "cat1")
    assert dumps(doc.graph) == before and doc.undo_stack.index() == index


def random_edit(doc: Document, rng: random.Random) -> None:
    graph = doc.graph
    names = [n.name for n in graph.nodes]
    plain = [n.name for n in graph.nodes if n.type not in ("input", "output")]
    kind = rng.choice(["add", "connect", "set_param", "move", "remove", "group", "ungroup", "paste", "rename"])
    if kind == "add":
        doc.add_node(rng.choice(["relu", "conv-2d", "fully-conn", "dropout"]), (rng.randint(-300, 300), 0))
    elif kind == "connect" and len(names) > 1:
        doc.connect(*rng.sample(names, 2))
    elif kind == "set_param" and plain:
        node = graph.node(rng.choice(plain))
        key = {"conv-2d": "out_channels", "fully-conn": "out_features"}.get(node.type)
        if key:
            doc.set_param(node.name, key, rng.randint(1, 64))
    elif kind == "move" and names:
        doc.move_nodes({rng.choice(names): (rng.uniform(-500, 500), rng.uniform(-900, 0))})
    elif kind == "remove" and names:
        doc.remove_nodes(rng.sample(names, min(len(names), rng.randint(1, 2))))
    elif kind == "group" and plain:
        doc.group(rng.sample(plain, min(len(plain), rng.randint(1, 3))))
    elif kind == "ungroup":
        instances = [n.name for n in graph.nodes if n.type in graph.blocks]
        if instances:
            doc.ungroup(rng.choice(instances))
    elif kind == "paste" and plain:
        doc.paste(doc.copy(rng.sample(plain, min(len(plain), 2))))
    elif kind == "rename" and names:
        doc.rename(rng.choice(names), f"n{rng.randint(0, 10_000)}")


def test_undoing_two_hundred_random_edits_gives_back_lenet(lenet: Document) -> None:
    original = dumps(load_graph("lenet"))
    rng = random.Random(6)
    done = 0
    while done < 200:
        count = lenet.undo_stack.count()
        try:
            random_edit(lenet, rng)
        except ValueError:  # GraphError and ParamError: refused edits, which must change nothing
            assert lenet.undo_stack.count() == count
            continue
        done += 1
    assert lenet.undo_stack.count() > 100
    while lenet.undo_stack.canUndo():
        lenet.undo_stack.undo()
    assert dumps(lenet.graph) == original
    while lenet.undo_stack.canRedo():
        lenet.undo_stack.redo()
    assert dumps(lenet.graph) != original


def test_snapshot_restores_in_place_and_views_keep_listening(lenet: Document) -> None:
    graph = lenet.graph
    events: list[str] = []
    graph.events.subscribe(lambda kind, data: events.append(kind))
    lenet.group(["conv1", "maxpool1"])
    lenet.undo_stack.undo()
    assert lenet.graph is graph
    assert events[-1] == "changed"
    lenet.undo_stack.redo()
    assert events[-1] == "changed" and any(n.type == "block1" for n in graph.nodes)


def test_commands_refuse_unknown_names_without_pushing(lenet: Document) -> None:
    with pytest.raises(GraphError):
        lenet.move_nodes({"ghost": (0, 0)})
    assert lenet.undo_stack.count() == 0
