"""Lint: graphs that are valid but probably not what their author meant. Every finding is a warning Problem.

Codes (listed in graph.problems.CODES with the validation codes):
- bias-before-batchnorm: a conv or fully-conn with bias=True whose only consumer is a batchnorm, which
  subtracts the mean and so cancels the bias.
- softmax-before-cross-entropy: a softmax feeding a cross-entropy output, which applies log-softmax itself.
- linear-after-linear: two linear layers (fully-conn or convolution) with nothing between them: their
  composition is one linear layer, so the first adds parameters and computation but no expressive power.
- dropout-before-output: a dropout feeding an output: it only adds noise to the predictions during training
  and does nothing at inference.
- output-padding-not-exportable: a transposed convolution whose output_padding is not below its stride: torch
  accepts it when it is below the dilation, but ONNX's ConvTranspose does not, so the graph trains and cannot be
  exported.
- too-many-parameters: the weights alone (4 bytes each) are more than this machine's memory.
- memory: one training step at the graph's batch size (its training settings', else `train`'s default) needs
  more than this machine's free memory less the safety margin (graph/capacity.py), by the estimate of
  graph/summary.py; put on the box that takes the most. The same figures `train` refuses a run with.
"""

from __future__ import annotations

from typing import Any

from graph.capacity import available_memory, format_bytes, total_memory
from graph.inference import Analysis
from graph.model import Graph, Node
from graph.problems import WARNING, Problem
from graph.registry import layer_spec
from graph.summary import Summary, fit_problem, summarize, training_batch, training_memory, training_optimizer

BIAS_BEFORE_BATCHNORM = "bias-before-batchnorm"
SOFTMAX_BEFORE_CROSS_ENTROPY = "softmax-before-cross-entropy"
LINEAR_AFTER_LINEAR = "linear-after-linear"
DROPOUT_BEFORE_OUTPUT = "dropout-before-output"
OUTPUT_PADDING = "output-padding-not-exportable"
TOO_MANY_PARAMETERS = "too-many-parameters"
MEMORY = "memory"

LINEAR_TYPES = ("fully-conn", "conv-1d", "conv-2d", "transp-conv-1d", "transp-conv-2d")
DROPOUT_TYPES = ("dropout", "dropout-2d")


def lint(graph: Graph, analysis: Analysis | None = None) -> list[Problem]:
    """Every lint warning of the graph's own nodes (a block's inside is linted when it is the graph given)."""
    analysis = analysis if analysis is not None else graph.analyze()
    problems: list[Problem] = []
    for node in graph.nodes:
        consumers = [graph.node(e.dst) for e in graph.out_edges(node.name)]
        problems += _check(graph, analysis, node, consumers)
    return problems + memory_warnings(graph, analysis)


def memory_warnings(graph: Graph, analysis: Analysis, summary: Summary | None = None) -> list[Problem]:
    """Weights beyond the machine's memory, or a training step beyond its free memory: on the box that takes
    the most. Only for a whole network without errors (not the inside of a block)."""
    if not analysis.ok or any(block is graph for block in graph.blocks.values()):
        return []
    summary = summary if summary is not None else summarize(graph, analysis)
    if not summary.rows:
        return []
    total = total_memory()
    weights = summary.parameters * 4
    if total is not None and weights > total:
        heaviest = max(summary.rows, key=lambda row: row.parameters)
        return [Problem(TOO_MANY_PARAMETERS, f"'{graph.name}' has {summary.parameters:,} parameters, "
                        f"{format_bytes(weights)} at 4 bytes each: more than this machine's "
                        f"{format_bytes(total)} of memory, so it cannot even be built here; {heaviest.type} "
                        f"'{heaviest.name}' holds {heaviest.parameters:,} of them", heaviest.name, severity=WARNING)]
    available = available_memory()
    batch, optimizer = training_batch(graph), training_optimizer(graph)
    problem = fit_problem(summary, batch, optimizer, available) if available is not None else None
    if problem is None:
        return []
    # the box that takes the most: of the weights and their state when those alone do not fit, else of the step
    counted = 0 if training_memory(summary, 0, optimizer).total > available.usable else batch
    costliest = max(summary.rows, key=lambda row: training_memory(row, counted, optimizer).total)
    share = training_memory(costliest, counted, optimizer).total
    return [Problem(MEMORY, f"training '{graph.name}' will not fit this machine's memory: {problem}; "
                    f"{costliest.type} '{costliest.name}' takes the most ({format_bytes(share)})", costliest.name,
                    severity=WARNING)]


