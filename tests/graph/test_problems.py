"""Every kind of problem validation reports: its code, the node and port it names, and a message a person
understands. Validation never raises for a user's mistake, whatever the graph."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph import Graph, GraphFileError, Problem, layer_spec, layer_types, load_graph, loads
from graph.catalog import ParamSpec
from graph.problems import WARNING
from tests.graph.builders import chain


def sentence(problem: Problem, *words: str) -> None:
    """The message names the node (when there is one) and the given values, and reads as text, not a dump."""
    text = problem.message
    assert text and "\n" not in text and len(text) < 400, text
    assert not re.search(r"Traceback|Error\(|object at 0x|\{'|<class", text), text
    if problem.node is not None:
        assert f"'{problem.node}'" in text, text
    for word in words:
        assert word in text, (word, text)


def one(g: Graph, code: str) -> Problem:
    found = [p for p in g.validate() if p.code == code]
    assert len(found) == 1, g.validate()
    return found[0]


# --- structure ----------------------------------------------------------------------------------------------

def test_a_cycle_is_reported_on_each_of_its_nodes_naming_them_in_order() -> None:
    g = Graph()
    x, s, a, b, y = (g.add(t) for t in ("input", "+", "relu", "tanh", "output"))
    g.set_param(x, "shape", [8])
    for src, dst in ((x, s), (s, a), (a, b), (b, s), (b, y)):
        g.connect(src, dst)
    cycles = [p for p in g.validate() if p.code == "cycle"]
    assert sorted(p.node for p in cycles) == sorted([s, a, b])
    for problem in cycles:
        sentence(problem, "is on a cycle", "without coming back")
        loop = re.findall(r"'(\w+)'", problem.message.split("cycle: ")[1])
        assert loop[0] == loop[-1] and sorted(loop[:-1]) == sorted([s, a, b])
        assert all(g.structure.has_edge(u, v) for u, v in itertools.pairwise(loop))
    assert [p.code for p in g.validate() if p.node == y] == []  # nothing extra on the node after the cycle


def test_a_node_wired_to_itself_is_a_cycle() -> None:
    g = chain((8,), ("relu", {}))
    g.connect("relu1", "relu1")
    problem = one(g, "cycle")
    assert problem.node == "relu1" and "'relu1' → 'relu1'" in problem.message


def test_an_unconnected_required_port_is_named() -> None:
    g = Graph()
    x, m, y = g.add("input", shape=(4, 8)), g.add("mha"), g.add("output")
    g.connect(x, m, "k")  # keys, but no queries
    g.connect(m, y)
    problem = one(g, "unconnected")
    assert (problem.node, problem.port) == (m, "q")
    sentence(problem, "input port 'q'", "not connected")


def test_optional_ports_may_stay_unconnected() -> None:
    g = chain((4, 8), ("mha", {"num_heads": 2}))
    assert g.validate() == []


def test_two_edges_into_a_single_port_is_an_arity_problem() -> None:
    g = Graph()
    a, b, r, y = g.add("input", shape=(8,)), g.add("input", shape=(8,)), g.add("relu"), g.add("output")
    g.connect(a, r)
    g.connect(b, r)
    g.connect(r, y)
    problem = one(g, "arity")
    assert (problem.node, problem.port) == (r, "x")
    sentence(problem, "receives 2 edges", "takes one")


def test_a_sum_of_one_term_is_an_arity_problem() -> None:
    g = chain((8,), ("+", {}))
    problem = one(g, "arity")
    assert (problem.node, problem.port) == ("add1", "x")
    sentence(problem, "receives 1 input", "at least 2")


def block_file(input_name: str, wired_port: str) -> str:
    return json.dumps({
        "format": "layerbook", "version": 1,
        "blocks": {"b": {
            "nodes": [{"name": input_name, "type": "input", "params": {"shape": ["D"]}},
                      {"name": "y", "type": "output"}],
            "edges": [{"from": input_name, "to": "y"}]}},
        "nodes": [{"name": "X", "type": "input", "params": {"shape": [8]}}, {"name": "b1", "type": "b"},
                  {"name": "Y", "type": "output"}],
        "edges": [{"from": "X", "to": "b1", "port": wired_port}, {"from": "b1", "to": "Y"}],
    })


def test_an_unknown_port_in_a_file_is_refused_with_its_path() -> None:
    with pytest.raises(GraphFileError) as raised:
        loads(block_file("inp", "other"))
    assert raised.value.defects == ["edges[0].port: 'b1' has no input port 'other' (ports: inp)"]


def test_an_unknown_port_in_a_file_loaded_leniently_leaves_the_port_unconnected() -> None:
    g = loads(block_file("inp", "other"), strict=False)
    assert g.__dict__["load_defects"] == ["edges[0].port: 'b1' has no input port 'other' (ports: inp)"]
    problem = one(g, "unconnected")
    assert (problem.node, problem.port) == ("b1", "inp")


def test_an_edge_into_a_port_its_block_no_longer_has_is_an_unknown_port() -> None:
    """The file was right when written; the block's input was renamed since, so the edge names a lost port."""
    g = loads(block_file("inp", "inp"))
    assert g.validate() == []
    g.blocks["b"].rename("inp", "source")
    problem = one(g, "unknown-port")
    assert (problem.node, problem.port) == ("b1", "inp")
    sentence(problem, "'X' is wired to port 'inp'", "ports: source")
    assert (one(g, "unconnected").node, one(g, "unconnected").port) == ("b1", "source")


