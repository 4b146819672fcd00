"""What a box says, in the book's words: its label, its meta-parameters (blue) and its output shape.

Only meta-parameters that change how a figure reads are written, under the book's short names: kernel_size → k,
stride → s, padding → p, dilation → d, groups → g, num_heads → h, a dropout's p; a true flag reads as its name
(`causal`). The kernel size is written whenever the node sets it, even to the default (Figure 5.2 writes
`maxpool k=2`). Sizes the shape on the right already shows (out_channels, out_features, embedding_dim, a reshape's
shape) and implementation details (bias, eps, momentum, affine, dtype, loss) are not written. A block instance's
meta-parameters are written as they are named (`S=2`).
"""

from __future__ import annotations

from typing import Any

from graph.inference import NodeInfo
from graph.model import Graph, Node
from graph.registry import layer_spec
from graph.tensor import format_shape

SHORT_NAMES = {"kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d", "groups": "g", "num_heads": "h",
               "output_padding": "op", "negative_slope": "α", "scale_factor": "×", "num_layers": "L"}
HIDDEN = {"out_channels", "out_features", "embedding_dim", "num_embeddings", "hidden_size", "shape", "bias", "eps",
          "momentum", "affine", "elementwise_affine", "dtype", "vocab_size", "loss", "tie", "max_len",
          "ceil_mode", "start_dim", "end_dim", "size"}
ALWAYS = {"kernel_size"}  # defines the layer as the figures read it: `maxpool k=2` even though 2 is the default
IO_TYPES = ("input", "output")


def is_io(node: Node) -> bool:
    """Inputs and outputs are drawn as plain text (X, P̂(Y)), not boxes, as in the figures."""
    return node.type in IO_TYPES


def node_label(node: Node) -> str:
    if node.label:
        return node.label
    return node.name if is_io(node) else node.type


def param_text(node: Node) -> str:
    """`k=3 s=2 p=1`, `S=2`, `p=0.1`, `causal`: the non-default meta-parameters, compactly."""
    spec = layer_spec(node.type)
    if spec is None:  # a block instance: its meta-parameters as written
        return " ".join(f"{key}={_value(value)}" for key, value in node.params.items())
    words = []
    for param in spec.params:
        if param.name not in node.params or param.name in HIDDEN:
            continue
        value = node.params[param.name]
        default = value == param.default or (isinstance(value, list) and tuple(value) == param.default)
        if default and param.name not in ALWAYS:
            continue
        if isinstance(value, bool):
            words.append(param.name if value else f"no {param.name}")
        elif param.name == "kind":
            words.append(str(value))
        else:
            words.append(f"{SHORT_NAMES.get(param.name, param.name)}={_value(value)}")
    return " ".join(words)


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value) if len(set(value)) > 1 else str(value[0]) if value else ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def shape_text(node: Node, info: NodeInfo | None) -> str:
    """The output shape, written only where it differs from the input's (an input shows its own)."""
    if info is None or info.output is None:
        return ""
    if info.input is not None and info.input.shape == info.output.shape:
        return ""
    return format_shape(info.output.shape)


def is_trainable(graph: Graph, node: Node, info: NodeInfo | None) -> bool:
    if info is not None:
        return info.parameters > 0
    spec = layer_spec(node.type)
    return bool(spec and spec.trainable)
