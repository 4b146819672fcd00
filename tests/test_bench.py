"""The benchmark's graphs are what they claim: valid, and shaped like the torch reference they are timed against.
(Speed itself is measured by `python -m bench`, never asserted here.)"""

from __future__ import annotations

from bench.inference import UNIT, residual_graph, torch_reference
from bench.timing import Row, table


def test_benchmark_graph_matches_its_torch_reference() -> None:
    graph = residual_graph(100)
    analysis = graph.analyze()
    assert analysis.ok
    assert (len(graph) - 4) % UNIT == 0
    assert torch_reference(graph)() == (1, *analysis.nodes["Y"].output.shape)


def test_table_reports_speed_up_and_budget() -> None:
    text = table([Row("x", "10 nodes", 2.0, "ref", 8.0, 5.0), Row("y", "20 nodes", 4.0, "ref", 2.0, 3.0)])
    lines = text.splitlines()
    assert "4.00x" in lines[2] and lines[2].rstrip().endswith("yes")
    assert "0.50x" in lines[3] and lines[3].rstrip().endswith("NO")


def test_training_benchmark_compares_like_with_like() -> None:
    """The engine and the minimal loop it is timed against do the same computation: same weights after it."""
    import torch

    from bench.training import cases, engine_run, minimal_loop
    from runtime.data import DataOptions, GraphSpec, load_dataset
    from runtime.training import template_config

    case = cases()[0]
    config = template_config(case.graph.training).updated(epochs=1, batch_size=16, schedule="constant",
                                                          warmup_steps=0, train_size=64, val_size=16)
    dataset = load_dataset(case.dataset, GraphSpec.of(case.graph), options=DataOptions(size=64, val_size=16))
    _, engine = engine_run(case.graph, config, dataset)
    _, minimal = minimal_loop(case.graph, config, dataset, torch.device("cpu"))
    for key, value in minimal.state_dict().items():
        torch.testing.assert_close(engine.state_dict()[key], value, rtol=1e-5, atol=1e-6)
