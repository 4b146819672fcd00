"""Compile a graph into a torch module: graph → torch.fx.Graph → GraphModule, a pure pass.

Every layer becomes a sub-module named after its node (`conv1.weight`); a block instance becomes a GraphModule of
its own (`stage2.conv2.weight`); a repeat ×N becomes a ModuleList of N copies with their own parameters
(`stage2.0.conv2.weight`). Input sizes come from shape inference, so no lazy module is left in the result, and the
generated `forward` is plain code with no interpretation at run time.

A node named like an attribute torch already uses (`forward`, `graph`, `training`) gets a trailing `_` as a
sub-module (`forward_.weight`).
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from functools import cache
from typing import Any

import torch
from torch import fx, nn

from graph import Graph, Problem
from graph.inference import Analysis, NodeInfo
from graph.model import Node
from graph.resolve import block_inputs, block_outputs, input_ports, resolve
from runtime.modules import make_module


class CompileError(Exception):
    """The graph has errors; `problems` lists them (each naming its node)."""

    def __init__(self, graph_name: str, problems: list[Problem]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {p.message}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"cannot build '{graph_name}': fix these problems first:\n{listing}{more}")


def build_module(graph: Graph, device: str | torch.device | None = None) -> fx.GraphModule:
    """The graph as a torch module whose forward takes the inputs (by name or position) and returns the
    outputs (one tensor, or a tuple in the order of the output nodes). On the `meta` device nothing is
    allocated: parameter counts and shapes of the largest models come for free."""
    analysis = graph.analyze()
    if not analysis.ok:
        raise CompileError(graph.name, analysis.errors)
    with torch.device(device) if device is not None else nullcontext():
        module = _compile(graph, analysis, graph.name)
    module.input_names = input_names(graph)
    module.output_names = output_names(graph)
    return module


def input_names(graph: Graph) -> list[str]:
    return [n.name for n in graph.nodes_of_type("input")]


def output_names(graph: Graph) -> list[str]:
    return [n.name for n in graph.nodes_of_type("output")]


def class_name(name: str) -> str:
    """`lenet` → `Lenet`, `self-att` → `SelfAtt`: a Python class name for a graph or block."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    return text if text[0].isalpha() else f"Model{text}"


@cache
def _reserved() -> frozenset[str]:
    """Attribute names a GraphModule already has: a sub-module cannot take them."""
    return frozenset(dir(fx.GraphModule(nn.Module(), fx.Graph())))


def module_name(graph: Graph, name: str) -> str:
    """A node's sub-module: its name, with `_` appended while torch or another node already uses it."""
    if name not in _reserved():
        return name
    name += "_"
    while name in _reserved() or name in graph:
        name += "_"
    return name


def _compile(graph: Graph, analysis: Analysis, name: str) -> fx.GraphModule:
    root = nn.Module()
    code = fx.Graph()
    values: dict[tuple[str, str], fx.Node] = {}
    for input_name in block_inputs(graph):
        values[input_name, "y"] = code.placeholder(input_name)
    results: dict[str, fx.Node] = {}
    for node_name, info in analysis.nodes.items():
        node = graph.node(node_name)
        if node.type == "input":
            continue
        args, kwargs = _arguments(graph, node, values)
        if node.type == "output":
            results[node_name] = args[0]  # nodes come in topological order: reorder the outputs below
            continue
        for port, value in _emit(graph, node, info, root, code, args, kwargs).items():
            values[node_name, port] = value
    ordered = [results[n] for n in block_outputs(graph)]
    code.output(ordered[0] if len(ordered) == 1 else tuple(ordered))
    code.lint()
    _tie_weights(graph, analysis, root)
    module = fx.GraphModule(root, code, class_name=class_name(name))
    for child_name, child in root.named_children():
        if isinstance(child, nn.ModuleList):  # fx copies `stage1.0` under a plain Module: keep the list
            module.add_module(child_name, child)
    return module


def _tie_weights(graph: Graph, analysis: Analysis, root: nn.Module) -> None:
    """A fully-conn tied to an embedding shares its table: one Parameter, two names in the state_dict."""
    for node_name, info in analysis.nodes.items():
        target = info.values.get("tie") if info.type == "fully-conn" else None
        if target is not None:
            layer = root.get_submodule(module_name(graph, node_name))
            layer.weight = root.get_submodule(module_name(graph, target)).weight


def _arguments(graph: Graph, node: Node, values: dict[tuple[str, str], fx.Node]
               ) -> tuple[tuple[fx.Node, ...], dict[str, fx.Node]]:
    """Positional arguments for the first declared (or variadic) port, keywords for the others (mha's k and v),
    whatever the order in which the edges were drawn."""
    edges = graph.in_edges(node.name)
    if not edges:
        return (), {}
    ports = input_ports(graph, node.type)
    first = ports[0] if ports else edges[0].port
    args = tuple(values[e.src, e.src_port] for e in edges if e.port == first)
    kwargs = {e.port: values[e.src, e.src_port] for e in edges if e.port != first}
    return args, kwargs


def _emit(graph: Graph, node: Node, info: NodeInfo, root: nn.Module, code: fx.Graph,
          args: tuple[fx.Node, ...], kwargs: dict[str, fx.Node]) -> dict[str, fx.Node]:
    """Add the node's module(s) to `root` and their calls to `code`; returns the value of each output port."""
    target = resolve(graph, node.type)
    copies = [_module_for(graph, node, info, target, index) for index in range(info.copies)]
    name = module_name(graph, node.name)
    if info.copies == 1:
        root.add_module(name, copies[0])
        paths = [name]
    else:
        root.add_module(name, nn.ModuleList(copies))
        paths = [f"{name}.{index}" for index in range(info.copies)]
    value: Any = None
    for path in paths:
        value = code.call_module(path, args, kwargs)
        args = (value,)  # the next copy continues the chain; side inputs (kwargs) reach every copy
    if isinstance(target, Graph):
        ports = block_outputs(target)
        if len(ports) > 1:
            return {port: code.call_function(_item, (value, i)) for i, port in enumerate(ports)}
        return {ports[0]: value}
    return {"y": value}


def _item(values: tuple[torch.Tensor, ...], index: int) -> torch.Tensor:
    return values[index]


def _module_for(graph: Graph, node: Node, info: NodeInfo, target: Any, index: int) -> nn.Module:
    stage = info.stage(index)
    if isinstance(target, Graph):
        assert stage.inner is not None
        return _compile(target, stage.inner, node.type)
    return make_module(node.type, info.values, stage.inputs)
