"""The cost summary: multiply-adds against a hand count and torch's own counter, memory of a training step."""

from __future__ import annotations

import pytest

from graph import Graph, load_graph
from graph.capacity import Available, format_bytes
from graph.library import template_names
from graph.summary import (
    DEFAULT_BATCH,
    DEFAULT_MOMENTUM,
    Memory,
    fit_problem,
    largest_batch,
    memory_parts,
    summarize,
    training_memory,
    training_optimizer,
)
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


def test_training_memory_by_hand() -> None:
    """input(8) → fully-conn(4) → relu → output (cross-entropy), at batch 10 with Adam, counted by hand."""
    g = chain((8,), ("fully-conn", {"out_features": 4}), ("relu", {}))
    g.set_param("Y", "loss", "cross-entropy")
    summary = summarize(g)
    assert summary.parameters == 36
    assert summary.activations == 8 + 4 + 4 + 4  # the batch, fc's output, relu's, the loss's log-probabilities
    assert summary.largest == 4  # the data gets no gradient: it never counts as the largest tensor
    memory = training_memory(summary, 10, "adam")
    weights = 36 * 4
    assert memory == Memory(parameters=weights, buffers=0, gradients=weights, optimizer_state=2 * weights,
                            activations=20 * 10 * 4, workspace=2 * 4 * 10 * 4 + weights)
    assert memory.total == 4 * weights + 800 + 464 and memory.model == weights
    assert training_memory(summary, 10, "sgd").optimizer_state == 0
    assert training_memory(summary, 10, "momentum").optimizer_state == weights
    assert training_memory(summary, 10, "sgd").workspace == 2 * 4 * 10 * 4
    half = training_memory(summary, 10, "adam", activation_bytes=2)
    assert half.activations == memory.activations // 2 and half.workspace == 2 * 4 * 10 * 2 + 36 * 2 + weights


def test_largest_batch_is_the_last_that_fits() -> None:
    summary = summarize(load_graph("lenet"))
    fits = largest_batch(summary, 100_000_000)
    assert training_memory(summary, fits).total <= 100_000_000 < training_memory(summary, fits + 1).total
    assert largest_batch(summary, 1000) == 0


@pytest.mark.parametrize(("layer", "shape", "kept"), [
    (("maxpool", {"kernel_size": 2}), (1, 4, 4), 4 * 3),  # its output and int64 indices of the maxima
    (("dropout", {"p": 0.5}), (8,), 8 + 2),  # its output and a one-byte mask
    (("reshape", {"shape": [2, 4]}), (8,), 0),  # a view of its input
    (("lstm", {"hidden_size": 4}), (5, 3), 5 * 4 + 5 * ((2 * 4 + 3) * 4 + 3)),  # and its gates at every step
    (("gru", {"hidden_size": 4}), (5, 3), 5 * 4 + 5 * ((2 * 3 + 3) * 4 + 3)),
    (("mha", {"num_heads": 2}), (5, 4), 5 * 4 + 4 * 5 * 4),  # and its projections; fused: no weights kept
    (("mha", {"num_heads": 2, "dropout": 0.1}), (5, 4), 5 * 4 + 4 * 5 * 4 + 3 * 2 * 5 * 5),
])
def test_what_a_layer_keeps_for_the_backward_pass(layer: tuple, shape: tuple[int, ...], kept: int) -> None:
    rows = {r.type: r for r in summarize(chain(shape, layer)).rows}
    assert rows[layer[0]].activations == kept


def test_buffers_and_token_ids_are_counted() -> None:
    g = chain((3, 4, 4), ("batchnorm", {}))
    assert summarize(g).buffers == 2 * 3 + 1  # running mean and variance, the step count
    g = chain((5,), ("embed", {"num_embeddings": 10, "embedding_dim": 4}), g=Graph("tokens"))
    g.set_param("X", "dtype", "int")
    assert {r.type: r for r in summarize(g).rows}["input"].activations == 2 * 5  # int64 ids: two values each


def test_the_default_settings_are_those_of_train() -> None:
    """graph/ cannot import the runtime's TrainConfig: its defaults are copied, and compared here."""
    defaults = pytest.importorskip("runtime.training.config").TrainConfig()
    assert (defaults.batch_size, defaults.momentum) == (DEFAULT_BATCH, DEFAULT_MOMENTUM)
    assert training_optimizer(Graph("plain")) == defaults.optimizer
    assert training_optimizer(load_graph("gpt")) == "adamw"


def test_fit_problem_gives_the_figures_and_the_batch_that_fits() -> None:
    summary = summarize(load_graph("lenet"))
    step = training_memory(summary, 32).total
    assert fit_problem(summary, 32, "adam", Available(2 * step, "of free RAM")) is None
    tight = Available(step, "of free RAM")  # 80% of it may be used: batch 32 no longer fits
    fits = largest_batch(summary, tight.usable)
    assert 0 < fits < 32
    text = fit_problem(summary, 32, "adam", tight)
    assert text == (f"one training step at batch size 32 needs about {format_bytes(step)} "
                    f"({', '.join(memory_parts(training_memory(summary, 32), 'adam'))}) but "
                    f"{format_bytes(tight.usable)} (80% of the {format_bytes(step)} of free RAM, a 20% safety "
                    f"margin) may be used: batch size {fits} fits: set the batch size to {fits} (--batch-size {fits})")
    weights = fit_problem(summary, 32, "adam", Available(1000, "of free RAM"))
    assert "even the weights, their gradients and the optimizer's state" in weights
