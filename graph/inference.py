"""Shape inference: the exact output type and parameter count of every node, blocks and repeats included.

One pass in topological order; each layer's pure rule (shapes.py) computes its output from its inputs. A block
instance is inferred by analysing the block's inside with the instance's meta-parameters and incoming shapes
(cached per distinct call, so ResNet's sixteen residual blocks cost a handful of analyses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from graph.capacity import MAX_BOXES, MAX_NESTING, MAX_REPEAT, repeat_problem
from graph.catalog import LayerSpec
from graph.expressions import ExpressionError, evaluate
from graph.library import library_blocks
from graph.model import Edge, Graph, Node
from graph.problems import Problem, ShapeError
from graph.resolve import block_outputs, expanded_boxes, resolve
from graph.tensor import TensorType, format_shape
from graph.tying import apply_ties
from graph.validation import check_structure, who
from graph.values import describe, resolve_values

Ports = dict[str, list[TensorType]]
_DEPTH: ContextVar[int] = ContextVar("block_depth", default=0)  # nesting of the block being analysed


@dataclass(frozen=True)
class Stage:
    """One copy of a repeated node as inferred: the types it receives and, for a block, its inside."""

    inputs: Ports
    inner: Analysis | None = None


@dataclass
class NodeInfo:
    """What inference learned about one node (for all its copies when repeated)."""

    name: str
    type: str
    inputs: Ports
    outputs: dict[str, TensorType]
    parameters: int
    values: dict[str, Any]
    copies: int = 1
    # The copies as inferred, up to the first that maps its input type to itself: every later copy equals it.
    stages: list[Stage] = field(default_factory=list)

    @property
    def inner(self) -> Analysis | None:
        """A block instance's inside (its first copy)."""
        return self.stages[0].inner if self.stages else None

    def stage(self, index: int) -> Stage:
        """Copy `index` (from 0) of a repeated node."""
        return self.stages[min(index, len(self.stages) - 1)]

    @property
    def output(self) -> TensorType | None:
        return next(iter(self.outputs.values()), None)

    @property
    def input(self) -> TensorType | None:
        first = next(iter(self.inputs.values()), None)
        return first[0] if first else None


@dataclass
class Analysis:
    problems: list[Problem]
    nodes: dict[str, NodeInfo] = field(default_factory=dict)

    @property
    def parameters(self) -> int:
        return sum(info.parameters for info in self.nodes.values())

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def problems_of(self, node: str) -> list[Problem]:
        return [p for p in self.problems if p.node == node]


class _Failed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def analyze(graph: Graph) -> Analysis:
    """Analyse a top-level graph; the result is kept until the graph or one of its blocks changes."""
    key = (graph.revision, _blocks_key(graph), _blocks_key_of(library_blocks()))
    cached = graph.__dict__.get("_analysis")
    if cached is not None and cached[0] == key:
        return cached[1]
    scope, problems = graph_scope(graph)
    too_large = expansion_problem(graph, scope)
    result = Analysis([too_large]) if too_large is not None else _analyze(graph, scope, None)
    result.problems[:0] = problems
    graph.__dict__["_analysis"] = (key, result)
    return result


def expansion_problem(graph: Graph, scope: Mapping[str, Any] | None = None) -> Problem | None:
    """The error of a graph that expands past MAX_BOXES layers; checked before anything expands it (inference
    would walk every distinct copy, compilation would build every one)."""
    boxes = expanded_boxes(graph, graph_scope(graph)[0] if scope is None else scope, MAX_REPEAT)
    if boxes <= MAX_BOXES:
        return None
    return Problem("too-large", f"'{graph.name}' expands to {boxes:,} boxes (every copy of a repeat and every "
                   f"box inside a block counted), more than the limit of {MAX_BOXES:,} a graph may have: lower "
                   "the repeats or the nesting of blocks")


def _blocks_key(graph: Graph) -> tuple[tuple[str, int], ...]:
    return _blocks_key_of(graph.blocks)


def _blocks_key_of(blocks: Mapping[str, Graph]) -> tuple[tuple[str, int], ...]:
    return tuple((name, block.revision) for name, block in blocks.items())


def _target_key(graph: Graph, type_name: str) -> tuple[int, int, tuple[tuple[str, int], ...]] | None:
    """Which block a node's type refers to and in which state: a node memo must not outlive a block edit."""
    target = resolve(graph, type_name)
    return (id(target), target.revision, _blocks_key(target)) if isinstance(target, Graph) else None


def graph_scope(graph: Graph) -> tuple[dict[str, Any], list[Problem]]:
    """The top level's meta-parameters (template knobs), each possibly an expression over the earlier ones."""
    scope: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, spec in graph.params.items():
        given = {name: graph.param_values[name]} if name in graph.param_values else {}
        values, found = resolve_values({name: spec}, given, scope, f"graph '{graph.name}'", None)
        scope.update(values)
        problems += [Problem("graph-param", p.message) for p in found]
    return scope, problems


