"""The sequence templates (the Transformer's blocks, the encoder-decoder, GPT, ViT, ViT-B/16, LSTM and GRU): each
file loads, is valid and canonical, and the module built from it on the meta device has the count of the graph's
own analysis, of a formula written out here and, for ViT-B/16, of torchvision's vit_b_16; changing a knob (a graph
meta-parameter) changes the count as the formula says. The small ones train a step on the CPU and export to ONNX
(the slowest exports with smaller knobs: the same drawing, fewer and shorter layers); GPT also matches the
hand-written GPT of bench/references.py value for value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from bench.references import GPT, translate
from graph import Graph, load_graph
from runtime import build_module
from runtime.export import export_onnx
from runtime.inputs import example_inputs
from tests.templates.canonical import load_canonical

BATCH = 2
MAX_ABS_DIFF = 1e-4
VIT_B16_PARAMETERS = 86_567_656  # torchvision's vit_b_16 (BOOK-FIGURES.md)


def attention(d: int) -> int:
    """self-att or cross-att: a layernorm and multi-head attention (Q, K, V and output projections)."""
    return 2 * d + 4 * d * d + 4 * d


def feed_forward(d: int, hidden: int = 0) -> int:
    h = hidden or 4 * d
    return 2 * d + (d * h + h) + (h * d + d)


def layer(d: int) -> int:
    """One encoder (or GPT, or ViT) layer: self-attention then feed-forward."""
    return attention(d) + feed_forward(d)


def transformer(V: int, D: int, N: int, **_: Any) -> int:
    decoder_layer = 2 * attention(D) + feed_forward(D)
    return 2 * V * D + N * layer(D) + N * decoder_layer + 2 * D + (D * V + V)


def gpt(V: int, T: int, D: int, N: int, **_: Any) -> int:
    return V * D + T * D + N * layer(D) + 2 * D + D * V  # the output projection has no bias


def vit(M: int, P: int, D: int, N: int, C: int, mlp: bool = True, **_: Any) -> int:
    encoder = (3 * P * P * D + D) + D + (M + 1) * D + N * layer(D) + 2 * D
    return encoder + (2 * (D * D + D) if mlp else 0) + D * C + C


def recurrent(gates: int) -> Callable[..., int]:
    def count(V: int, D: int, H: int, L: int, C: int, bidirectional: bool, **_: Any) -> int:
        directions = 2 if bidirectional else 1
        total, width = V * D, D
        for _layer in range(L):
            total += directions * gates * (H * width + H * H + 2 * H)
            width = directions * H
        return total + width * C + C
    return count


# name: (formula of the knobs, default knobs, output shape of one sample, a knob to change and its new value)
TEMPLATES: dict[str, tuple[Callable[..., int], dict[str, Any], tuple[int, ...], tuple[str, Any]]] = {
    "ffw": (lambda D, H, **_: feed_forward(D, H), {"T": 16, "D": 64, "H": 0}, (16, 64), ("H", 96)),
    "self-att": (lambda D, **_: attention(D), {"T": 16, "D": 64, "heads": 4, "causal": False}, (16, 64),
                 ("D", 32)),
    "cross-att": (lambda D, **_: attention(D), {"T": 16, "S": 12, "D": 64, "heads": 4}, (16, 64), ("D", 32)),
    "transformer": (transformer, {"V": 16, "T": 12, "S": 12, "D": 64, "N": 2, "heads": 4}, (12, 16), ("N", 3)),
    "gpt": (gpt, {"V": 96, "T": 64, "D": 128, "N": 4, "heads": 4}, (64, 96), ("N", 3)),
    "vit": (vit, {"M": 16, "P": 8, "D": 64, "N": 2, "heads": 4, "C": 10}, (10,), ("P", 4)),
    "vit-b16": (lambda **k: vit(**k, mlp=False), {"M": 196, "P": 16, "D": 768, "N": 12, "heads": 12, "C": 1000},
                (1000,), ("N", 6)),
    "lstm": (recurrent(4), {"V": 32, "T": 32, "D": 32, "H": 64, "L": 2, "C": 4, "bidirectional": False}, (4,),
             ("bidirectional", True)),
    "gru": (recurrent(3), {"V": 32, "T": 32, "D": 32, "H": 64, "L": 2, "C": 4, "bidirectional": False}, (4,),
            ("L", 3)),
}
SMALL = tuple(name for name in TEMPLATES if name != "vit-b16")
# Knobs for the export: the ONNX exporter's time grows with the number of layers and an LSTM's length.
EXPORT_KNOBS: dict[str, dict[str, Any]] = {
    "transformer": {"N": 1, "T": 6, "S": 6, "D": 32},
    "gpt": {"N": 1, "T": 16},
    "lstm": {"L": 1, "T": 6},
    "gru": {"L": 1, "T": 6},
}


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def meta_inputs(graph: Graph) -> list[torch.Tensor]:
    """One empty tensor per input, (BATCH, *shape), of the input's dtype."""
    return [torch.empty((BATCH, *t.shape[1:]), dtype=t.dtype, device="meta")
            for t in example_inputs(graph, batch=1).values()]


