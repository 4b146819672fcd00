"""Shape inference against torch on random graphs.

An oracle runs each random graph in torch, node by node, building every module from the shapes of the tensors
that actually arrive (never from inference). Inference must agree with it: a graph it accepts runs with the
inferred shapes and parameter counts; a node torch cannot run is a node inference reports. Where inference
refuses what torch runs, the refusal must be one of our deliberate restrictions, listed in STRICTER.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pytest
import torch
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from graph import Graph, TensorType, dumps, layer_spec
from graph.values import resolve_values
from runtime import count_parameters, make_module
from tests.runtime.random_graphs import params_for

torch.set_num_threads(1)  # tiny tensors: threads cost more than they save

VOCAB = 5
BATCHES = (3, 2)  # the second batch is a prefix of the first: a per-sample layer gives the same rows

# Layers that suit a float tensor of a given rank, and layers that suit any rank.
FOR_RANK = {
    1: ("fully-conn", "batchnorm", "layernorm", "softmax"),
    2: ("conv-1d", "transp-conv-1d", "maxpool-1d", "avgpool-1d", "adaptive-avgpool-1d", "global-avgpool", "pos-enc",
        "mha", "cls-token", "lstm", "gru", "upsample", "fully-conn", "layernorm", "batchnorm"),
    3: ("conv-2d", "transp-conv-2d", "maxpool", "avgpool", "adaptive-avgpool", "global-avgpool", "dropout-2d",
        "upsample", "batchnorm"),
    4: ("batchnorm", "global-avgpool", "flatten", "upsample", "adaptive-avgpool", "maxpool", "conv-2d"),
}
FOR_ANY = ("+", "concat", "mul", "reshape", "flatten", "readout", "softmax", "dropout", "relu", "leaky-relu", "gelu",
           "tanh", "sigmoid", "silu")
FOR_INTS = ("embed", "reshape", "flatten", "readout", "concat", "+", "mul")
ALL_TYPES = tuple(dict.fromkeys(FOR_RANK[2] + FOR_RANK[3] + FOR_ANY + FOR_RANK[1] + FOR_INTS))
FLOAT_LAYERS = frozenset(t for t in ALL_TYPES if t not in FOR_INTS)

# Where inference deliberately refuses what torch would run, by problem code: the layer types concerned.
STRICTER: dict[str, frozenset[str]] = {
    "rank": frozenset({
        # Ranks the book's figures do not use: fully-conn on a 3+-d tensor, dropout-2d on anything but C×H×W.
        # (`+` and mul across ranks need no entry: torch aligns the batch with a sample dimension and fails.)
        "fully-conn", "dropout-2d",
        # torch's unbatched inputs: given a sample one rank short, pools read the whole batch as one unbatched
        # input, the batch taken for channels. That runs, and keeps the samples apart since pooling is per
        # channel, but is not the figure's layer. Adaptive pooling also takes any rank above the one it expects.
        # (Attention and recurrent modules refuse an unbatched reading, which would mix the samples.)
        "maxpool-1d", "avgpool-1d", "adaptive-avgpool-1d", "maxpool", "avgpool", "adaptive-avgpool",
        # torch interpolates volumes (C×D×H×W) too; the book's upsample is for sequences and images.
        "upsample",
    }),
    # Integer token ids go into an embedding; float layers refuse them even where torch would compute.
    "dtype": FLOAT_LAYERS,
}


# --- random graphs ---------------------------------------------------------------------------------------------

def _output_type(g: Graph, name: str) -> TensorType | None:
    info = g.analyze().nodes.get(name)
    return info.outputs.get("y") if info else None


def _inputs(draw: st.DrawFn, g: Graph) -> list[str]:
    names = []
    for i in range(draw(st.integers(1, 2))):
        if draw(st.integers(0, 3)) == 0:
            shape = draw(st.lists(st.integers(1, 5), min_size=1, max_size=2))
            names.append(g.add("input", f"X{i}", shape=shape, dtype="int", vocab_size=VOCAB))
        else:
            # A scalar per sample is allowed, but not as the only input (it would leave little to build on).
            rank = draw(st.sampled_from((3, 2, 1, 4, 0) if i else (3, 2, 1, 4)))
            shape = draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank))
            names.append(g.add("input", f"X{i}", shape=shape))
    return names


def _choose_type(draw: st.DrawFn, t: TensorType | None) -> str:
    """Mostly a type that suits the incoming tensor; sometimes any type, to meet the rules' refusals."""
    if t is None or draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(ALL_TYPES))
    if t.dtype == "int":
        return draw(st.sampled_from(FOR_INTS))
    if t.rank in FOR_RANK and draw(st.booleans()):
        return draw(st.sampled_from(FOR_RANK[t.rank]))
    return draw(st.sampled_from(FOR_ANY))


