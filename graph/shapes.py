"""Shape rules: one pure function per layer, exact to what torch computes.

Each rule takes the layer's resolved meta-parameters and the types arriving on its input ports, and returns
(output type, number of trainable parameters), or raises ShapeError with a sentence that completes
"<layer> '<name>' ...". Shapes never include the batch dimension.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from graph.catalog import Inputs
from graph.problems import ShapeError
from graph.tensor import FLOAT, INT, TensorType, format_shape, numel

Params = Mapping[str, Any]
Result = tuple[TensorType, int]
_AXES = {1: ("length",), 2: ("height", "width")}


def single(inputs: Inputs, port: str = "x") -> TensorType:
    return inputs[port][0]


def needs_float(t: TensorType, port: str = "x") -> None:
    if t.dtype != FLOAT:
        raise ShapeError(f"expects a float tensor but receives {t}: insert an embed first", port, code="dtype")


def needs_rank(t: TensorType, rank: int, what: str, port: str = "x") -> None:
    if t.rank != rank:
        raise ShapeError(f"expects {what} but receives {format_shape(t.shape)}", port, code="rank")


def expand(value: int | tuple[int, ...], n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)


# --- linear layers -------------------------------------------------------------------------------------------

def fully_conn(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    if t.rank not in (1, 2):
        hint = ": insert a reshape before it" if t.rank > 2 else ""
        raise ShapeError(
            f"expects a vector (D) or a sequence of vectors (T×D) but receives {format_shape(t.shape)}{hint}",
            "x", code="rank")
    d_in, d_out = t.shape[-1], p["out_features"]
    count = d_in * d_out + (d_out if p["bias"] else 0)
    return TensorType(t.shape[:-1] + (d_out,)), count


def _conv_input(p: Params, inputs: Inputs, n: int, transposed: bool) -> tuple[TensorType, int]:
    t = single(inputs)
    needs_float(t)
    axes = "×".join(("C",) + tuple(a[0].upper() for a in _AXES[n]))
    needs_rank(t, n + 1, f"a {n + 1}-d tensor ({axes})")
    c_in, groups = t.shape[0], p["groups"]
    if c_in % groups:
        raise ShapeError(f"has groups={groups}, which does not divide its {c_in} input channels", "x")
    if p["out_channels"] % groups:
        raise ShapeError(f"has groups={groups}, which does not divide out_channels={p['out_channels']}")
    return t, c_in


def conv_output_length(length: int, k: int, s: int, pad: int, d: int) -> int:
    return (length + 2 * pad - d * (k - 1) - 1) // s + 1


def conv(n: int):
    def rule(p: Params, inputs: Inputs) -> Result:
        t, c_in = _conv_input(p, inputs, n, transposed=False)
        k, s, d = expand(p["kernel_size"], n), expand(p["stride"], n), expand(p["dilation"], n)
        padding = p["padding"]
        if padding == "same" and any(si != 1 for si in s):
            raise ShapeError("uses padding='same', which needs stride 1")
        sizes = []
        for axis, length, ki, si, di, pi in zip(_AXES[n], t.shape[1:], k, s, d, _padding(padding, n, k, d),
                                                strict=True):
            out = length if padding == "same" else conv_output_length(length, ki, si, pi, di)
            if out < 1:
                raise ShapeError(f"has a kernel of {di * (ki - 1) + 1} along the {axis}, larger than the padded "
                                 f"input ({length + 2 * pi}) it receives ({format_shape(t.shape)})")
            sizes.append(out)
        c_out = p["out_channels"]
        count = c_out * (c_in // p["groups"]) * numel(k) + (c_out if p["bias"] else 0)
        return TensorType((c_out, *sizes)), count
    return rule


def _padding(padding: Any, n: int, k: tuple[int, ...], d: tuple[int, ...]) -> tuple[int, ...]:
    if padding == "valid":
        return (0,) * n
    if padding == "same":
        return tuple(di * (ki - 1) // 2 for ki, di in zip(k, d, strict=True))
    return expand(padding, n)


def transp_conv(n: int):
    def rule(p: Params, inputs: Inputs) -> Result:
        t, c_in = _conv_input(p, inputs, n, transposed=True)
        k, s, d = expand(p["kernel_size"], n), expand(p["stride"], n), expand(p["dilation"], n)
        pad, extra = expand(p["padding"], n), expand(p["output_padding"], n)
        sizes = []
        for axis, length, ki, si, di, pi, oi in zip(_AXES[n], t.shape[1:], k, s, d, pad, extra, strict=True):
            if oi >= max(si, di):
                raise ShapeError(f"has output_padding={oi}, which must be smaller than the stride or the dilation")
            out = (length - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
            if out < 1:
                raise ShapeError(f"would produce an empty {axis} ({out}) from {format_shape(t.shape)}: "
                                 "lower the padding")
            sizes.append(out)
        c_out = p["out_channels"]
        count = c_in * (c_out // p["groups"]) * numel(k) + (c_out if p["bias"] else 0)
        return TensorType((c_out, *sizes)), count
    return rule


# --- element-wise operators ----------------------------------------------------------------------------------

def same_shape(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    return t, 0


def softmax(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    _check_dim(p["dim"], t, "dim")
    return t, 0


def _check_dim(dim: int, t: TensorType, name: str, extra: int = 0) -> int:
    rank = t.rank + extra
    if not -rank <= dim < rank:
        raise ShapeError(f"has {name}={dim}, outside the {rank} dimension(s) of {format_shape(t.shape)} "
                         f"(valid: {-rank} to {rank - 1}; the batch dimension is not counted)")
    return dim % rank


def dropout_2d(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    needs_rank(t, 3, "a feature map (C×H×W)")
    return t, 0


# --- pooling -------------------------------------------------------------------------------------------------

def pool(n: int):
    def rule(p: Params, inputs: Inputs) -> Result:
        t = single(inputs)
        needs_float(t)
        needs_rank(t, n + 1, "a feature map (" + "×".join(("C",) + tuple(a[0].upper() for a in _AXES[n])) + ")")
        k = expand(p["kernel_size"], n)
        s = expand(p["stride"], n) if p["stride"] is not None else k
        pad = expand(p["padding"], n)
        d = expand(p.get("dilation", 1), n)
        sizes = []
        for axis, length, ki, si, pi, di in zip(_AXES[n], t.shape[1:], k, s, pad, d, strict=True):
            effective = di * (ki - 1) + 1
            if 2 * pi > ki:  # torch bounds the padding by the kernel size, dilation not counted
                raise ShapeError(f"has padding={pi}, more than half its kernel size ({ki})")
            sizes.append(_pool_length(length, effective, si, pi, p["ceil_mode"], axis, t))
        return TensorType((t.shape[0], *sizes)), 0
    return rule


def _pool_length(length: int, effective: int, s: int, pad: int, ceil_mode: bool, axis: str, t: TensorType) -> int:
    span = length + 2 * pad - effective
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= length + pad:
        out -= 1  # the last window must start inside the input (or its left padding), as torch requires
    if out < 1:  # with ceil_mode torch accepts a window wider than the input, as long as one window remains
        raise ShapeError(f"has a window of {effective} along the {axis}, larger than the padded input "
                         f"({length + 2 * pad}) it receives ({format_shape(t.shape)})")
    return out


def adaptive_avgpool(n: int):
    def rule(p: Params, inputs: Inputs) -> Result:
        t = single(inputs)
        needs_float(t)
        needs_rank(t, n + 1, "a feature map (" + "×".join(("C",) + tuple(a[0].upper() for a in _AXES[n])) + ")")
        return TensorType((t.shape[0], *expand(p["output_size"], n))), 0
    return rule


def global_avgpool(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    if t.rank < 2:
        raise ShapeError(f"expects a feature map (C×L or C×H×W) but receives {format_shape(t.shape)}", "x",
                         code="rank")
    return TensorType((t.shape[0],)), 0


# --- normalisation -------------------------------------------------------------------------------------------

def batchnorm(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    if not 1 <= t.rank <= 4:
        raise ShapeError(f"expects C, C×L, C×H×W or C×D×H×W but receives {format_shape(t.shape)}", "x",
                         code="rank")
    return t, (2 * t.shape[0] if p["affine"] else 0)


def layernorm(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    if t.rank < 1:
        raise ShapeError("expects at least one dimension to normalise but receives a scalar", "x", code="rank")
    d = t.shape[-1]
    count = (d + (d if p["bias"] else 0)) if p["elementwise_affine"] else 0
    return t, count


# --- embeddings and attention --------------------------------------------------------------------------------

def embed(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    if t.dtype != INT:
        raise ShapeError(f"expects token ids (integers) but receives a float tensor {format_shape(t.shape)}",
                         "x", code="dtype")
    return TensorType(t.shape + (p["embedding_dim"],)), p["num_embeddings"] * p["embedding_dim"]


def pos_enc(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    needs_rank(t, 2, "a sequence of vectors (T×D)")
    length, dim = t.shape
    if p["kind"] == "learned":
        if length > p["max_len"]:
            raise ShapeError(f"learns {p['max_len']} positions (max_len) but receives a sequence of {length}")
        return t, p["max_len"] * dim
    return t, 0


def cls_token(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    needs_rank(t, 2, "a sequence of vectors (T×D)")
    length, dim = t.shape
    return TensorType((length + 1, dim)), dim


def mha(p: Params, inputs: Inputs) -> Result:
    q = single(inputs, "q")
    k = inputs["k"][0] if inputs.get("k") else q
    v = inputs["v"][0] if inputs.get("v") else k
    for port, t in (("q", q), ("k", k), ("v", v)):
        needs_float(t, port)
        needs_rank(t, 2, "a sequence of vectors (T×D)", port)
    e, heads = q.shape[1], p["num_heads"]
    if e % heads:
        raise ShapeError(f"has num_heads={heads}, which does not divide the query dimension {e}", "q")
    if k.shape[0] != v.shape[0]:
        raise ShapeError(f"receives keys of length {k.shape[0]} but values of length {v.shape[0]}", "v")
    kdim, vdim = k.shape[1], v.shape[1]
    proj = e * e + e * kdim + e * vdim + e * e
    biases = 4 * e if p["bias"] else 0
    return TensorType((q.shape[0], e)), proj + biases


def recurrent(gates: int):
    def rule(p: Params, inputs: Inputs) -> Result:
        t = single(inputs)
        needs_float(t)
        needs_rank(t, 2, "a sequence of vectors (T×D)")
        h, layers = p["hidden_size"], p["num_layers"]
        directions = 2 if p["bidirectional"] else 1
        count = 0
        for layer in range(layers):
            d_in = t.shape[1] if layer == 0 else h * directions
            per_direction = gates * h * (d_in + h) + (2 * gates * h if p["bias"] else 0)
            count += directions * per_direction
        return TensorType((t.shape[0], h * directions)), count
    return rule


# --- structure -----------------------------------------------------------------------------------------------

def reshape(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    target = p["shape"]
    total = numel(t.shape)
    if list(target).count(-1) > 1:
        raise ShapeError(f"has shape {list(target)}, with more than one -1")
    known = numel(tuple(d for d in target if d != -1))
    if -1 in target:
        if known == 0 or total % known:
            raise ShapeError(f"cannot reshape {format_shape(t.shape)} ({total:,} values) into {list(target)}")
        target = tuple(total // known if d == -1 else d for d in target)
    elif known != total:
        raise ShapeError(f"cannot reshape {format_shape(t.shape)} ({total:,} values) into "
                         f"{format_shape(tuple(target))} ({known:,} values)")
    return TensorType(tuple(target), t.dtype), 0


def flatten(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    if t.rank == 0:
        return TensorType((1,), t.dtype), 0
    start = _check_dim(p["start_dim"], t, "start_dim")
    end = _check_dim(p["end_dim"], t, "end_dim")
    if start > end:
        raise ShapeError(f"has start_dim={p['start_dim']} after end_dim={p['end_dim']}")
    merged = numel(t.shape[start:end + 1])
    return TensorType(t.shape[:start] + (merged,) + t.shape[end + 1:], t.dtype), 0


def _promoted(types: list[TensorType]) -> str:
    return FLOAT if any(t.dtype == FLOAT for t in types) else INT


def elementwise(p: Params, inputs: Inputs) -> Result:
    """`+` and product: torch broadcasting, with every term of the same rank (the batch dimension lines up)."""
    terms = inputs["x"]
    shape = terms[0].shape
    for i, t in enumerate(terms[1:], start=2):
        if t.rank != len(shape):
            raise ShapeError(f"receives {format_shape(terms[0].shape)} and {format_shape(t.shape)} "
                             f"(term {i}), of different ranks: reshape one of them", "x", code="rank")
        merged = []
        for a, b in zip(shape, t.shape, strict=True):
            if a != b and 1 not in (a, b):
                raise ShapeError(f"receives {format_shape(terms[0].shape)} and {format_shape(t.shape)} "
                                 f"(term {i}), which do not match", "x")
            merged.append(max(a, b) if 1 in (a, b) else a)
        shape = tuple(merged)
    return TensorType(shape, _promoted(terms)), 0


def concat(p: Params, inputs: Inputs) -> Result:
    parts = inputs["x"]
    first = parts[0]
    dim = _check_dim(p["dim"], first, "dim")
    for i, t in enumerate(parts[1:], start=2):
        others_match = t.rank == first.rank and all(
            a == b for j, (a, b) in enumerate(zip(first.shape, t.shape, strict=True)) if j != dim)
        if not others_match:
            raise ShapeError(f"cannot concatenate {format_shape(first.shape)} and {format_shape(t.shape)} "
                             f"(part {i}) along dim {p['dim']}: the other dimensions must agree", "x")
    size = sum(t.shape[dim] for t in parts)
    shape = first.shape[:dim] + (size,) + first.shape[dim + 1:]
    return TensorType(shape, _promoted(parts)), 0


def readout(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    if t.rank < 1:
        raise ShapeError("expects a sequence but receives a scalar", "x", code="rank")
    index, length = p["index"], t.shape[0]
    if not -length <= index < length:
        raise ShapeError(f"reads position {index} of a sequence of {length}")
    return TensorType(t.shape[1:], t.dtype), 0


def upsample(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    needs_float(t)
    mode, spatial = p["mode"], t.rank - 1
    if mode == "bilinear" and spatial != 2:
        raise ShapeError(f"uses bilinear mode, which needs a feature map C×H×W, but receives "
                         f"{format_shape(t.shape)}", "x", code="rank")
    if mode == "linear" and spatial != 1:
        raise ShapeError(f"uses linear mode, which needs C×L, but receives {format_shape(t.shape)}", "x",
                         code="rank")
    if spatial not in (1, 2):
        raise ShapeError(f"expects C×L or C×H×W but receives {format_shape(t.shape)}", "x", code="rank")
    if p["size"] is None and p["scale_factor"] is None:
        raise ShapeError("needs a scale_factor or a size")
    if p["size"] is not None:  # an explicit size wins over the factor, as in torch's interpolate
        if not isinstance(p["size"], int) and len(p["size"]) != spatial:
            raise ShapeError(f"has size={list(p['size'])} but its input has {spatial} spatial dimension(s)")
        return TensorType((t.shape[0], *expand(p["size"], spatial))), 0
    sizes = tuple(math.floor(d * p["scale_factor"]) for d in t.shape[1:])
    if min(sizes) < 1:
        raise ShapeError(f"would scale {format_shape(t.shape)} down to nothing")
    return TensorType((t.shape[0], *sizes)), 0


# --- graph inputs and outputs --------------------------------------------------------------------------------

def input_rule(p: Params, inputs: Inputs) -> Result:
    return TensorType(tuple(p["shape"]), INT if p["dtype"] == "int" else FLOAT), 0


def output_rule(p: Params, inputs: Inputs) -> Result:
    t = single(inputs)
    if p["loss"] in ("cross-entropy", "bce") and t.dtype != FLOAT:
        raise ShapeError(f"uses {p['loss']} loss, which needs float scores, but receives {t}", "x", code="dtype")
    return t, 0
