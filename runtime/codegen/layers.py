"""One layer as generated code: the constructor of its sub-module (or nothing, for an operation written inline)
and its call in `forward`, with one writer per layer type."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.catalog import ParamSpec
from graph.model import Node
from runtime.codegen.expressions import ALWAYS, Arg, Scope, Shape, is_default, literal, raw_text, same, tuple_text
from runtime.modules import torch_dim

Ports = Mapping[str, list[str]]  # the variables arriving on each input port, in edge order
Call = Callable[[str, Ports], str]


@dataclass(frozen=True)
class Code:
    """One copy of a node: the constructor of its sub-module (None for an operation written inline) and its call
    in `forward`, from the module's reference and the variables arriving on each port."""

    init: str | None
    call: Call
    unpack: bool = False  # the call returns (output, state): the statement keeps the output only


@dataclass
class Layer:
    """One copy of a layer as its writer sees it."""

    node: Node
    specs: Mapping[str, ParamSpec]
    values: Mapping[str, Any]
    shapes: Mapping[str, list[Shape]]
    scope: Scope
    needs: set[str]

    def param(self, name: str) -> Arg:
        return Arg(self.values[name], raw_text(self.node.params.get(name), self.specs.get(name)))

    def kw(self, name: str, default: Any) -> tuple[Arg, Any]:
        return self.param(name), default

    def dim(self, index: int, port: str = "x") -> Arg:
        return self.shapes[port][0][index]

    def rank(self, port: str = "x") -> int:
        return len(self.shapes[port][0])

    def new(self, function: str, args: Sequence[Arg], **keywords: tuple[Arg, Any]) -> str:
        return self.scope.call(function, args, **keywords)

    def options(self, **defaults: Any) -> list[str]:
        """`forward` is the same for every instance of a class, so operations take literal values."""
        return [f"{k}={literal(self.values[k])}" for k, d in defaults.items() if not is_default(self.values[k], d)]


def _first(ports: Ports) -> str:
    return next(iter(ports.values()))[0]


def _module(init: str, unpack: bool = False) -> Code:
    return Code(init, lambda m, p: f"{m}({_first(p)})", unpack)


def _op(write: Callable[[str], str]) -> Code:
    return Code(None, lambda m, p: write(_first(p)))


def _function(name: str, *extra: str) -> Code:
    return _op(lambda x: f"{name}({', '.join([x, *extra])})")


def _graph_dim(dim: int) -> int:
    """A graph dimension for torch: the batch comes first (negative dimensions read the same)."""
    return dim if dim < 0 else dim + 1


def _fully_conn(layer: Layer) -> Code:
    return _module(layer.new("nn.Linear", [layer.dim(-1), layer.param("out_features")], bias=layer.kw("bias", True)))


def _conv(cls: str, transposed: bool) -> Callable[[Layer], Code]:
    def write(layer: Layer) -> Code:
        keywords = {"kernel_size": (layer.param("kernel_size"), ALWAYS), "stride": layer.kw("stride", 1),
                    "padding": layer.kw("padding", 0)}
        if transposed:
            keywords["output_padding"] = layer.kw("output_padding", 0)
        keywords |= {"dilation": layer.kw("dilation", 1), "groups": layer.kw("groups", 1),
                     "bias": layer.kw("bias", True)}
        return _module(layer.new(f"nn.{cls}", [layer.dim(0), layer.param("out_channels")], **keywords))
    return write


def _pool(function: str, dilation: bool) -> Callable[[Layer], Code]:
    def write(layer: Layer) -> Code:
        layer.needs.add("F")
        extra = {"dilation": 1} if dilation else {}
        options = layer.options(stride=None, padding=0, **extra, ceil_mode=False)
        return _function(f"F.{function}", literal(layer.values["kernel_size"]), *options)
    return write


