"""Group a selection into a new block (one instance node replaces it) and inline a block instance back.

Both keep what the model computes: the inferred shapes and the parameter count are the same before and after.
A new block gets one `input` node per distinct wire entering the selection and one `output` node per distinct
value leaving it; its inner inputs carry no shape pattern, so they accept whatever arrives. Names that the
selection's expressions use from the surrounding graph (a template's `classes`, a block's `C`) become the new
block's meta-parameters, passed through by the instance (`{"C": "C"}`).
"""

from __future__ import annotations

import re
from typing import Any

import networkx as nx

from graph.catalog import CHOICE, TEXT, ParamSpec
from graph.expressions import ExpressionError, evaluate, names
from graph.model import Edge, Graph, GraphError
from graph.registry import layer_spec
from graph.resolve import find_block, name_prefix
from graph.snapshot import edge_order, reconnect

IO_TYPES = ("input", "output")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- group -------------------------------------------------------------------------------------------------------

def group(graph: Graph, names: list[str], block_name: str | None = None) -> str:
    """Replace the selected nodes by an instance of a new block made of them; returns the instance's name."""
    chosen = _check_selection(graph, names)
    block_name = block_name or _free_block_name(graph)
    _check_block_name(graph, block_name)
    edges = graph.edges
    entering = [e for e in edges if e.src not in chosen and e.dst in chosen]
    leaving = [e for e in edges if e.src in chosen and e.dst not in chosen]
    sources = list(dict.fromkeys((e.src, e.src_port) for e in entering))
    results = list(dict.fromkeys((e.src, e.src_port) for e in leaving))
    _check_no_cycle(graph, chosen)
    in_names = _port_names("x", len(sources))
    out_names = _port_names("y", len(results))
    knobs = _free_names(graph, chosen)
    block = _build_block(graph, block_name, chosen, edges, sources, results, in_names, out_names, knobs)
    orders = {e: edge_order(graph, e) for e in entering + leaving}
    instance = _place_instance(graph, block, chosen, knobs)
    _rewire(graph, instance, entering, leaving, sources, results, in_names, out_names, orders)
    return instance


def _check_selection(graph: Graph, names: list[str]) -> set[str]:
    if not names:
        raise GraphError("select the nodes to group first")
    for name in names:
        node = graph.node(name)
        if node.type in IO_TYPES:
            raise GraphError(f"'{name}' is an {node.type} node: a group cannot contain the model's inputs or "
                             "outputs; leave it out of the selection")
    return set(names)


def _free_block_name(graph: Graph) -> str:
    index = 1
    while f"block{index}" in graph.blocks or find_block(graph, f"block{index}") is not None:
        index += 1
    return f"block{index}"


