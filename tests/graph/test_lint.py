"""Lint: valid graphs that are probably mistakes get a warning naming the nodes; the templates get none."""

from __future__ import annotations

import json

import pytest

import graph.lint
import main
from graph import Graph, load_graph
from graph.capacity import GIB, Available, format_bytes
from graph.library import library_blocks, template_names
from graph.lint import (
    BIAS_BEFORE_BATCHNORM,
    DROPOUT_BEFORE_OUTPUT,
    LINEAR_AFTER_LINEAR,
    MEMORY,
    OUTPUT_PADDING,
    SOFTMAX_BEFORE_CROSS_ENTROPY,
    TOO_MANY_PARAMETERS,
    lint,
)
from graph.problems import CODES, WARNING
from graph.summary import fit_problem, summarize
from tests.graph.builders import chain
from tests.probes import probe


def machine(monkeypatch: pytest.MonkeyPatch, free: int, total: int = 256 * GIB) -> None:
    """Lint as if on a machine with `free` bytes of available RAM and `total` in all."""
    monkeypatch.setattr(graph.lint, "available_memory", lambda: Available(free, "of free RAM"))
    monkeypatch.setattr(graph.lint, "total_memory", lambda: total)


def codes(g: Graph) -> list[str]:
    return [p.code for p in lint(g, g.analyze())]


def test_lint_codes_are_documented() -> None:
    for code in (BIAS_BEFORE_BATCHNORM, SOFTMAX_BEFORE_CROSS_ENTROPY, LINEAR_AFTER_LINEAR, DROPOUT_BEFORE_OUTPUT,
                 TOO_MANY_PARAMETERS, MEMORY):
        assert code in CODES


def test_bias_right_before_batchnorm() -> None:
    g = chain((3, 8, 8), ("conv-2d", {"out_channels": 8}), ("batchnorm", {}), ("relu", {}))
    problems = lint(g, g.analyze())
    assert [p.code for p in problems] == [BIAS_BEFORE_BATCHNORM]
    assert problems[0].node == "conv1" and problems[0].severity == WARNING
    assert problems[0].message == "conv1 has a bias right before batchnorm 'bn1', which cancels it: set bias=False"
    g.set_param("conv1", "bias", False)
    assert codes(g) == []


def test_bias_with_another_consumer_is_fine() -> None:
    g = chain((3, 8, 8), ("conv-2d", {"out_channels": 8}), ("batchnorm", {}))
    g.connect("conv1", g.add("output", loss="none"))
    assert codes(g) == []


def test_softmax_before_cross_entropy_only() -> None:
    g = chain((10,), ("fully-conn", {"out_features": 4}), ("relu", {}), ("softmax", {}))
    assert codes(g) == []  # the chain's output has no loss
    g.set_param("Y", "loss", "cross-entropy")
    problems = lint(g, g.analyze())
    assert [p.code for p in problems] == [SOFTMAX_BEFORE_CROSS_ENTROPY]
    assert "softmax1" in problems[0].message and "'Y'" in problems[0].message
    g.set_param("Y", "loss", "mse")
    assert codes(g) == []


@pytest.mark.parametrize(("first", "second"), [
    ("fully-conn", "fully-conn"), ("conv-2d", "conv-2d"),
])
def test_two_linear_layers_in_a_row(first: str, second: str) -> None:
    params = {"fully-conn": {"out_features": 8}, "conv-2d": {"out_channels": 4}}
    shape = (8,) if first == "fully-conn" else (3, 16, 16)
    g = chain(shape, (first, params[first]), (second, params[second]))
    problems = lint(g, g.analyze())
    assert [p.code for p in problems] == [LINEAR_AFTER_LINEAR]
    names = [n.name for n in g.nodes if n.type == first]
    assert problems[0].node == names[0] and all(f"'{n}'" in problems[0].message for n in names)


def test_linear_layers_with_an_activation_between_are_fine() -> None:
    g = chain((8,), ("fully-conn", {"out_features": 8}), ("relu", {}), ("fully-conn", {"out_features": 2}))
    assert codes(g) == []


def test_dropout_right_before_an_output() -> None:
    g = chain((8,), ("fully-conn", {"out_features": 8}), ("relu", {}), ("dropout", {"p": 0.2}))
    problems = lint(g, g.analyze())
    assert [p.code for p in problems] == [DROPOUT_BEFORE_OUTPUT]
    assert "drop1" in problems[0].message and "'Y'" in problems[0].message


