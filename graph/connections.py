"""May this wire be drawn? `check_connect` explains a refusal in a sentence; `can_connect` answers while dragging."""

from __future__ import annotations

import networkx as nx

from graph.catalog import LayerSpec
from graph.model import Graph
from graph.resolve import default_input_port, input_ports, output_ports, resolve


def check_connect(graph: Graph, src: str, dst: str, port: str | None = None, src_port: str | None = None
                  ) -> str | None:
    """None when the edge may be added; otherwise why not. Shapes are not judged here: a wire whose shapes do
    not fit is allowed and shown as a problem, so a person can wire first and fix sizes after."""
    if src not in graph or dst not in graph:
        missing = src if src not in graph else dst
        return f"there is no node named '{missing}'"
    if src == dst:
        return f"'{src}' cannot feed itself"
    dst_type, src_type = graph.node(dst).type, graph.node(src).type
    port = port or default_input_port(graph, dst_type)
    outs = output_ports(graph, src_type)
    if outs is not None and not outs:
        return f"'{src}' is an output: nothing can be wired from it"
    if outs is not None and src_port is not None and src_port not in outs:
        return f"'{src}' has no output port '{src_port}'"
    ins = input_ports(graph, dst_type)
    if ins is not None and not ins:
        return f"'{dst}' is an input: it receives data from outside the model"
    if ins is not None and port not in ins:
        return f"{dst_type} '{dst}' has no input port '{port}' (ports: {', '.join(ins)})"
    if not _is_variadic(graph, dst_type, port) and any(e.port == port for e in graph.in_edges(dst)):
        return f"port '{port}' of {dst_type} '{dst}' is already connected: remove that wire first"
    if nx.has_path(graph.structure, dst, src):
        return f"wiring '{src}' into '{dst}' would make a cycle: '{dst}' already feeds '{src}'"
    return None


def can_connect(graph: Graph, src: str, dst: str, port: str | None = None, src_port: str | None = None) -> bool:
    return check_connect(graph, src, dst, port, src_port) is None


def _is_variadic(graph: Graph, type_name: str, port: str) -> bool:
    target = resolve(graph, type_name)
    if isinstance(target, LayerSpec):
        spec = target.port(port)
        return spec is not None and spec.variadic
    return False
