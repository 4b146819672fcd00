"""The layer catalogue as data: every spec is complete, its defaults are valid, its names are the book's and
its parameter names are torch's."""

from __future__ import annotations

import json

import pytest

from graph import Graph, layer_spec, layer_types, loads
from graph.catalog import KINDS, LayerSpec, ParamError, ParamSpec
from graph.layers import CATEGORIES
from graph.registry import by_category, canonical_type

SPECS = [layer_spec(t) for t in layer_types()]

# The layer names of The Little Book of Deep Learning's figures (chapters 4 and 5), and the structure nodes.
BOOK_NAMES = (
    "fully-conn", "conv-1d", "conv-2d", "transp-conv-1d", "transp-conv-2d", "relu", "leaky-relu", "gelu", "tanh",
    "sigmoid", "silu", "softmax", "maxpool", "avgpool", "maxpool-1d", "avgpool-1d", "adaptive-avgpool",
    "global-avgpool", "dropout", "dropout-2d", "batchnorm", "layernorm", "embed", "pos-enc", "mha", "reshape",
    "flatten", "+", "concat", "mul", "readout", "upsample", "lstm", "gru", "input", "output",
)

# Keyword names of the corresponding torch.nn constructors, copied from torch's documentation.
TORCH_NAMES = {
    "fully-conn": {"out_features", "bias"},  # nn.Linear(in_features, out_features, bias)
    "conv-1d": {"out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"},
    "conv-2d": {"out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"},
    "transp-conv-1d": {"out_channels", "kernel_size", "stride", "padding", "output_padding", "dilation", "groups",
                       "bias"},
    "transp-conv-2d": {"out_channels", "kernel_size", "stride", "padding", "output_padding", "dilation", "groups",
                       "bias"},
    "leaky-relu": {"negative_slope"},
    "gelu": {"approximate"},
    "softmax": {"dim"},
    "maxpool": {"kernel_size", "stride", "padding", "dilation", "ceil_mode"},
    "maxpool-1d": {"kernel_size", "stride", "padding", "dilation", "ceil_mode"},
    "avgpool": {"kernel_size", "stride", "padding", "ceil_mode"},
    "avgpool-1d": {"kernel_size", "stride", "padding", "ceil_mode"},
    "adaptive-avgpool": {"output_size"},
    "dropout": {"p"},
    "dropout-2d": {"p"},
    "batchnorm": {"eps", "momentum", "affine"},
    "layernorm": {"eps", "elementwise_affine", "bias"},
    "embed": {"num_embeddings", "embedding_dim"},
    "mha": {"num_heads", "dropout", "bias"},
    "lstm": {"hidden_size", "num_layers", "bidirectional", "dropout", "bias"},
    "gru": {"hidden_size", "num_layers", "bidirectional", "dropout", "bias"},
    "flatten": {"start_dim", "end_dim"},
    "concat": {"dim"},
    "upsample": {"scale_factor", "size", "mode"},
}


def test_the_books_names_are_all_present() -> None:
    missing = [name for name in BOOK_NAMES if layer_spec(name) is None]
    assert not missing


def test_types_are_unique_and_specs_are_found_by_their_type() -> None:
    types = layer_types()
    assert len(types) == len(set(types))
    assert all(layer_spec(t).type == t for t in types)
    assert layer_spec("no-such-layer") is None


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_every_layer_is_described_and_categorised(spec: LayerSpec) -> None:
    assert len(spec.description) > 20 and spec.description.endswith(".")
    assert spec.description[0].isupper()
    assert spec.category in CATEGORIES
    assert spec.prefix and (spec.prefix[0].isalpha())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_every_layer_has_ports(spec: LayerSpec) -> None:
    """Only an input has no input port; only an output has no output port."""
    assert (spec.inputs == ()) == (spec.type == "input")
    assert (spec.outputs == ()) == (spec.type == "output")
    names = [p.name for p in spec.inputs]
    assert len(names) == len(set(names))
    if spec.inputs:
        assert spec.default_port == names[0]
        assert not spec.inputs[0].optional  # the first port is what a plain wire feeds


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_every_param_is_typed_and_its_default_passes_its_own_check(spec: LayerSpec) -> None:
    names = [p.name for p in spec.params]
    assert len(names) == len(set(names))
    for param in spec.params:
        assert param.kind in KINDS, param.name
        assert param.name.isidentifier() and param.name == param.name.lower(), param.name
        assert param.description, param.name
        assert param.expected()  # every kind can say in words what it accepts
        assert param.coerce(param.default) == (tuple(param.default) if isinstance(param.default, list)
                                               else param.default)
        assert spec.param(param.name) is param
    assert spec.defaults() == {p.name: p.default for p in spec.params}