def test_a_node_cut_off_from_the_inputs_is_unreachable() -> None:
    g = Graph()
    g.add("input", shape=(8,))
    y = g.add("output")
    a, b, c = g.add("relu"), g.add("tanh"), g.add("sigmoid")
    g.connect(a, b)
    g.connect(b, a)  # an island: a cycle no input feeds
    g.connect(b, c)
    g.connect(c, y)
    problems = {p.node: p for p in g.validate() if p.code == "unreachable"}
    assert set(problems) == {c, y}
    sentence(problems[c], "receives no data from any input", f"'{b}' is cut off")


def test_a_result_that_reaches_no_output_is_a_dead_end_warning() -> None:
    g = chain((8,), ("relu", {}))
    t = g.add("tanh")
    g.connect("relu1", t)
    problem = one(g, "dead-end")
    assert problem.node == t and problem.severity == WARNING and not problem.is_error
    sentence(problem, "reaches no output")
    assert g.analyze().ok  # a warning does not make the graph invalid


@pytest.mark.parametrize(("missing", "code", "words"), [
    ("input", "no-input", "has no input node"), ("output", "no-output", "has no output node"),
])
def test_a_graph_without_an_input_or_an_output_says_so(missing: str, code: str, words: str) -> None:
    g = chain((8,), ("relu", {}))
    g.remove(g.nodes_of_type(missing)[0].name)
    problem = one(g, code)
    assert problem.node is None
    sentence(problem, words)


def test_an_empty_graph_has_no_input_and_no_output() -> None:
    assert [p.code for p in Graph().validate()] == ["no-input", "no-output"]


def test_a_block_without_an_output_says_which_block() -> None:
    g = chain((8,), ("b", {}))  # wired while 'b' is still undefined
    block = Graph("b", blocks=g.blocks)
    block.add("input", "x", shape=["D"])
    g.blocks["b"] = block
    problem = one(g, "no-output")
    assert problem.node == "b1" and problem.path == ()
    sentence(problem, "in b 'b1'", "block 'b' has no output node")


def test_an_edge_from_an_output_its_block_no_longer_has_is_an_unknown_port() -> None:
    g = loads(block_file("inp", "inp"))
    g.blocks["b"].rename("y", "out")
    problem = one(g, "unknown-port")
    assert (problem.node, problem.port) == ("Y", "x")
    sentence(problem, "from output 'y' of b 'b1'", "outputs: out")


def test_an_unknown_layer_type_suggests_the_closest_one() -> None:
    g = chain((8,), ("rleu", {}))
    problem = one(g, "unknown-type")
    assert problem.node == "rleu1"
    sentence(problem, "unknown layer type 'rleu'", "did you mean 'relu'?")


