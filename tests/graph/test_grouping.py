"""Grouping a selection into a block and inlining it back keep the model: same shapes, same parameter count,
and (with torch) the same function."""

from __future__ import annotations

from typing import Any

import pytest

from graph.fileformat import dumps, load_graph, loads
from graph.grouping import group, ungroup
from graph.model import Graph, GraphError
from graph.resolve import block_inputs, block_outputs


def summary(graph: Graph) -> tuple[int, dict[str, Any], int]:
    analysis = graph.analyze()
    outputs = {n.name: analysis.nodes[n.name].output for n in graph.nodes if n.type == "output"}
    return analysis.parameters, outputs, len(analysis.errors)


def test_group_lenet_middle_keeps_shapes_and_parameters() -> None:
    graph = load_graph("lenet")
    before = summary(graph)
    instance = group(graph, ["conv2", "maxpool2", "relu2"])
    block = graph.blocks[graph.node(instance).type]
    assert block_inputs(block) == ["x"] and block_outputs(block) == ["y"]
    assert "conv2" not in graph and graph.node(instance).type == "block1"
    assert [e.src for e in graph.in_edges(instance)] == ["relu1"]
    assert [e.dst for e in graph.out_edges(instance)] == ["reshape1"]
    assert summary(graph) == before
    assert graph.analyze().nodes[instance].output.shape == (64, 2, 2)
    assert instance in graph.brackets[0].nodes and "conv2" not in graph.brackets[0].nodes
    # the file round-trips with its new block
    assert dumps(loads(dumps(graph))) == dumps(graph)


def test_ungroup_gives_back_the_same_model() -> None:
    graph = load_graph("lenet")
    before = summary(graph)
    instance = group(graph, ["conv1", "maxpool1", "relu1", "conv2"])
    inlined = ungroup(graph, instance)
    assert sorted(inlined) == ["conv1", "conv2", "maxpool1", "relu1"]
    assert summary(graph) == before
    assert [e.src for e in graph.in_edges("conv2")] == ["relu1"]


def test_group_with_several_inputs_and_outputs_keeps_concat_order() -> None:
    graph = Graph("branches")
    graph.add("input", "X", shape=[4, 8, 8])
    for index, name in enumerate(("A", "B", "C")):
        graph.add("conv-2d", name, out_channels=index + 1, kernel_size=1)
        graph.connect("X", name)
    graph.add("concat", "cat1")
    for name in ("A", "B", "C"):
        graph.connect(name, "cat1")
    graph.add("output", "Y", loss="none")
    graph.connect("cat1", "Y")
    before = summary(graph)
    instance = group(graph, ["A", "C"])
    block = graph.blocks["block1"]
    assert block_inputs(block) == ["x"]  # one distinct source, X, feeds both
    assert block_outputs(block) == ["y1", "y2"]
    assert [(e.src, e.src_port) for e in graph.in_edges("cat1")] == [(instance, "y1"), ("B", "y"), (instance, "y2")]
    assert summary(graph) == before
    assert graph.analyze().nodes["cat1"].output.shape == (6, 8, 8)
    ungroup(graph, instance)
    assert [e.src for e in graph.in_edges("cat1")] == ["A", "B", "C"]
    assert summary(graph) == before


def test_ungroup_a_library_block_substitutes_the_instance_values() -> None:
    graph = load_graph("resnet50")
    before = summary(graph)
    inlined = ungroup(graph, "down2")
    assert "down2" not in graph and len(inlined) == 12
    conv = next(graph.node(n) for n in inlined if graph.node(n).params.get("stride") == 2
                and graph.node(n).params.get("kernel_size") == 1 and graph.node(n).params["out_channels"] == 128)
    assert conv.params["out_channels"] == 128  # C/S with C=256 (from the input shape) and S=2
    assert summary(graph) == before


def test_knobs_of_the_model_stay_linked_through_group_and_ungroup() -> None:
    graph = load_graph("resnet50")
    before = summary(graph)
    instance = group(graph, ["reshape1", "fc1"], "head")
    assert set(graph.blocks["head"].params) == {"classes"}
    assert graph.node(instance).params == {"classes": "classes"}
    assert summary(graph) == before
    graph.set_meta("classes", 10)
    assert graph.analyze().nodes["Y"].output.shape == (10,)
    ungroup(graph, instance)
    assert graph.node("fc1").params["out_features"] == "classes"  # still the knob, not its value
    graph.set_meta("classes", None)
    assert summary(graph) == before


def test_repeated_instances_are_refused() -> None:
    with pytest.raises(GraphError, match="repeat"):
        ungroup(load_graph("resnet50"), "stage1")


def test_group_inside_a_block_passes_shape_symbols_as_meta_parameters() -> None:
    graph = load_graph("resnet50")
    before = summary(graph)
    from graph.fileformat import _block_document, to_document
    from graph.library import library_blocks
    from graph.snapshot import restore

    doc = to_document(graph)
    doc["blocks"] = {"resblock": _block_document(library_blocks()["resblock"])}
    restore(graph, doc)
    inside = graph.blocks["resblock"]
    group(inside, ["conv1", "bn1", "relu1"], "reduce")
    assert set(graph.blocks["reduce"].params) == {"C"}
    assert summary(graph) == before


@pytest.mark.parametrize("names, message", [
    (["X", "conv1"], "input"),
    (["fc2", "Y"], "output"),
    (["conv1", "relu1"], "comes back"),
    ([], "select"),
    (["ghost"], "no node"),
])
def test_bad_selections_are_refused(names: list[str], message: str) -> None:
    graph = load_graph("lenet")
    before = dumps(graph)
    with pytest.raises(GraphError, match=message):
        group(graph, names)
    assert dumps(graph) == before


def test_a_taken_block_name_is_refused() -> None:
    graph = load_graph("lenet")
    group(graph, ["conv1"], "first")
    with pytest.raises(GraphError, match="already exists"):
        group(graph, ["fc1"], "first")
    with pytest.raises(GraphError, match="layer type"):
        group(graph, ["fc1"], "relu")


def test_grouped_model_computes_the_same_function() -> None:
    torch = pytest.importorskip("torch")
    from runtime import build_module

    graph = load_graph("lenet")
    original = build_module(graph).eval()
    group(graph, ["conv2", "maxpool2", "relu2", "reshape1", "fc1"])
    grouped = build_module(graph).eval()
    by_suffix = {tuple(k.split(".")[-2:]): v for k, v in original.state_dict().items()}
    grouped.load_state_dict({k: by_suffix[tuple(k.split(".")[-2:])] for k in grouped.state_dict()}, strict=True)
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(original(x), grouped(x))
