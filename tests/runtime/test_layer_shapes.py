"""Every layer's shape rule against torch: the inferred output shape and parameter count of a one-layer graph must
be what the torch module built by `make_module` produces, and what the rule rejects torch must refuse too."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from graph import Graph, TensorType, layer_spec, layer_types
from graph.values import resolve_values
from runtime import count_parameters, make_module
from runtime.modules import module_types

BATCH = 3
VOCAB = 10
PROBE = "probe"  # the name of the layer under test, which every problem about it must mention
TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, AssertionError)
# torch's note that an even kernel with padding='same' costs a padded copy says nothing about shapes.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


@dataclass(frozen=True)
class Case:
    type: str
    inputs: tuple[tuple[str, tuple[int, ...]], ...]  # (port, shape) in the order of the edges
    params: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float"

    def __str__(self) -> str:
        shapes = ",".join("x".join(map(str, shape)) or "scalar" for _, shape in self.inputs)
        params = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.type}[{shapes}]{{{params}}}"


def case(type_: str, *shapes: tuple[int, ...], dtype: str = "float", **params: Any) -> Case:
    port = layer_spec(type_).default_port
    return Case(type_, tuple((port, s) for s in shapes), params, dtype)


def mha(q: tuple[int, ...], k: tuple[int, ...] | None = None, v: tuple[int, ...] | None = None,
        **params: Any) -> Case:
    ports = [("q", q)] + [(port, s) for port, s in (("k", k), ("v", v)) if s is not None]
    return Case("mha", tuple(ports), params)


ACTIVATIONS = [
    case(t, shape) for t in ("relu", "tanh", "sigmoid", "silu") for shape in ((3, 4, 5), (7,))
] + [
    case("leaky-relu", (3, 4), negative_slope=0.2), case("leaky-relu", (5,)),
    case("gelu", (2, 6)), case("gelu", (2, 6), approximate="tanh"),
    case("softmax", (3, 4)), case("softmax", (3, 4), dim=0), case("softmax", (2, 3, 4), dim=1),
    case("softmax", (2, 3, 4), dim=-3),
]
CONVOLUTIONS = [
    case("conv-1d", (3, 20)),
    case("conv-1d", (4, 20), out_channels=6, kernel_size=5, stride=2, padding=2, groups=2),
    case("conv-1d", (2, 9), kernel_size=4, padding="same"),
    case("conv-1d", (2, 9), kernel_size=3, padding="valid", dilation=2),
    case("conv-1d", (6, 11), out_channels=9, stride=3, groups=3, bias=False),
    case("conv-2d", (1, 28, 28), out_channels=32, kernel_size=5),
    case("conv-2d", (3, 16, 12), kernel_size=[3, 5], stride=[2, 1], padding=[1, 2]),
    case("conv-2d", (3, 10, 9), kernel_size=3, dilation=2, padding="same"),
    case("conv-2d", (3, 10, 9), kernel_size=[2, 4], padding="same", dilation=[1, 2]),
    case("conv-2d", (4, 7, 7), out_channels=8, groups=4, bias=False, stride=2),
    case("conv-2d", (2, 5, 5), kernel_size=5),
    case("transp-conv-1d", (4, 10)),
    case("transp-conv-1d", (4, 10), out_channels=2, stride=2, padding=1, output_padding=1),
    case("transp-conv-1d", (4, 6), kernel_size=4, dilation=2, groups=2, output_padding=1, bias=False),
    case("transp-conv-2d", (8, 7, 7), out_channels=4, kernel_size=4, stride=2, padding=1),
    case("transp-conv-2d", (3, 5, 4), kernel_size=[3, 2], stride=[2, 3], output_padding=[1, 2]),
    case("transp-conv-2d", (4, 3, 3), out_channels=8, groups=4, dilation=[2, 1]),
]
LINEAR = [
    case("fully-conn", (10,)),
    case("fully-conn", (5, 10), out_features=3, bias=False),
    case("fully-conn", (1,), out_features=1),
]
POOLS = [
    case("maxpool-1d", (3, 10)),
    case("maxpool-1d", (3, 10), kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    case("maxpool-1d", (2, 7), ceil_mode=True),
    case("maxpool-1d", (2, 8), kernel_size=2, padding=1, dilation=3),
    case("maxpool-1d", (3, 2), kernel_size=2, dilation=2, ceil_mode=True),  # regression: window wider than input
    case("maxpool", (3, 9, 9)),
    case("maxpool", (3, 9, 8), kernel_size=[3, 2], stride=[2, 1], padding=1),
    case("maxpool", (2, 10, 10), kernel_size=3, dilation=2, ceil_mode=True),
    case("maxpool", (2, 6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True),
    case("avgpool-1d", (3, 10)),
    case("avgpool-1d", (3, 11), kernel_size=3, stride=2, padding=1, ceil_mode=True),
    case("avgpool-1d", (2, 5), kernel_size=4, stride=3, padding=2, ceil_mode=True),
    case("avgpool", (3, 8, 8)),
    case("avgpool", (3, 9, 7), kernel_size=[3, 2], stride=[2, 2], padding=[1, 0], ceil_mode=True),
    case("avgpool", (1, 5, 5), kernel_size=5),
    case("avgpool", (1, 1, 2), kernel_size=[4, 3], ceil_mode=True),  # regression: window wider than input
    case("adaptive-avgpool", (3, 7, 7)),
    case("adaptive-avgpool", (3, 7, 5), output_size=[4, 2]),
    case("adaptive-avgpool", (2, 2, 2), output_size=5),
    case("adaptive-avgpool-1d", (3, 10), output_size=4),
    case("adaptive-avgpool-1d", (3, 10)),
    case("global-avgpool", (3, 8, 8)),
    case("global-avgpool", (5, 10)),
    case("global-avgpool", (2, 3, 4, 5)),
]
REGULARISATION = [
    case("dropout", (3, 5)), case("dropout", (4,), p=0.0), case("dropout", (2, 3, 4), p=1.0),
    case("dropout-2d", (3, 4, 4)), case("dropout-2d", (1, 2, 2), p=0.1),
    case("batchnorm", (6,)), case("batchnorm", (4, 10)), case("batchnorm", (3, 8, 8)),
    case("batchnorm", (2, 3, 4, 5), affine=False, eps=1e-3, momentum=0.5),
    case("layernorm", (5, 8)), case("layernorm", (8,), elementwise_affine=False),
    case("layernorm", (2, 3, 4), bias=False),
]
SEQUENCES = [
    case("embed", (7,), dtype="int", num_embeddings=20, embedding_dim=8),
    case("embed", (2, 3), dtype="int"),
    case("pos-enc", (7, 6)),
    case("pos-enc", (7, 6), kind="learned", max_len=16),
    case("pos-enc", (7, 5), max_len=4),
    case("pos-enc", (4, 3), kind="learned", max_len=4),
    mha((5, 8), num_heads=2),
    mha((5, 8), num_heads=1, causal=True),
    mha((5, 8), (7, 6), (7, 4), num_heads=4),
    mha((5, 8), (7, 6), num_heads=2, bias=False, dropout=0.1),
    mha((3, 6), (4, 6), (4, 6), num_heads=3, causal=True),
    case("lstm", (6, 5), hidden_size=4),
    case("lstm", (6, 5), hidden_size=4, num_layers=2, bidirectional=True, dropout=0.1),
    case("lstm", (1, 3), hidden_size=2, bias=False, num_layers=3),
    case("gru", (6, 5), hidden_size=4),
    case("gru", (6, 5), hidden_size=3, num_layers=2, bidirectional=True, bias=False),
]
STRUCTURE = [
    case("reshape", (3, 4, 4), shape=[12, 4]),
    case("reshape", (3, 4, 4)),
    case("reshape", (3, 4, 4), shape=[2, -1, 4]),
    case("reshape", (6,), dtype="int", shape=[2, 3]),
    case("flatten", (3, 4, 5)),
    case("flatten", (3, 4, 5), start_dim=1),
    case("flatten", (3, 4, 5), start_dim=-2, end_dim=-1),
    case("flatten", (3, 4, 5), start_dim=0, end_dim=1),
    case("flatten", (3, 4, 5), start_dim=2),
    case("flatten", ()),
    case("+", (3, 4), (3, 4)),
    case("+", (3, 4), (3, 4), (3, 4)),
    case("+", (3, 1), (3, 4)),
    case("+", (1, 4, 1), (2, 4, 3)),
    case("+", (5,), (5,), dtype="int"),
    case("mul", (3, 4), (3, 4)),
    case("mul", (2, 1, 4), (2, 3, 1), (1, 1, 4)),
    case("concat", (2, 3, 4), (2, 5, 4), (2, 1, 4), dim=1),
    case("concat", (2, 3), (2, 4), dim=-1),
    case("concat", (2, 3), (4, 3)),
    case("concat", (2,), (3,), dtype="int"),
    case("cls-token", (5, 8)),
    case("cls-token", (1, 3)),
    case("readout", (5, 8)),
    case("readout", (5, 8), index=-1),
    case("readout", (4,), index=3),
    case("readout", (4,), dtype="int", index=-4),
    case("upsample", (3, 4, 4)),
    case("upsample", (3, 4, 4), size=[6, 5], scale_factor=3.0),
    case("upsample", (3, 4, 5), mode="bilinear", scale_factor=1.5),
    case("upsample", (2, 5), mode="linear", scale_factor=3.0),
    case("upsample", (2, 5), size=7),
    case("upsample", (2, 5, 3), scale_factor=0.5),
]
GOOD = ACTIVATIONS + CONVOLUTIONS + LINEAR + POOLS + REGULARISATION + SEQUENCES + STRUCTURE

BAD = [
    case("conv-2d", (1, 3, 3), kernel_size=5),
    case("conv-1d", (3, 8), out_channels=4, groups=2),
    case("conv-2d", (4, 6, 6), out_channels=3, groups=2),
    case("conv-1d", (2, 9), stride=2, padding="same"),
    case("conv-2d", (3, 4, 8, 8)),
    case("conv-1d", (2, 5), kernel_size=3, dilation=3),
    case("transp-conv-2d", (2, 4, 4), stride=2, output_padding=2),
    case("transp-conv-1d", (3, 2), kernel_size=3, padding=3),
    case("maxpool", (1, 3, 3), kernel_size=5),
    case("maxpool", (1, 8, 8), kernel_size=3, padding=2),
    case("maxpool-1d", (2, 20), kernel_size=3, dilation=2, padding=2),  # regression: padding vs dilated kernel
    case("avgpool-1d", (2, 9), kernel_size=3, padding=2),
    case("avgpool-1d", (2, 3), kernel_size=4),
    case("adaptive-avgpool-1d", (2, 3, 4)),
    case("global-avgpool", (5,)),
    case("embed", (5,)),
    case("pos-enc", (7, 6), kind="learned", max_len=4),
    mha((5, 8), num_heads=3),
    mha((5, 8), (7, 8), (6, 8), num_heads=2),
    mha((2, 5, 8), num_heads=2),
    case("gru", (2, 3, 4)),
    case("lstm", (4,)),
    mha((4,), num_heads=2),
    case("reshape", (3, 4), shape=[5]),
    case("reshape", (3, 4), shape=[-1, -1]),
    case("flatten", (2, 3, 4), start_dim=2, end_dim=0),
    case("flatten", (2, 3), start_dim=3),
    case("softmax", (3, 4), dim=2),
    case("softmax", (3, 4), dim=-3),
    case("flatten", (1,), start_dim=-2, end_dim=-2),
    case("concat", (2, 3), (2, 3), dim=-3),
    case("+", (3, 4), (3, 5)),
    case("mul", (2, 3), (3, 3)),
    case("+", (3,), (2, 3)),
    case("mul", (2, 1), (2, 3, 4)),
    case("concat", (2, 3), (3, 3), dim=1),
    case("concat", (2, 3), (2, 3), dim=2),
    case("readout", (5, 8), index=5),
    case("cls-token", (2, 3, 4)),
    case("upsample", (3, 8), size=[4, 4]),
    case("upsample", (3, 8), mode="bilinear"),
    case("upsample", (3, 4, 4), scale_factor=0.1),
]


def build_graph(c: Case) -> Graph:
    g = Graph()
    layer = g.add(c.type, PROBE, **c.params)
    for i, (port, shape) in enumerate(c.inputs):
        extra = {"vocab_size": VOCAB} if c.dtype == "int" else {}
        x = g.add("input", f"X{i}", shape=list(shape), dtype=c.dtype, **extra)
        g.connect(x, layer, port)
    g.connect(layer, g.add("output", "Y", loss="none"))
    return g


def sample(shape: tuple[int, ...], dtype: str) -> torch.Tensor:
    if dtype == "int":
        return torch.randint(0, VOCAB, (BATCH, *shape))
    return torch.randn(BATCH, *shape)


def run(module: torch.nn.Module, c: Case) -> torch.Tensor:
    tensors = [(port, sample(shape, c.dtype)) for port, shape in c.inputs]
    if c.type == "mha":
        return module(**dict(tensors))
    return module(*(t for _, t in tensors))


def type_of(tensor: torch.Tensor) -> TensorType:
    return TensorType(tuple(tensor.shape[1:]), "float" if tensor.is_floating_point() else "int")


def test_every_layer_type_is_tested_and_built() -> None:
    assert {c.type for c in GOOD} == set(layer_types()) - {"input", "output"}
    assert set(module_types()) == set(layer_types())


@pytest.mark.parametrize("c", GOOD, ids=str)
def test_inferred_type_and_count_match_torch(c: Case) -> None:
    analysis = build_graph(c).analyze()
    assert not analysis.errors, analysis.errors
    info = analysis.nodes[PROBE]
    module = make_module(c.type, info.values, info.inputs)
    out = run(module, c)
    assert out.shape[0] == BATCH
    assert type_of(out) == info.outputs["y"]
    assert count_parameters(module) == info.parameters


def resolved_values(c: Case) -> dict[str, Any]:
    spec = layer_spec(c.type)
    values, problems = resolve_values({p.name: p for p in spec.params}, c.params, {}, c.type, None)
    assert not problems
    return values


@pytest.mark.parametrize("c", BAD, ids=str)
def test_rejected_layer_also_fails_in_torch(c: Case) -> None:
    errors = [p for p in build_graph(c).analyze().errors if p.node == PROBE]
    assert errors
    assert all(f"'{PROBE}'" in p.message for p in errors)
    actual: dict[str, list[TensorType]] = {}
    for port, shape in c.inputs:
        actual.setdefault(port, []).append(TensorType(shape, c.dtype))
    with pytest.raises(TORCH_ERRORS):
        run(make_module(c.type, resolved_values(c), actual), c)


# --- semantics the shapes alone would not catch --------------------------------------------------------------

def module_for(c: Case) -> torch.nn.Module:
    info = build_graph(c).analyze().nodes[PROBE]
    return make_module(c.type, info.values, info.inputs)


def test_sinusoidal_encoding_is_eq_4_15() -> None:
    length, dim = 9, 6
    module = module_for(case("pos-enc", (length, dim), max_len=4))
    encoding = module(torch.zeros(2, length, dim))
    for t in range(length):
        for d in range(dim):
            expected = math.sin(t / 10000 ** (d / dim)) if d % 2 == 0 else math.cos(t / 10000 ** ((d - 1) / dim))
            assert encoding[0, t, d].item() == pytest.approx(expected, abs=1e-6)
    assert torch.equal(encoding[0], encoding[1])
    assert not module.state_dict()  # a buffer recomputed on construction is not saved


def test_learned_encoding_is_a_small_trainable_table() -> None:
    module = module_for(case("pos-enc", (4, 3), kind="learned", max_len=500))
    (table,) = module.parameters()
    assert table.shape == (500, 3)
    assert 0.01 < table.std().item() < 0.03


def test_graph_dims_exclude_the_batch() -> None:
    x = torch.randn(2, 3, 4)
    assert torch.allclose(module_for(case("softmax", (3, 4), dim=0))(x).sum(1), torch.ones(2, 4))
    assert module_for(case("flatten", (3, 4), start_dim=0))(x).shape == (2, 12)
    parts = module_for(case("concat", (3, 4), (3, 4), dim=0))(x, x)
    assert torch.equal(parts[:, 3:], x)
    assert torch.equal(module_for(case("readout", (3, 4), index=1))(x), x[:, 1])
    assert torch.allclose(module_for(case("global-avgpool", (3, 4)))(x), x.mean(2))


def test_causal_attention_ignores_the_future() -> None:
    module = module_for(mha((5, 8), num_heads=2, causal=True)).eval()
    x = torch.randn(1, 5, 8)
    changed = x.clone()
    changed[:, 3:] += 1.0
    y, z = module(x), module(changed)
    assert torch.allclose(y[:, :3], z[:, :3], atol=1e-6)
    assert not torch.allclose(y[:, 3:], z[:, 3:])


def test_keys_default_to_queries_and_values_to_keys() -> None:
    module = module_for(mha((5, 8), num_heads=2)).eval()
    q, k = torch.randn(2, 5, 8), torch.randn(2, 7, 8)
    assert torch.allclose(module(q), module(q, q, q))
    assert torch.allclose(module(q, k), module(q, k, k))


def test_recurrent_layers_return_the_output_sequence() -> None:
    module = module_for(case("lstm", (6, 5), hidden_size=4, bidirectional=True))
    out = module(torch.randn(2, 6, 5))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 6, 8)


def test_modules_have_readable_parameter_names() -> None:
    assert {n for n, _ in module_for(case("fully-conn", (10,))).named_parameters()} == {"weight", "bias"}
    names = {n for n, _ in module_for(mha((5, 8), num_heads=2)).named_parameters()}
    assert {"in_proj_weight", "out_proj.weight"} <= names
    assert "weight_ih_l0" in dict(module_for(case("gru", (6, 5))).named_parameters())


def test_batchnorm_follows_the_rank() -> None:
    expected = {(6,): "BatchNorm1d", (4, 10): "BatchNorm1d", (3, 8, 8): "BatchNorm2d", (2, 3, 4, 5): "BatchNorm3d"}
    for shape, name in expected.items():
        assert type(module_for(case("batchnorm", shape))).__name__ == name


def test_upsample_size_wins_over_the_factor() -> None:
    module = module_for(case("upsample", (2, 4, 4), size=[3, 7], scale_factor=2.0, mode="bilinear"))
    assert module(torch.randn(1, 2, 4, 4)).shape == (1, 2, 3, 7)


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="no torch module"):
        make_module("teleport", {}, {})