def with_knobs(name: str, knobs: dict[str, Any]) -> Graph:
    graph = load_graph(name)
    for key, value in knobs.items():
        graph.set_meta(key, value)
    return graph


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_template_file_is_canonical_and_complete(name: str) -> None:
    graph = load_canonical(name)
    assert graph.title and graph.source and graph.description
    formula, knobs, _, _ = TEMPLATES[name]
    assert {key: spec.default for key, spec in graph.params.items()} == knobs
    assert f"{formula(**knobs):,} parameters" in graph.description
    assert all(node.position is not None for node in graph)
    assert all(node.position[1] < graph.node("X").position[1] for node in graph if node.type == "output")
    if name in ("ffw", "self-att", "cross-att"):
        assert graph.node("Y").params["loss"] == "mse"
    else:
        assert graph.training["dataset"] and graph.training["epochs"] > 0 and graph.training["lr"] > 0
        assert graph.brackets


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_compiled_template_has_the_count_of_its_formula_and_output_shape(name: str) -> None:
    graph = load_graph(name)
    analysis = graph.analyze()
    assert analysis.ok, [p.message for p in analysis.problems]
    formula, knobs, shape, _ = TEMPLATES[name]
    module = build_module(graph, device="meta")
    assert parameters(module) == analysis.parameters == formula(**knobs)
    assert module(*meta_inputs(graph)).shape == (BATCH, *shape)


def test_vit_b16_has_torchvisions_parameter_count() -> None:
    assert load_graph("vit-b16").analyze().parameters == VIT_B16_PARAMETERS


@pytest.mark.parametrize("name", TEMPLATES)
def test_changing_a_knob_changes_the_count_as_the_formula_says(name: str) -> None:
    formula, knobs, _, (key, value) = TEMPLATES[name]
    graph = with_knobs(name, {key: value})
    analysis = graph.analyze()
    assert analysis.ok, [p.message for p in analysis.problems]
    assert analysis.parameters == formula(**{**knobs, key: value}) != formula(**knobs)
    assert parameters(build_module(graph, device="meta")) == analysis.parameters


@pytest.mark.parametrize("name", SMALL)
def test_the_small_template_trains_a_step_on_the_cpu(name: str) -> None:
    graph = load_graph(name)
    torch.manual_seed(0)
    module = build_module(graph, device="cpu").train()
    out = module(*example_inputs(graph, batch=BATCH).values())
    assert out.shape == (BATCH, *TEMPLATES[name][2]) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in module.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


@pytest.mark.parametrize("name", SMALL)
def test_the_small_template_exports_to_onnx(name: str, tmp_path: Path) -> None:
    graph = with_knobs(name, EXPORT_KNOBS.get(name, {}))
    report = export_onnx(graph, tmp_path / "m.onnx")
    assert report.path.is_file()
    assert report.max_abs_diff < MAX_ABS_DIFF


def test_gpt_computes_what_the_hand_written_gpt_computes() -> None:
    graph = load_graph("gpt")
    knobs = TEMPLATES["gpt"][1]
    torch.manual_seed(0)
    module = build_module(graph, device="cpu").eval()
    reference = GPT(knobs["V"], knobs["T"], knobs["D"], knobs["N"], knobs["heads"]).eval()
    reference.load_state_dict(translate(module.state_dict(), reference.key_map()))
    (ids,) = example_inputs(graph, batch=BATCH).values()
    with torch.no_grad():
        torch.testing.assert_close(module(ids), reference(ids), rtol=1e-4, atol=1e-5)
