"""The book's layers (chapters 4 and 5) as data: names, meta-parameters, ports, descriptions, shape rules."""

from __future__ import annotations

from graph import shapes
from graph.catalog import (
    BOOL,
    CHOICE,
    FLOAT,
    INT,
    LARGEST,
    SHAPE,
    SIZE,
    TEXT,
    LayerSpec,
    ParamSpec,
    PortSpec,
)

LINEAR = "linear"
ACTIVATION = "activations"
POOLING = "pooling"
DROPOUT = "dropout"
NORMALISATION = "normalisation"
ATTENTION = "attention"
EMBEDDING = "embedding and position"
RECURRENT = "recurrent"
STRUCTURE = "structure"
IO = "inputs and outputs"
CATEGORIES = (IO, LINEAR, ACTIVATION, POOLING, DROPOUT, NORMALISATION, ATTENTION, EMBEDDING, RECURRENT, STRUCTURE)


def _positive(name: str, default: int | None, description: str) -> ParamSpec:
    return ParamSpec(name, INT, default, minimum=1, description=description)


def _bias(default: bool = True) -> ParamSpec:
    return ParamSpec("bias", BOOL, default, description="add a trainable bias")


def _conv_params(n: int, transposed: bool) -> tuple[ParamSpec, ...]:
    padding = (ParamSpec("padding", SIZE, 0, minimum=0, arity=n, description="zeros added on each side")
               if transposed else
               ParamSpec("padding", SIZE, 0, minimum=0, arity=n, choices=("same", "valid"),
                         description="zeros added on each side, or 'same' to keep the size"))
    params = [
        _positive("out_channels", 16, "number of output channels"),
        ParamSpec("kernel_size", SIZE, 3, minimum=1, arity=n, description="size of the filter"),
        ParamSpec("stride", SIZE, 1, minimum=1, arity=n, description="step between two applications"),
        padding,
    ]
    if transposed:
        params.append(ParamSpec("output_padding", SIZE, 0, minimum=0, arity=n,
                                description="extra size added on one side of the output"))
    params += [
        ParamSpec("dilation", SIZE, 1, minimum=1, arity=n, description="spacing between kernel elements"),
        _positive("groups", 1, "split channels into this many independent groups"),
        _bias(),
    ]
    return tuple(params)


def _conv(n: int) -> LayerSpec:
    return LayerSpec(
        f"conv-{n}d", LINEAR,
        f"Convolution: the same fully-connected map applied to every {'window' if n == 2 else 'segment'} of "
        f"the input ({'C×H×W' if n == 2 else 'C×L'}).",
        shapes.conv(n), _conv_params(n, False), trainable=True, prefix="conv",
        aliases=(f"conv{n}d", f"conv-{n}d"))


def _transp_conv(n: int) -> LayerSpec:
    return LayerSpec(
        f"transp-conv-{n}d", LINEAR,
        "Transposed convolution: each input value spreads a trainable pattern onto the output, which grows.",
        shapes.transp_conv(n), _conv_params(n, True), trainable=True, prefix="tconv",
        aliases=(f"convtranspose{n}d", f"transposed-conv-{n}d"))


def _pool_params(n: int, with_dilation: bool) -> tuple[ParamSpec, ...]:
    params = [
        ParamSpec("kernel_size", SIZE, 2, minimum=1, arity=n, description="size of the window"),
        ParamSpec("stride", SIZE, None, minimum=1, arity=n, optional=True,
                  description="step between windows (default: the kernel size)"),
        ParamSpec("padding", SIZE, 0, minimum=0, arity=n, description="padding on each side"),
    ]
    if with_dilation:
        params.append(ParamSpec("dilation", SIZE, 1, minimum=1, arity=n, description="spacing inside the window"))
    params.append(ParamSpec("ceil_mode", BOOL, False, description="round the output size up instead of down"))
    return tuple(params)


def _pool(n: int, kind: str) -> LayerSpec:
    name = f"{kind}pool" if n == 2 else f"{kind}pool-1d"
    what = "the largest value" if kind == "max" else "the average"
    return LayerSpec(
        name, POOLING, f"Keeps {what} of each local window, shrinking the {'image' if n == 2 else 'sequence'}.",
        shapes.pool(n), _pool_params(n, kind == "max"), prefix=f"{kind}pool",
        aliases=(f"{kind}pool-2d", f"{kind}pool2d") if n == 2 else (f"{kind}pool1d",))


def _simple(type_: str, category: str, description: str, *params: ParamSpec, prefix: str = "",
            aliases: tuple[str, ...] = ()) -> LayerSpec:
    return LayerSpec(type_, category, description, shapes.same_shape, params, prefix=prefix or type_,
                     aliases=aliases)


def _recurrent(type_: str, gates: int, description: str) -> LayerSpec:
    params = (
        _positive("hidden_size", 64, "size of the hidden state"),
        _positive("num_layers", 1, "number of stacked recurrent layers"),
        ParamSpec("bidirectional", BOOL, False, description="also read the sequence backwards"),
        ParamSpec("dropout", FLOAT, 0.0, minimum=0.0, maximum=1.0, description="dropout between stacked layers"),
        _bias(),
    )
    return LayerSpec(type_, RECURRENT, description, shapes.recurrent(gates), params, trainable=True,
                     prefix=type_)


LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        "input", IO, "The model's input X: a float tensor or a sequence of integer token ids.",
        shapes.input_rule,
        (ParamSpec("shape", SHAPE, (1, 28, 28), minimum=1, description="shape of one sample, batch excluded"),
         ParamSpec("dtype", CHOICE, "float", choices=("float", "int"),
                   description="float values, or integer token ids"),
         ParamSpec("vocab_size", INT, None, minimum=1, optional=True,
                   description="number of distinct token ids (int inputs)")),
        inputs=(), prefix="X"),
    LayerSpec(
        "output", IO, "A prediction of the model, with the loss that trains it.", shapes.output_rule,
        (ParamSpec("loss", CHOICE, "cross-entropy", choices=("cross-entropy", "mse", "bce", "l1", "none"),
                   description="loss against the target: cross-entropy for classes, mse for values"),),
        outputs=(), prefix="Y"),
    LayerSpec(
        "fully-conn", LINEAR, "Fully connected: an affine map of the last dimension, y = Wx + b.",
        shapes.fully_conn,
        (_positive("out_features", 64, "size of the output vector"), _bias(),
         ParamSpec("tie", TEXT, None, optional=True,
                   description="share the weight of this embed node (an output projection tied to the embedding)")),
        trainable=True, prefix="fc", aliases=("linear", "fc", "dense")),
    _conv(1), _conv(2), _transp_conv(1), _transp_conv(2),
    _simple("relu", ACTIVATION, "Rectified linear unit: max(0, x), applied element-wise."),
    _simple("leaky-relu", ACTIVATION, "Like relu, but lets a small slope through for negative values.",
            ParamSpec("negative_slope", FLOAT, 0.01, minimum=0.0, maximum=1.0,
                      description="slope for negative inputs"), prefix="lrelu", aliases=("leakyrelu",)),
    _simple("gelu", ACTIVATION, "Gaussian error linear unit: x·Φ(x), the activation of GPT and ViT.",
            ParamSpec("approximate", CHOICE, "none", choices=("none", "tanh"),
                      description="exact, or the tanh approximation")),
    _simple("tanh", ACTIVATION, "Hyperbolic tangent, squashing values into (-1, 1)."),
    _simple("sigmoid", ACTIVATION, "Logistic function, squashing values into (0, 1)."),
    _simple("silu", ACTIVATION, "Sigmoid linear unit (swish): x·sigmoid(x).", aliases=("swish",)),
    LayerSpec("softmax", ACTIVATION, "Turns scores into probabilities that sum to one along a dimension.",
              shapes.softmax, (ParamSpec("dim", INT, -1, minimum=-8, maximum=7,
                                         description="dimension to normalise (batch excluded)"),),
              prefix="softmax"),
    _pool(1, "max"), _pool(2, "max"), _pool(1, "avg"), _pool(2, "avg"),
    LayerSpec("adaptive-avgpool", POOLING, "Averages over windows chosen to give a fixed output size.",
              shapes.adaptive_avgpool(2),
              (ParamSpec("output_size", SIZE, 1, minimum=1, arity=2, description="size of the output map"),),
              prefix="apool", aliases=("adaptive-avgpool-2d",)),
    LayerSpec("adaptive-avgpool-1d", POOLING, "Averages over windows chosen to give a fixed output length.",
              shapes.adaptive_avgpool(1),
              (ParamSpec("output_size", SIZE, 1, minimum=1, arity=1, description="length of the output"),),
              prefix="apool"),
    LayerSpec("global-avgpool", POOLING, "Averages each channel over all positions: C×H×W → C.",
              shapes.global_avgpool, prefix="gpool"),
    _simple("dropout", DROPOUT, "During training, zeroes each value with probability p and rescales the rest.",
            ParamSpec("p", FLOAT, 0.5, minimum=0.0, maximum=1.0, description="probability of zeroing a value"),
            prefix="drop"),
    LayerSpec("dropout-2d", DROPOUT, "During training, zeroes whole channels with probability p.",
              shapes.dropout_2d,
              (ParamSpec("p", FLOAT, 0.5, minimum=0.0, maximum=1.0, description="probability of zeroing a channel"),),
              prefix="drop"),
    LayerSpec("batchnorm", NORMALISATION,
              "Batch normalisation: per channel, standardises over the batch, then scales and shifts (γ, β).",
              shapes.batchnorm,
              (ParamSpec("eps", FLOAT, 1e-5, minimum=0.0, maximum=1.0, description="added to the variance"),
               ParamSpec("momentum", FLOAT, 0.1, minimum=0.0, maximum=1.0,
                         description="update rate of the running statistics"),
               ParamSpec("affine", BOOL, True, description="learn a scale γ and a shift β")),
              trainable=True, prefix="bn", aliases=("batchnorm-1d", "batchnorm-2d", "batchnorm2d")),
    LayerSpec("layernorm", NORMALISATION,
              "Layer normalisation: standardises each vector over its last dimension, then scales and shifts.",
              shapes.layernorm,
              (ParamSpec("eps", FLOAT, 1e-5, minimum=0.0, maximum=1.0, description="added to the variance"),
               ParamSpec("elementwise_affine", BOOL, True, description="learn a scale γ and a shift β"),
               _bias()),
              trainable=True, prefix="ln"),
    LayerSpec("embed", EMBEDDING, "Token embedding: maps each integer token id to a trainable vector.",
              shapes.embed,
              (_positive("num_embeddings", 256, "vocabulary size V"),
               _positive("embedding_dim", 64, "size D of each vector")),
              trainable=True, prefix="embed", aliases=("embedding",)),
    LayerSpec("pos-enc", EMBEDDING,
              "Positional encoding of a T×D sequence: sinusoidal (eq. 4.15) or learned; add it with `+`.",
              shapes.pos_enc,
              (ParamSpec("kind", CHOICE, "sinusoidal", choices=("sinusoidal", "learned"),
                         description="analytic sin/cos encoding, or a trainable one"),
               _positive("max_len", 1024, "longest sequence a learned encoding supports")),
              trainable=True, prefix="posenc", aliases=("positional-encoding",)),
    LayerSpec("cls-token", EMBEDDING,
              "Prepends a trainable vector (ViT's class token E₀) to a sequence: T×D → (T+1)×D.",
              shapes.cls_token, trainable=True, prefix="cls", aliases=("class-token",)),
    LayerSpec("mha", ATTENTION,
              "Multi-head attention: each query mixes the values of the keys it matches (Q, K, V ports).",
              shapes.mha,
              (_positive("num_heads", 4, "number of attention heads"),
               ParamSpec("causal", BOOL, False, description="a position attends only to itself and the past"),
               ParamSpec("dropout", FLOAT, 0.0, minimum=0.0, maximum=1.0, description="dropout on attention"),
               _bias()),
              inputs=(PortSpec("q", description="queries (T×D)"),
                      PortSpec("k", optional=True, description="keys (S×D); the queries when unconnected"),
                      PortSpec("v", optional=True, description="values (S×D); the keys when unconnected")),
              trainable=True, prefix="mha", aliases=("attention", "multi-head-attention")),
    _recurrent("lstm", 4, "Long short-term memory: a recurrent layer reading a T×D sequence with gated memory."),
    _recurrent("gru", 3, "Gated recurrent unit: a lighter gated recurrent layer over a T×D sequence."),
    LayerSpec("reshape", STRUCTURE, "Rearranges the values into a new shape (one entry may be -1).",
              shapes.reshape,
              (ParamSpec("shape", SHAPE, (-1,), minimum=-1, description="new shape, batch excluded"),),
              prefix="reshape", aliases=("view",)),
    LayerSpec("flatten", STRUCTURE, "Merges dimensions start_dim to end_dim into one (batch excluded).",
              shapes.flatten,
              (ParamSpec("start_dim", INT, 0, minimum=-8, maximum=7, description="first dimension to merge"),
               ParamSpec("end_dim", INT, -1, minimum=-8, maximum=7, description="last dimension to merge")),
              prefix="flatten"),
    LayerSpec("+", STRUCTURE, "Element-wise sum of two or more tensors (the skip connections of resnets).",
              shapes.elementwise, inputs=(PortSpec("x", variadic=True, min_count=2),), prefix="add",
              aliases=("add", "sum")),
    LayerSpec("mul", STRUCTURE, "Element-wise product of two or more tensors (gates, squeeze-and-excitation).",
              shapes.elementwise, inputs=(PortSpec("x", variadic=True, min_count=2),), prefix="mul",
              aliases=("product", "*")),
    LayerSpec("concat", STRUCTURE, "Concatenates two or more tensors along a dimension (batch excluded).",
              shapes.concat,
              (ParamSpec("dim", INT, 0, minimum=-8, maximum=7, description="dimension to concatenate along"),),
              inputs=(PortSpec("x", variadic=True, min_count=2),), prefix="cat", aliases=("cat",)),
    LayerSpec("readout", STRUCTURE, "Selects one position of a sequence (the CLS token of ViT).",
              shapes.readout,
              (ParamSpec("index", INT, 0, minimum=-LARGEST, maximum=LARGEST, description="position to read"),),
              prefix="readout"),
    LayerSpec("upsample", STRUCTURE, "Enlarges a feature map by repeating (nearest) or interpolating values.",
              shapes.upsample,
              (ParamSpec("scale_factor", FLOAT, 2.0, minimum=0.0, maximum=1024.0, optional=True,
                         description="multiplier of each spatial size"),
               ParamSpec("size", SIZE, None, minimum=1, arity=2, optional=True,
                         description="output size instead of a factor"),
               ParamSpec("mode", CHOICE, "nearest", choices=("nearest", "linear", "bilinear"),
                         description="how new values are made")),
              prefix="up"),
)