def _check_block_name(graph: Graph, name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", name):
        raise GraphError(f"'{name}' is not a valid block name: use letters, digits, - and _")
    if layer_spec(name) is not None:
        raise GraphError(f"'{name}' is the name of a layer type; give the block another name")
    if name in graph.blocks:
        raise GraphError(f"a block named '{name}' already exists")


def _check_no_cycle(graph: Graph, chosen: set[str]) -> None:
    """Grouping contracts the selection into one node: a path leaving it and coming back would become a cycle."""
    contracted = nx.DiGraph()
    contracted.add_nodes_from("@" if n in chosen else n for n in graph.structure.nodes)
    for u, v in graph.structure.edges():
        a, b = ("@" if u in chosen else u), ("@" if v in chosen else v)
        if a != b:
            contracted.add_edge(a, b)
    if not nx.is_directed_acyclic_graph(contracted):
        raise GraphError("these nodes cannot be grouped: a path leaves the selection and comes back into it, "
                         "so the block would feed itself; include the nodes on that path or select fewer")


def _port_names(stem: str, count: int) -> list[str]:
    return [stem] if count == 1 else [f"{stem}{i + 1}" for i in range(count)]


def _free_names(graph: Graph, chosen: set[str]) -> list[str]:
    """Names the selection's expressions use that are not its own: they become the block's meta-parameters."""
    found: dict[str, None] = {}
    for node in graph.nodes:
        if node.name not in chosen:
            continue
        spec = layer_spec(node.type)
        literal = {p.name for p in spec.params if p.kind in (CHOICE, TEXT)} if spec else set()
        values = [v for k, v in node.params.items() if k not in literal] + [node.repeat]
        for text in _strings(values):
            try:
                found.update(dict.fromkeys(sorted(names(text))))
            except ExpressionError:
                continue  # a broken expression is reported by validation; it binds no name
    return list(found)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _build_block(graph: Graph, name: str, chosen: set[str], edges: list[Edge], sources: list[tuple[str, str]],
                 results: list[tuple[str, str]], in_names: list[str], out_names: list[str],
                 knobs: list[str]) -> Graph:
    block = Graph(name, blocks=graph.blocks)
    block.params = {k: graph.params.get(k) or ParamSpec(k, "int", 1, description=f"passed from '{k}' outside")
                    for k in knobs}
    origin = _origin(graph, chosen)
    for index, in_name in enumerate(in_names):
        block.add("input", in_name, position=(origin[0] + 160 * index, origin[1] + 80))
    for node in graph.nodes:
        if node.name in chosen:
            block.add(node.type, node.name, repeat=node.repeat, label=node.label, position=node.position)
            block.node(node.name).params.update(_copy(node.params))
    top = min((p[1] for n in graph.nodes if n.name in chosen and (p := n.position)), default=origin[1])
    for index, out_name in enumerate(out_names):
        block.add("output", out_name, position=(origin[0] + 160 * index, top - 80))
        block.set_param(out_name, "loss", "none")
    for edge in edges:
        if edge.src in chosen and edge.dst in chosen:
            block.connect(edge.src, edge.dst, edge.port, src_port=edge.src_port)
        elif edge.dst in chosen:
            block.connect(in_names[sources.index((edge.src, edge.src_port))], edge.dst, edge.port)
    for (src, src_port), out_name in zip(results, out_names, strict=True):
        block.connect(src, out_name, src_port=src_port)
    graph.blocks[name] = block
    block.touch()
    return block


def _origin(graph: Graph, chosen: set[str]) -> tuple[float, float]:
    placed = [n.position for n in graph.nodes if n.name in chosen and n.position is not None]
    if not placed:
        return (0.0, 0.0)
    return (min(p[0] for p in placed), max(p[1] for p in placed))


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def _place_instance(graph: Graph, block: Graph, chosen: set[str], knobs: list[str]) -> str:
    placed = [n.position for n in graph.nodes if n.name in chosen and n.position is not None]
    position = (sum(p[0] for p in placed) / len(placed), sum(p[1] for p in placed) / len(placed)) if placed else None
    brackets = [[n for n in b.nodes] for b in graph.brackets]
    for name in [n.name for n in graph.nodes if n.name in chosen]:
        graph.remove(name)
    instance = graph.add(block.name, graph.unique_name(name_prefix(graph, block.name) + "_"), position=position)
    for key in knobs:
        graph.set_param(instance, key, key)
    for bracket, before in zip(graph.brackets, brackets, strict=True):
        first = next((i for i, n in enumerate(before) if n in chosen), None)
        if first is not None:
            kept = [n for n in before[:first] if n not in chosen]
            bracket.nodes = kept + [instance] + [n for n in before[first:] if n not in chosen]
    return instance


def _rewire(graph: Graph, instance: str, entering: list[Edge], leaving: list[Edge],
            sources: list[tuple[str, str]], results: list[tuple[str, str]], in_names: list[str],
            out_names: list[str], orders: dict[Edge, int]) -> None:
    """New wires take the places of the old ones in the edge order, so a concat outside keeps its input order."""
    done: set[tuple[str, str]] = set()
    for edge in entering:
        key = (edge.src, edge.src_port)
        if key not in done:
            done.add(key)
            reconnect(graph, Edge(edge.src, instance, in_names[sources.index(key)], edge.src_port), orders[edge])
    for edge in leaving:
        port = out_names[results.index((edge.src, edge.src_port))]
        reconnect(graph, Edge(instance, edge.dst, edge.port, port), orders[edge])


# --- ungroup -----------------------------------------------------------------------------------------------------

def ungroup(graph: Graph, name: str, analysis: Any = None) -> list[str]:
    """Inline one block instance: its inner nodes replace it, wired as the instance was. Inner expressions over
    the block's meta-parameters and input shapes become the values this instance gives them."""
    node = graph.node(name)
    block = find_block(graph, node.type)
    if block is None:
        raise GraphError(f"'{name}' is a {node.type} layer, not a block instance: there is nothing to ungroup")
    if node.repeat != 1:
        raise GraphError(f"'{name}' is repeated ×{node.repeat}: set its repeat to 1 before ungrouping it")
    scope = _instance_scope(graph, name, block, analysis)
    offset = _offset(node.position, block)
    renames: dict[str, str] = {}
    added: list[str] = []
    inner_nodes = [n for n in block.nodes if n.type not in IO_TYPES]
    taken = {n.name for n in graph.nodes if n.name != name}
    for inner in inner_nodes:
        new = inner.name if inner.name not in taken else _unique(graph, taken, inner.type)
        taken.add(new)
        renames[inner.name] = new
    incoming = graph.in_edges(name)
    outgoing = [(e, edge_order(graph, e)) for e in graph.out_edges(name)]
    # meta-parameters the instance gives as expressions of the outer graph stay expressions (`classes`)
    linked = {k: v for k, v in node.params.items() if k in block.params and isinstance(v, str)}
    params = {inner.name: _substitute(inner.type, inner.params, scope, inner.name, linked) for inner in inner_nodes}
    repeats = {inner.name: _value(inner.repeat, scope, inner.name, linked) for inner in inner_nodes}
    graph.remove(name)
    for inner in inner_nodes:
        position = (inner.position[0] + offset[0], inner.position[1] + offset[1]) if inner.position and offset \
            else None
        added.append(graph.add(inner.type, renames[inner.name], repeat=repeats[inner.name], label=inner.label,
                               position=position))
        graph.node(added[-1]).params.update(params[inner.name])
    _inline_edges(graph, block, renames, incoming, outgoing)
    return added


def _unique(graph: Graph, taken: set[str], type_name: str) -> str:
    prefix, index = name_prefix(graph, type_name), 1
    while f"{prefix}{index}" in taken:
        index += 1
    return f"{prefix}{index}"


def _offset(position: tuple[float, float] | None, block: Graph) -> tuple[float, float] | None:
    placed = [n.position for n in block.nodes if n.position is not None]
    if position is None or not placed:
        return None
    return (position[0] - placed[0][0], position[1] - placed[0][1])


def _instance_scope(graph: Graph, name: str, block: Graph, analysis: Any) -> dict[str, Any]:
    """The instance's meta-parameter values and the shape symbols its inputs bind (`C`, `H`, `W`)."""
    from graph.inference import _match

    needs = any(_strings([n.params, n.repeat]) for n in block.nodes if n.type not in IO_TYPES)
    if not needs:
        return {}
    analysis = analysis if analysis is not None else graph.analyze()
    info = analysis.nodes.get(name)
    if info is None or not info.stages:
        raise GraphError(f"cannot ungroup '{name}': its values depend on shapes that are not known here (fix "
                         "the problems upstream, or ungroup it at the top level)")
    scope = dict(info.values)
    given = {port: types[0] for port, types in info.stages[0].inputs.items()}
    for inner in block.nodes_of_type("input"):
        pattern = inner.params.get("shape")
        if pattern is not None and inner.name in given:
            _match(pattern, given[inner.name], scope)
    return scope


def _substitute(type_name: str, params: dict[str, Any], scope: dict[str, Any], where: str,
                linked: dict[str, str]) -> dict[str, Any]:
    spec = layer_spec(type_name)
    kinds = {p.name: p.kind for p in spec.params} if spec else {}
    out = {}
    for key, value in params.items():
        literal = kinds.get(key) in (CHOICE, TEXT)
        out[key] = _copy(value) if literal else _value(value, scope, f"{where}.{key}", linked)
    return out


def _value(value: Any, scope: dict[str, Any], where: str, linked: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_value(v, scope, where, linked) for v in value]
    if not isinstance(value, str):
        return value
    try:
        used = names(value)
    except ExpressionError as exc:
        raise GraphError(f"cannot ungroup: {where} = '{value}' is not a valid expression ({exc})") from None
    if used and used <= linked.keys():
        if value.strip() in linked:
            return linked[value.strip()]
        return IDENTIFIER.sub(lambda m: f"({linked[m.group()]})" if m.group() in linked else m.group(), value)
    try:
        result = evaluate(value, scope)
    except ExpressionError as exc:
        raise GraphError(f"cannot ungroup: {where} = '{value}' cannot be computed here ({exc})") from None
    return int(result) if isinstance(result, float) and result.is_integer() else result


def _inline_edges(graph: Graph, block: Graph, renames: dict[str, str], incoming: list[Edge],
                  outgoing: list[tuple[Edge, int]]) -> None:
    feeds = {}
    for edge in incoming:
        feeds.setdefault(edge.port, []).append(edge)
    for edge in block.edges:
        src_io, dst_io = edge.src not in renames, edge.dst not in renames
        if src_io and dst_io:  # an input wired straight to an output: outer sources feed outer users
            for outer_in in feeds.get(edge.src, []):
                for outer_out, order in outgoing:
                    if outer_out.src_port == edge.dst:
                        reconnect(graph, Edge(outer_in.src, outer_out.dst, outer_out.port, outer_in.src_port), order)
        elif src_io:
            for outer_in in feeds.get(edge.src, []):
                graph.connect(outer_in.src, renames[edge.dst], edge.port, src_port=outer_in.src_port)
        elif dst_io:
            for outer_out, order in outgoing:
                if outer_out.src_port == edge.dst:
                    reconnect(graph, Edge(renames[edge.src], outer_out.dst, outer_out.port, edge.src_port), order)
        else:
            graph.connect(renames[edge.src], renames[edge.dst], edge.port, src_port=edge.src_port)
