"""The model graph: nodes (a layer or block type, a readable name, meta-parameter values) and ordered edges from
an output port to an input port, held in a networkx MultiDiGraph. Blocks are graphs too (see `blocks.py`).

The model accepts what a person may draw, including mistakes (a cycle, a missing input, a bad value): `validate()`
reports those as problems. It raises GraphError only for misuse of the API itself (an unknown node name).
"""

from __future__ import annotations

import copy
import keyword
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from graph.catalog import ParamSpec
from graph.events import Events
from graph.names import graph_name_problem
from graph.registry import canonical_type

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NODE_FIELDS = ("name", "repeat", "label", "position")
# Besides Python's keywords: an input's name is a parameter of the compiled forward, which cannot be `self` or
# `__debug__`, nor `getattr`, which the generated code calls to reach the copies of a repeat (`relu1.0`).
RESERVED_NAMES = frozenset({"self", "__debug__", "getattr"})


class GraphError(ValueError):
    """Misuse of the graph API: an unknown node, a name already taken, an invalid name or port."""


@dataclass
class Node:
    name: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)  # as the user set them: values or expression strings
    repeat: int | str = 1
    label: str | None = None
    position: tuple[float, float] | None = None


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    port: str = "x"
    src_port: str = "y"


@dataclass
class Bracket:
    """A named part of the model drawn on the left of the figure ("Feature extractor", "Classifier")."""

    label: str
    nodes: list[str]


