"""The model's cost, as a table: per node its output shape, parameters and multiply-adds, then the memory of
building the model, of a training step and of a run without gradients, and the largest batch that fits a given
memory.

Multiply-adds (MACs) count the products of the matrix operations only, as torch's FlopCounterMode does
(FLOPs = 2 × MACs): fully-conn in×out per position; convolution out_elements × in_channels/groups × kernel
area; transposed convolution in_elements × out_channels/groups × kernel area; mha the four projections
(2·T·E² + 2·S·E²) plus attention (2·T·S·E); lstm/gru gates × hidden × (input + hidden) per step, layer and
direction. Element-wise layers (activations, normalisation, pooling, `+`) and embeddings (a look-up) count 0.
A block instance counts the sum of its inner nodes, for every copy of a repeat.

Memory is an estimate of the right magnitude, meant never to be far below what torch allocates (checked against
one measured step per template in tests/training/test_memory_estimate.py). Per sample, every layer's output is
taken as kept for the backward pass (views such as reshape keep nothing), plus what some layers keep besides:
a max pool its int64 indices, a dropout its mask, attention its projections (and with dropout its weights), a
recurrent layer its gates at every step, a loss its log-probabilities or differences. The step's workspace is
the gradient flowing back through the largest output (two tensors of that size at once) and the optimizer's
temporaries (Adam: one value per parameter, as its multi-tensor update computes a square root of every state).
Token ids count two values each (int64).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from graph.capacity import Available, format_bytes
from graph.inference import Analysis, NodeInfo
from graph.model import Graph
from graph.registry import layer_spec
from graph.shapes import expand
from graph.tensor import INT, TensorType, numel

# Values of optimizer state kept per parameter ("momentum": SGD with momentum, whose buffer is one value).
OPTIMIZER_STATE = {"adam": 2, "adamw": 2, "sgd": 0, "momentum": 1, "sgd-momentum": 1, "rmsprop": 1, "adagrad": 1}
# Values per parameter an optimizer's update allocates for the time of the step.
OPTIMIZER_WORKSPACE = {"adam": 1, "adamw": 1}
# TrainConfig's defaults, those `train` uses when the graph's settings say nothing (a test compares them)
DEFAULT_BATCH, DEFAULT_MOMENTUM = 64, 0.9
VIEWS = ("reshape", "flatten", "readout", "pos-enc")  # outputs that share their input's (or a buffer's) memory


@dataclass(frozen=True)
class Cost:
    """What one node costs per sample: multiply-adds, values kept for backward, the largest single tensor it
    makes, and values of state that is not trained (buffers)."""

    mult_adds: int = 0
    activations: int = 0
    largest: int = 0
    buffers: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.mult_adds + other.mult_adds, self.activations + other.activations,
                    max(self.largest, other.largest), self.buffers + other.buffers)

    def times(self, count: int) -> Cost:
        return Cost(self.mult_adds * count, self.activations * count, self.largest, self.buffers * count)


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    output_shape: tuple[int, ...] | None
    parameters: int
    mult_adds: int
    activations: int  # values stored per sample for the backward pass
    copies: int = 1
    largest: int = 0  # values of the largest single tensor the node makes, per sample
    buffers: int = 0  # values of state that is not trained (batchnorm's running statistics, ...)


@dataclass
class Summary:
    """The rows, and their totals (computed once: the rows are not changed after `summarize`)."""

    rows: list[Row] = field(default_factory=list)

    @cached_property
    def parameters(self) -> int:
        return sum(r.parameters for r in self.rows)

    @cached_property
    def mult_adds(self) -> int:
        return sum(r.mult_adds for r in self.rows)

    @cached_property
    def activations(self) -> int:
        return sum(r.activations for r in self.rows)

    @cached_property
    def largest(self) -> int:
        return max((r.largest for r in self.rows), default=0)

    @cached_property
    def buffers(self) -> int:
        return sum(r.buffers for r in self.rows)


@dataclass(frozen=True)
class Memory:
    """Bytes of building the model (`model`: parameters and buffers) and of one training step (`total`)."""

    parameters: int
    buffers: int
    gradients: int
    optimizer_state: int
    activations: int
    workspace: int  # the step's temporaries: gradients flowing back, the optimizer's update

    @property
    def model(self) -> int:
        return self.parameters + self.buffers

    @property
    def total(self) -> int:
        return (self.parameters + self.buffers + self.gradients + self.optimizer_state + self.activations
                + self.workspace)


def summarize(graph: Graph, analysis: Analysis | None = None) -> Summary:
    """One row per node the analysis could infer, in the graph's order (nodes it could not infer are left out)."""
    analysis = analysis if analysis is not None else graph.analyze()
    rows = []
    for node in graph.nodes:
        info = analysis.nodes.get(node.name)
        if info is None:
            continue
        output = info.output
        cost = node_cost(info)
        rows.append(Row(node.name, node.type, output.shape if output is not None else None, info.parameters,
                        cost.mult_adds, cost.activations, info.copies, cost.largest, cost.buffers))
    return Summary(rows)


