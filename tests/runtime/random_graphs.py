"""Random graphs for the property tests.

`params_for` draws meta-parameters around the incoming type, valid often and wrong sometimes: the shape property
(test_shape_property.py) wants both. `valid_graphs` builds graphs that validate without errors, out of motifs:
single layers, branches merged by a sum, a product or a concatenation, residual skips, library and user-defined
blocks (one nested, one with two outputs) and repeats ×N, on features, sequences, images or token ids, with an
output on every result and sometimes node names that torch or Python also use. Each candidate node is kept only
when inference accepts it; otherwise it is removed and another is tried, so no example is rejected as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from graph import Graph, TensorType
from graph.catalog import ParamSpec
from graph.resolve import output_ports
from graph.tensor import numel

# --- meta-parameters around an incoming type (valid often, wrong sometimes) -----------------------------------

def _sizes(arity: int, low: int, high: int) -> st.SearchStrategy[Any]:
    one = st.integers(low, high)
    return one if arity == 1 else st.one_of(one, st.lists(one, min_size=arity, max_size=arity))


def _divisor_or_any(n: int | None, high: int) -> st.SearchStrategy[int]:
    divisors = [d for d in range(1, high + 1) if n and n % d == 0] or [1]
    return st.one_of(st.sampled_from(divisors), st.integers(1, high))


def _dim(t: TensorType | None) -> st.SearchStrategy[int]:
    rank = t.rank if t else 2
    return st.integers(-rank - 1, rank)


def _reshape_target(t: TensorType | None) -> st.SearchStrategy[list[int]]:
    wild = st.lists(st.integers(-1, 6), min_size=1, max_size=4)
    if t is None:
        return wild
    total = 1
    for d in t.shape:
        total *= d
    splits = [[d, total // d] for d in range(1, total + 1) if total % d == 0] + [[total], [-1]]
    fitting = st.sampled_from(splits).flatmap(
        lambda s: st.sampled_from([s, [-1, *s[1:]], [*s, 1], [1, *s, 1]]))
    return st.one_of(fitting, wild)


def _conv(n: int, transposed: bool, t: TensorType | None) -> st.SearchStrategy[dict[str, Any]]:
    padding = _sizes(n, 0, 2) if transposed else st.one_of(_sizes(n, 0, 2), st.sampled_from(["same", "valid"]))
    fields = {
        "out_channels": st.integers(1, 6), "kernel_size": _sizes(n, 1, 4), "stride": _sizes(n, 1, 3),
        "padding": padding, "dilation": _sizes(n, 1, 2), "bias": st.booleans(),
        "groups": _divisor_or_any(t.shape[0] if t and t.rank else None, 3),
    }
    if transposed:
        fields["output_padding"] = _sizes(n, 0, 2)
    return st.fixed_dictionaries(fields)


def _pool(n: int, kind: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = {"kernel_size": _sizes(n, 1, 4), "stride": st.one_of(st.none(), _sizes(n, 1, 3)),
              "padding": _sizes(n, 0, 2), "ceil_mode": st.booleans()}
    if kind == "max":
        fields["dilation"] = _sizes(n, 1, 2)
    return st.fixed_dictionaries(fields)


def _upsample(t: TensorType | None) -> st.SearchStrategy[dict[str, Any]]:
    modes = {2: "linear", 3: "bilinear"}
    natural = modes.get(t.rank, "nearest") if t else "nearest"
    return st.fixed_dictionaries({
        "scale_factor": st.sampled_from([2.0, 0.5, 1.5, 1.0, 3.0]),
        "size": st.one_of(st.none(), _sizes(2, 1, 6)),
        "mode": st.sampled_from(["nearest", natural, "linear", "bilinear"]),
    })


def params_for(type_: str, t: TensorType | None) -> st.SearchStrategy[dict[str, Any]]:
    """Meta-parameters around the sizes of the incoming type: valid often, wrong sometimes."""
    last = t.shape[-1] if t and t.rank else None
    fixed = st.fixed_dictionaries
    table: dict[str, Any] = {
        "fully-conn": lambda: fixed({"out_features": st.integers(1, 6), "bias": st.booleans()}),
        "conv-1d": lambda: _conv(1, False, t), "conv-2d": lambda: _conv(2, False, t),
        "transp-conv-1d": lambda: _conv(1, True, t), "transp-conv-2d": lambda: _conv(2, True, t),
        "leaky-relu": lambda: fixed({"negative_slope": st.sampled_from([0.01, 0.2])}),
        "gelu": lambda: fixed({"approximate": st.sampled_from(["none", "tanh"])}),
        "softmax": lambda: fixed({"dim": _dim(t)}),
        "maxpool-1d": lambda: _pool(1, "max"), "maxpool": lambda: _pool(2, "max"),
        "avgpool-1d": lambda: _pool(1, "avg"), "avgpool": lambda: _pool(2, "avg"),
        "adaptive-avgpool": lambda: fixed({"output_size": _sizes(2, 1, 4)}),
        "adaptive-avgpool-1d": lambda: fixed({"output_size": st.integers(1, 4)}),
        "dropout": lambda: fixed({"p": st.sampled_from([0.0, 0.5])}),
        "batchnorm": lambda: fixed({"affine": st.booleans()}),
        "layernorm": lambda: fixed({"elementwise_affine": st.booleans(), "bias": st.booleans()}),
        "embed": lambda: fixed({"num_embeddings": st.integers(1, 8), "embedding_dim": st.integers(1, 8)}),
        "pos-enc": lambda: fixed({"kind": st.sampled_from(["sinusoidal", "learned"]), "max_len": st.integers(1, 8)}),
        "mha": lambda: fixed({"num_heads": _divisor_or_any(last, 4), "causal": st.booleans(),
                              "bias": st.booleans()}),
        "lstm": lambda: _recurrent(), "gru": lambda: _recurrent(),
        "reshape": lambda: fixed({"shape": _reshape_target(t)}),
        "flatten": lambda: fixed({"start_dim": _dim(t), "end_dim": _dim(t)}),
        "concat": lambda: fixed({"dim": _dim(t)}),
        "readout": lambda: fixed({"index": st.integers(-3, 3)}),
        "upsample": lambda: _upsample(t),
    }
    return table[type_]() if type_ in table else st.just({})


def _recurrent() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "hidden_size": st.integers(1, 4), "num_layers": st.integers(1, 2), "bidirectional": st.booleans(),
        "bias": st.booleans(), "dropout": st.sampled_from([0.0, 0.2]),
    })


# --- valid graphs ------------------------------------------------------------------------------------------------

Value = tuple[str, str]  # a node and one of its output ports
Motif = Callable[[st.DrawFn, Graph, Value, list[Value]], list[Value]]
Adapter = tuple[str, dict[str, Any]] | None  # a layer that fits a tensor to a block: (type, parameters)

VOCAB = 5
MAX_NUMEL = 256  # per sample: keeps every graph small, so compiling and exporting stay fast
ACTIVATIONS = ("relu", "leaky-relu", "gelu", "tanh", "sigmoid", "silu")
ANY_RANK = (*ACTIVATIONS, "dropout", "softmax", "reshape")
FOR_RANK = {
    1: ("fully-conn", "batchnorm", "layernorm"),
    2: ("conv-1d", "transp-conv-1d", "maxpool-1d", "avgpool-1d", "adaptive-avgpool-1d", "global-avgpool", "pos-enc",
        "mha", "cls-token", "lstm", "gru", "upsample", "fully-conn", "layernorm", "batchnorm", "flatten", "readout"),
    3: ("conv-2d", "transp-conv-2d", "maxpool", "avgpool", "adaptive-avgpool", "global-avgpool", "dropout-2d",
        "upsample", "batchnorm", "flatten"),
}


def user_blocks() -> dict[str, Graph]:
    """Blocks a user could define in a file: a residual MLP, a conv-bn-relu, a block built of that block (with
    expressions over the outer block's meta-parameters), and a block with two outputs."""
    blocks: dict[str, Graph] = {}
    _block(blocks, "mlp", {"H": 4}, ["D"], [("fully-conn", {"out_features": "H"}), ("gelu", {}),
                                           ("fully-conn", {"out_features": "D"})], residual=True)
    _block(blocks, "conv_bn", {"K": 4}, ["C", "H", "W"],
           [("conv-2d", {"out_channels": "K", "kernel_size": 3, "padding": 1, "bias": False}), ("batchnorm", {}),
            ("relu", {})])
    _block(blocks, "two_convs", {"K": 2}, ["C", "H", "W"], [("conv_bn", {"K": "K"}), ("conv_bn", {"K": "C"})],
           residual=True)
    split = _block(blocks, "split", {"O": 3}, ["T", "D"], [("layernorm", {})])
    head = split.add("fully-conn", "head", out_features="O")
    split.connect("x", head)
    split.connect(head, split.add("output", "z", loss="none"))
    return blocks


def _block(blocks: dict[str, Graph], name: str, params: dict[str, int], shape: list[str],
           layers: list[tuple[str, dict[str, Any]]], residual: bool = False) -> Graph:
    block = Graph(name, blocks=blocks)
    block.params = {key: ParamSpec(key, "int", default, minimum=1) for key, default in params.items()}
    previous = block.add("input", "x", shape=shape)
    for type_, values in layers:
        node = block.add(type_, **values)
        block.connect(previous, node)
        previous = node
    if residual:
        total = block.add("+")
        block.connect(previous, total)
        block.connect("x", total)
        previous = total
    block.connect(previous, block.add("output", "y", loss="none"))
    blocks[name] = block
    return block


def type_at(g: Graph, value: Value) -> TensorType:
    return g.analyze().nodes[value[0]].outputs[value[1]]


def try_add(g: Graph, type_: str, params: dict[str, Any], wires: list[tuple[Value, str | None]],
            repeat: int = 1) -> str | None:
    """Add a node wired from `wires` ((node, port) → input port) and keep it if inference accepts it with a small
    output; otherwise remove it and return None."""
    node = g.add(type_, repeat=repeat, **params)
    for (src, src_port), port in wires:
        g.connect(src, node, port, src_port=src_port)
    info = g.analyze().nodes.get(node)
    if info is None or any(p.is_error for p in g.analyze().problems_of(node)) or not all(
            0 < numel(t.shape) <= MAX_NUMEL for t in info.outputs.values()):
        g.remove(node)
        return None
    return node


def _kept(g: Graph, node: str | None) -> list[Value]:
    return [] if node is None else [(node, port) for port in output_ports(g, g.node(node).type) or ["y"]]


def _fitting(type_: str, t: TensorType) -> st.SearchStrategy[dict[str, Any]] | None:
    """Parameters that fit any input of the layer's rank, for the layers `params_for` mostly gets wrong (their
    output grows past MAX_NUMEL, or a size must match the input's rank)."""
    fixed = st.fixed_dictionaries
    natural = {2: "linear", 3: "bilinear"}.get(t.rank, "nearest")
    table: dict[str, Callable[[], st.SearchStrategy[dict[str, Any]]]] = {
        "transp-conv-1d": lambda: fixed({"out_channels": st.integers(1, 2), "kernel_size": st.integers(1, 3),
                                         "stride": st.integers(1, 2)}),
        "transp-conv-2d": lambda: fixed({"out_channels": st.integers(1, 2), "kernel_size": st.integers(1, 2),
                                         "stride": st.integers(1, 2)}),
        "upsample": lambda: fixed({"scale_factor": st.sampled_from([2.0, 1.5, 0.5]),
                                   "mode": st.sampled_from(["nearest", natural])}),
        "maxpool": lambda: fixed({"kernel_size": st.integers(1, 2), "ceil_mode": st.booleans()}),
        "avgpool": lambda: fixed({"kernel_size": st.integers(1, 2), "ceil_mode": st.booleans()}),
        "flatten": lambda: st.just({}),
        "readout": lambda: fixed({"index": st.sampled_from([0, -1])}),
    }
    return table[type_]() if type_ in table else None


def _any_layer(draw: st.DrawFn, t: TensorType) -> tuple[str, dict[str, Any]]:
    # Mostly a layer made for this rank: activations come with every motif anyway.
    for_rank = FOR_RANK.get(t.rank, ())
    type_ = draw(st.sampled_from(for_rank if for_rank and draw(st.integers(0, 3)) else ANY_RANK))
    fitting = _fitting(type_, t)
    if fitting is not None and draw(st.booleans()):
        return type_, draw(fitting)
    return type_, draw(params_for(type_, t))


def _same_shape_layer(draw: st.DrawFn, t: TensorType) -> tuple[str, dict[str, Any]]:
    """A layer whose output has the shape of its input: what a residual branch or a repeat is made of."""
    last = t.shape[-1] if t.rank else 1
    choices: list[tuple[str, dict[str, Any]]] = [(draw(st.sampled_from(ACTIVATIONS)), {}), ("dropout", {"p": 0.5})]
    if t.rank in (1, 2, 3):
        choices += [("batchnorm", {}), ("layernorm", {})]
    if t.rank in (1, 2):
        choices.append(("fully-conn", {"out_features": last}))
    if t.rank == 2:
        choices += [("conv-1d", {"out_channels": t.shape[0], "kernel_size": 3, "padding": 1}),
                    ("mha", {"num_heads": 1})]
    if t.rank == 3:
        choices.append(("conv-2d", {"out_channels": t.shape[0], "kernel_size": 3, "padding": "same"}))
    return draw(st.sampled_from(choices))


def _chain(draw: st.DrawFn, g: Graph, src: Value, length: int, same_shape: bool) -> Value:
    """Up to `length` layers in series from `src` (a layer that does not fit is left out)."""
    for _ in range(length):
        t = type_at(g, src)
        type_, params = _same_shape_layer(draw, t) if same_shape else _any_layer(draw, t)
        port = "q" if type_ == "mha" else None
        node = try_add(g, type_, params, [(src, port)])
        if node and type_ == "pos-enc":  # it returns the encoding alone, for the graph to add to its input
            node = try_add(g, "+", {}, [((node, "y"), None), (src, None)])
        src = (node, "y") if node else src
    return src


def layer(draw: st.DrawFn, g: Graph, src: Value, values: list[Value]) -> list[Value]:
    for _ in range(3):  # a few tries: drawn parameters are wrong sometimes
        after = _chain(draw, g, src, 1, same_shape=False)
        if after != src:
            return [after]
    return []


def branch(draw: st.DrawFn, g: Graph, src: Value, values: list[Value]) -> list[Value]:
    """Two arms from one value, merged: by a sum or product when their shapes agree, else by a concatenation
    along a dimension where they may differ. Arms that cannot be merged stay two results."""
    same_shape = draw(st.booleans())
    arms = [_chain(draw, g, src, draw(st.integers(0, 2)), same_shape) for _ in range(2)]
    wires = [(arm, None) for arm in arms]
    merge = draw(st.sampled_from(["+", "mul", "concat"]))
    merged = try_add(g, merge, {}, wires) if merge != "concat" else None
    rank = type_at(g, arms[0]).rank
    for dim in draw(st.permutations(range(rank))) if merged is None else ():
        merged = try_add(g, "concat", {"dim": dim}, wires)
        if merged:
            break
    return _kept(g, merged) if merged else [arm for arm in arms if arm != src]


def skip(draw: st.DrawFn, g: Graph, src: Value, values: list[Value]) -> list[Value]:
    """A residual connection: src + f(src), f a few layers that keep the shape."""
    inner = _chain(draw, g, src, draw(st.integers(1, 3)), same_shape=True)
    return _kept(g, try_add(g, "+", {}, [(inner, None), (src, None)]))


def repeat(draw: st.DrawFn, g: Graph, src: Value, values: list[Value]) -> list[Value]:
    """One layer ×N, each copy with its own parameters (a layer that shrinks its input shrinks it N times)."""
    t = type_at(g, src)
    type_, params = _same_shape_layer(draw, t) if draw(st.booleans()) else _any_layer(draw, t)
    if type_ == "pos-enc":  # a repeat would add the encoding to nothing (see _chain)
        return []
    port = "q" if type_ == "mha" else None
    return _kept(g, try_add(g, type_, params, [(src, port)], repeat=draw(st.integers(2, 3))))


def block(draw: st.DrawFn, g: Graph, src: Value, values: list[Value]) -> list[Value]:
    """A library or user-defined block, after an adapter layer when the block needs other sizes."""
    t = type_at(g, src)
    if t.rank not in (1, 2, 3):
        return []
    type_, params, adapter = draw(_block_for(t))
    if adapter is not None:
        fitted = try_add(g, *adapter, [(src, None)])
        if fitted is None:
            return []
        src = (fitted, "y")
    wires: list[tuple[Value, str | None]] = [(src, None)]
    if type_ == "cross-att":  # the memory: another sequence of the graph, or the queries themselves
        memory = [v for v in values if type_at(g, v).rank == 2] or [src]
        wires = [(src, "x_q"), (draw(st.sampled_from(memory)), "x_kv")]
    copies = draw(st.sampled_from([1, 1, 2])) if type_ not in ("split", "dresblock") else 1
    return _kept(g, try_add(g, type_, params, wires, repeat=copies))


@st.composite
def _block_for(draw: st.DrawFn, t: TensorType) -> tuple[str, dict[str, Any], Adapter]:
    """A block that takes a tensor like `t`, its meta-parameters, and the layer that fits `t` to it if needed."""
    if t.rank == 1:
        return "mlp", {"H": draw(st.integers(1, 6))}, None
    if t.rank == 2:
        return draw(_sequence_block(t.shape[-1]))
    channels = t.shape[0]
    kind = draw(st.sampled_from(["resblock", "dresblock", "conv_bn", "two_convs"]))
    if kind == "resblock":  # its bottleneck has C/4 channels
        return kind, {}, None if channels % 4 == 0 else ("conv-2d", {"out_channels": 4, "kernel_size": 1})
    if kind == "dresblock":
        stride = draw(st.sampled_from([1, 2]))
        fits = channels % stride == 0 and channels <= 2  # it widens to 4·C/S channels: keep them few
        return kind, {"S": stride}, None if fits else ("conv-2d", {"out_channels": 2, "kernel_size": 1})
    return kind, {"K": draw(st.integers(1, 4))}, None


@st.composite
def _sequence_block(draw: st.DrawFn, width: int) -> tuple[str, dict[str, Any], Adapter]:
    kind = draw(st.sampled_from(["ffw", "self-att", "cross-att", "split"]))
    if kind == "ffw":
        return kind, {"hidden": draw(st.sampled_from([0, 3])), "p": draw(st.sampled_from([0.0, 0.1]))}, None
    if kind == "split":
        return kind, {"O": draw(st.integers(1, 4))}, None
    heads = draw(st.sampled_from([1, 2, 4]))
    params: dict[str, Any] = {"heads": heads}
    if kind == "self-att":
        params["causal"] = draw(st.booleans())
    return kind, params, None if width % heads == 0 else ("fully-conn", {"out_features": 4})


MOTIFS: tuple[Motif, ...] = (layer, layer, branch, skip, repeat, block)  # layers twice: the most kinds


def _inputs(draw: st.DrawFn, g: Graph) -> list[Value]:
    """One or two inputs: features, a sequence (channels × length, or length × width), an image, or token ids
    (embedded at once: float layers refuse ids)."""
    values = []
    for i in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["features", "sequence", "image", "tokens"]))
        if kind == "tokens":
            x = g.add("input", f"X{i}", shape=[draw(st.integers(2, 5))], dtype="int", vocab_size=VOCAB)
            embed = {"num_embeddings": draw(st.integers(VOCAB, 8)), "embedding_dim": draw(st.sampled_from([2, 4]))}
            values += _kept(g, try_add(g, "embed", embed, [(_ids(draw, g, (x, "y")), None)]))
            continue
        rank = {"features": 1, "sequence": 2, "image": 3}[kind]
        shape = [draw(st.integers(1, 4))] + [draw(st.integers(2, 6)) for _ in range(rank - 1)]
        values.append((g.add("input", f"X{i}", shape=shape), "y"))
    return values


