"""Lint: valid graphs that are probably mistakes get a warning naming the nodes; the templates get none."""

from __future__ import annotations

import pytest

from graph import Graph, load_graph
from graph.library import library_blocks, template_names
from graph.lint import (
    BIAS_BEFORE_BATCHNORM,
    DROPOUT_BEFORE_OUTPUT,
    LINEAR_AFTER_LINEAR,
    OUTPUT_PADDING,
    SOFTMAX_BEFORE_CROSS_ENTROPY,
    lint,
)
from graph.problems import CODES, WARNING
from tests.graph.builders import chain


def codes(g: Graph) -> list[str]:
    return [p.code for p in lint(g, g.analyze())]


def test_lint_codes_are_documented() -> None:
    for code in (BIAS_BEFORE_BATCHNORM, SOFTMAX_BEFORE_CROSS_ENTROPY, LINEAR_AFTER_LINEAR, DROPOUT_BEFORE_OUTPUT):
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
def test_no_template_is_linted(name: str) -> None:
    g = load_graph(name)
    assert lint(g, g.analyze()) == []
    for block in g.blocks.values():
        assert lint(block, block.analyze()) == []


def test_no_library_block_is_linted() -> None:
    for block in library_blocks().values():
        assert lint(block, block.analyze()) == []