class Graph:
    """A network, or the inside of a block. `params` declares its meta-parameters (a block's `S`, a template's
    depth `N`); `param_values` holds the values chosen for the top level."""

    def __init__(self, name: str = "untitled", blocks: dict[str, Graph] | None = None) -> None:
        problem = graph_name_problem(name)  # a name ends up in paths (the run folder): never a path itself
        if problem:
            raise GraphError(f"a graph's name {problem}")
        self.name = name
        self.title = ""
        self.description = ""
        self.source = ""
        self.params: dict[str, ParamSpec] = {}
        self.param_values: dict[str, Any] = {}
        self.blocks: dict[str, Graph] = {} if blocks is None else blocks
        self.brackets: list[Bracket] = []
        self.training: dict[str, Any] = {}
        self.events = Events()
        self.revision = 0  # bumps on every change that can alter validation (not on moves)
        self._nodes: dict[str, Node] = {}
        self._nx = nx.MultiDiGraph()
        self._next_order = 0

    # --- reading ---------------------------------------------------------------------------------------------
    @property
    def structure(self) -> nx.MultiDiGraph:
        """The networkx graph (node names; edge data: port, src_port, order). Read it; change the Graph."""
        return self._nx

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    @property
    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    def node(self, name: str) -> Node:
        try:
            return self._nodes[name]
        except KeyError:
            raise GraphError(f"no node named '{name}'") from None

    @property
    def edges(self) -> list[Edge]:
        return _in_order(self._nx.edges(data=True))

    def in_edges(self, name: str) -> list[Edge]:
        """Edges into `name`, in the order they were made (the order of the terms of concat)."""
        return _in_order(self._nx.in_edges(name, data=True))

    def incoming(self) -> dict[str, list[Edge]]:
        """Every node's incoming edges in order, built in one pass (validation reads them all)."""
        index: dict[str, list[Edge]] = {name: [] for name in self._nodes}
        for edge in self.edges:
            index[edge.dst].append(edge)
        return index

    def out_edges(self, name: str) -> list[Edge]:
        return _in_order(self._nx.out_edges(name, data=True))

    def nodes_of_type(self, type_name: str) -> list[Node]:
        return [n for n in self._nodes.values() if n.type == type_name]

    # --- editing ---------------------------------------------------------------------------------------------
    def add(self, type: str, name: str | None = None, *, repeat: int | str = 1, label: str | None = None,
            position: tuple[float, float] | None = None, **params: Any) -> str:
        """Add a node of a layer type (or a block name) and return its name (`conv1`, `fc2`, `X`). A former
        name of a layer type (`linear`, `conv2d`) is stored as the current one, as the file reader does."""
        from graph.resolve import name_prefix  # late import: resolve reads blocks, which are Graphs

        type = canonical_type(type)
        if name is None:
            name = self.unique_name(name_prefix(self, type))
        self.check_name(name)
        node = Node(name, type, dict(params), repeat, label, tuple(position) if position else None)
        self._nodes[name] = node
        self._nx.add_node(name)
        self._changed("node_added", name=name)
        return name

    def remove(self, name: str) -> None:
        self.node(name)
        edges = self.in_edges(name) + self.out_edges(name)
        for edge in edges:
            self.disconnect(edge)
        del self._nodes[name]
        self._nx.remove_node(name)
        for bracket in self.brackets:
            if name in bracket.nodes:
                bracket.nodes.remove(name)
        self._changed("node_removed", name=name)

    def connect(self, src: str, dst: str, port: str | None = None, *, src_port: str | None = None) -> Edge:
        """Wire `src`'s output to `dst`'s input `port` (default: its first input port)."""
        from graph.resolve import default_input_port, default_output_port, input_ports, output_ports

        src_node, dst_node = self.node(src), self.node(dst)
        port = port or default_input_port(self, dst_node.type)
        src_port = src_port or default_output_port(self, src_node.type)
        known_in, known_out = input_ports(self, dst_node.type), output_ports(self, src_node.type)
        if known_in is not None and port not in known_in:
            raise GraphError(f"{dst_node.type} '{dst}' has no input port '{port}' "
                             f"(ports: {', '.join(known_in) or 'none'})")
        if known_out is not None and src_port not in known_out:
            raise GraphError(f"{src_node.type} '{src}' has no output port '{src_port}' "
                             f"(ports: {', '.join(known_out) or 'none'})")
        self._nx.add_edge(src, dst, port=port, src_port=src_port, order=self._next_order)
        self._next_order += 1
        edge = Edge(src, dst, port, src_port)
        self._changed("edge_added", edge=edge)
        return edge

    def disconnect(self, edge: Edge) -> None:
        for key, data in list(self._nx.get_edge_data(edge.src, edge.dst, default={}).items()):
            if data["port"] == edge.port and data["src_port"] == edge.src_port:
                self._nx.remove_edge(edge.src, edge.dst, key)
                self._changed("edge_removed", edge=edge)
                return
        raise GraphError(f"no edge from '{edge.src}' to '{edge.dst}' port '{edge.port}'")

    def set_param(self, name: str, key: str, value: Any) -> None:
        """Set a meta-parameter (a value, or an expression string inside a block); None restores the default."""
        node = self.node(name)
        if value is None:
            node.params.pop(key, None)
        else:
            node.params[key] = value
        self._changed("params_changed", name=name, key=key)

    def set_repeat(self, name: str, repeat: int | str) -> None:
        self.node(name).repeat = repeat
        self._changed("repeat_changed", name=name)

    def set_label(self, name: str, label: str | None) -> None:
        self.node(name).label = label
        self.events.emit("label_changed", name=name)

    def move(self, name: str, position: tuple[float, float]) -> None:
        """Positions matter to the editor only: moving a node does not invalidate validation."""
        self.node(name).position = (float(position[0]), float(position[1]))
        self.events.emit("node_moved", name=name)

    def rename(self, old: str, new: str) -> None:
        node = self.node(old)
        if new == old:
            return
        self.check_name(new)
        nx.relabel_nodes(self._nx, {old: new}, copy=False)
        self._nodes = {(new if k == old else k): v for k, v in self._nodes.items()}
        node.name = new
        for bracket in self.brackets:
            bracket.nodes = [new if n == old else n for n in bracket.nodes]
        self._changed("node_renamed", old=old, new=new)

    def set_meta(self, key: str, value: Any) -> None:
        """Set a graph meta-parameter (a template knob); None restores its default."""
        if key not in self.params:
            raise GraphError(f"graph '{self.name}' has no meta-parameter '{key}'")
        if value is None:
            self.param_values.pop(key, None)
        else:
            self.param_values[key] = value
        self._changed("meta_changed", key=key)

    def touch(self) -> None:
        """Record a change made to blocks or declarations directly (file loading, block editing)."""
        self._changed("changed")

    # --- names -----------------------------------------------------------------------------------------------
    def check_name(self, name: str) -> None:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise GraphError(f"'{name}' is not a valid node name: use letters, digits and _ (not first), "
                             "at most 64 characters")
        if keyword.iskeyword(name) or name in RESERVED_NAMES:
            raise GraphError(f"'{name}' is reserved by Python: node names become names in the compiled model's "
                             "code, choose another")
        if name in self._nodes:
            raise GraphError(f"a node named '{name}' already exists")

    def unique_name(self, prefix: str) -> str:
        """`conv1`, `conv2`, ...; a capitalised prefix is used bare first (`X`, then `X2`)."""
        if prefix[:1].isupper() and prefix not in self._nodes:
            return prefix
        index = 2 if prefix[:1].isupper() else 1
        while f"{prefix}{index}" in self._nodes:
            index += 1
        return f"{prefix}{index}"

    # --- whole-graph operations ------------------------------------------------------------------------------
    def copy(self) -> Graph:
        """A deep copy with no subscribers (events are not copied)."""
        events, self.events = self.events, Events()
        try:
            clone = copy.deepcopy(self)
        finally:
            self.events = events
        return clone

    def validate(self) -> list:
        """Every problem of the graph: structure, meta-parameters, expressions and shapes."""
        return self.analyze().problems

    def analyze(self):  # -> graph.inference.Analysis (imported late: inference depends on this module)
        """Problems plus each node's inferred input and output types and parameter count."""
        from graph.inference import analyze

        return analyze(self)

    def _changed(self, kind: str, **data: Any) -> None:
        self.revision += 1
        self.events.emit(kind, **data)


def _in_order(data: Iterable[tuple[str, str, dict[str, Any]]]) -> list[Edge]:
    """networkx edge triples as Edges, in the order they were made."""
    return [Edge(u, v, d["port"], d["src_port"]) for u, v, d in sorted(data, key=lambda e: e[2]["order"])]
