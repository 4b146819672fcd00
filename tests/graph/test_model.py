"""The Graph API: readable names, editing that keeps edges and brackets consistent, events for every change,
a revision that tracks what can alter validation, independent copies, and GraphError only for API misuse."""

from __future__ import annotations

from typing import Any

import pytest

from graph import Bracket, Edge, Graph, GraphError


def recorder(g: Graph) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    g.events.subscribe(lambda kind, data: seen.append((kind, data)))
    return seen


@pytest.fixture
def chain() -> Graph:
    """X → conv1 → relu1 → Y, with conv1 and relu1 in a bracket."""
    g = Graph()
    for src, dst in (("X", "conv1"), ("conv1", "relu1"), ("relu1", "Y")):
        for name in (src, dst):
            if name not in g:
                g.add({"X": "input", "conv1": "conv-2d", "relu1": "relu", "Y": "output"}[name])
        g.connect(src, dst)
    g.brackets.append(Bracket("Feature extractor", ["conv1", "relu1"]))
    return g


# --- names -------------------------------------------------------------------------------------------------

def test_nodes_get_readable_names_numbered_per_prefix() -> None:
    g = Graph()
    names = [g.add(t) for t in ("input", "conv-2d", "conv-2d", "fully-conn", "relu", "fully-conn", "output")]
    assert names == ["X", "conv1", "conv2", "fc1", "relu1", "fc2", "Y"]


def test_capitalised_prefixes_are_bare_first_then_numbered_from_two() -> None:
    g = Graph()
    assert [g.add("input"), g.add("input"), g.add("input")] == ["X", "X2", "X3"]


def test_numbering_skips_names_already_taken() -> None:
    g = Graph()
    g.add("relu", "relu1")
    g.add("relu", "relu2")
    assert g.add("relu") == "relu3"


def test_a_block_instance_is_named_after_its_block() -> None:
    g = Graph()
    assert [g.add("resblock"), g.add("self-att"), g.add("+")] == ["resblock1", "selfatt1", "add1"]


def test_an_explicit_name_is_kept() -> None:
    g = Graph()
    assert g.add("fully-conn", "classifier", out_features=10) == "classifier"
    assert g.node("classifier").params == {"out_features": 10}


# --- editing ----------------------------------------------------------------------------------------------

def test_edges_keep_the_order_they_were_made_in() -> None:
    g = Graph()
    a, b, c = g.add("input", shape=(4,)), g.add("input", shape=(5,)), g.add("concat")
    g.connect(b, c)
    g.connect(a, c)
    assert [e.src for e in g.in_edges(c)] == [b, a]
    assert g.incoming()[c] == g.in_edges(c)


def test_rename_keeps_edges_brackets_and_parameters(chain: Graph) -> None:
    chain.set_param("conv1", "out_channels", 8)
    chain.rename("conv1", "features")
    assert "conv1" not in chain and "features" in chain
    assert chain.edges == [Edge("X", "features"), Edge("features", "relu1"), Edge("relu1", "Y")]
    assert chain.brackets[0].nodes == ["features", "relu1"]
    assert chain.node("features").params == {"out_channels": 8}
    assert set(chain.structure.nodes) == {"X", "features", "relu1", "Y"}


def test_rename_keeps_the_order_of_nodes_and_of_concat_terms() -> None:
    g = Graph()
    a, b, c = g.add("input", shape=(4,)), g.add("input", shape=(5,)), g.add("concat")
    g.connect(a, c)
    g.connect(b, c)
    g.rename(a, "first")
    assert [n.name for n in g] == ["first", b, c]
    assert [e.src for e in g.in_edges(c)] == ["first", b]


def test_rename_to_the_same_name_changes_nothing(chain: Graph) -> None:
    revision = chain.revision
    chain.rename("conv1", "conv1")
    assert chain.revision == revision


def test_remove_deletes_the_node_its_edges_and_its_bracket_entry(chain: Graph) -> None:
    chain.remove("conv1")
    assert "conv1" not in chain
    assert chain.edges == [Edge("relu1", "Y")]
    assert chain.brackets[0].nodes == ["relu1"]
    assert "conv1" not in chain.structure


