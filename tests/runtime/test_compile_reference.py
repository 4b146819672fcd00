"""The compiled module against hand-written torch modules (bench/references.py): with the same weights, the same
outputs, the same parameter gradients and the same batchnorm statistics after a training step, in train and in
eval mode, for the book's figures 5.1 to 5.8 and the library's blocks.

The weights go from the compiled module's state_dict to the reference's through an explicit key map, which must
use every entry of both; everything runs in float64, so a different computation cannot hide in rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor, nn
from torch.testing import assert_close

from bench.compile import SMALL_RESNET, gpt_graph, resnet_graph
from bench.references import (
    GPT,
    MLP,
    Bottleneck,
    CrossAttention,
    FeedForward,
    KeyMap,
    LeNet,
    ResNet,
    SelfAttention,
    load_compiled,
    nest,
    translate,
)
from graph import Graph, load_graph
from runtime import build_module

BATCH = 3


@dataclass(frozen=True)
class Case:
    name: str
    graph: Callable[[], Graph]
    reference: Callable[[], nn.Module]  # with a key_map() against the compiled module
    inputs: Callable[[], tuple[Tensor, ...]]

    def __str__(self) -> str:
        return self.name


def block_graph(block: str, *shapes: tuple[int, ...], **params: object) -> Graph:
    """Inputs X (and X2) → a block instance named `block` → output Y: the block's entries are `block.<inner>`."""
    g = Graph(f"one-{block}")
    node = g.add(block, "block", **params)
    ports = ("x_q", "x_kv") if len(shapes) == 2 else (None,)
    for index, (shape, port) in enumerate(zip(shapes, ports, strict=True)):
        g.connect(g.add("input", f"X{index + 1 if index else ''}", shape=shape), node, port)
    g.connect(node, g.add("output", "Y", loss="none"))
    return g


