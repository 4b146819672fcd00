"""The layered layout: bottom to top, the main chain in one column, branches side by side."""

from __future__ import annotations

import itertools

from graph import load_graph
from graph.layout import LAYER_SPACING, layered_layout
from graph.library import library_blocks
from graph.model import Graph


def _chain(length: int) -> Graph:
    graph = Graph()
    names = [graph.add("input", "X")] + [graph.add("relu") for _ in range(length)]
    for a, b in itertools.pairwise(names):
        graph.connect(a, b)
    return graph


def test_every_edge_goes_upward() -> None:
    for graph in (load_graph("lenet"), load_graph("transformer"), library_blocks()["dresblock"]):
        positions = layered_layout(graph)
        assert set(positions) == {node.name for node in graph}
        for edge in graph.edges:
            assert positions[edge.dst][1] < positions[edge.src][1], edge


def test_a_chain_is_one_column_from_the_input_up() -> None:
    positions = layered_layout(_chain(5))
    assert {x for x, _ in positions.values()} == {0.0}
    assert [y for _, y in positions.values()] == [-i * LAYER_SPACING for i in range(6)]


def test_skip_connections_keep_the_chain_in_one_column() -> None:
    positions = layered_layout(library_blocks()["resblock"])
    assert {x for x, _ in positions.values()} == {0.0}
    ys = [y for _, y in positions.values()]
    assert len(set(ys)) == len(ys)


def test_parallel_branches_do_not_overlap() -> None:
    graph = Graph()
    x = graph.add("input", "X")
    left = [graph.add("relu") for _ in range(3)]
    right = [graph.add("tanh") for _ in range(3)]
    total = graph.add("+")
    for branch in (left, right):
        graph.connect(x, branch[0])
        for a, b in itertools.pairwise(branch):
            graph.connect(a, b)
        graph.connect(branch[-1], total)
    positions = layered_layout(graph)
    assert len(set(positions.values())) == len(positions)
    assert {positions[n][0] for n in left}.isdisjoint({positions[n][0] for n in right})
    assert positions[x][0] == positions[total][0] == 0.0


def test_cycles_and_isolated_nodes_still_get_a_place_deterministically() -> None:
    graph = _chain(3)
    names = [node.name for node in graph]
    graph.connect(names[-1], names[1])  # a mistake a person may draw
    graph.add("relu", "lonely")
    first, second = layered_layout(graph), layered_layout(graph)
    assert first == second and set(first) == {node.name for node in graph}