def test_a_type_close_to_a_block_is_an_undefined_block_listing_the_blocks() -> None:
    g = chain((64, 8, 8), ("resblok", {}))
    problem = one(g, "undefined-block")
    assert problem.node == "resblok1"
    sentence(problem, "'resblok'", "did you mean 'resblock'?", "dresblock", "self-att")


def test_a_type_close_to_nothing_lists_the_blocks_there_are() -> None:
    problem = one(chain((8,), ("zzzqqq", {})), "unknown-type")
    sentence(problem, "'zzzqqq'", "neither a layer type nor a defined block", "blocks: ")


def test_nodes_after_an_unknown_type_get_no_noise() -> None:
    g = chain((8,), ("rleu", {}), ("fully-conn", {"out_features": 3}))
    assert [(p.code, p.node) for p in g.validate()] == [("unknown-type", "rleu1")]


# --- meta-parameters ----------------------------------------------------------------------------------------

def test_an_unknown_meta_parameter_suggests_the_right_one() -> None:
    problem = one(chain((8,), ("fully-conn", {"out_featurs": 3})), "unknown-param")
    assert problem.node == "fc1"
    sentence(problem, "no meta-parameter 'out_featurs'", "did you mean 'out_features'?")


@pytest.mark.parametrize(("layer", "key", "value", "words"), [
    ("fully-conn", "out_features", True, "(got true)"),
    ("fully-conn", "out_features", 5.5, "(got 5.5)"),
    ("fully-conn", "out_features", [3], "(got [3])"),
    ("fully-conn", "bias", 1, "must be true or false (got 1)"),
    ("conv-2d", "kernel_size", [3, 3.5], "(got [3, 3.5])"),
    ("gelu", "approximate", 3, "(got 3)"),
    ("dropout", "p", [0.5], "(got [0.5])"),
])
def test_a_value_of_the_wrong_type_is_a_param_type_problem(layer: str, key: str, value: Any, words: str) -> None:
    shape = (3, 16, 16) if layer == "conv-2d" else (8,)
    problem = one(chain(shape, (layer, {key: value})), "param-type")
    sentence(problem, f": {key} ", words)


@pytest.mark.parametrize(("layer", "key", "value", "words"), [
    ("fully-conn", "out_features", 0, "must be a positive integer (got 0)"),
    ("fully-conn", "out_features", -3, "must be a positive integer (got -3)"),
    ("fully-conn", "out_features", 10**12, "(got 1000000000000)"),
    pytest.param("fully-conn", "out_features", 10**5000, "(got an integer of about 5,000 digits)", id="5000-digits"),
    ("dropout", "p", 1.5, "must be a number from 0 to 1 (got 1.5)"),
    ("dropout", "p", float("nan"), "must be a number from 0 to 1"),
    ("conv-2d", "kernel_size", 0, "(got 0)"),
    ("conv-2d", "stride", [1, 0], "(got [1, 0])"),
    ("gelu", "approximate", "fast", "must be one of: none, tanh (got 'fast')"),
])
def test_a_value_out_of_range_is_a_param_range_problem(layer: str, key: str, value: Any, words: str) -> None:
    shape = (3, 16, 16) if layer == "conv-2d" else (8,)
    g = chain(shape, (layer, {key: value}))
    problem = one(g, "param-range")
    assert problem.node == g.nodes[1].name
    sentence(problem, f": {key} ", words)


def test_an_expression_with_an_unknown_name_lists_the_known_ones() -> None:
    g = chain((8,), ("fully-conn", {"out_features": "N*2"}))
    g.params["M"] = ParamSpec("M", "int", 3)
    g.touch()
    problem = one(g, "expression")
    assert problem.node == "fc1"
    sentence(problem, "out_features = 'N*2'", "unknown name 'N'", "known here: M")


def test_an_expression_dividing_by_zero_is_reported() -> None:
    g = chain((8,), ("fully-conn", {"out_features": "8/(M-3)"}))
    g.params["M"] = ParamSpec("M", "int", 3)
    g.touch()
    sentence(one(g, "expression"), "out_features = '8/(M-3)'", "division by zero")


def test_an_expression_giving_a_value_out_of_range_shows_both() -> None:
    g = chain((8,), ("fully-conn", {"out_features": "M-3"}))
    g.params["M"] = ParamSpec("M", "int", 3)
    g.touch()
    sentence(one(g, "param-range"), "(got 'M-3' = 0)")