class Prefixed(nn.Module):
    """A reference block whose key map is moved under `block.`, the node that holds it in `block_graph`."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, *xs: Tensor) -> Tensor:
        return self.inner(*xs)

    def key_map(self) -> KeyMap:
        return nest(self.inner.key_map(), "inner", "block")


def floats(*shape: int) -> Callable[[], tuple[Tensor, ...]]:
    return lambda: (torch.randn(BATCH, *shape, dtype=torch.float64),)


def ids(vocab: int, length: int) -> Callable[[], tuple[Tensor, ...]]:
    return lambda: (torch.randint(0, vocab, (BATCH, length)),)


def block_case(name: str, reference: Callable[[], nn.Module], graph: Callable[[], Graph],
               inputs: Callable[[], tuple[Tensor, ...]]) -> Case:
    return Case(name, graph, lambda: Prefixed(reference()), inputs)


CASES = [
    Case("mlp (5.1)", lambda: load_graph("mlp"), MLP, floats(50)),
    Case("lenet (5.2)", lambda: load_graph("lenet"), LeNet, floats(1, 28, 28)),
    block_case("resblock (5.3)", lambda: Bottleneck(16), lambda: block_graph("resblock", (16, 6, 6)),
               floats(16, 6, 6)),
    block_case("dresblock S=1 (5.4)", lambda: Bottleneck(16, 1),
               lambda: block_graph("dresblock", (16, 6, 6), S=1), floats(16, 6, 6)),
    block_case("dresblock S=2 (5.4)", lambda: Bottleneck(16, 2),
               lambda: block_graph("dresblock", (16, 6, 6), S=2), floats(16, 6, 6)),
    block_case("self-att (5.6)", lambda: SelfAttention(16, 4), lambda: block_graph("self-att", (5, 16), heads=4),
               floats(5, 16)),
    block_case("self-att causal (5.6)", lambda: SelfAttention(16, 2, causal=True),
               lambda: block_graph("self-att", (5, 16), heads=2, causal=True), floats(5, 16)),
    block_case("cross-att (5.6)", lambda: CrossAttention(16, 12, 4),
               lambda: block_graph("cross-att", (5, 16), (7, 12), heads=4),
               lambda: floats(5, 16)() + floats(7, 12)()),
    block_case("ffw with dropout (5.6)", lambda: FeedForward(16, p=0.25),
               lambda: block_graph("ffw", (5, 16), p=0.25), floats(5, 16)),
    Case("gpt, 2 blocks (5.8)", lambda: gpt_graph(11, 6, 16, 2, 4, p=0.1), lambda: GPT(11, 6, 16, 2, 4, p=0.1),
         ids(11, 6)),
    Case("gpt, torch attention (bench)", lambda: gpt_graph(11, 6, 16, 2, 4),
         lambda: GPT(11, 6, 16, 2, 4, fused=True), ids(11, 6)),
    Case("resnet (bench)", lambda: resnet_graph(SMALL_RESNET, classes=10, width=8, large=False, size=8),
         lambda: ResNet(SMALL_RESNET, classes=10, width=8, large=False, pool=4), floats(3, 8, 8)),
]


def scramble(module: nn.Module) -> None:
    """Replace every tensor whose entries are all equal (fresh norms, running statistics, biases set to zero) by
    positive random values, so that a weight or statistic copied to the wrong place cannot go unnoticed."""
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if tensor.is_floating_point() and tensor.numel() > 1 and bool((tensor == tensor.flatten()[0]).all()):
                tensor.copy_(torch.rand_like(tensor) + 0.5)


def pair(case: Case) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    compiled = build_module(case.graph()).double()
    scramble(compiled)
    reference = case.reference().double()
    load_compiled(reference, compiled, reference.key_map())
    return compiled, reference


def step(module: nn.Module, inputs: tuple[Tensor, ...]) -> Tensor:
    """Forward, then backward of a weighted sum of the outputs (the same random weights each time); dropout
    draws from the same seed each time."""
    module.zero_grad(set_to_none=True)
    torch.manual_seed(1234)
    out = module(*inputs)
    weights = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(5))
    (out * weights).sum().backward()
    return out.detach()


def gradients(module: nn.Module) -> dict[str, Tensor]:
    grads = {}
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None, f"no gradient reached {name}"
        grads[name] = parameter.grad
    return grads


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_compiled_module_computes_what_the_hand_written_module_computes(case: Case, training: bool) -> None:
    compiled, reference = pair(case)
    compiled.train(training)
    reference.train(training)
    torch.manual_seed(7)
    inputs = case.inputs()
    ours, theirs = step(compiled, inputs), step(reference, inputs)
    assert_close(ours, theirs)
    key_map = reference.key_map()
    parameters = {name: key_map[name] for name, _ in reference.named_parameters()}
    assert_close(translate(gradients(compiled), parameters), gradients(reference))
    # In train mode this compares the batchnorm statistics both updated during the step.
    assert_close(translate(compiled.state_dict(), key_map), reference.state_dict())


def test_dropout_acts_in_train_mode_only() -> None:
    """The ffw case above compares dropout masks drawn from one seed; here, dropout does drop."""
    compiled = build_module(block_graph("ffw", (5, 16), p=0.5))
    x = torch.randn(BATCH, 5, 16)
    assert not torch.equal(compiled.train()(x), compiled(x))
    assert torch.equal(compiled.eval()(x), compiled(x))


@pytest.mark.parametrize("causal", [True, False])
def test_causal_attention_sees_only_the_past(causal: bool) -> None:
    """Independent of any reference: changing the last position changes earlier outputs only without the mask."""
    compiled = build_module(block_graph("self-att", (5, 16), heads=4, causal=causal)).double()
    x = torch.randn(BATCH, 5, 16, dtype=torch.float64)
    changed = x.clone()
    changed[:, -1] += 1.0
    before, after = compiled(x), compiled(changed)
    assert torch.equal(before[:, :-1], after[:, :-1]) == causal
    assert not torch.equal(before[:, -1], after[:, -1])


def test_cross_attention_takes_keys_and_values_from_its_second_input() -> None:
    compiled = build_module(block_graph("cross-att", (5, 16), (7, 12), heads=4)).double()
    q, kv = torch.randn(BATCH, 5, 16, dtype=torch.float64), torch.randn(BATCH, 7, 12, dtype=torch.float64)
    assert not torch.equal(compiled(q, kv), compiled(q, kv.flip(1) * 2))
    assert_close(compiled(q, kv), compiled(q, kv[:, torch.randperm(7)]))  # attention ignores the keys' order
