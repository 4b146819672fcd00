"""The book's large models compiled on the meta device (no memory, no time): their parameter counts are the
published ones (BOOK-FIGURES.md: torchvision's resnet50 and vit_b_16, GPT-2 small untied), equal the graph's own
analysis, every tensor has the shape of the hand-written module's (bench/references.py), and a meta forward gives
the output shape."""

from __future__ import annotations

import pytest
import torch
from torch import fx, nn

from bench.compile import RESNET50, chain, gpt_graph, resnet_graph
from bench.references import GPT, ResNet, translate
from graph import Graph
from runtime import build_module

RESNET50_PARAMETERS = 25_557_032
VIT_B16_PARAMETERS = 86_567_656
GPT2_UNTIED_PARAMETERS = 124_439_808 + 50_257 * 768
BATCH = 2


def vit_b16() -> Graph:
    """Figure 5.9 at ViT-B/16: 196 flattened 16×16×3 patches → fully-conn 768 → cls-token → + learned pos-enc
    → [self-att, ffw] ×12 → layernorm → readout 0 → fully-conn 1000."""
    g = Graph("vit")
    block = Graph("encoder", blocks=g.blocks)
    chain(block, block.add("input", "x", shape=["T", "D"]), ("self-att", "att", {"heads": 12}), ("ffw", "ff", {}),
          ("output", "y", {"loss": "none"}))
    g.blocks["encoder"] = block
    tokens = chain(g, g.add("input", "X", shape=(196, 768)), ("fully-conn", "patch", {"out_features": 768}),
                   ("cls-token", "cls", {}))
    pos = chain(g, tokens, ("pos-enc", "pos", {"kind": "learned", "max_len": 197}))
    total = g.add("+", "add")
    g.connect(tokens, total)
    g.connect(pos, total)
    chain(g, total, ("encoder", "blocks", {"repeat": 12}), ("layernorm", "ln", {}), ("readout", "z0", {"index": 0}),
          ("fully-conn", "head", {"out_features": 1000}), ("output", "Y", {}))
    return g


def parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def meta_forward(module: fx.GraphModule, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Size:
    return module(torch.empty(*shape, dtype=dtype, device="meta")).shape


def same_shapes(compiled: nn.Module, reference: nn.Module) -> None:
    theirs = translate(compiled.state_dict(), reference.key_map())
    ours = reference.state_dict()
    assert theirs.keys() == ours.keys()
    assert all(theirs[k].shape == ours[k].shape for k in ours), [k for k in ours if theirs[k].shape != ours[k].shape]


@pytest.fixture(scope="module")
def resnet50() -> tuple[Graph, fx.GraphModule]:
    graph = resnet_graph(RESNET50)
    return graph, build_module(graph, device="meta")


def test_resnet50_has_torchvisions_parameter_count(resnet50: tuple[Graph, fx.GraphModule]) -> None:
    graph, module = resnet50
    assert all(p.is_meta for p in module.parameters())
    assert parameters(module) == RESNET50_PARAMETERS == graph.analyze().parameters
    assert meta_forward(module, BATCH, 3, 224, 224) == (BATCH, 1000)


def test_resnet50_tensors_have_the_shapes_of_the_hand_written_resnet50(resnet50: tuple[Graph, fx.GraphModule]) -> None:
    with torch.device("meta"):
        reference = ResNet(RESNET50, classes=1000)
    assert parameters(reference) == RESNET50_PARAMETERS
    same_shapes(resnet50[1], reference)


def test_vit_b16_has_torchvisions_parameter_count() -> None:
    graph = vit_b16()
    module = build_module(graph, device="meta")
    assert all(p.is_meta for p in module.parameters())
    assert parameters(module) == VIT_B16_PARAMETERS == graph.analyze().parameters
    assert meta_forward(module, BATCH, 196, 768) == (BATCH, 1000)


def test_gpt2_small_untied_has_the_published_parameter_count() -> None:
    graph = gpt_graph(vocab=50_257, length=1024, dim=768, depth=12, heads=12)
    module = build_module(graph, device="meta")
    assert all(p.is_meta for p in module.parameters())
    assert parameters(module) == GPT2_UNTIED_PARAMETERS == graph.analyze().parameters
    assert meta_forward(module, BATCH, 1024, dtype=torch.long) == (BATCH, 1024, 50_257)
    with torch.device("meta"):
        reference = GPT(50_257, 1024, 768, 12, 12)
    same_shapes(module, reference)
