"""Blocks and repeats: shapes and parameter counts of the library's blocks, checked against counts computed by
hand from the standard formulas, and against ResNet-50's published total."""

from __future__ import annotations

import json

import pytest

from graph import Graph, loads
from graph.catalog import ParamSpec
from graph.library import library_blocks
from tests.graph.builders import chain

# --- the standard formulas, written out independently of the shape rules ------------------------------------

def conv_count(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    """nn.Conv2d: a c_out × c_in × k × k weight, plus c_out biases."""
    return c_out * c_in * k * k + (c_out if bias else 0)


def bn_count(c: int) -> int:
    """nn.BatchNorm2d: a scale γ and a shift β per channel (running statistics are not parameters)."""
    return 2 * c


def linear_count(d_in: int, d_out: int) -> int:
    return d_in * d_out + d_out


def conv_size(n: int, k: int, s: int = 1, p: int = 0) -> int:
    """torch's output size: floor((n + 2p - k) / s) + 1."""
    return (n + 2 * p - k) // s + 1


def resblock_count(c: int) -> int:
    """Figure 5.3: 1×1 conv to C/4, 3×3 conv, 1×1 conv back to C, each without bias and followed by batchnorm."""
    q = c // 4
    return (conv_count(c, q, 1, False) + bn_count(q) + conv_count(q, q, 3, False) + bn_count(q)
            + conv_count(q, c, 1, False) + bn_count(c))


def dresblock_count(c: int, s: int) -> int:
    """Figure 5.4: as resblock but to C/S then 4C/S channels, with a strided 1×1 conv and batchnorm on the skip."""
    q, out = c // s, 4 * c // s
    return (conv_count(c, q, 1, False) + bn_count(q) + conv_count(q, q, 3, False) + bn_count(q)
            + conv_count(q, out, 1, False) + bn_count(out) + conv_count(c, out, 1, False) + bn_count(out))


# --- helpers ------------------------------------------------------------------------------------------------

# --- residual blocks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("c", "h", "w"), [(256, 56, 56), (64, 7, 9), (4, 1, 1)])
def test_resblock_keeps_its_input_shape(c: int, h: int, w: int) -> None:
    g = chain((c, h, w), ("resblock", {}))
    analysis = g.analyze()
    assert analysis.problems == []
    info = analysis.nodes["resblock1"]
    assert info.output.shape == (c, h, w)
    assert info.parameters == resblock_count(c)


def test_resblock_count_by_hand_for_256_channels() -> None:
    # 256·64 + 2·64 + 64·64·9 + 2·64 + 64·256 + 2·256
    assert resblock_count(256) == 16384 + 128 + 36864 + 128 + 16384 + 512 == 70400
    assert chain((256, 14, 14), ("resblock", {})).analyze().parameters == 70400


@pytest.mark.parametrize(("c", "h", "s"), [(256, 56, 2), (64, 56, 1), (512, 28, 2), (128, 7, 2), (96, 12, 4)])
def test_dresblock_gives_4c_over_s_channels_and_divides_the_size_by_s(c: int, h: int, s: int) -> None:
    g = chain((c, h, h + 2), ("dresblock", {"S": s}))
    analysis = g.analyze()
    assert analysis.problems == []
    info = analysis.nodes["dresblock1"]
    side = conv_size(h, 1, s), conv_size(h + 2, 1, s)  # the strided 1×1 convolutions set the size
    assert info.output.shape == (4 * c // s, *side)
    assert info.parameters == dresblock_count(c, s)
    if h % s == 0:
        assert side[0] == h // s


def test_dresblock_with_its_default_stride_halves_the_map() -> None:
    info = chain((64, 32, 32), ("dresblock", {})).analyze().nodes["dresblock1"]
    assert info.values == {"S": 2}
    assert info.output.shape == (128, 16, 16)


def test_block_instance_exposes_its_inside() -> None:
    info = chain((64, 8, 8), ("dresblock", {"S": 2})).analyze().nodes["dresblock1"]
    inner = info.inner
    assert inner is not None
    assert inner.nodes["conv1"].output.shape == (32, 4, 4)
    assert inner.nodes["shortcut"].parameters == conv_count(64, 128, 1, False)
    assert inner.parameters == info.parameters


def test_a_non_integer_channel_count_is_reported_on_the_instance_with_the_inner_path() -> None:
    """C=6: both convolutions to C/4 channels are at fault (conv3, to C, is not)."""
    g = chain((6, 8, 8), ("resblock", {}))
    problems = g.validate()
    assert [p.path for p in problems] == [("conv1",), ("conv2",)]
    for problem, inner in zip(problems, ("conv1", "conv2"), strict=True):
        assert problem.node == "resblock1" and problem.is_error and problem.code == "param-type"
        assert f"in resblock 'resblock1': conv-2d '{inner}'" in problem.message
        assert "'C/4'" in problem.message and "1.5" in problem.message
    assert "resblock1" not in g.analyze().nodes  # nothing downstream is inferred from a broken instance


def test_a_stride_that_does_not_divide_the_channels_names_every_failing_inner_node() -> None:
    problems = chain((64, 8, 8), ("dresblock", {"S": 3})).validate()
    assert sorted(p.path for p in problems) == [("conv1",), ("conv2",), ("conv3",), ("shortcut",)]
    assert all(p.node == "dresblock1" for p in problems)
    by_path = {p.path: p.message for p in problems}
    assert "'C/S' = 21.3333" in by_path[("conv1",)]  # 64/3
    assert "'4*C/S' = 85.3333" in by_path[("shortcut",)]  # 256/3


def test_a_block_parameter_out_of_its_declared_range_is_reported() -> None:
    (problem,) = chain((64, 8, 8), ("dresblock", {"S": 0})).validate()
    assert problem.code == "param-range" and problem.node == "dresblock1"
    assert "S must be an integer from 1 to 64 (got 0)" in problem.message


def test_a_shape_that_does_not_match_the_blocks_input_pattern_is_reported() -> None:
    (problem,) = chain((64, 8), ("resblock", {})).validate()
    assert problem.node == "resblock1" and problem.path == ("x",)
    assert "expects C×H×W but receives 64×8" in problem.message


def test_errors_in_nested_blocks_carry_the_whole_path() -> None:
    doc = {
        "format": "layerbook", "version": 1,
        "blocks": {"outer": {
            "nodes": [{"name": "x", "type": "input", "params": {"shape": ["C", "H", "W"]}},
                      {"name": "res", "type": "resblock"}, {"name": "y", "type": "output"}],
            "edges": [{"from": "x", "to": "res"}, {"from": "res", "to": "y"}]}},
        "nodes": [{"name": "X", "type": "input", "params": {"shape": [6, 4, 4]}}, {"name": "o", "type": "outer"},
                  {"name": "Y", "type": "output", "params": {"loss": "none"}}],
        "edges": [{"from": "X", "to": "o"}, {"from": "o", "to": "Y"}],
    }
    problems = loads(json.dumps(doc)).validate()
    assert [(p.node, p.path) for p in problems] == [("o", ("res", "conv1")), ("o", ("res", "conv2"))]
    assert problems[0].message.startswith("in outer 'o': in resblock 'res': conv-2d 'conv1': ")


# --- repeats ------------------------------------------------------------------------------------------------

def test_a_repeat_multiplies_the_parameters_at_a_fixed_point() -> None:
    g = chain((16,), ("fully-conn", {"out_features": 16, "repeat": 5}))
    info = g.analyze().nodes["fc1"]
    assert info.copies == 5 and info.output.shape == (16,)
    assert info.parameters == 5 * linear_count(16, 16) == 1360


def test_a_repeat_applies_a_shape_changing_layer_in_series() -> None:
    """conv-2d k=3 ×3: each copy takes 2 off each side, and only the first sees 3 input channels."""
    g = chain((3, 20, 24), ("conv-2d", {"out_channels": 8, "kernel_size": 3, "repeat": 3}))
    info = g.analyze().nodes["conv1"]
    assert info.output.shape == (8, 20 - 6, 24 - 6)
    assert info.parameters == conv_count(3, 8, 3) + 2 * conv_count(8, 8, 3)


def test_a_repeat_that_shrinks_the_input_to_nothing_names_the_copy() -> None:
    (problem,) = chain((1, 5, 5), ("conv-2d", {"out_channels": 1, "repeat": 3})).validate()
    assert problem.node == "conv1" and problem.code == "shape"
    assert "(copy 3 of 3)" in problem.message and "1×1×1" in problem.message


def test_a_repeated_block_counts_every_copy() -> None:
    info = chain((256, 14, 14), ("resblock", {"repeat": 4})).analyze().nodes["resblock1"]
    assert info.copies == 4 and info.parameters == 4 * resblock_count(256)


def test_a_repeat_can_be_a_graph_meta_parameter() -> None:
    g = chain((8,), ("fully-conn", {"out_features": 8, "repeat": "N"}))
    g.params["N"] = ParamSpec("N", "int", 2, minimum=1)
    g.touch()
    assert g.analyze().nodes["fc1"].parameters == 2 * linear_count(8, 8)
    g.set_meta("N", 7)
    assert g.analyze().nodes["fc1"].copies == 7
    assert g.analyze().nodes["fc1"].parameters == 7 * linear_count(8, 8)


def test_a_repeat_on_a_node_with_two_inputs_is_a_problem() -> None:
    g = Graph()
    x = g.add("input", shape=(8,))
    s = g.add("+", repeat=2)
    g.connect(x, s)
    g.connect(x, s)
    g.connect(s, g.add("output"))
    (problem,) = g.validate()
    assert problem.code == "repeat" and problem.node == s
    assert "×2" in problem.message and "several inputs" in problem.message


def test_a_repeated_block_chains_its_first_port_and_shares_the_others() -> None:
    """A decoder layer ×N: the queries go from copy to copy, the same memory x_kv reaches every copy."""
    g = Graph()
    q, kv = g.add("input", shape=(10, 32)), g.add("input", shape=(7, 24))
    c = g.add("cross-att", repeat=3)
    g.connect(q, c, "x_q")
    g.connect(kv, c, "x_kv")
    g.connect(c, g.add("output", loss="none"))
    analysis = g.analyze()
    assert analysis.ok
    one = 2 * 32 + (32 * 32 + 32 * 24 + 32 * 24 + 32 * 32) + 4 * 32  # layernorm + mha with kdim = vdim = 24
    assert analysis.nodes[c].parameters == 3 * one
    assert analysis.nodes[c].output.shape == (10, 32)
    assert all(stage.inputs["x_kv"][0].shape == (7, 24) for stage in analysis.nodes[c].stages)


# --- editing blocks -----------------------------------------------------------------------------------------

def file_with_block(out_features: str) -> Graph:
    doc = {
        "format": "layerbook", "version": 1,
        "blocks": {"wide": {
            "nodes": [{"name": "x", "type": "input", "params": {"shape": ["D"]}},
                      {"name": "fc", "type": "fully-conn", "params": {"out_features": out_features}},
                      {"name": "y", "type": "output"}],
            "edges": [{"from": "x", "to": "fc"}, {"from": "fc", "to": "y"}]}},
        "nodes": [{"name": "X", "type": "input", "params": {"shape": [8]}}, {"name": "w", "type": "wide"},
                  {"name": "Y", "type": "output", "params": {"loss": "none"}}],
        "edges": [{"from": "X", "to": "w"}, {"from": "w", "to": "Y"}],
    }
    return loads(json.dumps(doc))


def test_editing_a_block_through_its_graph_api_changes_the_outer_analysis() -> None:
    g = file_with_block("D")
    assert g.analyze().nodes["w"].parameters == linear_count(8, 8)
    g.blocks["wide"].set_param("fc", "out_features", "2*D")
    analysis = g.analyze()
    assert analysis.nodes["w"].output.shape == (16,)
    assert analysis.nodes["w"].parameters == linear_count(8, 16)
    assert analysis.nodes["Y"].output.shape == (16,)


def test_editing_a_block_directly_then_touching_it_changes_the_outer_analysis() -> None:
    g = file_with_block("D")
    g.analyze()
    g.blocks["wide"].node("fc").params["out_features"] = "3*D"
    g.blocks["wide"].touch()
    assert g.analyze().nodes["w"].parameters == linear_count(8, 24)


def test_breaking_a_block_shows_on_its_instance_and_mending_it_clears_the_problem() -> None:
    g = file_with_block("D")
    assert g.validate() == []
    g.blocks["wide"].set_param("fc", "out_features", "D/3")
    (problem,) = g.validate()
    assert problem.node == "w" and problem.path == ("fc",)
    g.blocks["wide"].set_param("fc", "out_features", "D/2")
    assert g.validate() == []
    assert g.analyze().nodes["w"].output.shape == (4,)


def test_a_block_defined_in_the_file_shadows_the_library_block_of_the_same_name() -> None:
    doc = {
        "format": "layerbook", "version": 1,
        "blocks": {"resblock": {
            "nodes": [{"name": "x", "type": "input", "params": {"shape": ["C", "H", "W"]}},
                      {"name": "bn", "type": "batchnorm"}, {"name": "y", "type": "output"}],
            "edges": [{"from": "x", "to": "bn"}, {"from": "bn", "to": "y"}]}},
        "nodes": [{"name": "X", "type": "input", "params": {"shape": [64, 8, 8]}}, {"name": "r", "type": "resblock"},
                  {"name": "Y", "type": "output", "params": {"loss": "none"}}],
        "edges": [{"from": "X", "to": "r"}, {"from": "r", "to": "Y"}],
    }
    g = loads(json.dumps(doc))
    assert g.analyze().nodes["r"].parameters == bn_count(64)
    assert library_blocks()["resblock"] is not g.blocks["resblock"]
    assert chain((64, 8, 8), ("resblock", {})).analyze().parameters == resblock_count(64)  # others unaffected


def test_blocks_may_use_blocks_defined_later_in_the_file() -> None:
    doc = {
        "format": "layerbook", "version": 1,
        "blocks": {
            "first": {"nodes": [{"name": "x", "type": "input", "params": {"shape": ["D"]}},
                                {"name": "s", "type": "second"}, {"name": "y", "type": "output"}],
                      "edges": [{"from": "x", "to": "s"}, {"from": "s", "to": "y"}]},
            "second": {"nodes": [{"name": "x", "type": "input", "params": {"shape": ["D"]}},
                                 {"name": "fc", "type": "fully-conn", "params": {"out_features": "D"}},
                                 {"name": "y", "type": "output"}],
                       "edges": [{"from": "x", "to": "fc"}, {"from": "fc", "to": "y"}]}},
        "nodes": [{"name": "X", "type": "input", "params": {"shape": [5]}}, {"name": "f", "type": "first"},
                  {"name": "Y", "type": "output", "params": {"loss": "none"}}],
        "edges": [{"from": "X", "to": "f"}, {"from": "f", "to": "Y"}],
    }
    g = loads(json.dumps(doc))
    assert g.validate() == []
    assert g.analyze().parameters == linear_count(5, 5)


def test_a_block_that_contains_itself_is_a_problem_not_a_crash() -> None:
    g = Graph()
    for name, inner in (("a", "b"), ("b", "a")):
        block = Graph(name, blocks=g.blocks)
        g.blocks[name] = block
        x, n, y = block.add("input", shape=["D"]), block.add(inner, "inner"), block.add("output")
        block.connect(x, n)
        block.connect(n, y)
    chain((4,), ("a", {}), g=g)
    (problem,) = g.validate()
    assert problem.node == "a1" and problem.code == "recursive-block"
    assert "a → b → a" in problem.message


# --- whole networks -----------------------------------------------------------------------------------------

def resnet50() -> Graph:
    stages = [("dresblock", {"S": s}) if i % 2 == 0 else ("resblock", {"repeat": r})
              for s, r in ((1, 2), (2, 3), (2, 5), (2, 2)) for i in range(2)]
    return chain(
        (3, 224, 224),
        ("conv-2d", {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3, "bias": False}),
        ("batchnorm", {}), ("relu", {}), ("maxpool", {"kernel_size": 3, "stride": 2, "padding": 1}),
        *stages,
        ("avgpool", {"kernel_size": 7}), ("reshape", {"shape": [2048]}), ("fully-conn", {"out_features": 1000}),
    )


def test_resnet50_from_the_library_blocks_has_its_published_parameter_count() -> None:
    analysis = resnet50().analyze()
    assert analysis.problems == []
    assert analysis.parameters == 25_557_032  # torchvision's resnet50, as published
    assert analysis.nodes["Y"].output.shape == (1000,)
    assert [analysis.nodes[f"dresblock{i}"].output.shape for i in (1, 2, 3, 4)] == [
        (256, 56, 56), (512, 28, 28), (1024, 14, 14), (2048, 7, 7)]


def test_resnet50_count_agrees_with_the_hand_formulas() -> None:
    stem = conv_count(3, 64, 7, False) + bn_count(64)
    body, c = 0, 64
    for s, r in ((1, 2), (2, 3), (2, 5), (2, 2)):
        body += dresblock_count(c, s)
        c = 4 * c // s
        body += r * resblock_count(c)
    assert stem + body + linear_count(2048, 1000) == resnet50().analyze().parameters


def test_self_attention_keeps_t_by_d_and_counts_mha_as_4d2_plus_4d() -> None:
    t, d = 10, 32
    info = chain((t, d), ("self-att", {"heads": 4})).analyze().nodes["selfatt1"]
    assert info.output.shape == (t, d)
    assert info.inner.nodes["mha1"].parameters == 4 * d * d + 4 * d
    assert info.parameters == 2 * d + 4 * d * d + 4 * d  # layernorm γ, β + attention


def test_self_attention_heads_must_divide_the_dimension() -> None:
    (problem,) = chain((10, 30), ("self-att", {"heads": 4})).validate()
    assert problem.node == "selfatt1" and problem.path == ("mha1",)
    assert "num_heads=4" in problem.message and "30" in problem.message


def test_feed_forward_block_widens_four_times_by_default() -> None:
    t, d = 10, 32
    info = chain((t, d), ("ffw", {})).analyze().nodes["ffw1"]
    assert info.output.shape == (t, d)
    assert info.inner.nodes["fc1"].output.shape == (t, 4 * d)
    assert info.parameters == 2 * d + linear_count(d, 4 * d) + linear_count(4 * d, d)
    wide = chain((t, d), ("ffw", {"hidden": 100})).analyze().nodes["ffw1"]
    assert wide.parameters == 2 * d + linear_count(d, 100) + linear_count(100, d)


def test_cross_attention_takes_keys_and_values_of_another_width() -> None:
    t, d, s, e = 10, 32, 7, 48
    g = Graph()
    q, kv = g.add("input", shape=(t, d)), g.add("input", shape=(s, e))
    c = g.add("cross-att", heads=8)
    g.connect(q, c, "x_q")
    g.connect(kv, c, "x_kv")
    g.connect(c, g.add("output", loss="none"))
    info = g.analyze().nodes[c]
    assert g.validate() == []
    assert info.output.shape == (t, d)
    # torch's MultiheadAttention(d, kdim=e, vdim=e): q and out projections d×d, k and v projections d×e,
    # in-projection biases 3d and the out-projection bias d.
    assert info.inner.nodes["mha1"].parameters == 2 * d * d + 2 * d * e + 4 * d
    assert info.parameters == 2 * d + 2 * d * d + 2 * d * e + 4 * d


def test_a_transformer_stack_repeats_its_blocks() -> None:
    t, d, n = 16, 64, 6
    g = chain((t, d), ("self-att", {"repeat": n}), ("ffw", {"repeat": n}))
    analysis = g.analyze()
    per_layer = (2 * d + 4 * d * d + 4 * d) + (2 * d + linear_count(d, 4 * d) + linear_count(4 * d, d))
    assert analysis.parameters == n * per_layer
    assert analysis.nodes["Y"].output.shape == (t, d)


def nested(depth: int) -> Graph:
    """b0 contains b1, which contains b2 ... whose innermost block holds one fully-conn D → D."""
    blocks = {}
    for level in range(depth):
        inner = f"b{level + 1}" if level + 1 < depth else "fully-conn"
        blocks[f"b{level}"] = {
            "nodes": [{"name": "x", "type": "input", "params": {"shape": ["D"]}},
                      {"name": "n", "type": inner, **({} if level + 1 < depth else {"params": {"out_features": "D"}})},
                      {"name": "y", "type": "output"}],
            "edges": [{"from": "x", "to": "n"}, {"from": "n", "to": "y"}]}
    doc = {"format": "layerbook", "version": 1, "blocks": blocks,
           "nodes": [{"name": "X", "type": "input", "params": {"shape": [4]}}, {"name": "b", "type": "b0"},
                     {"name": "Y", "type": "output", "params": {"loss": "none"}}],
           "edges": [{"from": "X", "to": "b"}, {"from": "b", "to": "Y"}]}
    return loads(json.dumps(doc))


def test_blocks_nested_ten_deep_are_analysed_through() -> None:
    g = nested(10)
    assert g.validate() == []
    assert g.analyze().parameters == linear_count(4, 4)


@pytest.mark.parametrize("depth", [40, 2000])
def test_blocks_nested_too_deeply_are_a_problem_not_a_crash(depth: int) -> None:
    (problem,) = nested(depth).validate()
    assert problem.code == "nesting"
    assert problem.node == "b" and len(problem.path) == 32 and set(problem.path) == {"n"}
    assert "inside 32 levels of blocks" in problem.message
