"""The training engine against a minimal hand-written torch loop on the same model, data and device.

Both start from the same weights (built from the same graph and seed), see the same batches in the same order
with the same optimizer; the minimal loop does nothing but forward, loss, backward and step. The engine also
reports metrics, checks for NaN, runs a (small) validation per epoch and answers stop requests: the ratio says
what that costs (target ≥ 0.95). Runs are interleaved (bench/timing.py), timed from the first step to the end.

Also the built-in shapes dataset, drawn on the fly: one batch of 64 images of 3×224×224 rendered, against the
floor of filling a tensor of that size with random numbers. Budget 500 ms, so that a batch is drawn well within
the time a model of that input size takes to train on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.timing import REPEATS, Row, interleaved, interleaved_figures
from graph import Graph, load_graph
from runtime import build_module
from runtime.data import Dataset, GraphSpec, load_dataset
from runtime.training import Status, TrainConfig, Trainer, template_config
from runtime.training.batching import epoch_plan
from runtime.training.distributed import World
from runtime.training.session import data_options

MIN_RATIO = 0.95
SHAPES_BATCH, SHAPES_BUDGET_MS = (64, 3, 224, 224), 500.0


@dataclass(frozen=True)
class Case:
    label: str
    graph: Graph
    dataset: str
    batch_size: int
    train_size: int


def cases() -> list[Case]:
    gpt = load_graph("gpt")
    for knob, value in (("D", 64), ("N", 2), ("T", 64)):  # a small GPT: a few seconds per measurement on a CPU
        gpt.set_meta(knob, value)
    return [Case("LeNet on digits", load_graph("lenet"), "digits", 32, 1437),
            Case("small GPT on pytext", gpt, "pytext", 32, 1280)]


def run() -> list[Row]:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return [_measure(case, device) for case in cases()] + [_shapes()]


def _shapes() -> Row:
    from runtime.data.shapes import render_shapes, shape_parameters

    count, channels, height, width = SHAPES_BATCH
    parameters = shape_parameters(count, 0)
    timing = interleaved(lambda: render_shapes(parameters, channels, height, width),
                         lambda: torch.rand(SHAPES_BATCH))
    return Row("data: draw a batch of shapes", f"{count} × {channels}×{height}×{width}", timing,
               "torch.rand of that size", SHAPES_BUDGET_MS)


def _measure(case: Case, device: torch.device) -> Row:
    config = template_config(case.graph.training).updated(
        epochs=1, batch_size=case.batch_size, train_size=case.train_size, val_size=case.batch_size,
        schedule="constant", warmup_steps=0, device=device.type)
    dataset = load_dataset(case.dataset, GraphSpec.of(case.graph), options=data_options(config))
    timing = interleaved_figures(lambda: engine_run(case.graph, config, dataset)[0],
                                 lambda: minimal_loop(case.graph, config, dataset, device)[0], REPEATS)
    samples = len(dataset.train)
    size = f"{samples:,} samples, batch {case.batch_size}, {samples / timing.ours_ms * 1000:,.0f} samples/s"
    return Row(f"train: {case.label} ({device.type})", size, timing, "minimal torch loop",
               budget_ms=timing.reference_ms / MIN_RATIO)


def engine_run(graph: Graph, config: TrainConfig, dataset: Dataset) -> tuple[float, nn.Module]:
    """Milliseconds from the first step to the end of the run (model building and data loading excluded), and
    the trained model."""
    marks: dict[str, float] = {}

    def on_event(event: object) -> None:
        if isinstance(event, Status) and event.state == "running" and "start" not in marks:
            marks["start"] = time.perf_counter()

    trainer = Trainer(graph, config, dataset=dataset, on_event=on_event)
    trainer.run()
    return (time.perf_counter() - marks["start"]) * 1000.0, trainer.session.model


def minimal_loop(graph: Graph, config: TrainConfig, dataset: Dataset, device: torch.device
                 ) -> tuple[float, nn.Module]:
    """The reference: milliseconds for one epoch of forward, loss, backward, step; and the trained model."""
    torch.manual_seed(config.seed)
    model = build_module(graph, device=device)
    kind = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    optimizer = kind(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    plan = epoch_plan(len(dataset.train), config.batch_size, config.seed, 0, World())
    (name,), (target,) = model.input_names, model.output_names
    _synchronize(device)
    start = time.perf_counter()
    for inputs, targets in dataset.train.batches(plan.order, config.batch_size, device):
        scores = model(inputs[name])
        loss = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets[target].reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    _synchronize(device)
    return (time.perf_counter() - start) * 1000.0, model


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