def _analyze(graph: Graph, scope: Mapping[str, Any], given: Mapping[str, TensorType] | None) -> Analysis:
    structure = check_structure(graph, top_level=given is None)
    problems = structure.problems
    skip = structure.blocked | {p.node for p in problems if p.is_error and p.node}
    infos: dict[str, NodeInfo] = {}
    alone = True  # whether nodes that cannot be computed still report their own bad values
    if given is not None:
        scope, bind_problems = _bind_block_inputs(graph, scope, given, infos)
        problems += bind_problems
        skip |= {p.node for p in bind_problems}  # an input that does not match is reported once, not inferred
        alone = not bind_problems  # else the shape symbols are unbound, and every use of them would say so
    # Between two analyses of the same graph most nodes are unchanged: reuse a node's result when its type,
    # meta-parameters, repeat, scope and incoming types are all the same as last time.
    memo = graph.__dict__.setdefault("_node_memo", {}) if given is None else {}
    fresh_memo: dict[str, tuple[Any, NodeInfo]] = {}
    frozen_scope = tuple(sorted(scope.items()))
    for name in structure.order:
        if name in infos or name in structure.blocked:
            continue
        node = graph.node(name)
        incoming = None if name in skip else _gather(structure.incoming[name], infos)
        if incoming is None:  # not computable, yet its own bad values are worth showing now
            problems += _own_problems(graph, node, scope) if alone and node.type != "input" else []
            continue
        key = (node.type, _target_key(graph, node.type), _freeze(node.params), node.repeat, frozen_scope,
               tuple((port, tuple(types)) for port, types in incoming.items()))
        previous = memo.get(name)
        if previous is not None and previous[0] == key:
            infos[name] = previous[1]
        else:
            try:
                infos[name] = _infer_node(graph, node, scope, incoming)
            except _Failed as failed:
                problems += failed.problems
                continue
        fresh_memo[name] = (key, infos[name])
    if given is None:
        graph.__dict__["_node_memo"] = fresh_memo
    problems += apply_ties(graph, infos)
    return Analysis(problems, infos)


def _own_problems(graph: Graph, node: Node, scope: Mapping[str, Any]) -> list[Problem]:
    """The problems of a node's own meta-parameters and repeat, for a node whose inputs are not known."""
    target = resolve(graph, node.type)
    specs = target._by_name if isinstance(target, LayerSpec) else target.params
    problems = resolve_values(specs, node.params, scope, who(node), node.name)[1]
    try:
        _copies(node, scope)
    except _Failed as failed:
        problems += failed.problems
    return problems


def _freeze(value: Any) -> Any:
    """A hashable, comparable form of parameter values (lists become tuples); hot, so kept shallow."""
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items()) if value else ()
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _gather(edges: list[Edge], infos: Mapping[str, NodeInfo]) -> Ports | None:
    """The types arriving on each input port, or None when something upstream could not be inferred."""
    ports: Ports = {}
    for edge in edges:
        source = infos.get(edge.src)
        if source is None or edge.src_port not in source.outputs:
            return None
        ports.setdefault(edge.port, []).append(source.outputs[edge.src_port])
    return ports


def _bind_block_inputs(graph: Graph, scope: Mapping[str, Any], given: Mapping[str, TensorType],
                       infos: dict[str, NodeInfo]) -> tuple[dict[str, Any], list[Problem]]:
    """Match each incoming shape against its input node's pattern (`["C", "H", "W"]`), binding new names."""
    bound = dict(scope)
    problems: list[Problem] = []
    for node in graph.nodes_of_type("input"):
        t = given[node.name]
        pattern = node.params.get("shape")
        wanted_dtype = node.params.get("dtype")
        try:
            if pattern is not None:
                _match(pattern, t, bound)
            if wanted_dtype is not None and wanted_dtype != t.dtype:
                raise ShapeError(f"expects {wanted_dtype} values but receives {t}")
        except (ShapeError, ExpressionError) as exc:
            problems.append(Problem("shape", f"input '{node.name}' {exc}", node.name))
            continue
        infos[node.name] = NodeInfo(node.name, "input", {}, {"y": t}, 0, {"shape": t.shape, "dtype": t.dtype})
    return bound, problems


def _match(pattern: Any, t: TensorType, bound: dict[str, Any]) -> None:
    if not isinstance(pattern, list | tuple):
        raise ShapeError(f"has shape pattern {describe(pattern)}, which is not a list")
    shown = "×".join(str(e) for e in pattern)
    if len(pattern) != t.rank:
        raise ShapeError(f"expects {shown} but receives {format_shape(t.shape)}")
    for entry, dim in zip(pattern, t.shape, strict=True):
        if isinstance(entry, str) and entry.isidentifier() and entry not in bound:
            bound[entry] = dim
        elif (evaluate(entry, bound) if isinstance(entry, str) else entry) != dim:
            raise ShapeError(f"expects {shown} but receives {format_shape(t.shape)}")


