"""The Document: scope editing inside blocks, files, the modified marker, clipboard across documents (its autosave:
test_autosave.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.document import Document
from graph.fileformat import GraphFileError, dumps, load_graph
from graph.model import GraphError


@pytest.fixture
def resnet(qtbot) -> Document:
    return Document.from_template("resnet50")


def stage_parameters(doc: Document) -> dict[str, int]:
    analysis = doc.analysis()
    return {n.name: analysis.nodes[n.name].parameters for n in doc.graph.nodes if n.type == "resblock"}


def test_editing_inside_a_block_changes_every_instance(resnet: Document, qtbot) -> None:
    before = stage_parameters(resnet)
    original = dumps(resnet.graph)
    resnet.enter_block("stage2")  # an instance's name enters its block
    assert resnet.scope == ["resblock"]
    assert resnet.scope_graph.node("conv2").params["out_channels"] == "C/4"
    with qtbot.waitSignal(resnet.analysis_changed):
        resnet.set_param("conv2", "out_channels", "C/2")
    assert "resblock" in resnet.graph.blocks  # the document now has its own copy of the library block
    assert resnet.scope_graph is resnet.graph.blocks["resblock"]
    after = stage_parameters(resnet)
    assert all(after[name] > before[name] for name in before)  # every instance follows
    # conv2 is C/4 → C/2 in and out channels, 3×3: its weight grows from (C/4)²·9 to (C/4)(C/2)·9 (×2); conv3
    # reads C/2 channels (×2); bn2 normalises twice as many channels
    c = 256
    grown = (c // 4) * (c // 2) * 9 - (c // 4) ** 2 * 9 + (c // 2) * c - (c // 4) * c + 2 * (c // 2 - c // 4)
    assert after["stage1"] - before["stage1"] == 2 * grown
    assert resnet.analysis().nodes["Y"].output.shape == (1000,)
    assert resnet.undo_stack.count() == 1 and resnet.title().endswith("*")
    resnet.undo_stack.undo()
    assert dumps(resnet.graph) == original and stage_parameters(resnet) == before
    assert resnet.scope == ["resblock"]  # still looking at the (library) block


def test_scope_analysis_is_the_first_instance_inside(resnet: Document) -> None:
    resnet.enter_block("down2")
    inner = resnet.scope_analysis()
    assert inner.nodes["x"].output.shape == (64, 56, 56)  # the first instance is down1 (S=1)
    assert inner.nodes["y"].output.shape == (256, 56, 56)
    resnet.leave_block()
    assert resnet.scope == [] and resnet.scope_graph is resnet.graph
    with pytest.raises(GraphError):
        resnet.enter_block("conv1")


def test_scope_signals(resnet: Document, qtbot) -> None:
    with qtbot.waitSignal(resnet.scope_changed) as blocker:
        resnet.enter_block("resblock")
    assert blocker.args == [["resblock"]]
    with qtbot.waitSignal(resnet.scope_changed):
        resnet.set_scope([])


def test_group_in_the_document_keeps_shapes_and_parameters(resnet: Document) -> None:
    total = resnet.analysis().parameters
    instance = resnet.group(["bn1", "relu1", "maxpool1"], "stem")
    assert resnet.graph.node(instance).type == "stem"
    assert resnet.analysis().parameters == total and resnet.analysis().ok
    assert resnet.analysis().nodes[instance].output.shape == (64, 56, 56)
    inlined = resnet.ungroup(instance)
    assert sorted(inlined) == ["bn1", "maxpool1", "relu1"]
    assert resnet.analysis().parameters == total


def test_copy_from_one_document_paste_into_another(resnet: Document, qtbot) -> None:
    other = Document.from_template("lenet")
    text = resnet.copy(["down2", "stage2"])
    names = other.paste(text, offset=(100, 0))
    assert [other.graph.node(n).type for n in names] == ["dresblock", "resblock"]
    assert other.graph.in_edges(names[1])[0].src == names[0]
    assert other.graph.node(names[0]).position == (100, -560)
    assert other.graph.node(names[1]).repeat == 3
    other.undo_stack.undo()
    assert dumps(other.graph) == dumps(load_graph("lenet"))


def test_paste_brings_the_documents_own_blocks(resnet: Document, qtbot) -> None:
    block = resnet.group(["relu1", "maxpool1"], "pool_block")
    other = Document.new()
    pasted = other.paste(resnet.copy([block]))
    assert "pool_block" in other.graph.blocks
    assert other.graph.node(pasted[0]).type == "pool_block"


def test_save_marks_clean_and_title_loses_its_marker(resnet: Document, tmp_path: Path, qtbot) -> None:
    assert resnet.title() == "resnet50.layerbook.json" and not resnet.is_modified()
    with qtbot.waitSignal(resnet.modified_changed) as blocker:
        resnet.set_label("fc1", "scores")
    assert blocker.args == [True]
    assert resnet.title() == "resnet50.layerbook.json*" and resnet.is_modified()
    with qtbot.waitSignal(resnet.path_changed):
        saved = resnet.save(tmp_path / "mine")
    assert saved.name == "mine.layerbook.json" and resnet.path == saved
    assert resnet.title() == "mine.layerbook.json" and not resnet.is_modified()
    assert load_graph(saved).node("fc1").label == "scores"
    resnet.undo_stack.undo()
    assert resnet.title() == "mine.layerbook.json*"
    reopened = Document.open(saved)
    assert dumps(reopened.graph) != dumps(resnet.graph) and not reopened.is_modified()


def test_save_without_a_path_is_refused(qtbot) -> None:
    with pytest.raises(GraphError, match="no file"):
        Document.new().save()


def test_open_a_bad_file_raises(tmp_path: Path, qtbot) -> None:
    bad = tmp_path / "bad.layerbook.json"
    bad.write_text("{ nope")
    with pytest.raises(GraphFileError):
        Document.open(bad)


def test_apply_layout_is_one_undo_step(qtbot) -> None:
    layout = pytest.importorskip("graph.layout")
    doc = Document.from_template("lenet")
    doc.move_nodes({"conv1": (500, 500), "fc1": (-300, 40)})
    before = dumps(doc.graph)
    doc.apply_layout()
    wanted = layout.layered_layout(doc.graph)
    assert all(doc.graph.node(n).position == tuple(map(float, p)) for n, p in wanted.items())
    if dumps(doc.graph) != before:
        assert doc.undo_stack.count() == 2
        doc.undo_stack.undo()
        assert dumps(doc.graph) == before


def test_a_refused_edit_inside_a_library_block_copies_nothing(resnet: Document) -> None:
    before = dumps(resnet.graph)
    resnet.enter_block("resblock")
    with pytest.raises(GraphError, match="positive"):
        resnet.set_param("conv1", "kernel_size", 0)
    with pytest.raises(ZeroDivisionError):
        resnet.edit("Broken", lambda graph: (graph.set_param("conv1", "kernel_size", 3), 1 / 0))
    assert dumps(resnet.graph) == before and "resblock" not in resnet.graph.blocks
    assert resnet.undo_stack.count() == 0


def test_every_change_is_announced_and_the_graph_object_stays(resnet: Document, qtbot) -> None:
    graph = resnet.graph
    with qtbot.waitSignal(resnet.changed):
        resnet.group(["bn1", "relu1"])
    with qtbot.waitSignal(resnet.changed):
        resnet.undo_stack.undo()
    assert resnet.graph is graph and "block1" not in graph.blocks


def test_undoing_the_creation_of_the_block_in_scope_leaves_it(resnet: Document, qtbot) -> None:
    block = resnet.group(["bn1", "relu1"], "pair")
    resnet.enter_block(block)
    assert resnet.scope == ["pair"]
    resnet.set_label("bn1", "norm")
    with qtbot.waitSignal(resnet.scope_changed) as blocker:
        resnet.undo_stack.undo()
        resnet.undo_stack.undo()
    assert blocker.args == [[]] and resnet.scope == [] and resnet.scope_graph is resnet.graph
