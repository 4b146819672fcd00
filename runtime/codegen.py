"""Write a network as one self-contained PyTorch file: a plain `nn.Module` for the network and for each block.

The file needs torch only and reads like code written by hand. `__init__` builds each layer with literal sizes and
only the keyword arguments that differ from torch's defaults; `forward` follows the graph in topological order,
carrying each chain in one running variable and naming only the values still needed while the chain goes on
(skip connections). Parameter-free operations are written inline (`torch.relu(x)`, `F.max_pool2d(x, 3)`); layers
with parameters or buffers are sub-modules named after their nodes, so the class's `state_dict` has exactly the
keys of `build_module(graph)` and a compiled model's weights load into it.

A block becomes a class of its own, whose constructor takes the block's shape symbols and meta-parameters
(`Dresblock(64, S=1)`) where its layers' sizes follow from them. Every such expression is written only after
checking that it gives the sizes inference found for the instance at hand (else the literal size is written), and
instances whose classes read the same share one class.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import keyword
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.catalog import BOOL, FLOAT, INT, SHAPE, SIZE, ParamSpec
from graph.expressions import ExpressionError, evaluate, parse
from graph.fileformat import atomic_write
from graph.inference import Analysis, NodeInfo, Stage
from graph.model import Graph, Node
from graph.resolve import block_inputs, block_outputs, resolve
from graph.tensor import TensorType
from runtime.compile import CompileError, class_name, module_name
from runtime.modules import torch_dim

ALWAYS = object()  # a keyword "default" no value equals: the keyword is always written
Value = tuple[str, str]  # (node, output port)
Ports = Mapping[str, list[str]]  # the variables arriving on each input port, in edge order

# Helper code a file may need, in the order it is written, with what each one needs in turn.
_HELPERS: dict[str, str] = {
    "causal_mask": '''
def causal_mask(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """The mask of causal attention: True where a query would see a key after its own position."""
    return torch.ones(queries.size(1), keys.size(1), dtype=torch.bool, device=queries.device).triu(1)''',
    "sinusoidal_table": '''
def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """Eq. 4.15: sin(t / 10000^(d/D)) for even d, cos(t / 10000^((d-1)/D)) for odd d."""
    t = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    d = torch.arange(dim)
    angle = t / 10000.0 ** ((d - d % 2) / dim)
    return torch.where(d % 2 == 0, angle.sin(), angle.cos()).float()''',
    "SinusoidalEncoding": '''
class SinusoidalEncoding(nn.Module):
    """The fixed encoding of the positions of a N×T×D sequence, to be added to it."""

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        # Not persistent: it is recomputed exactly, so checkpoints need not carry it.
        self.register_buffer("encoding", sinusoidal_table(length, dim), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(1) > self.encoding.size(0):
            raise ValueError("the sequence is longer than the positional encoding")
        return self.encoding[: x.size(1)].expand(x.size(0), -1, -1)''',
    "PositionalEncoding": '''
class PositionalEncoding(nn.Module):
    """A learned encoding of the positions of a N×T×D sequence (T at most max_len), to be added to it."""

    def __init__(self, max_len: int, dim: int) -> None:
        super().__init__()
        self.encoding = nn.Parameter(torch.empty(max_len, dim))
        nn.init.normal_(self.encoding, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(1) > self.encoding.size(0):
            raise ValueError("the sequence is longer than the positional encoding")
        return self.encoding[: x.size(1)].expand(x.size(0), -1, -1)''',
    "ClassToken": '''
class ClassToken(nn.Module):
    """Prepends one trainable vector (ViT's class token) to every sequence: N×T×D → N×(T+1)×D."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.token.expand(x.size(0), -1, -1), x), dim=1)''',
}
_HELPER_NEEDS = {"SinusoidalEncoding": {"sinusoidal_table"}}
# Names the generated code uses itself; `l`, `I` and `O` read like digits (pycodestyle E741).
RESERVED = {"self", "super", "torch", "nn", "F", "l", "I", "O", *_HELPERS}


