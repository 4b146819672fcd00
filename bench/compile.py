"""The compiled module against a hand-written one holding the same weights (bench/references.py).

Forward (eval, no grad) and forward+backward (train) on LeNet, a small ResNet and a small GPT, the two modules
timed alternately in the same run so that both see the same machine; the compiled graph should cost nothing
(speed-up ≈ 1x). Also the time `build_module` takes for ResNet-50, on the CPU and on the meta device, against
constructing the hand-written ResNet-50 there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from bench.references import GPT, LeNet, ResNet, load_compiled
from bench.timing import Row, interleaved
from graph import Graph, load_graph
from runtime import build_module

RESNET50 = ((1, 2), (2, 3), (2, 5), (2, 2))  # (S of the dresblock, resblocks after it) per stage, Figure 5.5
SMALL_RESNET = ((1, 1), (2, 1))
Layer = tuple[str, str, dict[str, Any]]  # type, node name, meta-parameters (repeat included)


# --- the graphs -----------------------------------------------------------------------------------------------

def chain(graph: Graph, start: str, *layers: Layer) -> str:
    """Add `layers` one after the other from node `start`; returns the last node's name."""
    previous = start
    for type_name, name, params in layers:
        node = graph.add(type_name, name, **params)
        graph.connect(previous, node)
        previous = node
    return previous


def resnet_graph(stages: Sequence[tuple[int, int]] = RESNET50, classes: int = 1000, width: int = 64,
                 large: bool = True, size: int = 224) -> Graph:
    """Figure 5.5 from the library blocks: stem, per stage `down{i}` (dresblock S) and `stage{i}` (resblock ×r),
    avgpool, reshape, fc. `large`: ResNet-50's 7×7 stride-2 stem and max pool; else a 3×3 stem."""
    g = Graph("resnet")
    x = g.add("input", "X", shape=(3, size, size))
    stem = ({"kernel_size": 7, "stride": 2, "padding": 3} if large else {"kernel_size": 3, "padding": 1})
    last = chain(g, x, ("conv-2d", "stem", {"out_channels": width, "bias": False, **stem}),
                 ("batchnorm", "stem_bn", {}), ("relu", "stem_relu", {}))
    if large:
        last = chain(g, last, ("maxpool", "pool", {"kernel_size": 3, "stride": 2, "padding": 1}))
    channels, side = width, size // 4 if large else size
    for number, (stride, repeats) in enumerate(stages, start=1):
        last = chain(g, last, ("dresblock", f"down{number}", {"S": stride}),
                     ("resblock", f"stage{number}", {"repeat": repeats}))
        channels, side = 4 * channels // stride, side // stride
    chain(g, last, ("avgpool", "avgpool", {"kernel_size": side}), ("reshape", "flat", {"shape": [channels]}),
          ("fully-conn", "fc", {"out_features": classes}), ("output", "Y", {}))
    return g


def gpt_graph(vocab: int, length: int, dim: int, depth: int, heads: int, p: float = 0.0) -> Graph:
    """Figure 5.8: ids → embed, + learned pos-enc → [att (causal self-att) → ff (ffw)] ×depth → ln → head."""
    g = Graph("gpt")
    block = Graph("gpt-block", blocks=g.blocks)
    chain(block, block.add("input", "x", shape=["T", "D"]), ("self-att", "att", {"heads": heads, "causal": True}),
          ("ffw", "ff", {"p": p}), ("output", "y", {"loss": "none"}))
    g.blocks["gpt-block"] = block
    ids = g.add("input", "X", shape=(length,), dtype="int", vocab_size=vocab)
    embed = chain(g, ids, ("embed", "embed", {"num_embeddings": vocab, "embedding_dim": dim}))
    pos = chain(g, embed, ("pos-enc", "pos", {"kind": "learned", "max_len": length}))
    total = g.add("+", "add")
    g.connect(embed, total)
    g.connect(pos, total)
    chain(g, total, ("gpt-block", "blocks", {"repeat": depth}), ("layernorm", "ln", {}),
          ("fully-conn", "head", {"out_features": vocab, "bias": False}), ("output", "Y", {}))
    return g


# --- timing -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    name: str
    size: str
    graph: Graph
    reference: nn.Module
    inputs: tuple[Tensor, ...]
    repeats: int  # interleaved rounds: runs of each module per measurement


def workloads() -> Iterator[Workload]:
    torch.manual_seed(0)
    yield Workload("LeNet", "batch 256", load_graph("lenet"), LeNet(), (torch.randn(256, 1, 28, 28),), 15)
    yield Workload("ResNet 3×32×32, 4 blocks", "batch 32",
                   resnet_graph(SMALL_RESNET, classes=10, width=16, large=False, size=32),
                   ResNet(SMALL_RESNET, classes=10, width=16, large=False, pool=16), (torch.randn(32, 3, 32, 32),), 15)
    yield Workload("GPT T=64 D=128, 2 blocks", "batch 16", gpt_graph(256, 64, 128, 2, 4),
                   GPT(256, 64, 128, 2, 4, fused=True), (torch.randint(0, 256, (16, 64)),), 30)


def forward(module: nn.Module, inputs: tuple[Tensor, ...]) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return module(*inputs)
    return run


def training_step(module: nn.Module, inputs: tuple[Tensor, ...]) -> Callable[[], object]:
    def run() -> None:
        module.zero_grad(set_to_none=True)
        module(*inputs).sum().backward()
    return run


def _throughput(work: Workload) -> list[Row]:
    compiled = build_module(work.graph)
    load_compiled(work.reference, compiled, work.reference.key_map())
    compiled.eval()
    work.reference.eval()
    torch.testing.assert_close(forward(compiled, work.inputs)(), forward(work.reference, work.inputs)())
    timing = interleaved(forward(compiled, work.inputs), forward(work.reference, work.inputs), work.repeats)
    rows = [Row(f"compiled forward: {work.name}", work.size, timing, "hand-written torch")]
    compiled.train()
    work.reference.train()
    timing = interleaved(training_step(compiled, work.inputs), training_step(work.reference, work.inputs),
                         work.repeats)
    rows.append(Row(f"compiled forward+backward: {work.name}", work.size, timing, "hand-written torch"))
    return rows


def _build_rows() -> list[Row]:
    graph = resnet_graph()
    rows = []
    for device, repeats in (("cpu", 5), ("meta", 7)):
        def ours(device: str = device) -> object:
            graph.touch()  # analysis included: the cost of building after an edit
            return build_module(graph, device=device)

        def reference(device: str = device) -> object:
            with torch.device(device):
                return ResNet(RESNET50, classes=1000)

        rows.append(Row(f"build_module ResNet-50 ({device})", "25.6M parameters",
                        interleaved(ours, reference, repeats), "hand-written ResNet-50"))
    return rows


def run() -> list[Row]:
    rows = [row for work in workloads() for row in _throughput(work)]
    return rows + _build_rows()
