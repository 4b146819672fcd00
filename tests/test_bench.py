"""The benchmark's graphs are what they claim: valid, and shaped like the torch reference they are timed against.
(Speed itself is measured by `python -m bench`, never asserted here.)"""

from __future__ import annotations

from bench.inference import UNIT, residual_graph, torch_reference
from bench.timing import Row, Timing, interleaved, sharing_a_reference, table


def test_benchmark_graph_matches_its_torch_reference() -> None:
    graph = residual_graph(100)
    analysis = graph.analyze()
    assert analysis.ok
    assert (len(graph) - 4) % UNIT == 0
    assert torch_reference(graph)() == (1, *analysis.nodes["Y"].output.shape)


def test_table_reports_the_median_ratio_its_range_and_the_budget_on_the_median() -> None:
    noisy = Timing((2.0, 2.0, 9.0, 2.0, 1.0), (8.0, 6.0, 9.0, 10.0, 8.0))  # one disturbed run of ours
    slow = Timing((4.0,) * 5, (2.0,) * 5)
    text = table([Row("x", "10 nodes", noisy, "ref", 5.0), Row("y", "20 nodes", slow, "ref", 3.0)])
    lines = text.splitlines()
    assert "4.00x" in lines[2] and "1.00–8.00" in lines[2] and lines[2].rstrip().endswith("yes")
    assert lines[2].split()[3] == "2.00"  # our median, not the disturbed 9 ms nor the mean
    assert "0.50x" in lines[3] and lines[3].rstrip().endswith("NO")


def test_interleaved_runs_both_sides_in_turns_flipping_the_order_each_round() -> None:
    calls: list[str] = []
    timing = interleaved(lambda: calls.append("ours"), lambda: calls.append("ref"), repeats=4,
                         ours_setup=lambda: calls.append("setup"))
    assert len(timing.ours) == len(timing.reference) == 4
    timed = calls[3:]  # after one warm-up of each (ours with its setup first)
    assert timed == ["setup", "ours", "ref", "ref", "setup", "ours", "setup", "ours", "ref", "ref", "setup", "ours"]


def test_one_reference_serves_several_of_ours() -> None:
    calls: list[str] = []
    timings = sharing_a_reference(lambda: calls.append("ref"), {"a": (lambda: calls.append("a"), None),
                                                                  "b": (lambda: calls.append("b"), None)}, 3)
    assert calls.count("ref") == 1 + 3 and set(timings) == {"a", "b"}
    assert timings["a"].reference == timings["b"].reference


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
