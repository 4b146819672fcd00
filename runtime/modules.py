"""One torch module per layer of the catalogue, built from the layer's resolved meta-parameters and the types
arriving on its ports.

Input sizes (in_features, in_channels, kdim, ...) are never meta-parameters: they come from the incoming types,
so a module always fits the graph it was drawn in. Shapes in the graph exclude the batch dimension while tensors
carry it first, so a dimension `dim >= 0` of the graph is `dim + 1` for torch (negative dims are the same, and a
module never lets one reach the batch).

Forward signatures: a single-input layer takes `forward(x)`; `+`, `mul` and `concat` take `forward(*xs)`; mha
takes `forward(q, k=None, v=None)`. The compiler calls each module as one fx `call_module` node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from graph.catalog import Inputs
from graph.tensor import TensorType

Values = Mapping[str, Any]
Builder = Callable[[Values, Inputs], nn.Module]


def make_module(type_name: str, values: Values, inputs: Inputs) -> nn.Module:
    """The torch module of one layer; `values` are its resolved meta-parameters (defaults filled in)."""
    builder = _BUILDERS.get(type_name)
    if builder is None:
        raise ValueError(f"no torch module for layer type '{type_name}'")
    return builder(values, inputs)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters only: running statistics and fixed encodings are buffers, not parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def torch_dim(dim: int, rank: int) -> int:
    """A graph dimension of a sample of `rank` dimensions as a torch dimension (batch first).

    A negative dimension beyond the sample would name the batch for torch: a layer of the graph never does that.
    """
    if not -rank <= dim < rank:
        raise IndexError(f"dimension {dim} is outside a sample of {rank} dimension(s)")
    return dim % rank + 1


def _single(inputs: Inputs, port: str = "x") -> TensorType:
    return inputs[port][0]


# --- modules the torch library does not provide as such ----------------------------------------------------

class GlobalAvgPool(nn.Module):
    """Mean over every dimension after the channel: N×C×... → N×C."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(-1)


class Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.size(0), *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Sum(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total


class Product(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        total = xs[0]
        for x in xs[1:]:
            total = total * x
        return total


class Concat(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim  # a torch dimension (batch first)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Readout(nn.Module):
    """Selects one position of the first dimension after the batch (the CLS token of ViT)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.index]

    def extra_repr(self) -> str:
        return f"index={self.index}"


def sinusoidal_table(rows: int, dim: int) -> torch.Tensor:
    """The book's eq. 4.15: sin(t / 10000^(d/D)) for even d, cos(t / 10000^((d-1)/D)) for odd d."""
    t = torch.arange(rows, dtype=torch.float64).unsqueeze(1)
    d = torch.arange(dim)
    angle = t / 10000.0 ** ((d - d % 2) / dim)
    return torch.where(d % 2 == 0, angle.sin(), angle.cos()).float()


class PositionalEncoding(nn.Module):
    """Returns only the encoding of a N×T×D input, expanded to the batch; the graph adds it with `+`."""

    def __init__(self, kind: str, max_len: int, length: int, dim: int) -> None:
        super().__init__()
        if kind == "learned":
            self.encoding = nn.Parameter(torch.empty(max_len, dim))
            nn.init.normal_(self.encoding, std=0.02)
        else:
            # Not persistent: it is recomputed exactly, so saving it would only bloat checkpoints.
            self.register_buffer("encoding", sinusoidal_table(max(max_len, length), dim), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Slicing would silently return fewer rows than the sequence has; torch._assert stays fx-traceable.
        torch._assert(x.size(1) <= self.encoding.size(0), "sequence longer than the positional encoding")
        return self.encoding[: x.size(1)].expand(x.size(0), -1, -1)


class ClassToken(nn.Module):
    """Prepends one trainable vector to every sequence of the batch: N×T×D → N×(T+1)×D."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, dim))  # zeros, as ViT initialises its class token

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.token.expand(x.size(0), -1, -1), x), dim=1)


class Attention(nn.MultiheadAttention):
    """Multi-head attention with the graph's ports: keys default to the queries, values to the keys."""

    def __init__(self, *args: Any, causal: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.causal = causal

    def forward(self, q: torch.Tensor, k: torch.Tensor | None = None,  # type: ignore[override]
                v: torch.Tensor | None = None) -> torch.Tensor:
        _assert_batched(q)
        k = q if k is None else k
        v = k if v is None else v
        mask = None
        if self.causal:  # True marks a key a query may not see: those after its own position
            mask = torch.ones(q.size(1), k.size(1), dtype=torch.bool, device=q.device).triu(diagonal=1)
        output, _ = super().forward(q, k, v, attn_mask=mask, need_weights=False)
        return output


class LSTM(nn.LSTM):
    """Returns the output sequence only (the final states are not part of the graph)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        _assert_batched(x)
        output, _ = super().forward(x)
        return output


class GRU(nn.GRU):
    """Returns the output sequence only (the final state is not part of the graph)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        _assert_batched(x)
        output, _ = super().forward(x)
        return output


def _assert_batched(x: torch.Tensor) -> None:
    """torch reads a 2-d tensor as one unbatched sequence, taking the batch for time: attention and recurrence
    would then mix the samples. A graph's sequences are always N×T×D."""
    torch._assert(x.dim() == 3, "expects a batch of sequences N×T×D")


# --- builders: (values, inputs) -> module ------------------------------------------------------------------

def _fully_conn(v: Values, inputs: Inputs) -> nn.Module:
    return nn.Linear(_single(inputs).shape[-1], v["out_features"], bias=v["bias"])


def _conv(n: int, transposed: bool) -> Builder:
    classes: dict[tuple[int, bool], type[nn.Module]] = {
        (1, False): nn.Conv1d, (2, False): nn.Conv2d, (1, True): nn.ConvTranspose1d, (2, True): nn.ConvTranspose2d,
    }
    cls = classes[n, transposed]

    def build(v: Values, inputs: Inputs) -> nn.Module:
        extra = {"output_padding": v["output_padding"]} if transposed else {}
        return cls(_single(inputs).shape[0], v["out_channels"], kernel_size=v["kernel_size"], stride=v["stride"],
                   padding=v["padding"], dilation=v["dilation"], groups=v["groups"], bias=v["bias"], **extra)
    return build


def _max_pool(n: int) -> Builder:
    cls = nn.MaxPool1d if n == 1 else nn.MaxPool2d

    def build(v: Values, inputs: Inputs) -> nn.Module:
        return cls(v["kernel_size"], stride=v["stride"], padding=v["padding"], dilation=v["dilation"],
                   ceil_mode=v["ceil_mode"])
    return build


def _avg_pool(n: int) -> Builder:
    cls = nn.AvgPool1d if n == 1 else nn.AvgPool2d

    def build(v: Values, inputs: Inputs) -> nn.Module:
        return cls(v["kernel_size"], stride=v["stride"], padding=v["padding"], ceil_mode=v["ceil_mode"])
    return build


def _batchnorm(v: Values, inputs: Inputs) -> nn.Module:
    t = _single(inputs)
    classes = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}
    if t.rank not in classes:
        raise ValueError(f"batchnorm expects C, C×L, C×H×W or C×D×H×W, not a tensor of rank {t.rank}")
    return classes[t.rank](t.shape[0], eps=v["eps"], momentum=v["momentum"], affine=v["affine"])


def _layernorm(v: Values, inputs: Inputs) -> nn.Module:
    return nn.LayerNorm(_single(inputs).shape[-1], eps=v["eps"], elementwise_affine=v["elementwise_affine"],
                        bias=v["bias"])


def _pos_enc(v: Values, inputs: Inputs) -> nn.Module:
    length, dim = _single(inputs).shape
    return PositionalEncoding(v["kind"], v["max_len"], length, dim)


def _mha(v: Values, inputs: Inputs) -> nn.Module:
    q = _single(inputs, "q")
    k = inputs["k"][0] if inputs.get("k") else q
    value = inputs["v"][0] if inputs.get("v") else k
    return Attention(q.shape[-1], v["num_heads"], dropout=v["dropout"], bias=v["bias"], kdim=k.shape[-1],
                     vdim=value.shape[-1], batch_first=True, causal=v["causal"])


def _recurrent(cls: type[nn.RNNBase]) -> Builder:
    def build(v: Values, inputs: Inputs) -> nn.Module:
        # torch warns that dropout between layers does nothing with a single layer: pass it only when it acts.
        dropout = v["dropout"] if v["num_layers"] > 1 else 0.0
        return cls(_single(inputs).shape[-1], v["hidden_size"], num_layers=v["num_layers"], bias=v["bias"],
                   batch_first=True, dropout=dropout, bidirectional=v["bidirectional"])
    return build


def _flatten(v: Values, inputs: Inputs) -> nn.Module:
    rank = _single(inputs).rank
    if rank == 0:  # a scalar per sample becomes a vector of one value
        return Reshape((1,))
    return nn.Flatten(torch_dim(v["start_dim"], rank), torch_dim(v["end_dim"], rank))


def _softmax(v: Values, inputs: Inputs) -> nn.Module:
    return nn.Softmax(dim=torch_dim(v["dim"], _single(inputs).rank))


def _concat(v: Values, inputs: Inputs) -> nn.Module:
    return Concat(torch_dim(v["dim"], _single(inputs).rank))


def _upsample(v: Values, inputs: Inputs) -> nn.Module:
    mode = v["mode"]
    align = False if mode in ("linear", "bilinear") else None
    if v["size"] is not None:  # an explicit size wins over the factor (torch refuses both at once)
        return nn.Upsample(size=v["size"], mode=mode, align_corners=align)
    return nn.Upsample(scale_factor=v["scale_factor"], mode=mode, align_corners=align)


def _fixed(factory: Callable[[Values], nn.Module]) -> Builder:
    """A builder for layers whose module does not depend on the input sizes."""
    return lambda v, inputs: factory(v)


_BUILDERS: dict[str, Builder] = {
    "input": _fixed(lambda v: nn.Identity()),
    "output": _fixed(lambda v: nn.Identity()),
    "fully-conn": _fully_conn,
    "conv-1d": _conv(1, transposed=False),
    "conv-2d": _conv(2, transposed=False),
    "transp-conv-1d": _conv(1, transposed=True),
    "transp-conv-2d": _conv(2, transposed=True),
    "relu": _fixed(lambda v: nn.ReLU()),
    "leaky-relu": _fixed(lambda v: nn.LeakyReLU(v["negative_slope"])),
    "gelu": _fixed(lambda v: nn.GELU(approximate=v["approximate"])),
    "tanh": _fixed(lambda v: nn.Tanh()),
    "sigmoid": _fixed(lambda v: nn.Sigmoid()),
    "silu": _fixed(lambda v: nn.SiLU()),
    "softmax": _softmax,
    "maxpool-1d": _max_pool(1),
    "maxpool": _max_pool(2),
    "avgpool-1d": _avg_pool(1),
    "avgpool": _avg_pool(2),
    "adaptive-avgpool": _fixed(lambda v: nn.AdaptiveAvgPool2d(v["output_size"])),
    "adaptive-avgpool-1d": _fixed(lambda v: nn.AdaptiveAvgPool1d(v["output_size"])),
    "global-avgpool": _fixed(lambda v: GlobalAvgPool()),
    "dropout": _fixed(lambda v: nn.Dropout(v["p"])),
    "dropout-2d": _fixed(lambda v: nn.Dropout2d(v["p"])),
    "batchnorm": _batchnorm,
    "layernorm": _layernorm,
    "embed": _fixed(lambda v: nn.Embedding(v["num_embeddings"], v["embedding_dim"])),
    "pos-enc": _pos_enc,
    "cls-token": lambda v, inputs: ClassToken(_single(inputs).shape[-1]),
    "mha": _mha,
    "lstm": _recurrent(LSTM),
    "gru": _recurrent(GRU),
    "reshape": _fixed(lambda v: Reshape(v["shape"])),
    "flatten": _flatten,
    "+": _fixed(lambda v: Sum()),
    "mul": _fixed(lambda v: Product()),
    "concat": _concat,
    "readout": _fixed(lambda v: Readout(v["index"])),
    "upsample": _upsample,
}


def module_types() -> list[str]:
    """The layer types this runtime can build."""
    return list(_BUILDERS)