def test_a_graph_meta_parameter_with_a_bad_value_is_reported() -> None:
    g = chain((8,), ("fully-conn", {"out_features": "M"}))
    g.params["M"] = ParamSpec("M", "int", 3, minimum=1, maximum=10)
    g.set_meta("M", 11)
    problems = g.validate()
    assert problems[0].code == "graph-param" and problems[0].node is None
    sentence(problems[0], "graph 'untitled'", "M must be an integer from 1 to 10 (got 11)")


@pytest.mark.parametrize(("repeat", "code", "words"), [
    (0, "param-range", "repeat must be an integer from 1 to 10,000 (got 0)"),
    (10_001, "param-range", "(got 10001)"),
    (2.5, "param-range", "(got 2.5)"),
    (True, "param-range", "(got true)"),
    ("K", "expression", "repeat = 'K': unknown name 'K'"),
    ("2/0", "expression", "division by zero"),
])
def test_a_bad_repeat_is_reported(repeat: Any, code: str, words: str) -> None:
    problem = one(chain((8,), ("fully-conn", {"out_features": 8, "repeat": repeat})), code)
    assert problem.node == "fc1"
    sentence(problem, words)


def test_a_repeat_on_a_node_with_several_inputs_is_reported() -> None:
    g = Graph()
    x, s, y = g.add("input", shape=(8,)), g.add("+", repeat=3), g.add("output")
    g.connect(x, s)
    g.connect(x, s)
    g.connect(s, y)
    sentence(one(g, "repeat"), "repeated ×3", "several inputs")


# --- shapes -------------------------------------------------------------------------------------------------

def test_a_fully_connected_layer_on_a_feature_map_says_insert_a_reshape() -> None:
    g = chain((64, 4, 4), ("fully-conn", {"out_features": 10}), ("relu", {}))
    problem = one(g, "rank")
    assert (problem.node, problem.port) == ("fc1", "x")
    sentence(problem, "64×4×4", "insert a reshape")


def test_a_kernel_larger_than_its_input_is_reported_with_both_sizes() -> None:
    problem = one(chain((1, 4, 4), ("conv-2d", {"kernel_size": 5})), "shape")
    assert problem.node == "conv1"
    sentence(problem, "kernel of 5", "(4)", "1×4×4")


def test_a_sum_of_mismatched_shapes_names_both() -> None:
    g = Graph()
    a, b, s, y = g.add("input", shape=(8, 3)), g.add("input", shape=(9, 3)), g.add("+"), g.add("output")
    g.connect(a, s)
    g.connect(b, s)
    g.connect(s, y)
    problem = one(g, "shape")
    assert (problem.node, problem.port) == (s, "x")
    sentence(problem, "8×3", "9×3", "do not match")


def test_token_ids_where_floats_are_needed_is_a_dtype_problem() -> None:
    g = chain((16,), ("fully-conn", {"out_features": 4}))
    g.set_param("X", "dtype", "int")
    problem = one(g, "dtype")
    assert problem.node == "fc1"
    sentence(problem, "float", "token ids", "insert an embed")


def test_an_error_inside_a_block_is_reported_on_the_instance_with_a_path() -> None:
    problem = one(chain((10, 30), ("self-att", {"heads": 4})), "shape")
    assert problem.node == "selfatt1" and problem.path == ("mha1",) and problem.port is None
    sentence(problem, "in self-att 'selfatt1'", "mha 'mha1'", "num_heads=4", "30")
    assert problem.to_json()["path"] == ["mha1"]


def test_a_value_error_inside_a_block_names_the_inner_node() -> None:
    problems = chain((6, 8, 8), ("resblock", {})).validate()
    assert [(p.code, p.node, p.path) for p in problems] == [
        ("param-type", "resblock1", ("conv1",)), ("param-type", "resblock1", ("conv2",))]
    sentence(problems[0], "in resblock 'resblock1'", "conv-2d 'conv1'", "'C/4' = 1.5")