def test_a_node_with_nothing_set_takes_the_catalogue_defaults() -> None:
    g = Graph()
    x = g.add("input", shape=(16,))
    fc = g.add("fully-conn")
    g.connect(x, fc)
    g.connect(fc, g.add("output"))
    assert g.validate() == []
    assert g.analyze().nodes[fc].values == layer_spec("fully-conn").defaults()


def test_a_choice_refuses_what_it_does_not_list() -> None:
    spec = layer_spec("gelu").param("approximate")
    assert spec.coerce("tanh") == "tanh"
    with pytest.raises(ParamError, match="one of: none, tanh"):
        spec.coerce("fast")


@pytest.mark.parametrize(("value", "accepted"), [
    (3, 3), ([3, 5], (3, 5)), ((1, 2), (1, 2)), (0, None), ([3], None), ([3, 5, 7], None), (True, None),
    (2.0, None), ("3", None), ([3, "5"], None), (2**31, None),
])
def test_a_size_takes_an_int_or_one_int_per_axis(value: object, accepted: object) -> None:
    spec = layer_spec("conv-2d").param("kernel_size")
    if accepted is None:
        with pytest.raises(ParamError, match="positive integer or a list of 2 such integers"):
            spec.coerce(value)
    else:
        assert spec.coerce(value) == accepted


def test_a_float_range_includes_its_bounds_and_refuses_non_finite() -> None:
    spec = layer_spec("dropout").param("p")
    assert [spec.coerce(v) for v in (0, 0.5, 1)] == [0.0, 0.5, 1.0]
    for bad in (-0.01, 1.01, float("nan"), float("inf"), True, "0.5", None):
        with pytest.raises(ParamError):
            spec.coerce(bad)


def test_optional_params_take_none_and_required_ones_do_not() -> None:
    assert layer_spec("maxpool").param("stride").coerce(None) is None
    with pytest.raises(ParamError):
        layer_spec("maxpool").param("kernel_size").coerce(None)


def test_a_param_declaration_writes_itself_as_json() -> None:
    spec = ParamSpec("S", "int", 2, minimum=1, maximum=64, description="stride")
    assert spec.to_json() == {"type": "int", "default": 2, "min": 1, "max": 64, "description": "stride"}
    assert ParamSpec("k", "size", (3, 3), arity=2).to_json() == {"type": "size", "default": [3, 3]}


@pytest.mark.parametrize(("alias", "current"), [
    ("linear", "fully-conn"), ("conv2d", "conv-2d"), ("conv1d", "conv-1d"), ("add", "+"), ("cat", "concat"),
    ("embedding", "embed"), ("batchnorm2d", "batchnorm"), ("maxpool2d", "maxpool"), ("attention", "mha"),
])
def test_aliases_resolve_to_the_current_type(alias: str, current: str) -> None:
    assert canonical_type(alias) == current
    g = Graph()
    name = g.add(alias)
    assert g.node(name).type == current
    text = json.dumps({"format": "layerbook", "version": 1, "nodes": [{"name": "a", "type": alias}]})
    assert loads(text).node("a").type == current


def test_aliases_never_shadow_a_type_or_each_other() -> None:
    types = set(layer_types())
    seen: dict[str, str] = {}
    for spec in SPECS:
        for alias in spec.aliases:
            if alias == spec.type:
                continue
            assert alias not in types, alias
            assert seen.setdefault(alias, spec.type) == spec.type, alias
    assert canonical_type("relu") == "relu" and canonical_type("unknown") == "unknown"


@pytest.mark.parametrize(("type_name", "names"), sorted(TORCH_NAMES.items()))
def test_parameter_names_follow_torch(type_name: str, names: set[str]) -> None:
    declared = {p.name for p in layer_spec(type_name).params}
    assert names <= declared, names - declared


def test_trainable_layers_are_those_with_weights() -> None:
    trainable = {s.type for s in SPECS if s.trainable}
    assert {"fully-conn", "conv-2d", "batchnorm", "layernorm", "embed", "mha", "lstm", "gru"} <= trainable
    assert not trainable & {"relu", "maxpool", "dropout", "reshape", "+", "concat", "input", "output"}


def test_palette_groups_every_layer_once_in_book_order() -> None:
    groups = by_category()
    assert list(groups) == list(CATEGORIES)
    listed = [spec.type for specs in groups.values() for spec in specs]
    assert sorted(listed) == sorted(layer_types())
