"""Restoring a graph's contents in place, for undo: the Graph object (and its block objects, where a block of the
same name survives) stays the same, so every view subscribed to `graph.events` keeps working.

`restore` rebuilds from a `fileformat.to_document` dict without judging it (undo must give back exactly what was
there, mistakes included); `reinsert_node` and `reconnect` put a removed node or edge back at its old place in the
order, so a file written after an undo is byte-identical to the one written before the edit.
"""

from __future__ import annotations

import copy
from typing import Any

import networkx as nx

from graph.document import Reader
from graph.model import Bracket, Edge, Graph, Node
from graph.registry import canonical_type
from graph.resolve import default_input_port, default_output_port

CONTENT = ("name", "title", "description", "source", "params", "param_values", "brackets", "training",
           "_nodes", "_nx", "_next_order")


def restore(graph: Graph, doc: dict[str, Any]) -> None:
    """Make `graph` hold exactly what `doc` describes, then announce one "changed" event (on each block too)."""
    doc = copy.deepcopy(doc)
    reader = Reader()
    fresh = Graph(doc.get("name", "untitled"))
    fresh.title, fresh.source = doc.get("title", ""), doc.get("source", "")
    fresh.description = doc.get("description", "")
    fresh.params = reader._read_param_decls(doc.get("params"), "params")
    fresh.param_values = dict(doc.get("values", {}))
    fresh.training = doc.get("training", {})
    blocks = _restore_blocks(graph, doc.get("blocks", {}), reader)
    fresh.blocks = graph.blocks
    _build_body(fresh, doc)
    fresh.brackets = [Bracket(b["label"], list(b["nodes"])) for b in doc.get("brackets", [])]
    _transplant(graph, fresh)
    for block in blocks:
        block.touch()
    graph.touch()


def _restore_blocks(graph: Graph, docs: dict[str, Any], reader: Reader) -> list[Graph]:
    """Blocks of the same name keep their object (a view may be showing one's inside); the dict object stays."""
    old = dict(graph.blocks)
    fresh: dict[str, Graph] = {}
    for name, block_doc in docs.items():
        block = Graph(name, blocks=graph.blocks)
        block.description = block_doc.get("description", "")
        block.params = reader._read_param_decls(block_doc.get("params"), f"blocks.{name}.params")
        fresh[name] = block
    graph.blocks.clear()
    graph.blocks.update(fresh)  # every block declared before any body is built: bodies' ports may use others
    for name, block_doc in docs.items():
        _build_nodes(fresh[name], block_doc)
    for name, block_doc in docs.items():
        _build_edges(fresh[name], block_doc)
    for name, block in fresh.items():
        if name in old:
            _transplant(old[name], block)
            graph.blocks[name] = old[name]
    return list(graph.blocks.values())


def _build_body(graph: Graph, doc: dict[str, Any]) -> None:
    _build_nodes(graph, doc)
    _build_edges(graph, doc)


def _build_nodes(graph: Graph, doc: dict[str, Any]) -> None:
    for item in doc.get("nodes", []):
        position = item.get("position")
        node = Node(item["name"], canonical_type(item["type"]), dict(item.get("params", {})), item.get("repeat", 1),
                    item.get("label"), tuple(position) if position is not None else None)
        graph._nodes[node.name] = node
        graph._nx.add_node(node.name)


def _build_edges(graph: Graph, doc: dict[str, Any]) -> None:
    for item in doc.get("edges", []):
        src, dst = item["from"], item["to"]
        port = item.get("port") or default_input_port(graph, graph.node(dst).type)
        src_port = item.get("from_port") or default_output_port(graph, graph.node(src).type)
        graph._nx.add_edge(src, dst, port=port, src_port=src_port, order=graph._next_order)
        graph._next_order += 1


def _transplant(target: Graph, source: Graph) -> None:
    for key in CONTENT:
        setattr(target, key, getattr(source, key))


# --- putting single pieces back where they were ----------------------------------------------------------------

def edge_order(graph: Graph, edge: Edge) -> int:
    """The order number of an edge (its place among all edges, and among a concat's inputs)."""
    for data in graph.structure.get_edge_data(edge.src, edge.dst, default={}).values():
        if data["port"] == edge.port and data["src_port"] == edge.src_port:
            return int(data["order"])
    raise KeyError(edge)


def reconnect(graph: Graph, edge: Edge, order: int) -> None:
    """Add an edge back with its former order number (graph.connect would put it last)."""
    graph._nx.add_edge(edge.src, edge.dst, port=edge.port, src_port=edge.src_port, order=order)
    graph._next_order = max(graph._next_order, order + 1)
    graph._changed("edge_added", edge=edge)


def edge_index(graph: Graph, edge: Edge) -> int:
    """An edge's place in the edge order. Unlike its order number, the place survives `restore`, which numbers
    the edges afresh: an undo step remembers places, since an undone compound edit may restore before it runs."""
    return graph.edges.index(edge)


def reconnect_at(graph: Graph, edge: Edge, index: int) -> None:
    """Add an edge back at place `index` of the edge order (the edges from that place on move one further)."""
    data = sorted((d for _, _, d in graph._nx.edges(data=True)), key=lambda d: d["order"])
    if index >= len(data):
        reconnect(graph, edge, graph._next_order)
        return
    order = data[index]["order"]
    for later in data[index:]:
        later["order"] += 1
    graph._next_order = max(graph._next_order, data[-1]["order"] + 1)  # the next new edge still comes last
    reconnect(graph, edge, order)


def disconnect_at(graph: Graph, index: int) -> Edge:
    """Remove the edge at place `index` of the edge order: of two identical wires (A + A), exactly the one meant
    (graph.disconnect removes either)."""
    src, dst, key, data = sorted(graph._nx.edges(keys=True, data=True), key=lambda e: e[3]["order"])[index]
    graph._nx.remove_edge(src, dst, key)
    edge = Edge(src, dst, data["port"], data["src_port"])
    graph._changed("edge_removed", edge=edge)
    return edge


def node_index(graph: Graph, name: str) -> int:
    return list(graph._nodes).index(name)


def reinsert_node(graph: Graph, node: Node, index: int) -> None:
    """Add a removed node back at its former place in the node order (and so in the file)."""
    graph.check_name(node.name)
    items = list(graph._nodes.items())
    items.insert(index, (node.name, copy.deepcopy(node)))
    graph._nodes = dict(items)
    order = list(graph._nx.nodes)
    order.insert(min(index, len(order)), node.name)
    rebuilt = nx.MultiDiGraph()
    rebuilt.add_nodes_from(order)
    rebuilt.add_edges_from(graph._nx.edges(keys=True, data=True))
    graph._nx = rebuilt
    graph._changed("node_added", name=node.name)


def bracket_places(graph: Graph, name: str) -> list[tuple[int, int]]:
    """(bracket index, index in its nodes) of every bracket holding `name`."""
    return [(i, b.nodes.index(name)) for i, b in enumerate(graph.brackets) if name in b.nodes]


def restore_bracket_places(graph: Graph, name: str, places: list[tuple[int, int]]) -> None:
    for bracket_index, index in places:
        if bracket_index < len(graph.brackets) and name not in graph.brackets[bracket_index].nodes:
            graph.brackets[bracket_index].nodes.insert(index, name)