def _check(graph: Graph, analysis: Analysis, node: Node, consumers: list[Node]) -> list[Problem]:
    found: list[Problem] = []
    only = consumers[0] if len(consumers) == 1 else None
    if node.type in LINEAR_TYPES and only is not None and node.repeat == 1:
        if only.type == "batchnorm" and _value(analysis, node, "bias") is True:
            found.append(_warn(BIAS_BEFORE_BATCHNORM, node, f"{node.name} has a bias right before batchnorm "
                               f"'{only.name}', which cancels it: set bias=False"))
        elif only.type in LINEAR_TYPES and len(graph.in_edges(only.name)) == 1:
            found.append(_warn(LINEAR_AFTER_LINEAR, node, f"{node.type} '{node.name}' feeds {only.type} "
                               f"'{only.name}' with nothing between them: two linear layers collapse into one; "
                               "insert an activation between them"))
    if node.type == "fully-conn" and node.repeat not in (1, "1") and _is_literal_repeat(node):
        found.append(_warn(LINEAR_AFTER_LINEAR, node, f"fully-conn '{node.name}' is repeated ×{node.repeat} with "
                           "nothing between the copies: they collapse into one linear layer"))
    outputs = [c for c in consumers if c.type == "output"]
    if node.type == "softmax":
        for out in outputs:
            if _value(analysis, out, "loss") == "cross-entropy":
                found.append(_warn(SOFTMAX_BEFORE_CROSS_ENTROPY, node, f"softmax '{node.name}' feeds output "
                                   f"'{out.name}', whose cross-entropy loss already applies log-softmax: remove "
                                   "the softmax"))
    if node.type.startswith("transp-conv") and _padding_beyond_stride(analysis, node):
        found.append(_warn(OUTPUT_PADDING, node, f"{node.type} '{node.name}' has an output_padding not below its "
                           "stride: torch runs it (it is below the dilation) but ONNX cannot express it, so export "
                           "will fail; lower output_padding below the stride"))
    if node.type in DROPOUT_TYPES:
        for out in outputs:
            found.append(_warn(DROPOUT_BEFORE_OUTPUT, node, f"{node.type} '{node.name}' feeds output '{out.name}' "
                               "directly: it only adds noise to the predictions while training and does "
                               "nothing at inference; remove it"))
    return found


def _padding_beyond_stride(analysis: Analysis, node: Node) -> bool:
    padding, stride = _value(analysis, node, "output_padding"), _value(analysis, node, "stride")
    dims = 2 if node.type.endswith("2d") else 1
    pairs = zip(_per_dimension(padding, dims), _per_dimension(stride, dims), strict=False)
    return any(isinstance(p, int) and isinstance(s, int) and p >= s for p, s in pairs)


def _per_dimension(value: Any, dims: int) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value] * dims


def _is_literal_repeat(node: Node) -> bool:
    return isinstance(node.repeat, int) and not isinstance(node.repeat, bool) and node.repeat > 1


def _value(analysis: Analysis, node: Node, key: str) -> Any:
    """The resolved value of a meta-parameter: from inference when it ran, else as set, else the default."""
    info = analysis.nodes.get(node.name)
    if info is not None and key in info.values:
        return info.values[key]
    if key in node.params:
        return node.params[key]
    spec = layer_spec(node.type)
    param = spec.param(key) if spec is not None else None
    return param.default if param is not None else None


def _warn(code: str, node: Node, message: str) -> Problem:
    return Problem(code, message, node.name, severity=WARNING)