def _ids(draw: st.DrawFn, g: Graph, ids: Value) -> Value:
    """Sometimes a layer that moves token ids around before the embedding: ids stay ids."""
    type_, params = draw(st.sampled_from([
        (None, {}), ("concat", {"dim": 0}), ("reshape", {"shape": [-1, 1]}), ("readout", {"index": -1})]))
    if type_ is None:
        return ids
    node = try_add(g, type_, params, [(ids, None)] * (2 if type_ == "concat" else 1))
    return (node, "y") if node else ids


def close(g: Graph) -> None:
    """An output on every result nothing reads: every parameter then reaches some output."""
    used = {(e.src, e.src_port) for e in g.edges}
    for node in g.nodes:
        if node.type == "output":
            continue
        for port in output_ports(g, node.type) or ["y"]:
            if (node.name, port) not in used:
                g.connect(node.name, g.add("output", loss="none"), src_port=port)


@st.composite
def valid_graphs(draw: st.DrawFn, max_motifs: int = 4) -> Graph:
    """A graph without errors: inputs, then motifs each applied to one of the values so far (most often the
    latest, towards which hypothesis shrinks), then outputs on every result left unread."""
    g = Graph("random", blocks=user_blocks())
    values = _inputs(draw, g)
    for _ in range(draw(st.integers(1, max_motifs))):
        src = draw(st.sampled_from(values[::-1]))
        motif = draw(st.sampled_from(MOTIFS))
        values += motif(draw, g, src, values)
    close(g)
    _rename(draw, g)
    return g


# Names torch.nn.Module, fx.GraphModule, Python or the generated code already use: a node may take them.
# (`getattr` was one until these graphs showed an input of that name breaking repeats: Graph now refuses it.)
TAKEN_NAMES = ("forward", "training", "graph", "code", "eval", "float", "type", "to", "input", "output", "x", "y",
               "torch", "_modules", "parameters", "add", "relu", "fx", "inputs", "result", "id", "len", "sum")


def _rename(draw: st.DrawFn, g: Graph) -> None:
    """Sometimes give a node or two a name that is also an attribute of torch's modules or a name in the
    generated forward (compilation must keep them apart)."""
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        node = draw(st.sampled_from([n.name for n in g.nodes]))
        name = draw(st.sampled_from(TAKEN_NAMES))
        if name not in g:
            g.rename(node, name)