def test_disconnect_removes_one_edge_of_several_between_the_same_nodes() -> None:
    g = Graph()
    x, s = g.add("input", shape=(4,)), g.add("+")
    g.connect(x, s)
    g.connect(x, s)
    g.disconnect(Edge(x, s))
    assert g.in_edges(s) == [Edge(x, s)]


def test_set_param_none_restores_the_default() -> None:
    g = Graph()
    fc = g.add("fully-conn", out_features=10)
    g.set_param(fc, "out_features", None)
    assert g.node(fc).params == {}


def test_move_stores_floats() -> None:
    g = Graph()
    r = g.add("relu")
    g.move(r, (3, 4))
    assert g.node(r).position == (3.0, 4.0)


# --- events and revision ------------------------------------------------------------------------------------

def test_every_change_emits_one_event_with_its_data(chain: Graph) -> None:
    seen = recorder(chain)
    chain.add("tanh", "t")
    chain.connect("relu1", "t")
    chain.set_param("conv1", "out_channels", 4)
    chain.set_repeat("conv1", 2)
    chain.set_label("conv1", "features")
    chain.move("conv1", (1.0, 2.0))
    chain.rename("t", "u")
    chain.disconnect(Edge("relu1", "u"))
    chain.remove("u")
    assert seen == [
        ("node_added", {"name": "t"}),
        ("edge_added", {"edge": Edge("relu1", "t")}),
        ("params_changed", {"name": "conv1", "key": "out_channels"}),
        ("repeat_changed", {"name": "conv1"}),
        ("label_changed", {"name": "conv1"}),
        ("node_moved", {"name": "conv1"}),
        ("node_renamed", {"old": "t", "new": "u"}),
        ("edge_removed", {"edge": Edge("relu1", "u")}),
        ("node_removed", {"name": "u"}),
    ]


def test_removing_a_node_announces_its_edges_first(chain: Graph) -> None:
    seen = recorder(chain)
    chain.remove("conv1")
    assert [kind for kind, _ in seen] == ["edge_removed", "edge_removed", "node_removed"]


def test_unsubscribe_stops_events() -> None:
    g = Graph()
    seen: list[str] = []
    stop = g.events.subscribe(lambda kind, data: seen.append(kind))
    g.add("relu")
    stop()
    g.add("relu")
    assert seen == ["node_added"]


@pytest.mark.parametrize("edit", [
    lambda g: g.add("tanh"),
    lambda g: g.remove("relu1"),
    lambda g: g.connect("X", "Y"),
    lambda g: g.disconnect(Edge("conv1", "relu1")),
    lambda g: g.set_param("conv1", "kernel_size", 5),
    lambda g: g.set_repeat("relu1", 3),
    lambda g: g.rename("conv1", "c"),
    lambda g: g.touch(),
])
def test_revision_bumps_on_every_change(chain: Graph, edit: Any) -> None:
    revision = chain.revision
    edit(chain)
    assert chain.revision > revision


def test_revision_stays_on_a_move_and_the_analysis_is_reused(chain: Graph) -> None:
    chain.node("X").params["shape"] = (1, 8, 8)
    chain.touch()
    first = chain.analyze()
    revision = chain.revision
    chain.move("conv1", (100.0, -50.0))
    assert chain.revision == revision
    assert chain.analyze() is first


def test_a_change_is_seen_by_the_next_analysis(chain: Graph) -> None:
    chain.set_param("X", "shape", [1, 8, 8])
    assert chain.analyze().nodes["conv1"].output.shape == (16, 6, 6)
    chain.set_param("conv1", "kernel_size", 5)
    assert chain.analyze().nodes["conv1"].output.shape == (16, 4, 4)