@pytest.mark.parametrize(("params", "warned"), [
    ({"kernel_size": 1, "stride": 1, "dilation": 2, "output_padding": 1}, True),  # as the random graphs found it
    ({"kernel_size": 3, "stride": 2, "dilation": 1, "output_padding": 1}, False),
    ({"kernel_size": 3, "stride": [2, 1], "dilation": 2, "output_padding": [1, 1]}, True),
])
def test_an_output_padding_onnx_cannot_express(params: dict, warned: bool) -> None:
    kind = "transp-conv-2d" if isinstance(params["stride"], list) else "transp-conv-1d"
    shape = (1, 4, 4) if kind.endswith("2d") else (1, 4)
    g = chain(shape, (kind, {"out_channels": 2, **params}))
    analysis = g.analyze()
    assert analysis.ok, analysis.errors  # torch runs it: only the export is at stake
    assert [p.code for p in lint(g, analysis)] == ([OUTPUT_PADDING] if warned else [])


@pytest.mark.parametrize("name", template_names())
def test_no_template_is_linted(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    machine(monkeypatch, free=64 * GIB)  # the rules, not this machine: memory has its own tests below
    g = load_graph(name)
    assert lint(g, g.analyze()) == []
    for block in g.blocks.values():
        assert lint(block, block.analyze()) == []


def test_no_library_block_is_linted() -> None:
    for block in library_blocks().values():
        assert lint(block, block.analyze()) == []


# --- memory: probes of issue 13, called valid without a word --------------------------------------------------

def test_weights_beyond_the_machine_are_a_warning_on_the_heaviest_box(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    machine(monkeypatch, free=20 * GIB, total=24 * GIB)
    assert main.main(["validate", str(probe("huge-fully-conn"))]) == 0  # warnings: still valid
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "warning: 'huge-fully-conn' has 61,009,988,003 parameters, 227.3 GiB at 4 bytes each: more than this "
        "machine's 24.0 GiB of memory, so it cannot even be built here; fully-conn 'fc' holds 61,009,247,000 of them",
        "huge-fully-conn: valid (5 nodes, 61,009,988,003 parameters, 1 warning(s))"]


@pytest.mark.parametrize(("name", "box"), [("wide-conv", "conv"), ("huge-input", "head"), ("huge-output", "up")])
def test_a_step_beyond_the_free_memory_is_a_warning_with_the_figures(name: str, box: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    machine(monkeypatch, free=20 * GIB)
    g = load_graph(probe(name))
    problems = lint(g, g.analyze())
    assert [(p.code, p.node, p.severity) for p in problems] == [(MEMORY, box, WARNING)]
    expected = fit_problem(summarize(g), 64, "adam", Available(20 * GIB, "of free RAM"))
    assert problems[0].message.startswith(f"training '{name}' will not fit this machine's memory: {expected}; ")
    assert "16.0 GiB (80% of the 20.0 GiB of free RAM, a 20% safety margin) may be used" in expected
    verdicts = {"wide-conv": "batch size 1 fits", "huge-input": "even the weights", "huge-output": "not even one"}
    assert verdicts[name] in expected


def test_the_warning_follows_the_graphs_batch_size_and_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    g = load_graph("resnet50")  # about 9.6 GiB at its batch size of 64 with Adam
    machine(monkeypatch, free=64 * GIB)
    assert lint(g, g.analyze()) == []
    machine(monkeypatch, free=8 * GIB)
    problems = lint(g, g.analyze())
    assert [p.code for p in problems] == [MEMORY] and "at batch size 64 " in problems[0].message
    g.training["batch_size"] = 16
    g.touch()
    assert lint(g, g.analyze()) == []


def test_no_memory_warning_inside_a_block_or_for_a_graph_with_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    machine(monkeypatch, free=GIB // 1024)
    g = load_graph("resnet50")
    assert [p.code for p in lint(g, g.analyze())] == [MEMORY]
    for block in g.blocks.values():
        assert lint(block, block.analyze()) == []
    g.set_param("fc1", "out_features", 0)
    assert not g.analyze().ok and MEMORY not in [p.code for p in lint(g, g.analyze())]


def test_info_shows_the_estimate_and_the_warning(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    machine(monkeypatch, free=20 * GIB)
    assert main.main(["info", str(probe("wide-conv"))]) == 0
    out = capsys.readouterr().out
    assert "training memory: about 733.3 GiB for one step at batch size 64 with adam (weights 129.7 MiB" in out
    assert "warning: training 'wide-conv' will not fit this machine's memory" in out
    assert main.main(["info", str(probe("wide-conv")), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["training_memory"]["batch_size"] == 64 and report["training_memory"]["total"] > 700 * GIB
    assert [p["code"] for p in report["problems"]] == [MEMORY]
    assert format_bytes(report["training_memory"]["total"]) == "733.3 GiB"