def test_a_node_downstream_of_an_error_still_reports_its_own_bad_value() -> None:
    g = chain((64, 4, 4), ("fully-conn", {"out_features": 10}), ("dropout", {"p": 2}))
    assert sorted((p.code, p.node) for p in g.validate()) == [("param-range", "drop1"), ("rank", "fc1")]


def test_nodes_after_a_shape_error_get_no_further_problem() -> None:
    g = chain((64, 4, 4), ("fully-conn", {"out_features": 10}), ("relu", {}), ("fully-conn", {"out_features": 2}))
    assert [(p.code, p.node) for p in g.validate()] == [("rank", "fc1")]
    assert "fc1" not in g.analyze().nodes and "fc2" not in g.analyze().nodes


def test_nodes_after_a_parameter_error_get_no_further_problem() -> None:
    g = chain((8,), ("fully-conn", {"out_features": 0}), ("fully-conn", {"out_features": 3}), ("+", {}))
    assert sorted((p.code, p.node) for p in g.validate()) == [("arity", "add1"), ("param-range", "fc1")]


def test_a_valid_graph_has_no_problem_and_every_node_is_inferred() -> None:
    g = chain((1, 28, 28), ("conv-2d", {"out_channels": 8, "kernel_size": 5}), ("reshape", {"shape": [-1]}),
              ("fully-conn", {"out_features": 10}))
    analysis = g.analyze()
    assert analysis.problems == [] and analysis.ok
    assert set(analysis.nodes) == {n.name for n in g}
    assert analysis.nodes["reshape1"].output.shape == (8 * 24 * 24,)


# --- validate() never raises --------------------------------------------------------------------------------

TYPES = [*layer_types(), "resblock", "dresblock", "ffw", "self-att", "cross-att", "nonsense"]
EXPRESSIONS = st.sampled_from(["C/4", "1/0", "0**-1", "(-8)**0.5", "N", "k*2", "k*10**9", "same", "x.y", "2**99",
                               "C is C", "S", "D", "-1", "__import__('os')"])


def values(finite: bool) -> st.SearchStrategy[Any]:
    """Anything a person or a file may put in a parameter: wrong types, huge, negative, texts, None, lists."""
    floats = st.floats(allow_nan=not finite, allow_infinity=not finite)
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), floats, st.text(max_size=8),
                        EXPRESSIONS)
    return st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=3), scalars, max_size=2))


VALUES = values(finite=False)
FILE_VALUES = values(finite=True)  # JSON has no NaN: a file holding one is refused before it is read (fileformat)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4))
PORTS = st.sampled_from([None, "x", "q", "k", "v", "x_q", "x_kv", "zz"])