def test_meta_parameters_are_set_and_reset() -> None:
    from graph.catalog import ParamSpec

    g = Graph()
    g.params["N"] = ParamSpec("N", "int", 2, minimum=1)
    seen = recorder(g)
    g.set_meta("N", 5)
    assert g.param_values == {"N": 5}
    g.set_meta("N", None)
    assert g.param_values == {}
    assert seen == [("meta_changed", {"key": "N"}), ("meta_changed", {"key": "N"})]


# --- copies -----------------------------------------------------------------------------------------------

def test_a_copy_is_independent_of_its_original(chain: Graph) -> None:
    seen = recorder(chain)
    clone = chain.copy()
    clone.set_param("conv1", "out_channels", 99)
    clone.rename("relu1", "act")
    clone.add("tanh")
    clone.brackets[0].label = "changed"
    assert chain.node("conv1").params == {}
    assert "relu1" in chain and "act" not in chain and len(chain) == 4
    assert chain.brackets[0].label == "Feature extractor"
    assert seen == []  # the copy has no subscribers: editing it tells the original's views nothing


def test_a_copy_keeps_the_originals_subscribers_on_the_original(chain: Graph) -> None:
    seen = recorder(chain)
    chain.copy()
    chain.add("tanh")
    assert seen == [("node_added", {"name": "tanh1"})]


def test_a_copy_copies_blocks_too() -> None:
    g = Graph()
    g.blocks["b"] = Graph("b", blocks=g.blocks)
    g.blocks["b"].add("input")
    clone = g.copy()
    clone.blocks["b"].add("output")
    assert len(g.blocks["b"]) == 1 and len(clone.blocks["b"]) == 2
    assert clone.blocks["b"].blocks is clone.blocks  # the inside still sees its file's blocks


# --- misuse -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "words"), [
    (lambda g: g.node("nope"), "no node named 'nope'"),
    (lambda g: g.remove("nope"), "no node named 'nope'"),
    (lambda g: g.connect("nope", "Y"), "no node named 'nope'"),
    (lambda g: g.set_param("nope", "p", 1), "no node named 'nope'"),
    (lambda g: g.rename("nope", "b"), "no node named 'nope'"),
    (lambda g: g.add("relu", "1st"), "'1st' is not a valid node name"),
    (lambda g: g.add("relu", "a b"), "'a b' is not a valid node name"),
    (lambda g: g.add("relu", "x" * 65), "is not a valid node name"),
    (lambda g: g.add("relu", "conv1"), "a node named 'conv1' already exists"),
    (lambda g: g.rename("conv1", "relu1"), "a node named 'relu1' already exists"),
    (lambda g: g.rename("conv1", "no-dash"), "'no-dash' is not a valid node name"),
    (lambda g: g.connect("X", "conv1", "w"), "conv-2d 'conv1' has no input port 'w' (ports: x)"),
    (lambda g: g.connect("Y", "conv1"), "output 'Y' has no output port 'y' (ports: none)"),
    (lambda g: g.connect("conv1", "X"), "input 'X' has no input port 'x' (ports: none)"),
    (lambda g: g.disconnect(Edge("X", "Y")), "no edge from 'X' to 'Y'"),
    (lambda g: g.set_meta("N", 3), "has no meta-parameter 'N'"),
])
def test_misuse_raises_graph_error_and_changes_nothing(chain: Graph, action: Any, words: str) -> None:
    before = (chain.revision, [(n.name, n.type, dict(n.params)) for n in chain], chain.edges)
    with pytest.raises(GraphError, match=words.replace("(", r"\(").replace(")", r"\)")):
        action(chain)
    assert before == (chain.revision, [(n.name, n.type, dict(n.params)) for n in chain], chain.edges)


def test_a_mistake_a_person_may_draw_is_not_misuse() -> None:
    """Unknown types, bad values, cycles and missing wires are accepted by the API and reported by validate()."""
    g = Graph()
    a = g.add("no-such-layer")
    b = g.add("fully-conn", out_features=-3)
    r1, r2 = g.add("relu"), g.add("relu")
    g.connect(r1, r2)
    g.connect(r2, r1)
    assert {p.node for p in g.validate()} >= {a, b, r1, r2}