class Costs(Protocol):
    """What a memory estimate needs, per sample: a Summary's totals, or one Row's (what one box takes)."""

    parameters: int
    buffers: int
    activations: int
    largest: int


def training_memory(summary: Costs, batch: int, optimizer: str = "adam", bytes_per_value: int = 4,
                    activation_bytes: int | None = None) -> Memory:
    """`activation_bytes`: bytes of an activation when they differ from the weights' (2 under mixed precision,
    which also keeps a half-precision copy of the weights for the step)."""
    per_activation = bytes_per_value if activation_bytes is None else activation_bytes
    name = optimizer.lower()
    parameters = summary.parameters * bytes_per_value
    state = summary.parameters * OPTIMIZER_STATE.get(name, 2) * bytes_per_value
    casts = summary.parameters * per_activation if per_activation != bytes_per_value else 0
    samples = max(batch, 0)
    workspace = (2 * summary.largest * samples * per_activation + casts
                 + summary.parameters * OPTIMIZER_WORKSPACE.get(name, 0) * bytes_per_value)
    return Memory(parameters, summary.buffers * bytes_per_value, parameters, state,
                  summary.activations * samples * per_activation, workspace)


def largest_batch(summary: Summary, available_bytes: int, optimizer: str = "adam", bytes_per_value: int = 4,
                  activation_bytes: int | None = None) -> int:
    """The largest batch whose training step fits `available_bytes` (0 when not even the weights fit)."""
    fixed = training_memory(summary, 0, optimizer, bytes_per_value, activation_bytes).total
    per_sample = training_memory(summary, 1, optimizer, bytes_per_value, activation_bytes).total - fixed
    if available_bytes < fixed:
        return 0
    if per_sample == 0:
        return 2**31 - 1
    return int((available_bytes - fixed) // per_sample)


def optimizer_kind(optimizer: str, momentum: float = 0.0) -> str:
    """The key of OPTIMIZER_STATE for a run's optimizer: SGD keeps a buffer only with momentum."""
    return "momentum" if optimizer == "sgd" and momentum > 0 else optimizer


def training_batch(graph: Graph) -> int:
    """The batch size `train` would use: the graph's training settings', else the default."""
    batch = graph.training.get("batch_size")
    return batch if isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1 else DEFAULT_BATCH


def training_optimizer(graph: Graph) -> str:
    """The OPTIMIZER_STATE key of the optimizer `train` would use (Adam, unless the settings say; SGD with its
    default momentum 0.9 keeps a buffer)."""
    optimizer = graph.training.get("optimizer")
    momentum = graph.training.get("momentum", DEFAULT_MOMENTUM)
    return optimizer_kind(optimizer if isinstance(optimizer, str) else "adam",
                          momentum if isinstance(momentum, int | float) else DEFAULT_MOMENTUM)


def memory_parts(memory: Memory, optimizer: str) -> list[str]:
    """`weights 1.2 GiB`, `gradients 1.2 GiB`, ...: the figures of an estimate, those that are not zero."""
    state = "Adam state" if optimizer.lower() in ("adam", "adamw") else "optimizer state"
    named = (("weights", memory.parameters), ("buffers", memory.buffers), ("gradients", memory.gradients),
             (state, memory.optimizer_state), ("activations", memory.activations), ("workspace", memory.workspace))
    return [f"{name} {format_bytes(count)}" for name, count in named if count]


def fit_problem(summary: Summary, batch: int, optimizer: str, available: Available,
                activation_bytes: int | None = None) -> str | None:
    """Why a training step at `batch` does not fit `available` memory (the figures, and the largest batch
    that fits or that not even the weights do); None when it fits."""
    memory = training_memory(summary, batch, optimizer, activation_bytes=activation_bytes)
    if memory.total <= available.usable:
        return None
    fixed = training_memory(summary, 0, optimizer, activation_bytes=activation_bytes).total
    fits = largest_batch(summary, available.usable, optimizer, activation_bytes=activation_bytes)
    if fixed > available.usable:
        verdict = (f"even the weights, their gradients and the optimizer's state ({format_bytes(fixed)}) do not "
                   "fit: use a smaller model or a device with more memory")
    elif fits == 0:
        verdict = "not even one sample fits: use a smaller model or a device with more memory"
    else:
        verdict = f"batch size {fits:,} fits: set the batch size to {fits} (--batch-size {fits})"
    return (f"one training step at batch size {batch:,} needs about {format_bytes(memory.total)} "
            f"({', '.join(memory_parts(memory, optimizer))}) but {available.text()} may be used: {verdict}")


def running_memory(summary: Summary, batch: int, weight_copies: int = 1, bytes_per_value: int = 4) -> Memory:
    """Bytes of running the model once without gradients at `batch` (the checks of `export` and `code`): the
    weights and buffers (`weight_copies` of them: a check holds a second copy beside the model), the batch of
    inputs, and the tensors alive at once, taken as two of the largest (a layer's input and its output)."""
    inputs = sum(row.activations for row in summary.rows if row.type == "input")
    return Memory(summary.parameters * weight_copies * bytes_per_value,
                  summary.buffers * weight_copies * bytes_per_value, 0, 0,
                  (inputs + 2 * summary.largest) * max(batch, 0) * bytes_per_value, 0)


def run_problem(summary: Summary, batch: int, available: Available, doing: str, weight_copies: int = 1
                ) -> str | None:
    """Why `doing` ("checking the export"), which runs the model at `batch` (running_memory), does not fit
    `available` memory, with the figures; None when it fits."""
    memory = running_memory(summary, batch, weight_copies)
    if memory.total <= available.usable:
        return None
    copies = {1: "", 2: " with a second copy of its weights"}.get(weight_copies, f" with {weight_copies} copies "
                                                                                  "of its weights")
    return (f"{doing} runs it at batch {batch}{copies}, which needs about {format_bytes(memory.total)} "
            f"({', '.join(memory_parts(memory, 'sgd'))}) but {available.text()} may be used")


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


def node_cost(info: NodeInfo) -> Cost:
    """A node's cost per sample, for all its copies; a block's is the sum of its inner nodes' (its inputs
    excluded: they are the outer graph's tensors). Kept on the NodeInfo, which inference reuses for every node
    an edit leaves unchanged: lint asks after each edit, and a 5,000-node graph recounts only the boxes edited."""
    cached = info.__dict__.get("_cost")
    if cached is not None:
        return cached
    total = Cost()
    for count, inputs, inner in _stage_runs(info):
        if inner is not None:
            total += sum((node_cost(i) for i in inner.nodes.values() if i.type != "input"), Cost()).times(count)
        else:
            total += layer_cost(info, inputs).times(count)
    info.__dict__["_cost"] = total
    return total


def layer_cost(info: NodeInfo, inputs: dict[str, list[TensorType]]) -> Cost:
    out = _layer_output(info, inputs)
    made = _values(out) if out is not None else 0
    kept = _kept(info, inputs, made)
    # no gradient flows back into the data, so an input never counts as the largest tensor of the backward pass
    largest = 0 if info.type == "input" else max(made, _attention_weights(info, inputs))
    return Cost(layer_mult_adds(info.type, info.values, inputs), kept, largest, _buffers(info, inputs))


def _kept(info: NodeInfo, inputs: dict[str, list[TensorType]], made: int) -> int:
    """Values per sample a layer keeps for the backward pass."""
    kind = info.type
    if kind == "output":
        loss = info.values.get("loss")
        return sum(_values(t) for types in inputs.values() for t in types) if loss not in (None, "none") else 0
    if kind in VIEWS:
        return 0
    return made + _KEPT_BESIDES.get(kind, lambda _i, _p, _m: 0)(info, inputs, made)


def _recurrent_kept(info: NodeInfo, inputs: dict[str, list[TensorType]], made: int) -> int:
    """Each step of each layer and direction keeps its gates before and after their activation, the cell
    state and its tanh (lstm), and the step's input."""
    x = next(iter(inputs.values()))[0]
    gates = 4 if info.type == "lstm" else 3
    hidden, layers = info.values["hidden_size"], info.values["num_layers"]
    directions = 2 if info.values["bidirectional"] else 1
    steps, width, total = x.shape[0], x.shape[-1], 0
    for _ in range(layers):
        total += directions * steps * ((2 * gates + 3) * hidden + width)
        width = hidden * directions
    return total


def _mha_kept(info: NodeInfo, inputs: dict[str, list[TensorType]], made: int) -> int:
    """The query, key and value projections and the heads' result before the output projection; with dropout,
    the attention weights three times over (torch's fused attention keeps none, but with dropout on the CPU it
    computes them in full: the softmax, its mask, the dropped weights)."""
    q = inputs["q"][0]
    k = inputs.get("k", [q])[0]
    t, e = q.shape
    s = k.shape[0]
    return 2 * t * e + 2 * s * e + 3 * _attention_weights(info, inputs)


_KEPT_BESIDES: dict[str, Callable[[NodeInfo, dict[str, list[TensorType]], int], int]] = {
    "maxpool": lambda _i, _p, made: 2 * made,  # int64 indices of the maxima
    "maxpool-1d": lambda _i, _p, made: 2 * made,
    "dropout": lambda _i, _p, made: made // 4,  # a one-byte mask
    "dropout-2d": lambda _i, _p, made: made // 4,
    "mha": _mha_kept,
    "lstm": _recurrent_kept,
    "gru": _recurrent_kept,
}


def _attention_weights(info: NodeInfo, inputs: dict[str, list[TensorType]]) -> int:
    """Values of the attention weights (heads × T × S) where torch computes them in full: with dropout."""
    if info.type != "mha" or not info.values.get("dropout"):
        return 0
    q = inputs["q"][0]
    k = inputs.get("k", [q])[0]
    return info.values["num_heads"] * q.shape[0] * k.shape[0]


def _buffers(info: NodeInfo, inputs: dict[str, list[TensorType]]) -> int:
    """Batchnorm's running mean and variance (and its step count); a sinusoidal encoding's table."""
    if info.type == "batchnorm":
        return 2 * next(iter(inputs.values()))[0].shape[0] + 1
    if info.type == "pos-enc" and info.values.get("kind") != "learned":
        length, dim = next(iter(inputs.values()))[0].shape
        return max(info.values["max_len"], length) * dim
    return 0


def _values(t: TensorType) -> int:
    return numel(t.shape) * (2 if t.dtype == INT else 1)


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