def params_for(type_name: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = layer_spec(type_name)
    keys = [p.name for p in spec.params] if spec else ["S", "heads", "hidden", "p", "causal"]
    return st.dictionaries(st.sampled_from([*keys, "junk"]), VALUES, max_size=3)


@st.composite
def api_graphs(draw: st.DrawFn) -> Graph:
    g = Graph()
    if draw(st.booleans()):  # template knobs, some holding lists or texts that expressions may name
        g.params["N"] = ParamSpec("N", "int", 2, minimum=1)
        g.params["k"] = ParamSpec("k", "size", (3, 3), minimum=1, arity=2)
        g.param_values = draw(st.dictionaries(st.sampled_from(["N", "k"]), VALUES, max_size=2))
    names = []
    for _ in range(draw(st.integers(1, 8))):
        type_name = draw(st.sampled_from(TYPES))
        repeat = draw(st.one_of(st.integers(-2, 4), st.sampled_from(["N", "1/0", "0**-1", "k"]), VALUES))
        names.append(g.add(type_name, repeat=repeat, **draw(params_for(type_name))))
    for _ in range(draw(st.integers(0, 12))):  # cycles, self-loops and crowded ports included
        src, dst = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        try:
            g.connect(src, dst, draw(PORTS))
        except ValueError as exc:  # GraphError: a port the type does not have, refused by the API
            assert "port" in str(exc)
    return g


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(api_graphs())
def test_validate_never_raises_on_graphs_built_by_the_api(g: Graph) -> None:
    problems = g.validate()
    assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems)
    assert all(p.node is None or p.node in g for p in problems)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    names = ["X", "a", "b", "c", "Y", "x", "y"]
    nodes = [{"name": draw(st.one_of(st.sampled_from(names), SCALARS)),
              "type": draw(st.one_of(st.sampled_from([*TYPES, "blk"]), SCALARS)),
              "params": draw(st.one_of(st.dictionaries(st.sampled_from(
                  ["out_features", "kernel_size", "shape", "dtype", "p", "S", "name", "type", "repeat", "k"]),
                  FILE_VALUES, max_size=3), SCALARS)),
              "repeat": draw(st.one_of(st.integers(-1, 3), SCALARS))}
             for _ in range(draw(st.integers(0, 7)))]
    ends = st.one_of(st.sampled_from(names), SCALARS)
    edges = draw(st.lists(st.fixed_dictionaries({"from": ends, "to": ends}, optional={"port": PORTS}), max_size=9))
    return {"nodes": nodes, "edges": edges}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": "layerbook", "version": 1, **draw(bodies())}
    if draw(st.booleans()):
        doc["blocks"] = {name: draw(bodies()) for name in draw(st.lists(st.sampled_from(["blk", "resblock"]),
                                                                         max_size=2, unique=True))}
    if draw(st.booleans()):
        doc["params"] = {"k": {"type": draw(st.sampled_from(["int", "size", "text", "choice"])),
                               "default": draw(FILE_VALUES)}}
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_validate_never_raises_on_graphs_read_leniently_from_any_file(doc: dict[str, Any]) -> None:
    try:
        g = loads(json.dumps(doc), strict=False)
    except GraphFileError:  # only a document that is not JSON at all is refused outright
        pytest.fail("a JSON object must load leniently")
    assert isinstance(g.validate(), list)


# --- regressions: one fixture per bug fixed -----------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"
REGRESSIONS: dict[str, tuple[list[str], list[tuple[str, str | None, tuple[str, ...], str]]]] = {
    # fixture: (defects of a strict load, problems of a lenient load as (code, node, path, words))
    "recursive-block": ([], [("recursive-block", "a1", (), "contains itself (a → b → a)")]),
    "block-used-before-defined": ([], []),
    "edge-into-an-input": (["edges[0].to: 'X2' has no input port; nothing can be wired into it"],
                           [("dead-end", "X", (), "reaches no output")]),
    "params-named-like-node-fields": (
        [f"nodes[1].params.{key}: relu has no meta-parameter '{key}'" for key in ("name", "type", "repeat")],
        [("unknown-param", "r", (), f"no meta-parameter '{key}'") for key in ("name", "type", "repeat")]),
    "unsafe-arithmetic": ([], [("expression", "fc1", (), "0**-1 divides by zero"),
                               ("expression", "fc2", (), "'k' is (3, 3), not a number"),
                               ("expression", "fc3", (), "(-8)**0.5 is not a real number")]),
    "identity-comparison": (
        ["blocks.b.nodes[1].params.out_features: 'D if D is D else 1' compares with something other than "
         "== != < <= > >="],
        [("expression", "b1", ("fc",), "compares with something other than")]),
}


def test_every_fixture_has_its_expectations() -> None:
    assert sorted(p.name.removesuffix(".layerbook.json") for p in FIXTURES.glob("*.layerbook.json")) == sorted(
        REGRESSIONS)


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_fixture(name: str) -> None:
    path = FIXTURES / f"{name}.layerbook.json"
    defects, expected = REGRESSIONS[name]
    if defects:
        with pytest.raises(GraphFileError) as raised:
            load_graph(path)
        assert raised.value.defects == defects
    else:
        load_graph(path)
    problems = load_graph(path, strict=False).validate()
    assert [(p.code, p.node, p.path) for p in problems] == [e[:3] for e in expected]
    for problem, (*_, words) in zip(problems, expected, strict=True):
        sentence(problem, words)


def test_a_block_used_before_it_is_defined_counts_its_parameters() -> None:
    g = load_graph(FIXTURES / "block-used-before-defined.layerbook.json")
    assert g.analyze().nodes["o"].output.shape == (16,)
    assert g.analyze().parameters == 8 * 16 + 16  # fully-conn 8 → K·D = 16, with bias
