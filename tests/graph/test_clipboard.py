"""Copy and paste as text: what travels, new names, offsets, block merging, and bad text refused politely."""

from __future__ import annotations

import json

import pytest

from graph.clipboard import copy_text, paste_text
from graph.fileformat import load_graph
from graph.grouping import group
from graph.model import Graph, GraphError


def test_copy_is_a_small_document_of_the_selection() -> None:
    graph = load_graph("lenet")
    doc = json.loads(copy_text(graph, ["conv1", "maxpool1", "fc1"]))
    assert doc["format"] == "layerbook"
    assert [n["name"] for n in doc["nodes"]] == ["conv1", "maxpool1", "fc1"]
    assert doc["edges"] == [{"from": "conv1", "to": "maxpool1"}]  # only wires inside the selection
    assert "blocks" not in doc and "brackets" not in doc and "training" not in doc


def test_paste_gives_fresh_names_and_shifts_positions() -> None:
    graph = load_graph("lenet")
    text = copy_text(graph, ["conv1", "maxpool1"])
    names = paste_text(graph, text, (40, 40))
    assert names == ["conv3", "maxpool3"]
    assert graph.node("conv3").position == (40, -40)
    assert graph.node("conv3").params == {"out_channels": 32, "kernel_size": 5}
    assert [e.src for e in graph.in_edges("maxpool3")] == ["conv3"]
    empty = Graph("other")
    assert paste_text(empty, text) == ["conv1", "maxpool1"]  # free names are kept


def test_blocks_travel_and_clashing_definitions_are_renamed() -> None:
    source = load_graph("lenet")
    instance = group(source, ["conv1", "maxpool1"], "stem")
    text = copy_text(source, [instance])
    target = load_graph("lenet")
    first = paste_text(target, text)
    assert list(target.blocks) == ["stem"] and target.node(first[0]).type == "stem"
    paste_text(target, text)
    assert list(target.blocks) == ["stem"]  # the same definition is shared, not copied twice
    target.blocks["stem"].set_param("conv1", "kernel_size", 3)
    third = paste_text(target, text)
    assert list(target.blocks) == ["stem", "stem_2"]
    assert target.node(third[0]).type == "stem_2"
    assert target.blocks["stem_2"].node("conv1").params["kernel_size"] == 5
    target.connect("X", third[0])
    target.connect("X", first[0])
    analysis = target.analyze()
    assert analysis.nodes[first[0]].parameters != analysis.nodes[third[0]].parameters
    assert analysis.nodes[third[0]].parameters == source.analyze().nodes[instance].parameters


def test_nested_blocks_come_along() -> None:
    source = load_graph("lenet")
    inner = group(source, ["conv1"], "inner")
    outer = group(source, [inner, "maxpool1"], "outer")
    target = Graph("t")
    paste_text(target, copy_text(source, [outer]))
    assert set(target.blocks) == {"inner", "outer"}


@pytest.mark.parametrize("text", [
    "", "   ", "hello", "[1, 2]", "{", '{"format": "other"}', '{"format": "layerbook", "version": 1, "nodes": 5}',
    '{"format": "layerbook", "version": 1, "nodes": [{"name": "__import__(\'os\')", "type": "relu"}]}',
    "[" * 100_000, '{"format": "layerbook", "version": 99, "nodes": [{"name": "a", "type": "relu"}]}',
])
def test_bad_text_is_refused_with_a_message(text: str) -> None:
    graph = load_graph("lenet")
    count = len(graph)
    with pytest.raises(GraphError) as raised:
        paste_text(graph, text)
    assert str(raised.value)
    assert len(graph) == count