def _functional(name: str, *options: Callable[[Layer], list[str]]) -> Callable[[Layer], Code]:
    def write(layer: Layer) -> Code:
        layer.needs.add("F")
        return _function(f"F.{name}", *(text for option in options for text in option(layer)))
    return write


def _leaky_relu(layer: Layer) -> list[str]:
    slope = layer.values["negative_slope"]
    return [] if same(slope, 0.01) else [literal(slope)]


def _global_avgpool(layer: Layer) -> Code:
    dims = tuple(range(2, layer.rank() + 1))
    text = literal(dims[0]) if len(dims) == 1 else literal(dims)
    return _op(lambda x: f"{x}.mean({text})")


def _batchnorm(layer: Layer) -> Code:
    cls = {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d", 4: "BatchNorm3d"}[layer.rank()]
    return _module(layer.new(f"nn.{cls}", [layer.dim(0)], eps=layer.kw("eps", 1e-5),
                             momentum=layer.kw("momentum", 0.1), affine=layer.kw("affine", True)))


def _layernorm(layer: Layer) -> Code:
    return _module(layer.new("nn.LayerNorm", [layer.dim(-1)], eps=layer.kw("eps", 1e-5),
                             elementwise_affine=layer.kw("elementwise_affine", True), bias=layer.kw("bias", True)))


def _pos_enc(layer: Layer) -> Code:
    length, dim = layer.dim(0), layer.dim(1)
    if layer.values["kind"] == "learned":
        layer.needs.add("PositionalEncoding")
        return _module(layer.new("PositionalEncoding", [layer.param("max_len"), dim]))
    layer.needs.add("SinusoidalEncoding")
    # The table covers max_len positions, or the whole sequence when it is longer (as the compiled module).
    rows = layer.param("max_len") if layer.values["max_len"] >= length.value else length
    return _module(layer.new("SinusoidalEncoding", [rows, dim]))


def _cls_token(layer: Layer) -> Code:
    layer.needs.add("ClassToken")
    return _module(layer.new("ClassToken", [layer.dim(-1)]))


def _mha(layer: Layer) -> Code:
    q = layer.shapes["q"][0]
    k = layer.shapes["k"][0] if "k" in layer.shapes else q
    v = layer.shapes["v"][0] if "v" in layer.shapes else k
    embed = layer.scope.render(q[-1])[0]
    sizes = {name: (shape[-1], ALWAYS) for name, shape in (("kdim", k), ("vdim", v))
             if layer.scope.render(shape[-1])[0] != embed}
    init = layer.new("nn.MultiheadAttention", [q[-1], layer.param("num_heads")], dropout=layer.kw("dropout", 0.0),
                     bias=layer.kw("bias", True), **sizes, batch_first=(Arg(True), ALWAYS))
    causal = bool(layer.values["causal"])
    if causal:
        layer.needs.add("causal_mask")

    def call(module: str, ports: Ports) -> str:
        query = ports["q"][0]
        key = ports["k"][0] if "k" in ports else query
        value = ports["v"][0] if "v" in ports else key
        mask = f", attn_mask=causal_mask({query}, {key})" if causal else ""
        return f"{module}({query}, {key}, {value}{mask}, need_weights=False)"
    return Code(init, call, unpack=True)


def _recurrent(cls: str) -> Callable[[Layer], Code]:
    def write(layer: Layer) -> Code:
        # torch warns that dropout between layers does nothing with a single layer: it is given only where it acts.
        dropout = layer.param("dropout") if layer.values["num_layers"] > 1 else Arg(0.0)
        init = layer.new(f"nn.{cls}", [layer.dim(-1), layer.param("hidden_size")],
                         num_layers=layer.kw("num_layers", 1), bias=layer.kw("bias", True),
                         batch_first=(Arg(True), ALWAYS), dropout=(dropout, 0.0),
                         bidirectional=layer.kw("bidirectional", False))
        return _module(init, unpack=True)
    return write


def _reshape(layer: Layer) -> Code:
    sizes = "".join(f", {literal(d)}" for d in layer.values["shape"])
    return _op(lambda x: f"{x}.reshape({x}.size(0){sizes})")


def _flatten(layer: Layer) -> Code:
    rank = layer.rank()
    if rank == 0:  # a scalar per sample becomes a vector of one value
        return _op(lambda x: f"{x}.reshape({x}.size(0), 1)")
    start, end = (torch_dim(layer.values[k], rank) for k in ("start_dim", "end_dim"))
    args = f"{start}" if end == rank else f"{start}, {end}"
    return _op(lambda x: f"{x}.flatten({args})")


def _softmax(layer: Layer) -> Code:
    return _function("torch.softmax", f"dim={_graph_dim(layer.values['dim'])}")


def _join(operator: str) -> Callable[[Layer], Code]:
    return lambda layer: Code(None, lambda m, p: f" {operator} ".join(p["x"]))


def _concat(layer: Layer) -> Code:
    dim = _graph_dim(layer.values["dim"])
    return Code(None, lambda m, p: f"torch.cat({tuple_text(p['x'])}, dim={dim})")


def _readout(layer: Layer) -> Code:
    index = layer.values["index"]
    return _op(lambda x: f"{x}[:, {index}]")


def _upsample(layer: Layer) -> Code:
    layer.needs.add("F")
    size = layer.values["size"]  # an explicit size wins over the factor, as in the compiled module
    options = [f"size={literal(size)}" if size is not None else f"scale_factor={literal(layer.values['scale_factor'])}"]
    options += layer.options(mode="nearest")
    return _function("F.interpolate", *options)


def _dropout(cls: str) -> Callable[[Layer], Code]:
    # A module rather than F.dropout: it follows model.train() and model.eval() by itself.
    return lambda layer: _module(layer.new(f"nn.{cls}", [layer.param("p")]))


WRITERS: dict[str, Callable[[Layer], Code]] = {
    "fully-conn": _fully_conn,
    "conv-1d": _conv("Conv1d", False),
    "conv-2d": _conv("Conv2d", False),
    "transp-conv-1d": _conv("ConvTranspose1d", True),
    "transp-conv-2d": _conv("ConvTranspose2d", True),
    "relu": lambda layer: _function("torch.relu"),
    "leaky-relu": _functional("leaky_relu", _leaky_relu),
    "gelu": _functional("gelu", lambda layer: layer.options(approximate="none")),
    "tanh": lambda layer: _function("torch.tanh"),
    "sigmoid": lambda layer: _function("torch.sigmoid"),
    "silu": _functional("silu"),
    "softmax": _softmax,
    "maxpool-1d": _pool("max_pool1d", True),
    "maxpool": _pool("max_pool2d", True),
    "avgpool-1d": _pool("avg_pool1d", False),
    "avgpool": _pool("avg_pool2d", False),
    "adaptive-avgpool": _functional("adaptive_avg_pool2d", lambda layer: [literal(layer.values["output_size"])]),
    "adaptive-avgpool-1d": _functional("adaptive_avg_pool1d", lambda layer: [literal(layer.values["output_size"])]),
    "global-avgpool": _global_avgpool,
    "dropout": _dropout("Dropout"),
    "dropout-2d": _dropout("Dropout2d"),
    "batchnorm": _batchnorm,
    "layernorm": _layernorm,
    "embed": lambda layer: _module(layer.new("nn.Embedding", [layer.param("num_embeddings"),
                                                                layer.param("embedding_dim")])),
    "pos-enc": _pos_enc,
    "cls-token": _cls_token,
    "mha": _mha,
    "lstm": _recurrent("LSTM"),
    "gru": _recurrent("GRU"),
    "reshape": _reshape,
    "flatten": _flatten,
    "+": _join("+"),
    "mul": _join("*"),
    "concat": _concat,
    "readout": _readout,
    "upsample": _upsample,
}
