"""Quick fixes: each, applied to a copy, removes the problem it was offered for."""

from __future__ import annotations

from graph import Graph
from graph.fixes import Fix, fixes_for
from graph.lint import lint
from tests.graph.builders import chain


def only_fix(g: Graph, code: str) -> tuple[Fix, str]:
    problems = [p for p in g.analyze().problems + lint(g, g.analyze()) if p.code == code]
    assert len(problems) == 1, problems
    fixes = fixes_for(g, problems[0])
    assert fixes, problems[0]
    return fixes[0], problems[0].node


def applied(g: Graph, fix: Fix) -> Graph:
    copy = g.copy()
    fix.apply(copy)
    return copy


def test_reshape_before_a_fully_conn_receiving_an_image() -> None:
    g = chain((3, 8, 8), ("conv-2d", {"out_channels": 4}), ("fully-conn", {"out_features": 10}))
    assert not g.analyze().ok
    fix, node = only_fix(g, "rank")
    assert node == "fc1" and "reshape" in fix.label and "144" in fix.label
    fixed = applied(g, fix)
    assert fixed.analyze().ok
    assert len(fixed) == len(g) + 1
    reshape = fixed.nodes_of_type("reshape")[0]
    assert reshape.params["shape"] == [144]
    assert [e.src for e in fixed.in_edges("fc1")] == [reshape.name]
    assert [e.src for e in fixed.in_edges(reshape.name)] == ["conv1"]
    assert not g.nodes_of_type("reshape")  # the original is untouched


def residual(shape: tuple[int, ...], branch: tuple[str, dict]) -> Graph:
    g = Graph()
    x = g.add("input", shape=shape)
    layer = g.add(branch[0], **branch[1])
    add = g.add("+")
    g.connect(x, layer)
    g.connect(layer, add)
    g.connect(x, add)
    g.connect(add, g.add("output", loss="none"))
    return g


def test_conv_projection_before_a_sum_of_different_channels() -> None:
    g = residual((16, 8, 8), ("conv-2d", {"out_channels": 32, "padding": "same"}))
    fix, node = only_fix(g, "shape")
    assert node == "add1" and "1×1 conv-2d" in fix.label and "'X'" in fix.label
    fixed = applied(g, fix)
    assert fixed.analyze().ok and len(fixed) == len(g) + 1
    proj = next(n for n in fixed.nodes_of_type("conv-2d") if n.name != "conv1")
    assert proj.params == {"out_channels": 32, "kernel_size": 1}


def test_strided_projection_when_the_map_also_shrinks() -> None:
    g = residual((16, 8, 8), ("conv-2d", {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1}))
    fix, _ = only_fix(g, "shape")
    fixed = applied(g, fix)
    assert fixed.analyze().ok
    proj = next(n for n in fixed.nodes_of_type("conv-2d") if n.name != "conv1")
    assert proj.params["stride"] == 2


def test_fully_conn_projection_before_a_sum_of_different_features() -> None:
    g = residual((12, 64), ("fully-conn", {"out_features": 32}))
    fixes = fixes_for(g, next(p for p in g.analyze().problems if p.code == "shape"))
    assert len(fixes) == 2  # either branch may be projected; the smaller one comes first
    assert "'fc1'" in fixes[0].label and "fully-conn" in fixes[0].label
    for fix in fixes:
        fixed = applied(g, fix)
        assert fixed.analyze().ok and len(fixed) == len(g) + 1


def test_no_projection_when_more_than_channels_differ() -> None:
    g = residual((16, 8, 8), ("reshape", {"shape": [16, 4, 16]}))
    problems = [p for p in g.analyze().problems if p.code == "shape"]
    assert problems and fixes_for(g, problems[0]) == []


def test_bias_false_before_batchnorm() -> None:
    g = chain((3, 8, 8), ("conv-2d", {"out_channels": 8}), ("batchnorm", {}))
    fix, _ = only_fix(g, "bias-before-batchnorm")
    fixed = applied(g, fix)
    assert fixed.node("conv1").params["bias"] is False and lint(fixed, fixed.analyze()) == []
    assert len(fixed) == len(g)


def test_remove_softmax_before_cross_entropy() -> None:
    g = chain((10,), ("fully-conn", {"out_features": 4}), ("softmax", {}))
    g.set_param("Y", "loss", "cross-entropy")
    fix, _ = only_fix(g, "softmax-before-cross-entropy")
    fixed = applied(g, fix)
    assert len(fixed) == len(g) - 1 and "softmax1" not in fixed
    assert [e.src for e in fixed.in_edges("Y")] == ["fc1"]
    assert fixed.analyze().ok and lint(fixed, fixed.analyze()) == []


def test_remove_dropout_before_output() -> None:
    g = chain((10,), ("fully-conn", {"out_features": 4}), ("relu", {}), ("dropout", {}))
    fix, _ = only_fix(g, "dropout-before-output")
    fixed = applied(g, fix)
    assert len(fixed) == len(g) - 1 and [e.src for e in fixed.in_edges("Y")] == ["relu1"]
    assert fixed.analyze().ok and lint(fixed, fixed.analyze()) == []


def test_relu_between_two_linear_layers() -> None:
    g = chain((10,), ("fully-conn", {"out_features": 4}), ("fully-conn", {"out_features": 2}))
    fix, _ = only_fix(g, "linear-after-linear")
    fixed = applied(g, fix)
    assert len(fixed) == len(g) + 1 and lint(fixed, fixed.analyze()) == []


def test_a_problem_without_remedy_has_no_fix() -> None:
    g = Graph()
    g.add("input", shape=[4])
    problems = g.analyze().problems
    assert problems and all(fixes_for(g, p) == [] for p in problems)