def _infer_node(graph: Graph, node: Node, scope: Mapping[str, Any], incoming: Ports) -> NodeInfo:
    target = resolve(graph, node.type)
    copies = _copies(node, scope)
    if isinstance(target, LayerSpec):
        values, problems = resolve_values(target._by_name, node.params, scope, who(node), node.name)
        if problems:
            raise _Failed(problems)
        def step(ports: Ports) -> tuple[dict[str, TensorType], int, Analysis | None]:
            out, count = target.rule(values, ports)
            return {"y": out}, count, None
    else:
        values, problems = resolve_values(target.params, node.params, scope, who(node), node.name)
        if problems:
            raise _Failed(problems)
        def step(ports: Ports) -> tuple[dict[str, TensorType], int, Analysis | None]:
            return _instance(target, node, values, ports)
    outputs, count, stages = _run_copies(node, step, incoming, copies)
    return NodeInfo(node.name, node.type, incoming, outputs, count, values, copies, stages)


def _copies(node: Node, scope: Mapping[str, Any]) -> int:
    raw = node.repeat
    try:
        value = evaluate(raw, scope) if isinstance(raw, str) else raw
    except ExpressionError as exc:
        raise _Failed([Problem("expression", f"{who(node)}: repeat = {describe(raw)}: {exc}", node.name)]) from None
    problem = repeat_problem(value)
    if problem:
        raise _Failed([Problem("param-range", f"{who(node)}: repeat {problem} (got {describe(raw)})", node.name)])
    return value


Step = Callable[[Ports], tuple[dict[str, TensorType], int, "Analysis | None"]]


def _run_copies(node: Node, step: Step, incoming: Ports, copies: int
                ) -> tuple[dict[str, TensorType], int, list[Stage]]:
    """Apply the node `copies` times in series, each copy with its own parameters. The first port carries the
    chain from copy to copy; any other port (a decoder layer's Z) feeds every copy the same side input."""
    chained = next(iter(incoming), None)
    if copies > 1 and (chained is None or len(incoming[chained]) != 1):
        raise _Failed([Problem("repeat", f"{who(node)} is repeated ×{copies} but receives several inputs on its "
                               f"first port '{chained}': the copies are chained through that port, which takes "
                               "exactly one edge", node.name)])
    current, total, stages = incoming, 0, []
    for index in range(copies):
        try:
            outputs, count, inner = step(current)
        except ShapeError as exc:
            copy = f" (copy {index + 1} of {copies})" if copies > 1 else ""
            raise _Failed([Problem(exc.code, f"{who(node)}{copy} {exc.message}", node.name, exc.port)]) from None
        stages.append(Stage(current, inner))
        total += count
        if index == copies - 1:
            return outputs, total, stages
        if len(outputs) != 1:
            raise _Failed([Problem("repeat", f"{who(node)} is repeated ×{copies} but has several outputs",
                                   node.name)])
        following = {**current, chained: [next(iter(outputs.values()))]}
        if following == current:  # a fixed point: every further copy gives the same type and count
            return outputs, total + count * (copies - 1 - index), stages
        current = following
    raise AssertionError("unreachable")


def _instance(block: Graph, node: Node, values: Mapping[str, Any], ports: Ports
              ) -> tuple[dict[str, TensorType], int, Analysis]:
    """Infer one copy of a block instance; problems inside are reported on the instance, with their path."""
    given = {name: types[0] for name, types in ports.items()}
    key = (block.revision, _blocks_key(block), tuple(sorted(values.items())), tuple(sorted(given.items())))
    cache = block.__dict__.setdefault("_instance_cache", {})
    inner = cache.get(key)
    if inner is None:
        _check_nesting(block, node)
        depth = _DEPTH.get()
        token = _DEPTH.set(depth + 1)
        try:
            inner = _analyze(block, values, given)
        finally:
            _DEPTH.reset(token)
        if len(cache) > 256:
            cache.clear()
        cache[key] = inner
    errors = [p for p in inner.problems if p.is_error]
    if errors:
        raise _Failed([Problem(p.code, f"in {who(node)}: {p.message}", node.name, None, p.severity,
                               ((p.node,) if p.node else ()) + p.path) for p in errors])
    outputs = {name: inner.nodes[name].outputs["y"] for name in block_outputs(block)}
    return outputs, inner.parameters, inner


def _check_nesting(block: Graph, node: Node) -> None:
    loop = _self_use(block)
    if loop:
        raise _Failed([Problem("recursive-block", f"{who(node)} uses block '{block.name}', which contains itself "
                               f"({' → '.join(loop)}): a block cannot be built from itself", node.name)])
    if _DEPTH.get() >= MAX_NESTING:
        raise _Failed([Problem("nesting", f"{who(node)} is a block inside {MAX_NESTING} levels of blocks: "
                               "nest blocks less deeply", node.name)])


def _self_use(block: Graph) -> list[str]:
    """The chain of block names through which a block contains itself (`b → c → b`), or [] when it does not.
    Walked with a stack, not by recursion, so a file nesting blocks thousands deep cannot exhaust Python's."""
    seen: set[int] = set()
    stack: list[tuple[Graph, list[str]]] = [(block, [block.name])]
    while stack:
        current, trail = stack.pop()
        for node in current:
            inner = resolve(current, node.type)
            if inner is block:
                return [*trail, node.type]
            if isinstance(inner, Graph) and id(inner) not in seen:
                seen.add(id(inner))
                stack.append((inner, [*trail, node.type]))
    return []
