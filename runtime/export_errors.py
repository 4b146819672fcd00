"""Which graph node an export failure concerns, and the ExportError that says so.

Failures come from three places: torch.export and the ONNX exporter (an exception whose traceback runs through
the modules' own code, or whose message names a node of the exported program), onnxruntime (a message naming an
ONNX node, whose metadata records the module scopes it came from), and a size the module cannot vary (found by
running it at another batch size or sequence length and noting the first node that fails).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import onnx
import torch
from torch import fx, nn

from graph import Graph
from runtime.inputs import example_inputs


class ExportError(Exception):
    """An export that failed; `node` is the graph node concerned when one could be found."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


class UnusableWeights(ExportError):
    """The checkpoint to export cannot be used (missing, not a checkpoint, another graph's): found before the
    export starts."""


def exporter_error(graph: Graph, error: Exception, module: nn.Module,
                   program: torch.export.ExportedProgram | None = None) -> ExportError:
    """The error of torch.export or the ONNX exporter as an ExportError naming the node concerned, found in
    the traceback, the exported program or the message (the graph itself when none is)."""
    path = _module_in_traceback(error, module) or _module_in_text(str(error), program) \
        or name_in_text(str(error), graph)
    node = path.split(".")[0] if path else None
    where = describe_node(node, path, "{}") or f"'{graph.name}'"
    return ExportError(f"cannot export {where} to ONNX: {first_line(error)}", node=node)


def describe_node(node: str | None, path: str | None, template: str) -> str:
    """`node 'stage2' (stage2.0.conv2)` in `template`: the graph node, and the layer inside it when it is a
    block; empty when no node is known."""
    if node is None:
        return ""
    return template.format(f"node '{node}'" + (f" ({path})" if path and path != node else ""))


def _module_in_traceback(error: BaseException, module: nn.Module) -> str | None:
    """The innermost sub-module whose code was running when the error was raised (non-strict export runs
    the modules' own Python code, so their frames are in the traceback)."""
    paths = {id(m): name for name, m in module.named_modules() if name}
    found = None
    for frame in _frames(error):
        owner = frame.tb_frame.f_locals.get("self")
        if id(owner) in paths:
            found = paths[id(owner)]
    return found


def _frames(error: BaseException) -> Iterator[TracebackType]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            yield tb
            tb = tb.tb_next
        current = current.__cause__ or current.__context__


def _module_in_text(text: str, program: torch.export.ExportedProgram | None) -> str | None:
    """A node of the exported program named in the message, traced back to the module that produced it."""
    if program is None:
        return None
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if stack and re.search(rf"\b{re.escape(node.name)}\b", text):
            return list(stack.values())[-1][0]
    return None


def name_in_text(text: str, graph: Graph) -> str | None:
    for name in sorted((n.name for n in graph.nodes), key=len, reverse=True):
        if re.search(rf"\b{re.escape(name)}\b", text):
            return name
    return None


def first_line(error: BaseException) -> str:
    line = next((s.strip() for s in str(error).splitlines() if s.strip()), "")
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def onnx_node_module(text: str, path: Path) -> str | None:
    """The module behind the ONNX node that onnxruntime names (`Name:'node_convolution'`): the exporter
    records each node's scopes in its metadata, `['', 'stage2', '0', 'conv2', 'convolution']`."""
    named = re.search(r"Name:'([^']+)'", text)
    if named is None:
        return None
    for node in onnx.load(str(path)).graph.node:
        if node.name == named.group(1):
            scopes = {p.key: p.value for p in node.metadata_props}.get("pkg.torch.onnx.name_scopes", "[]")
            try:
                modules = [str(s) for s in ast.literal_eval(scopes)[1:-1] if s]
            except (ValueError, SyntaxError):
                return None
            return ".".join(modules) or None
    return None


def culprit(graph: Graph, module: fx.GraphModule, *, batch: int, length: int | None = None) -> str | None:
    """The first node that fails when the module runs at another batch size or sequence length: the node
    that fixes it."""
    probe = _Probe(module)
    try:
        with torch.no_grad():
            probe.run(*example_inputs(graph, batch=batch, length=length).values())
    except Exception:
        return probe.failed
    return None


class _Probe(fx.Interpreter):
    failed: str | None = None

    def run_node(self, n: fx.Node) -> object:
        try:
            return super().run_node(n)
        except Exception:
            if self.failed is None:  # a block's failure surfaces at the block instance: name the instance
                self.failed = str(n.target).split(".")[0] if n.op == "call_module" else n.name
            raise
