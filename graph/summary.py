"""The model's cost, as a table: per node its output shape, parameters and multiply-adds, then the memory of a
training step and the largest batch that fits a given memory.

Multiply-adds (MACs) count the products of the matrix operations only, as torch's FlopCounterMode does
(FLOPs = 2 × MACs): fully-conn in×out per position; convolution out_elements × in_channels/groups × kernel
area; transposed convolution in_elements × out_channels/groups × kernel area; mha the four projections
(2·T·E² + 2·S·E²) plus attention (2·T·S·E); lstm/gru gates × hidden × (input + hidden) per step, layer and
direction. Element-wise layers (activations, normalisation, pooling, `+`) and embeddings (a look-up) count 0.
A block instance counts the sum of its inner nodes, for every copy of a repeat.

Activation memory is an approximation: every node's output (inside blocks, every inner node's), per sample,
is taken as stored for the backward pass; outputs (losses) are left out. Frameworks free or recompute some of
these and keep a few extra buffers, so the figure is an estimate of the right magnitude, not an exact count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.inference import Analysis, NodeInfo
from graph.model import Graph
from graph.registry import layer_spec
from graph.shapes import expand
from graph.tensor import TensorType, numel

# Values of optimizer state kept per parameter.
OPTIMIZER_STATE = {"adam": 2, "adamw": 2, "sgd": 0, "momentum": 1, "sgd-momentum": 1, "rmsprop": 1, "adagrad": 1}


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    output_shape: tuple[int, ...] | None
    parameters: int
    mult_adds: int
    activations: int  # values stored per sample for the backward pass
    copies: int = 1


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)

    @property
    def parameters(self) -> int:
        return sum(r.parameters for r in self.rows)

    @property
    def mult_adds(self) -> int:
        return sum(r.mult_adds for r in self.rows)

    @property
    def activations(self) -> int:
        return sum(r.activations for r in self.rows)


@dataclass(frozen=True)
class Memory:
    """Bytes of one training step."""

    parameters: int
    gradients: int
    optimizer_state: int
    activations: int
    total: int


def summarize(graph: Graph, analysis: Analysis | None = None) -> Summary:
    """One row per node the analysis could infer, in the graph's order (nodes it could not infer are left out)."""
    analysis = analysis if analysis is not None else graph.analyze()
    rows = []
    for node in graph.nodes:
        info = analysis.nodes.get(node.name)
        if info is None:
            continue
        output = info.output
        rows.append(Row(node.name, node.type, output.shape if output is not None else None, info.parameters,
                        node_mult_adds(info), node_activations(info), info.copies))
    return Summary(rows)


def training_memory(summary: Summary, batch: int, optimizer: str = "adam", bytes_per_value: int = 4) -> Memory:
    parameters = summary.parameters * bytes_per_value
    state = summary.parameters * OPTIMIZER_STATE.get(optimizer.lower(), 2) * bytes_per_value
    activations = summary.activations * max(batch, 0) * bytes_per_value
    return Memory(parameters, parameters, state, activations, 2 * parameters + state + activations)


def largest_batch(summary: Summary, available_bytes: int, optimizer: str = "adam", bytes_per_value: int = 4) -> int:
    """The largest batch whose training step fits `available_bytes` (0 when not even the weights fit)."""
    fixed = training_memory(summary, 0, optimizer, bytes_per_value).total
    per_sample = summary.activations * bytes_per_value
    if available_bytes < fixed:
        return 0
    if per_sample == 0:
        return 2**31 - 1
    return int((available_bytes - fixed) // per_sample)


# --- per node ------------------------------------------------------------------------------------------------

def _stage_runs(info: NodeInfo) -> list[tuple[int, dict[str, list[TensorType]], Any]]:
    """(how many copies, inputs, inner analysis) per distinct stage: copies after the last stage repeat it."""
    stages = info.stages or []
    if not stages:
        return [(info.copies, info.inputs, None)]
    runs = [(1, s.inputs, s.inner) for s in stages]
    count, inputs, inner = runs[-1]
    runs[-1] = (count + info.copies - len(stages), inputs, inner)
    return runs


def node_mult_adds(info: NodeInfo) -> int:
    total = 0
    for count, inputs, inner in _stage_runs(info):
        if inner is not None:
            total += count * sum(node_mult_adds(i) for i in inner.nodes.values())
        else:
            total += count * layer_mult_adds(info.type, info.values, inputs)
    return total


def node_activations(info: NodeInfo) -> int:
    """Values per sample kept for backward: a layer's outputs, a block's inner outputs (its inputs excluded)."""
    if info.type == "output":
        return 0
    total = 0
    for count, inputs, inner in _stage_runs(info):
        if inner is not None:
            total += count * sum(node_activations(i) for i in inner.nodes.values() if i.type != "input")
        else:
            out = _layer_output(info, inputs)
            total += count * (numel(out.shape) if out is not None else 0)
    return total


def _layer_output(info: NodeInfo, inputs: dict[str, list[TensorType]]) -> TensorType | None:
    spec = layer_spec(info.type)
    if spec is None or not inputs or (inputs == info.inputs and info.copies == 1):
        return info.output
    try:
        return spec.rule(info.values, inputs)[0]
    except Exception:  # a stage inference accepted cannot fail; be safe for the summary anyway
        return info.output


def layer_mult_adds(type_name: str, values: dict[str, Any], inputs: dict[str, list[TensorType]]) -> int:
    spec = layer_spec(type_name)
    if spec is None or not inputs:
        return 0
    first = next(iter(inputs.values()))[0]
    if type_name == "fully-conn":
        return numel(first.shape) * values["out_features"]
    if type_name in ("conv-1d", "conv-2d", "transp-conv-1d", "transp-conv-2d"):
        out = spec.rule(values, inputs)[0]
        n = first.rank - 1
        area = numel(expand(values["kernel_size"], n))
        if type_name.startswith("transp"):
            return numel(first.shape) * values["out_channels"] // values["groups"] * area
        return numel(out.shape) * first.shape[0] // values["groups"] * area
    if type_name == "mha":
        return _mha_mult_adds(inputs)
    if type_name in ("lstm", "gru"):
        return _recurrent_mult_adds(type_name, values, first)
    return 0


def _mha_mult_adds(inputs: dict[str, list[TensorType]]) -> int:
    q = inputs["q"][0]
    k = inputs.get("k", [q])[0]
    t, e = q.shape[-2] if q.rank >= 2 else 1, q.shape[-1]
    s = k.shape[-2] if k.rank >= 2 else 1
    return 2 * t * e * e + 2 * s * e * e + 2 * t * s * e


def _recurrent_mult_adds(type_name: str, values: dict[str, Any], x: TensorType) -> int:
    gates = 4 if type_name == "lstm" else 3
    hidden, layers = values["hidden_size"], values["num_layers"]
    directions = 2 if values["bidirectional"] else 1
    steps = x.shape[0] if x.rank >= 2 else 1
    total, width = 0, x.shape[-1]
    for _ in range(layers):
        total += directions * steps * gates * hidden * (width + hidden)
        width = hidden * directions
    return total