def _wire(draw: st.DrawFn, g: Graph, node: str, type_: str, src: str, earlier: list[str]) -> None:
    g.connect(src, node, "q" if type_ == "mha" else None)
    if type_ in ("+", "mul", "concat"):
        for other in draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=2)):
            g.connect(other, node)
    elif type_ == "mha":
        for port in ("k", "v"):  # mostly self-attention: a random key tensor rarely fits
            if draw(st.integers(0, 2)) == 0:
                g.connect(draw(st.sampled_from(earlier)), node, port)


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    g = Graph()
    nodes = _inputs(draw, g)
    for _ in range(draw(st.integers(1, 5))):
        recent_first = nodes[::-1]  # hypothesis shrinks towards the first choice: towards a chain
        src = draw(st.sampled_from(recent_first))
        t = _output_type(g, src)
        type_ = _choose_type(draw, t)
        node = g.add(type_, **draw(params_for(type_, t)))
        _wire(draw, g, node, type_, src, recent_first)
        nodes.append(node)
    g.connect(nodes[-1], g.add("output", "Y", loss="none"))
    return g


# --- the oracle ------------------------------------------------------------------------------------------------

@dataclass
class Run:
    """What torch did with each node: its actual input and output types, its parameters, or why it failed."""

    inputs: dict[str, dict[str, list[TensorType]]] = field(default_factory=dict)
    outputs: dict[str, TensorType] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def type_of(tensor: torch.Tensor) -> TensorType:
    return TensorType(tuple(tensor.shape[1:]), "float" if tensor.is_floating_point() else "int")


def values_of(g: Graph, name: str) -> dict[str, Any]:
    node = g.node(name)
    spec = layer_spec(node.type)
    values, problems = resolve_values({p.name: p for p in spec.params}, node.params, {}, node.type, name)
    assert not problems, problems
    return values


def source(g: Graph, name: str, batch: int) -> torch.Tensor:
    values = values_of(g, name)
    if values["dtype"] == "int":
        # Token 0 is valid for every embedding, even after int arithmetic (`+`, mul) upstream.
        return torch.zeros(batch, *values["shape"], dtype=torch.long)
    return torch.randn(batch, *values["shape"])


def call(module: torch.nn.Module, type_: str, ports: dict[str, list[torch.Tensor]]) -> torch.Tensor:
    if type_ == "mha":
        return module(**{port: tensors[0] for port, tensors in ports.items()})
    return module(*ports["x"])


def per_sample(outs: list[torch.Tensor]) -> str | None:
    """Why the outputs for the full batch and its prefix are no per-sample result, or None."""
    full, prefix = outs
    if full.shape[0] != BATCHES[0] or prefix.shape[0] != BATCHES[1] or full.shape[1:] != prefix.shape[1:]:
        return f"the batch dimension did not survive: {tuple(full.shape)} and {tuple(prefix.shape)}"
    if not full.numel():  # a transposed convolution returns an empty tensor where others raise
        return f"the output {tuple(full.shape)} is empty"
    same = torch.allclose(full[: BATCHES[1]].double(), prefix.double(), rtol=1e-4, atol=1e-5, equal_nan=True)
    return None if same else "the rows of a sample depend on other samples"


