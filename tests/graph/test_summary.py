"""The cost summary: multiply-adds against a hand count and torch's own counter, memory of a training step."""

from __future__ import annotations

import pytest

from graph import load_graph
from graph.library import template_names
from graph.summary import Memory, largest_batch, summarize, training_memory
from tests.graph.builders import chain

LENET_MACS = {"conv1": 32 * 24 * 24 * 25, "conv2": 64 * 4 * 4 * 32 * 25, "fc1": 256 * 200, "fc2": 200 * 10}


def test_lenet_multiply_adds_by_hand() -> None:
    g = load_graph("lenet")
    summary = summarize(g, g.analyze())
    by_name = {r.name: r for r in summary.rows}
    assert by_name["conv1"].mult_adds == 460_800
    for name, macs in LENET_MACS.items():
        assert by_name[name].mult_adds == macs
    assert summary.mult_adds == sum(LENET_MACS.values()) == 1_333_200
    assert summary.parameters == 105_506
    assert by_name["conv1"].output_shape == (32, 24, 24)


@pytest.mark.parametrize("name", ["lenet", "alexnet", "resnet50", "autoencoder"])
def test_multiply_adds_agree_with_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from runtime.compile import build_module
    from runtime.inputs import example_inputs

    g = load_graph(name)
    module = build_module(g)
    inputs = example_inputs(g, batch=1)
    with FlopCounterMode(display=False) as counter:
        module(**inputs) if isinstance(inputs, dict) else module(*inputs)
    assert counter.get_total_flops() == 2 * summarize(g).mult_adds
    assert isinstance(torch.__version__, str)  # torch imported only here: the summary itself never needs it


def test_attention_counts_projections_and_the_t_squared_term() -> None:
    t, d = 16, 64
    g = chain((t, d), ("mha", {"num_heads": 4}))
    row = {r.name: r for r in summarize(g).rows}["mha1"]
    assert row.mult_adds == 4 * t * d * d + 2 * t * t * d


def test_repeated_blocks_sum_their_inner_rows() -> None:
    g = load_graph("resnet50")
    summary = summarize(g)
    assert summary.parameters == g.analyze().parameters
    blocks = [r for r in summary.rows if r.type not in ("conv-2d", "fully-conn") and r.mult_adds]
    assert blocks  # the residual stages carry the cost of their inside
    assert summary.mult_adds == 3_857_973_248  # resnet50's ~4 GMACs, equal to torch's counter above


@pytest.mark.parametrize("name", template_names())
def test_every_template_summarises(name: str) -> None:
    g = load_graph(name)
    summary = summarize(g)
    assert summary.parameters == g.analyze().parameters
    assert summary.mult_adds > 0 and summary.activations > 0


def test_training_memory_and_largest_batch() -> None:
    g = load_graph("lenet")
    summary = summarize(g)
    memory = training_memory(summary, 32)
    p = 105_506 * 4
    assert memory == Memory(p, p, 2 * p, summary.activations * 32 * 4, 4 * p + summary.activations * 128)
    assert training_memory(summary, 32, optimizer="sgd").optimizer_state == 0
    fits = largest_batch(summary, 100_000_000)
    assert training_memory(summary, fits).total <= 100_000_000 < training_memory(summary, fits + 1).total
    assert largest_batch(summary, 1000) == 0
