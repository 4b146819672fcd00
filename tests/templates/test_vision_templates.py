"""The vision templates against their published parameter counts: each file loads, is valid and canonical, and the
module built from it on the meta device has the count of the paper or of torchvision (BOOK-FIGURES.md), the same
as the graph's own analysis, and the expected output shape. The small ones also train a step on the CPU and export
to ONNX; the giants export in a reduced copy (smaller image, fewer channels) built here from the template."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from graph import Graph, load_graph
from runtime import build_module
from runtime.export import export_onnx
from tests.templates.canonical import load_canonical

BATCH = 2
# name: (parameters, output shape of one sample)
EXPECTED = {
    "resnet50": (25_557_032, (1000,)),
    "lenet5": (61_706, (10,)),
    "alexnet": (61_100_840, (1000,)),
    "vgg16": (138_357_544, (1000,)),
    "densenet121": (7_978_856, (1000,)),
    "efficientnet-b0": (5_288_548, (1000,)),
    "unet": (116_753, (1, 64, 64)),
    "autoencoder": (37_569, (1, 28, 28)),
}
SMALL = ("lenet5", "unet", "autoencoder")
GIANTS = tuple(name for name in EXPECTED if name not in SMALL)
MAX_ABS_DIFF = 1e-4


def input_shape(graph: Graph) -> tuple[int, ...]:
    return tuple(graph.node("X").params["shape"])


@pytest.mark.parametrize("name", EXPECTED)
def test_the_template_file_is_canonical_and_complete(name: str) -> None:
    graph = load_canonical(name)
    assert graph.title and graph.source and graph.description
    assert f"{EXPECTED[name][0]:,}" in graph.description
    assert graph.training["dataset"] and graph.training["epochs"] > 0
    assert graph.node("X").label == "X"
    positions = [node.position for node in graph]
    assert all(p is not None for p in positions)
    outputs = graph.nodes_of_type("output")
    assert len(outputs) == 1 and outputs[0].position[1] < graph.node("X").position[1]  # the column goes up


@pytest.mark.parametrize("name", EXPECTED)
def test_the_template_has_its_published_parameter_count(name: str) -> None:
    graph = load_graph(name)
    analysis = graph.analyze()
    assert analysis.ok, [p.message for p in analysis.errors]
    module = build_module(graph, device="meta")
    count, output = EXPECTED[name]
    assert sum(p.numel() for p in module.parameters()) == count == analysis.parameters
    assert module(torch.empty(BATCH, *input_shape(graph), device="meta")).shape == (BATCH, *output)


@pytest.mark.parametrize("name", SMALL)
def test_a_small_template_trains_a_step_on_the_cpu(name: str) -> None:
    graph = load_graph(name)
    torch.manual_seed(0)
    module = build_module(graph, device="cpu").train()
    prediction = module(torch.rand(BATCH, *input_shape(graph)))
    assert prediction.shape == (BATCH, *EXPECTED[name][1])
    prediction.square().mean().backward()
    grads = [p.grad for p in module.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", SMALL)
def test_a_small_template_exports_to_onnx(name: str, tmp_path: Path) -> None:
    report = export_onnx(load_graph(name), tmp_path / "m.onnx")
    assert report.path.is_file() and report.max_abs_diff < MAX_ABS_DIFF


# --- the giants, reduced for a cheap export -------------------------------------------------------------------

def _set(graph: Graph, changes: dict[str, dict]) -> Graph:
    for node, params in changes.items():
        for key, value in params.items():
            graph.set_param(node, key, value)
    return graph


def fewer_copies(g: Graph, nodes: tuple[str, ...], repeat: int = 1) -> None:
    for node in nodes:
        g.set_repeat(node, repeat)


def small_resnet50(g: Graph) -> Graph:
    g.set_meta("classes", 10)
    fewer_copies(g, ("stage1", "stage2", "stage3", "stage4"))
    return _set(g, {"X": {"shape": [3, 64, 64]}, "conv1": {"out_channels": 8}, "avgpool1": {"kernel_size": 2},
                    "reshape1": {"shape": [-1]}})


def small_alexnet(g: Graph) -> Graph:
    g.set_meta("classes", 10)
    convs = {f"conv{i}": {"out_channels": c} for i, c in enumerate((4, 12, 24, 16, 16), start=1)}
    return _set(g, {"X": {"shape": [3, 64, 64]}, **convs, "reshape1": {"shape": [-1]},
                    "fc1": {"out_features": 32}, "fc2": {"out_features": 32}})


def small_vgg16(g: Graph) -> Graph:
    g.set_meta("classes", 10)
    convs = {f"convs{i}": {"K": k} for i, k in enumerate((4, 8, 16, 32, 32), start=1)}
    return _set(g, {"X": {"shape": [3, 32, 32]}, **convs, "apool1": {"output_size": 2},
                    "reshape1": {"shape": [-1]}, "fc1": {"out_features": 32}, "fc2": {"out_features": 32}})


def small_densenet121(g: Graph) -> Graph:
    g.set_meta("classes", 10)
    g.set_meta("growth", 4)
    fewer_copies(g, ("dense1", "dense2", "dense3", "dense4"), repeat=2)
    return _set(g, {"X": {"shape": [3, 32, 32]}, "conv0": {"out_channels": 8}})


def small_efficientnet_b0(g: Graph) -> Graph:
    g.set_meta("classes", 10)  # its squeeze-and-excitation needs channels divisible by 4: keep the widths
    fewer_copies(g, ("stage4_res", "stage5_res", "stage6_res"))
    return _set(g, {"X": {"shape": [3, 32, 32]}})


REDUCED: dict[str, Callable[[Graph], Graph]] = {
    "resnet50": small_resnet50,
    "alexnet": small_alexnet,
    "vgg16": small_vgg16,
    "densenet121": small_densenet121,
    "efficientnet-b0": small_efficientnet_b0,
}


@pytest.mark.parametrize("name", GIANTS)
def test_a_reduced_giant_exports_to_onnx(name: str, tmp_path: Path) -> None:
    graph = REDUCED[name](load_graph(name))
    analysis = graph.analyze()
    assert analysis.ok, [p.message for p in analysis.errors]
    assert analysis.parameters < EXPECTED[name][0]
    report = export_onnx(graph, tmp_path / "m.onnx")
    assert report.max_abs_diff < MAX_ABS_DIFF
    assert [dims[1:] for dims in report.outputs.values()] == [[10]]