def execute(g: Graph) -> Run:
    """Run every node whose inputs torch could compute, on the full batch and on its prefix."""
    run = Run()
    tensors: dict[str, list[torch.Tensor]] = {}
    for name in nx.topological_sort(g.structure):
        node = g.node(name)
        if node.type == "input":
            full = source(g, name, BATCHES[0])
            tensors[name] = [full, full[: BATCHES[1]]]
            run.outputs[name], run.counts[name] = type_of(full), 0
            continue
        edges = g.in_edges(name)
        if any(e.src not in tensors for e in edges):
            continue  # downstream of a failure
        ports = [{p: [tensors[e.src][i] for e in edges if e.port == p] for p in dict.fromkeys(e.port for e in edges)}
                 for i in range(len(BATCHES))]
        run.inputs[name] = {port: [type_of(x) for x in xs] for port, xs in ports[0].items()}
        try:
            module = make_module(node.type, values_of(g, name), run.inputs[name]).eval()
            outs = [call(module, node.type, p) for p in ports]
        except Exception as exc:  # any failure of torch is a verdict the oracle records
            run.failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        mixed = per_sample(outs)
        if mixed:
            run.failed[name] = mixed
            continue
        tensors[name] = outs
        run.outputs[name], run.counts[name] = type_of(outs[0]), count_parameters(module)
    return run


# --- the property --------------------------------------------------------------------------------------------

def check_agreement(g: Graph) -> None:
    analysis = g.analyze()
    run = execute(g)
    errors: dict[str, list[Any]] = {}
    for problem in analysis.errors:
        errors.setdefault(problem.node, []).append(problem)
    if not errors:
        assert not run.failed, f"inference accepts, torch fails: {run.failed}"
    for name in nx.topological_sort(g.structure):
        info = analysis.nodes.get(name)
        if name in run.failed:
            upstream = nx.ancestors(g.structure, name) | {name}
            assert upstream & errors.keys(), f"torch fails at '{name}' ({run.failed[name]}) but inference does not"
            assert info is None, f"inference accepts '{name}' but torch fails: {run.failed[name]}"
        elif name in run.outputs and info is not None:
            assert info.inputs == run.inputs.get(name, {}), name
            assert info.outputs["y"] == run.outputs[name], name
            assert info.parameters == run.counts[name], name
        elif name in run.outputs and name in errors:
            node_type = g.node(name).type
            for problem in errors[name]:
                assert node_type in STRICTER.get(problem.code, ()), (
                    f"torch runs {node_type} '{name}' on {run.inputs[name]} but inference refuses: {problem}")


def chain(type_: str, *shapes: list[int], dtype: str = "float", **params: Any) -> Graph:
    g = Graph()
    node = g.add(type_, "probe", **params)
    for i, shape in enumerate(shapes):
        g.connect(g.add("input", f"X{i}", shape=shape, dtype=dtype, vocab_size=VOCAB), node)
    g.connect(node, g.add("output", "Y", loss="none"))
    return g


# One graph per entry of STRICTER, to show each is needed: torch runs the node sample by sample.
RESTRICTIONS = [
    ("rank", chain("fully-conn", [2, 3, 4])),
    ("rank", chain("dropout-2d", [3, 4])),
    ("rank", chain("maxpool-1d", [6])),
    ("rank", chain("avgpool-1d", [6])),
    ("rank", chain("adaptive-avgpool-1d", [6], output_size=2)),
    ("rank", chain("maxpool", [4, 4])),
    ("rank", chain("avgpool", [4, 4])),
    ("rank", chain("adaptive-avgpool", [2, 3, 4, 4])),
    ("rank", chain("upsample", [1, 2, 2, 2])),
    ("dtype", chain("relu", [3], dtype="int")),
    ("dtype", chain("pos-enc", [3, 4], dtype="int")),
]


def test_every_restriction_is_real() -> None:
    assert {g.node("probe").type for code, g in RESTRICTIONS if code == "rank"} == STRICTER["rank"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("code", "g"), RESTRICTIONS, ids=lambda v: v if isinstance(v, str) else v.node("probe").type)
def test_restriction_refuses_what_torch_runs(code: str, g: Graph) -> None:
    run = execute(g)
    assert "probe" in run.outputs, run.failed
    assert [p.code for p in g.analyze().problems_of("probe")] == [code]


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's advice on odd inputs (3-d dropout2d, ...)
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_inference_agrees_with_torch(g: Graph) -> None:
    try:
        check_agreement(g)
    except AssertionError:
        note(dumps(g))  # the failing graph, as a file one can open in the editor
        raise
