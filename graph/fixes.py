"""Quick fixes: for some problems, an edit that removes them. A Fix's `apply` edits the graph it is given (the
editor runs it inside one undoable command; tests run it on a copy), so it looks nodes up by name when applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graph import lint as lints
from graph.inference import Analysis
from graph.model import Edge, Graph
from graph.problems import Problem
from graph.tensor import TensorType, format_shape, numel


@dataclass
class Fix:
    label: str
    apply: Callable[[Graph], None]


def fixes_for(graph: Graph, problem: Problem, analysis: Analysis | None = None) -> list[Fix]:
    """The fixes that remove `problem` (none when it has no mechanical remedy or its node has changed since)."""
    if problem.node is None or problem.node not in graph or problem.path:
        return []
    analysis = analysis if analysis is not None else graph.analyze()
    node = graph.node(problem.node)
    if problem.code == "rank" and node.type == "fully-conn":
        return _reshape_fixes(graph, analysis, problem.node)
    if problem.code == "shape" and node.type in ("+", "mul"):
        return _projection_fixes(graph, analysis, problem.node)
    if problem.code == lints.BIAS_BEFORE_BATCHNORM:
        name = problem.node
        return [Fix(f"Set bias=False on '{name}'", lambda g: g.set_param(name, "bias", False))]
    if problem.code in (lints.SOFTMAX_BEFORE_CROSS_ENTROPY, lints.DROPOUT_BEFORE_OUTPUT):
        name = problem.node
        return [Fix(f"Remove {node.type} '{name}' and rewire", lambda g: remove_and_rewire(g, name))]
    if problem.code == lints.LINEAR_AFTER_LINEAR and node.repeat == 1:
        edges = graph.out_edges(problem.node)
        if len(edges) == 1:
            edge = edges[0]
            return [Fix(f"Insert a relu between '{edge.src}' and '{edge.dst}'",
                        lambda g: insert_between(g, edge, "relu"))]
    return []


# --- edits used by the fixes (also handy for the editor) -----------------------------------------------------

def insert_between(graph: Graph, edge: Edge, type_name: str, **params: object) -> str:
    """Cut `edge` and put a new node of `type_name` on it, half-way between its ends; return the new name."""
    src, dst = graph.node(edge.src), graph.node(edge.dst)
    position = None
    if src.position is not None and dst.position is not None:
        position = ((src.position[0] + dst.position[0]) / 2, (src.position[1] + dst.position[1]) / 2)
    graph.disconnect(edge)
    name = graph.add(type_name, position=position, **params)
    graph.connect(edge.src, name, src_port=edge.src_port)
    graph.connect(name, edge.dst, edge.port)
    return name


def remove_and_rewire(graph: Graph, name: str) -> None:
    """Remove a one-input node and connect what fed it to everything it fed, on the same ports."""
    sources = graph.in_edges(name)
    targets = graph.out_edges(name)
    graph.remove(name)
    for before in sources[:1]:
        for after in targets:
            graph.connect(before.src, after.dst, after.port, src_port=before.src_port)


# --- fully-conn receiving an image ---------------------------------------------------------------------------

def _reshape_fixes(graph: Graph, analysis: Analysis, name: str) -> list[Fix]:
    edges = graph.in_edges(name)
    if len(edges) != 1:
        return []
    edge = edges[0]
    incoming = _source_type(analysis, edge)
    if incoming is None or incoming.rank <= 2:
        return []
    size = numel(incoming.shape)
    label = f"Insert a reshape to {size} before '{name}' (flattens {format_shape(incoming.shape)})"
    return [Fix(label, lambda g: _insert_reshape(g, edge, size))]


def _insert_reshape(graph: Graph, edge: Edge, size: int) -> None:
    insert_between(graph, edge, "reshape", shape=[size])


def _source_type(analysis: Analysis, edge: Edge) -> TensorType | None:
    info = analysis.nodes.get(edge.src)
    return None if info is None else info.outputs.get(edge.src_port)


# --- two shapes disagreeing before + -------------------------------------------------------------------------

def _projection_fixes(graph: Graph, analysis: Analysis, name: str) -> list[Fix]:
    """Project each term whose shape differs from all the others' (which agree) to their shape, when only the
    channels (C×H×W, C×L) or features (D, T×D) differ; a 1×1 convolution may also stride down the map."""
    edges = graph.in_edges(name)
    types = [_source_type(analysis, e) for e in edges]
    if len(edges) < 2 or any(t is None for t in types):
        return []
    fixes = []
    for index, edge in enumerate(edges):
        others = {t.shape for i, t in enumerate(types) if i != index}
        if len(others) != 1 or types[index].shape in others:
            continue
        fix = _projection(edge, types[index], next(iter(others)))
        if fix is not None:
            fixes.append((numel(types[index].shape), fix))
    # the branch with fewer values first: projecting the narrow shortcut up is the usual remedy (resnets)
    return [fix for _, fix in sorted(fixes, key=lambda pair: pair[0])]


def _projection(edge: Edge, have: TensorType, want: tuple[int, ...]) -> Fix | None:
    if len(have.shape) != len(want) or not want:
        return None
    if len(want) in (2, 3) and _is_feature_map(have.shape, want):
        stride = [a // b for a, b in zip(have.shape[1:], want[1:], strict=True)]
        if any(a != b * s for a, b, s in zip(have.shape[1:], want[1:], stride, strict=True)):
            return None
        conv = "conv-2d" if len(want) == 3 else "conv-1d"
        params: dict[str, object] = {"out_channels": want[0], "kernel_size": 1}
        if any(s != 1 for s in stride):
            params["stride"] = stride[0] if len(set(stride)) == 1 else stride
        label = (f"Project '{edge.src}' ({format_shape(have.shape)}) to {format_shape(want)} "
                 f"with a 1×1 {conv}")
        return Fix(label, lambda g: _insert_projection(g, edge, conv, params))
    if have.shape[:-1] == want[:-1] and len(want) <= 2:
        label = f"Project '{edge.src}' ({format_shape(have.shape)}) to {format_shape(want)} with a fully-conn"
        return Fix(label, lambda g: _insert_projection(g, edge, "fully-conn", {"out_features": want[-1]}))
    return None


def _is_feature_map(have: tuple[int, ...], want: tuple[int, ...]) -> bool:
    """C×H×W (or C×L) terms whose spatial sizes agree or shrink by a whole factor; channels may differ."""
    return all(a >= b > 0 for a, b in zip(have[1:], want[1:], strict=True)) and (len(want) == 3 or have[0] != want[0])


def _insert_projection(graph: Graph, edge: Edge, type_name: str, params: dict[str, object]) -> None:
    insert_between(graph, edge, type_name, **params)
