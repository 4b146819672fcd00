"""Structural checks with networkx: types, ports and arity, cycles, reachability from inputs and to outputs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import networkx as nx

from graph.catalog import LayerSpec
from graph.model import Edge, Graph, Node
from graph.problems import WARNING, Problem
from graph.registry import layer_types, suggest
from graph.resolve import block_inputs, output_ports, resolve


def who(node: Node) -> str:
    """How messages name a node: its type, then its name ("fully-conn 'fc1'")."""
    return f"{node.type} '{node.name}'"


@dataclass
class Structure:
    """The outcome of the structural checks, reused by inference."""

    problems: list[Problem]
    blocked: set[str]  # nodes that cannot be computed: unknown types, cycles
    order: list[str]  # a topological order of the nodes outside cycles
    incoming: dict[str, list[Edge]]


def check_structure(graph: Graph, top_level: bool = True) -> Structure:
    """Problems of structure, the nodes they make uncomputable, and an order to compute the others in."""
    problems: list[Problem] = []
    blocked: set[str] = set()
    incoming = graph.incoming()
    for node in graph:
        found = _check_type(graph, node)
        if found:
            problems.append(found)
            blocked.add(node.name)
    problems += _check_ends(graph, top_level)
    ports_by_type: dict[str, list[tuple[str, bool, bool, int]]] = {}
    outputs_by_type: dict[str, list[str] | None] = {}
    for node in graph:
        if node.name not in blocked:
            if node.type not in ports_by_type:
                ports_by_type[node.type] = _ports_of(graph, node)
            problems += _check_ports(node, ports_by_type[node.type], incoming[node.name])
            problems += _check_sources(graph, node, incoming[node.name], blocked, outputs_by_type)
    try:
        order = list(nx.topological_sort(graph.structure))
    except nx.NetworkXUnfeasible:  # only graphs with a cycle pay for finding the cycles
        cycle_problems, in_cycles = _check_cycles(graph)
        problems += cycle_problems
        blocked |= in_cycles
        rest = graph.structure.subgraph(n for n in graph.structure if n not in in_cycles)
        order = list(nx.topological_sort(rest))
    flagged = {p.node for p in problems if p.is_error}
    problems += _check_reachability(graph, flagged | blocked)
    return Structure(problems, blocked, order, incoming)


def _check_type(graph: Graph, node: Node) -> Problem | None:
    if resolve(graph, node.type) is not None:
        return None
    from graph.library import library_blocks

    blocks = sorted(set(graph.blocks) | set(library_blocks()))
    block_hint = suggest(node.type, blocks)
    if block_hint or not suggest(node.type, layer_types()):
        listing = ", ".join(blocks) or "none"
        return Problem("undefined-block" if block_hint else "unknown-type",
                       f"'{node.name}' uses '{node.type}', which is neither a layer type nor a defined block"
                       f"{block_hint or ''} (blocks: {listing})", node.name)
    return Problem("unknown-type", f"'{node.name}' has unknown layer type '{node.type}'"
                   f"{suggest(node.type, layer_types())}", node.name)


def _check_ends(graph: Graph, top_level: bool) -> list[Problem]:
    problems = []
    what = "graph" if top_level else f"block '{graph.name}'"
    if not graph.nodes_of_type("input"):
        problems.append(Problem("no-input", f"the {what} has no input node: add an input (X)"))
    if not graph.nodes_of_type("output"):
        problems.append(Problem("no-output", f"the {what} has no output node: add an output"))
    return problems


def _ports_of(graph: Graph, node: Node) -> list[tuple[str, bool, bool, int]]:
    """(name, variadic, optional, min_count) for each input port of the node's type."""
    target = resolve(graph, node.type)
    if isinstance(target, LayerSpec):
        return [(p.name, p.variadic, p.optional, p.min_count) for p in target.inputs]
    return [(name, False, False, 1) for name in block_inputs(target)]


def _check_ports(node: Node, ports: list[tuple[str, bool, bool, int]], incoming: list[Edge]) -> list[Problem]:
    known = {p[0] for p in ports}
    counts = Counter(e.port for e in incoming)
    problems = [
        Problem("unknown-port", f"'{e.src}' is wired to port '{e.port}' of {who(node)}, which has no such port "
                f"(ports: {', '.join(sorted(known)) or 'none'})", node.name, e.port)
        for e in incoming if e.port not in known
    ]
    for name, variadic, optional, min_count in ports:
        count = counts.get(name, 0)
        if count == 0 and not optional:
            problems.append(Problem("unconnected", f"input port '{name}' of {who(node)} is not connected",
                                    node.name, name))
        elif variadic and count < min_count:
            problems.append(Problem("arity", f"{who(node)} receives {count} input; it needs at least {min_count}",
                                    node.name, name))
        elif not variadic and count > 1:
            problems.append(Problem("arity", f"port '{name}' of {who(node)} receives {count} edges; it takes one",
                                    node.name, name))
    return problems


def _check_sources(graph: Graph, node: Node, incoming: list[Edge], blocked: set[str],
                   outputs_by_type: dict[str, list[str] | None]) -> list[Problem]:
    """Edges leaving an output port their source does not have (a block whose output node was renamed)."""
    problems = []
    for edge in incoming:
        if edge.src in blocked:
            continue
        source = graph.node(edge.src)
        if source.type not in outputs_by_type:
            outputs_by_type[source.type] = output_ports(graph, source.type)
        outputs = outputs_by_type[source.type]
        if outputs is not None and edge.src_port not in outputs:
            problems.append(Problem(
                "unknown-port", f"{who(node)} is wired from output '{edge.src_port}' of {who(source)}, which has "
                f"no such output (outputs: {', '.join(outputs) or 'none'})", node.name, edge.port))
    return problems


def _check_cycles(graph: Graph) -> tuple[list[Problem], set[str]]:
    problems: list[Problem] = []
    members: set[str] = set()
    structure = graph.structure
    for component in nx.strongly_connected_components(structure):
        if len(component) == 1:
            (single,) = component
            if not structure.has_edge(single, single):
                continue
        cycle = nx.find_cycle(structure.subgraph(component))
        path = [u for u, *_ in cycle] + [cycle[0][0]]
        text = " → ".join(f"'{n}'" for n in path)
        for name in sorted(component):
            problems.append(Problem("cycle", f"{who(graph.node(name))} is on a cycle: {text}; data must flow "
                                    "from the inputs to the outputs without coming back", name))
        members |= component
    return problems, members


def _check_reachability(graph: Graph, flagged: set[str]) -> list[Problem]:
    structure = graph.structure
    inputs = [n.name for n in graph.nodes_of_type("input")]
    outputs = [n.name for n in graph.nodes_of_type("output")]
    fed = set(inputs).union(*(nx.descendants(structure, i) for i in inputs)) if inputs else set()
    useful = set(outputs).union(*(nx.ancestors(structure, o) for o in outputs)) if outputs else set()
    problems = []
    for node in graph:
        if node.name not in fed and node.name not in flagged:
            cut = sorted(a for a in nx.ancestors(structure, node.name) if a in flagged)[:3]
            because = f" (upstream, {', '.join(repr(c) for c in cut)} is cut off)" if cut else ""
            problems.append(Problem("unreachable", f"{who(node)} receives no data from any input{because}",
                                    node.name))
        if node.name not in useful and node.type != "output" and outputs:
            problems.append(Problem("dead-end", f"the result of {who(node)} reaches no output: it is computed "
                                    "for nothing", node.name, severity=WARNING))
    return problems