def generate_source(graph: Graph) -> str:
    """The graph as the source of a Python file defining its `nn.Module` class (named by `class_name`)."""
    analysis = graph.analyze()
    if not analysis.ok:
        raise CompileError(graph.name, analysis.errors)
    return _FileWriter(graph, analysis).source()


def write_source(graph: Graph, path: str | Path) -> Path:
    """Write the generated source to `path` (atomically) and return the path."""
    target = Path(path)
    atomic_write(target, generate_source(graph).encode("utf-8"))
    return target


# --- values and the expressions that give them ---------------------------------------------------------------

@dataclass(frozen=True)
class Arg:
    """A value the code may write: the value itself and, where known, a Python expression over the names a block
    class receives that gives it (`C // 4`)."""

    value: Any
    text: str | None = None


Shape = tuple[Arg, ...]


def literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return _tuple_text([literal(v) for v in value])
    return repr(value)


def _tuple_text(items: Sequence[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


class _FloorDivision(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.BinOp:
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            node.op = ast.FloorDiv()
        return node


def python_expression(text: str, integer: bool) -> str | None:
    """A meta-parameter expression as Python. Sizes are integers, and `C/4` only ever divides exactly where it
    gives a size, so `/` is written `//` there (and checked like every expression)."""
    try:
        tree = copy.deepcopy(parse(text))
    except ExpressionError:
        return None
    return ast.unparse(_FloorDivision().visit(tree) if integer else tree)


def _raw_text(raw: Any, spec: ParamSpec | None) -> str | None:
    """The expression a node's stored value stands for (None for a plain value, which is written literally)."""
    if spec is None or spec.kind not in (INT, FLOAT, BOOL, SIZE, SHAPE) or raw in spec.choices:
        return None
    integer = spec.kind != FLOAT
    if isinstance(raw, str):
        return python_expression(raw, integer)
    if isinstance(raw, list | tuple) and any(isinstance(entry, str) for entry in raw):
        parts = [python_expression(e, integer) if isinstance(e, str) else literal(e) for e in raw]
        return None if None in parts else _tuple_text(parts)  # type: ignore[arg-type]
    return None


def _names(text: str) -> set[str]:
    tree = ast.parse(text, mode="eval")
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        both = isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b)
        return both and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _is_default(value: Any, default: Any) -> bool:
    if default is ALWAYS:
        return False
    if isinstance(value, tuple) and not isinstance(default, tuple):  # stride=(1, 1) is stride=1
        return all(_same(v, default) for v in value)
    return _same(value, default)


def _holds(text: str, value: Any, scope: Mapping[str, Any]) -> bool:
    """Whether `text` gives `value` with the names in `scope` (a tuple display is checked entry by entry)."""
    tree = ast.parse(text, mode="eval").body
    parts, values = (tree.elts, value) if isinstance(tree, ast.Tuple) else ([tree], (value,))
    if not isinstance(values, list | tuple) or len(values) != len(parts):
        return False
    try:
        return all(_same(evaluate(ast.unparse(p), scope), v) for p, v in zip(parts, values, strict=True))
    except ExpressionError:
        return False


class Scope:
    """The names a class's constructor receives, with their values for the instance being written. The top level
    has none, so everything there is written as a literal."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values = {k: v for k, v in (values or {}).items() if k not in RESERVED and not keyword.iskeyword(k)}
        self.used: set[str] = set()

    def render(self, arg: Arg) -> tuple[str, bool]:
        """The text of `arg`, and whether it is an expression rather than a literal."""
        if arg.text is not None:
            names = _names(arg.text)
            if names and names <= self.values.keys() and _holds(arg.text, arg.value, self.values):
                self.used |= names
                return arg.text, True
        return literal(arg.value), False

    def call(self, function: str, args: Sequence[Arg], **keywords: tuple[Arg, Any]) -> str:
        """A constructor call: the positional arguments, then each keyword whose value is not torch's default."""
        parts = [self.render(a)[0] for a in args]
        for key, (arg, default) in keywords.items():
            text, symbolic = self.render(arg)
            if symbolic or not _is_default(arg.value, default):
                parts.append(f"{key}={text}")
        return f"{function}({', '.join(parts)})"


# --- one layer: its sub-module and its call ------------------------------------------------------------------

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
        return Arg(self.values[name], _raw_text(self.node.params.get(name), self.specs.get(name)))

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
        return [f"{k}={literal(self.values[k])}" for k, d in defaults.items() if not _is_default(self.values[k], d)]


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
    return [] if _same(slope, 0.01) else [literal(slope)]


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
    return Code(None, lambda m, p: f"torch.cat({_tuple_text(p['x'])}, dim={dim})")


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


_WRITERS: dict[str, Callable[[Layer], Code]] = {
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


# --- the symbolic shape of a layer's output ------------------------------------------------------------------

def _output_shape(layer: Layer, out: TensorType) -> Shape:
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


# --- the variables of forward --------------------------------------------------------------------------------

class _Names:
    """Python names for one scope, each given once: keywords and reserved names get a trailing underscore."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)

    def claim(self, base: str) -> str:
        name = f"{base}_" if keyword.iskeyword(base) or base in RESERVED else base
        candidate, index = name, 2
        while candidate in self.taken:
            candidate, index = f"{name}_{index}", index + 1
        self.taken.add(candidate)
        return candidate


class _Variables:
    """Which variable of `forward` holds each value. A chain reuses one running variable; a value still needed
    while another chain goes on gets a name of its own; returned values are never overwritten."""

    def __init__(self, graph: Graph, names: _Names) -> None:
        self.names = names
        self.pending: Counter[Value] = Counter()  # uses not yet written (outputs excluded)
        self.pinned: set[Value] = set()  # values returned at the end
        for edge in graph.edges:
            value = (edge.src, edge.src_port)
            if graph.node(edge.dst).type == "output":
                self.pinned.add(value)
            else:
                self.pending[value] += 1
        self.var_of: dict[Value, str] = {}
        self.holder: dict[str, Value] = {}
        self.params = [self.bind((name, "y"), names.claim(name)) for name in block_inputs(graph)]
        nodes = {n.name for n in graph}
        self.running = names.claim(next((n for n in ("x", "h", "y", "z") if n not in names.taken | nodes), "out"))

    def bind(self, value: Value, var: str) -> str:
        self.var_of[value], self.holder[var] = var, value
        return var

    def needed(self, value: Value) -> bool:
        return self.pending[value] > 0 or value in self.pinned

    def live(self, var: str) -> bool:
        value = self.holder.get(var)
        return value is not None and self.needed(value)

    def consume(self, sources: list[Value]) -> None:
        for value in sources:
            self.pending[value] -= 1

    def target(self, node: str, sources: list[Value]) -> str:
        """Where a node's result goes once its sources are read: the running variable when free, else the
        variable of a source no longer needed, else a variable named after the node."""
        if not self.live(self.running):
            return self.running
        free = [self.var_of[v] for v in sources if self.var_of[v] not in self.params and not self.live(self.var_of[v])]
        return free[0] if free else self.names.claim(node)


def _chain_order(graph: Graph) -> list[str]:
    """A topological order that follows chains: a node's consumer comes next when it is ready, so one running
    variable carries a chain and a side branch is written in one piece; otherwise nodes come as they were drawn."""
    names = [node.name for node in graph]
    index = {name: i for i, name in enumerate(names)}
    waiting = {name: len(graph.in_edges(name)) for name in names}
    ready = [name for name in names if waiting[name] == 0]
    order: list[str] = []
    while ready:
        last = order[-1] if order else None
        chosen = next((n for n in ready if any(e.src == last for e in graph.in_edges(n))), ready[0])
        ready.remove(chosen)
        order.append(chosen)
        for edge in graph.out_edges(chosen):
            waiting[edge.dst] -= 1
            if waiting[edge.dst] == 0:
                ready.append(edge.dst)
                ready.sort(key=index.__getitem__)
    return order


def _reference(name: str) -> str:
    """A sub-module as `forward` reads it (a node may be named like a Python keyword)."""
    return f'getattr(self, "{name}")' if keyword.iskeyword(name) else f"self.{name}"


def _assignment(name: str, init: str) -> str:
    return f'setattr(self, "{name}", {init})' if keyword.iskeyword(name) else f"self.{name} = {init}"


def _container(codes: list[Code], sequential: bool) -> str:
    """The copies of a repeated node: runs of three or more equal copies are written as a comprehension."""
    parts: list[str] = []
    inits = [c.init or "" for c in codes]
    start = 0
    while start < len(inits):
        end = start
        while end < len(inits) and inits[end] == inits[start]:
            end += 1
        count = end - start
        parts += [inits[start]] * count if count < 3 else [f"*[{inits[start]} for _ in range({count})]"]
        start = end
    if sequential:
        return f"nn.Sequential({', '.join(parts)})"
    if len(parts) == 1 and parts[0].startswith("*"):
        return f"nn.ModuleList({parts[0][1:]})"
    return f"nn.ModuleList([{', '.join(parts)}])"


def _plain(code: Code, port: str) -> bool:
    """Whether the copies of a repeated node can be chained by nn.Sequential (one tensor in, one out)."""
    return code.init is not None and not code.unpack and code.call("m", {port: ["a"]}) == "m(a)"


# --- one class -----------------------------------------------------------------------------------------------

class _ClassWriter:
    """Writes the body of one class: the top-level network, or one instance of a block."""

    def __init__(self, file: _FileWriter, graph: Graph, analysis: Analysis, scope: Scope,
                 inputs: Mapping[str, Shape]) -> None:
        self.file, self.graph, self.analysis, self.scope = file, graph, analysis, scope
        self.shapes: dict[Value, Shape] = {(name, "y"): shape for name, shape in inputs.items()}
        self.vars = _Variables(graph, _Names(RESERVED))
        self.init: list[str] = []
        self.body: list[str] = []

    def write(self) -> tuple[list[str], list[str]]:
        """The lines of `__init__` after `super().__init__()`, and `forward` with its signature."""
        for name in _chain_order(self.graph):
            node = self.graph.node(name)
            if node.type not in ("input", "output"):
                self._node(node, self.analysis.nodes[name])
        return self.init, self._forward()

    def _node(self, node: Node, info: NodeInfo) -> None:
        ports = self._ports(node)
        sources = [value for values in ports.values() for value in values]
        codes, outputs = self._copies(node, info, {p: [self.shapes[v] for v in vs] for p, vs in ports.items()})
        first_port = next(iter(ports), "x")
        if codes[0].init is not None:
            init = codes[0].init if len(codes) == 1 else _container(codes, _plain(codes[0], first_port))
            self.init.append(_assignment(module_name(self.graph, node.name), init))
        args = {port: [self.vars.var_of[v] for v in values] for port, values in ports.items()}
        self.vars.consume(sources)
        for port, shape in outputs.items():
            self.shapes[node.name, port] = shape
        self.body += self._statements(node, codes, args, sources, list(outputs))

    def _ports(self, node: Node) -> dict[str, list[Value]]:
        """The values arriving on each port, ports in their declared order and values in edge order."""
        target = resolve(self.graph, node.type)
        order = block_inputs(target) if isinstance(target, Graph) else [p.name for p in target.inputs]
        edges = self.graph.in_edges(node.name)
        ports = {port: [(e.src, e.src_port) for e in edges if e.port == port] for port in order}
        return {port: values for port, values in ports.items() if values}

    def _copies(self, node: Node, info: NodeInfo, shapes: Mapping[str, list[Shape]]
                ) -> tuple[list[Code], dict[str, Shape]]:
        """Each copy's code (the copies after inference's fixed point all read the same as the last one
        inferred), and the symbolic shape of each output of the last copy."""
        codes: list[Code] = []
        outputs: dict[str, Shape] = {}
        for index in range(min(info.copies, len(info.stages) + 1)):
            code, outputs = self._copy(node, info, index, shapes)
            codes.append(code)
            shapes = {next(iter(shapes)): [next(iter(outputs.values()))]} if shapes else {}
        return codes + [codes[-1]] * (info.copies - len(codes)), outputs

    def _copy(self, node: Node, info: NodeInfo, index: int, shapes: Mapping[str, list[Shape]]
              ) -> tuple[Code, dict[str, Shape]]:
        target = resolve(self.graph, node.type)
        if isinstance(target, Graph):
            layer = Layer(node, target.params, info.values, shapes, self.scope, self.file.needs)
            code = self.file.instance(layer, target, info.stage(index))
        else:
            specs = {p.name: p for p in target.params}
            layer = Layer(node, specs, info.values, shapes, self.scope, self.file.needs)
            code = _WRITERS[node.type](layer)
        if index + 1 < info.copies:  # the next copy's input is this copy's output
            out_types = {next(iter(info.outputs)): next(iter(info.stage(index + 1).inputs.values()))[0]}
        else:
            out_types = info.outputs
        return code, {port: _output_shape(layer, t) for port, t in out_types.items()}

    def _statements(self, node: Node, codes: list[Code], args: Ports, sources: list[Value],
                    ports: list[str]) -> list[str]:
        code, module = codes[0], _reference(module_name(self.graph, node.name))
        values = [(node.name, port) for port in ports]
        if not any(self.vars.needed(v) for v in values):  # a dead end: only a module's side effects remain
            return [code.call(module, args)] if code.init is not None and len(codes) == 1 else []
        if len(values) > 1:  # a block with several outputs
            targets = [self.vars.bind(v, self.vars.names.claim(f"{node.name}_{v[1]}")) for v in values]
            return [f"{', '.join(targets)} = {code.call(module, args)}"]
        target = self.vars.bind(values[0], self.vars.target(node.name, sources))
        terms = args.get("x", [])
        if node.type in ("+", "mul") and len(terms) == 2 and terms[1] == target:
            args = {"x": terms[::-1]}  # `x = x + skip`: two terms commute exactly, in floating point too
        lhs = f"{target}, _" if code.unpack else target
        if len(codes) == 1:
            return [f"{lhs} = {code.call(module, args)}"]
        port, (source,) = next(iter(args.items()))
        if _plain(code, port):
            return [f"{target} = {module}({source})"]
        loop = self.vars.names.claim("layer") if code.init is not None else "_"
        head = f"for {loop} in {module}:" if code.init is not None else f"for _ in range({len(codes)}):"
        start = [] if target == source else [f"{target} = {source}"]
        return [*start, head, f"    {lhs} = {code.call(loop, {port: [target]})}"]

    def _forward(self) -> list[str]:
        params = "".join(f", {p}: torch.Tensor" for p in self.vars.params)
        results = [self.vars.var_of[e.src, e.src_port]
                   for name in block_outputs(self.graph) for e in self.graph.in_edges(name)]
        returns = "torch.Tensor" if len(results) == 1 else f"tuple[{', '.join(['torch.Tensor'] * len(results))}]"
        body = list(self.body)
        single = results[0] if len(results) == 1 else None
        if single and single not in self.vars.params and body and body[-1].startswith(f"{single} = "):
            body[-1] = "return " + body[-1][len(single) + 3:]  # `x = f(x)` then `return x` reads as `return f(x)`
        else:
            body.append(f"return {', '.join(results)}")
        return [f"def forward(self{params}) -> {returns}:", *(f"    {line}" for line in body)]


def _bind(block: Graph, params: Mapping[str, Any], ports: Mapping[str, list[TensorType]]
          ) -> tuple[dict[str, tuple[str, int]], dict[str, int], dict[str, Shape]]:
    """The shape symbols an instance binds (`C` of an input drawn C×H×W) with where each comes from, their
    values, and the symbolic shape of each input."""
    symbols: dict[str, tuple[str, int]] = {}
    bound: dict[str, int] = {}
    shapes: dict[str, Shape] = {}
    for name in block_inputs(block):
        t = ports[name][0]
        pattern = block.node(name).params.get("shape")
        entries = list(pattern) if isinstance(pattern, list | tuple) and len(pattern) == t.rank else [None] * t.rank
        for dim, (entry, size) in enumerate(zip(entries, t.shape, strict=True)):
            if isinstance(entry, str) and entry.isidentifier() and entry not in params and entry not in bound:
                bound[entry], symbols[entry] = size, (name, dim)
        shapes[name] = tuple(Arg(size, python_expression(entry, True) if isinstance(entry, str) else None)
                             for entry, size in zip(entries, t.shape, strict=True))
    return symbols, bound, shapes


def _docstring_line(line: str) -> str:
    """A line of user text made safe inside triple quotes: backslashes, quotes and control characters escaped."""
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line.replace("\\", "\\\\"))
    return text.replace('"', '\\"') if '"""' in text or text.endswith('"') else text


def _docstring(lines: list[str], indent: str) -> list[str]:
    text = [_docstring_line(line) for line in lines]
    if len(text) == 1:
        return [f'{indent}"""{text[0]}"""']
    return [f'{indent}"""{text[0]}', *(f"{indent}{line}" if line else "" for line in text[1:]), f'{indent}"""']


def _class_source(name: str, doc: str, params: str, init: list[str], forward: list[str]) -> str:
    lines = [f"class {name}(nn.Module):"]
    if doc:
        lines += _docstring(textwrap.wrap(doc if doc.endswith(".") else f"{doc}.", 100), "    ")
    if init:
        lines += ["", f"    def __init__(self{params}) -> None:", "        super().__init__()",
                  *(f"        {line}" for line in init)]
    return "\n".join([*lines, "", *(f"    {line}" if line else "" for line in forward)])


_PYTHON_TYPES = {INT: "int", FLOAT: "float", BOOL: "bool"}


def _parameter(name: str, spec: ParamSpec | None) -> str:
    """A constructor parameter: a shape symbol has no default, a block's meta-parameter has the block's."""
    if spec is None:
        return f"{name}: int"
    return f"{name}: {_PYTHON_TYPES.get(spec.kind, 'int')} = {literal(spec.default)}"


# --- the file ------------------------------------------------------------------------------------------------

class _FileWriter:
    """Collects one file: the helpers it needs and each block class, written once however often it is used."""

    def __init__(self, graph: Graph, analysis: Analysis) -> None:
        self.graph, self.analysis = graph, analysis
        self.needs: set[str] = set()
        self.classes: list[str] = []  # block classes in the order they are defined, inner blocks first
        self.keys: dict[tuple[str, ...], str] = {}
        top = class_name(graph.name)
        self.top = top if top not in RESERVED else f"{top}Model"
        self.taken = RESERVED | {self.top}

    def source(self) -> str:
        inputs = {name: tuple(Arg(d) for d in self._type(name).shape) for name in block_inputs(self.graph)}
        init, forward = _ClassWriter(self, self.graph, self.analysis, Scope(), inputs).write()
        top = _class_source(self.top, self.graph.title or f"The network `{self.graph.name}`", "", init, forward)
        head = "\n".join(self._docstring()) + "\n\n" + self._imports()
        return "\n\n\n".join([head, *self._helpers(), *self.classes, top, self._main()]) + "\n"

    def instance(self, layer: Layer, block: Graph, stage: Stage) -> Code:
        """The construction of one copy of a block instance, and its call."""
        name, signature, symbols = self._block_class(layer.node.type, block, stage, layer.values)
        positional = [layer.shapes[symbols[s][0]][0][symbols[s][1]] for s in signature if s in symbols]
        keywords = {p: (layer.param(p), block.params[p].default) for p in signature if p in block.params}
        ports = block_inputs(block)
        return Code(layer.new(name, positional, **keywords),
                    lambda m, p: f"{m}({', '.join(p[port][0] for port in ports)})")

    def _block_class(self, type_name: str, block: Graph, stage: Stage, values: Mapping[str, Any]
                     ) -> tuple[str, list[str], dict[str, tuple[str, int]]]:
        assert stage.inner is not None  # inference analysed the inside of every block instance it accepted
        symbols, bound, inputs = _bind(block, values, stage.inputs)
        scope = Scope({**values, **bound})
        init, forward = _ClassWriter(self, block, stage.inner, scope, inputs).write()
        signature = [s for s in symbols if s in scope.used] + [p for p in block.params if p in scope.used]
        params = "".join(f", {_parameter(n, block.params.get(n) if n not in symbols else None)}" for n in signature)
        key = (type_name, params, *init, *forward)
        if key not in self.keys:
            self.keys[key] = self._class_name(class_name(type_name))
            self.classes.append(_class_source(self.keys[key], block.description, params, init, forward))
        return self.keys[key], signature, symbols

    def _class_name(self, base: str) -> str:
        name, index = base, 2
        while name in self.taken:
            name, index = f"{base}{index}", index + 1
        self.taken.add(name)
        return name

    def _type(self, node: str) -> TensorType:
        info = self.analysis.nodes[node]
        return info.outputs["y"] if info.type == "input" else info.inputs["x"][0]

    def _docstring(self) -> list[str]:
        g = self.graph
        lines = [f"{g.title or class_name(g.name)}: the network `{g.name}` as a PyTorch module."]
        lines += ["", *textwrap.wrap(g.source, 100)] if g.source else []
        lines += ["", *textwrap.wrap(g.description, 100)] if g.description else []
        lines += ["", f"Trainable parameters: {self.analysis.parameters:,}"]
        lines += [f"Input {n}: {self._type(n)}" for n in block_inputs(g)]
        lines += [f"Output {n}: {self._type(n)}" for n in block_outputs(g)]
        return [*_docstring([*lines, "Shapes are those of one sample: a batch adds a first dimension."], "")]

    def _imports(self) -> str:
        functional = ["import torch.nn.functional as F"] if "F" in self.needs else []
        return "\n".join(["import torch", *functional, "from torch import nn"])

    def _helpers(self) -> list[str]:
        needed = self.needs | {n for need in self.needs for n in _HELPER_NEEDS.get(need, ())}
        return [text.strip("\n") for name, text in _HELPERS.items() if name in needed]

    def _main(self) -> str:
        names = _Names(self.taken | {"model"})
        inputs = [names.claim(n) for n in block_inputs(self.graph)]
        outputs = [names.claim(n) for n in block_outputs(self.graph)]
        lines = [f"model = {self.top}().eval()"]
        lines += [f"{var} = {self._sample(n)}" for var, n in zip(inputs, block_inputs(self.graph), strict=True)]
        lines += [f"{', '.join(outputs)} = model({', '.join(inputs)})",
                  f"print({', '.join(f'{o}.shape' for o in outputs)})"]
        return 'if __name__ == "__main__":\n' + "\n".join(f"    {line}" for line in lines)

    def _sample(self, name: str) -> str:
        """A random batch of two samples for an input: token ids below every vocabulary they are looked up in."""
        t = self._type(name)
        size = literal((2, *t.shape))
        if t.dtype == "float":
            return f"torch.randn{size}" if t.rank else "torch.randn(2)"
        vocab = self.graph.node(name).params.get("vocab_size")
        tables = [self.analysis.nodes[e.dst].values["num_embeddings"] for e in self.graph.out_edges(name)
                  if self.graph.node(e.dst).type == "embed"]
        return f"torch.randint({vocab or min([*tables, 2] if tables else [2])}, {size})"
