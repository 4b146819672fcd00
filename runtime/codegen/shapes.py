"""The symbolic shape of a layer's output: each size with the expression that gives it, where one is known."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable

from graph.tensor import TensorType
from runtime.codegen.expressions import Arg, Shape
from runtime.codegen.layers import Layer


def output_shape(layer: Layer, out: TensorType) -> Shape:
    """The output's sizes, each with the expression that gives it where the layer says (`out_channels`) or passes
    the input's size on; the expressions are checked where they are used."""
    if not layer.shapes:
        return tuple(Arg(d) for d in out.shape)
    first = next(iter(layer.shapes.values()))[0]
    rule = _SHAPE_RULES.get(layer.node.type)
    if rule is not None:
        texts = rule(layer, first)
    else:  # shape-preserving layers and blocks pass on each size they keep
        texts = [a.text if a.value == d else None for a, d in zip(first, out.shape, strict=False)]
    if len(texts) != out.rank:
        return tuple(Arg(d) for d in out.shape)
    return tuple(Arg(d, t) for d, t in zip(out.shape, texts, strict=True))


def _recurrent_width(layer: Layer, x: Shape) -> list[str | None]:
    hidden = layer.param("hidden_size").text
    if hidden is not None and layer.values["bidirectional"]:  # both directions' outputs side by side
        hidden = ast.unparse(ast.BinOp(ast.Constant(2), ast.Mult(), ast.parse(hidden, mode="eval").body))
    return [a.text for a in x[:-1]] + [hidden]


def _flatten_shape(layer: Layer, x: Shape) -> list[str | None]:
    if not x:
        return [None]
    start, end = (layer.values[k] % len(x) for k in ("start_dim", "end_dim"))
    merged = [a.text for a in x[start:end + 1]]
    product = None
    if None not in merged:  # `C * H * W`, parenthesised as each term needs
        terms = [ast.parse(text, mode="eval").body for text in merged if text is not None]
        product = ast.unparse(functools.reduce(lambda a, b: ast.BinOp(a, ast.Mult(), b), terms))
    return [a.text for a in x[:start]] + [product] + [a.text for a in x[end + 1:]]


def _channels_first(layer: Layer, x: Shape) -> list[str | None]:
    return [x[0].text] + [None] * (len(x) - 1)


_SHAPE_RULES: dict[str, Callable[[Layer, Shape], list[str | None]]] = {
    "fully-conn": lambda layer, x: [a.text for a in x[:-1]] + [layer.param("out_features").text],
    **{t: lambda layer, x: [layer.param("out_channels").text] + [None] * (len(x) - 1)
       for t in ("conv-1d", "conv-2d", "transp-conv-1d", "transp-conv-2d")},
    **dict.fromkeys(("maxpool-1d", "maxpool", "avgpool-1d", "avgpool", "adaptive-avgpool", "adaptive-avgpool-1d",
                     "upsample"), _channels_first),
    "global-avgpool": lambda layer, x: [x[0].text],
    "embed": lambda layer, x: [a.text for a in x] + [layer.param("embedding_dim").text],
    "lstm": _recurrent_width,
    "gru": _recurrent_width,
    "readout": lambda layer, x: [a.text for a in x[1:]],
    "flatten": _flatten_shape,
    "cls-token": lambda layer, x: [None] + [a.text for a in x[1:]],
}
