"""What `build_module` promises besides the numbers (those are checked against hand-written modules in
test_compile_reference.py): names, copies, checkpoints, calling conventions, readable code, no lazy modules,
errors, and the meta device."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedParameter

from bench.compile import SMALL_RESNET, chain, gpt_graph, resnet_graph
from graph import Graph, load_graph
from runtime import CompileError, build_module

BATCH = 2


def line(shape: tuple[int, ...], *layers: tuple[str, str, dict[str, object]]) -> Graph:
    """X → layers → Y (no loss)."""
    g = Graph("line")
    chain(g, g.add("input", "X", shape=shape), *layers, ("output", "Y", {"loss": "none"}))
    return g


def residual_stages() -> Graph:
    return line((16, 8, 8), ("dresblock", "down1", {"S": 2}), ("resblock", "stage1", {"repeat": 2}))


def cross_attention(first: str, second: str) -> Graph:
    """Inputs Q and KV into a cross-att block, the edges drawn in the order `first`, `second`."""
    g = Graph("cross")
    q, kv = g.add("input", "Q", shape=(5, 16)), g.add("input", "KV", shape=(7, 12))
    node = g.add("cross-att", "ca", heads=4)
    sources = {"x_q": q, "x_kv": kv}
    for port in (first, second):
        g.connect(sources[port], node, port)
    g.connect(node, g.add("output", "Y", loss="none"))
    return g


# --- names ----------------------------------------------------------------------------------------------------

def test_each_layer_is_a_sub_module_named_after_its_node() -> None:
    graph = load_graph("lenet")
    module = build_module(graph)
    layers = [n.name for n in graph.nodes if n.type not in ("input", "output")]
    assert [name for name, _ in module.named_children()] == layers
    expected = {f"{n}.{p}" for n in ("conv1", "conv2", "fc1", "fc2") for p in ("weight", "bias")}
    assert set(module.state_dict()) == expected


def test_a_block_is_a_graph_module_and_a_repeat_a_module_list_of_them() -> None:
    module = build_module(residual_stages())
    assert isinstance(module.down1, fx.GraphModule)
    assert isinstance(module.stage1, nn.ModuleList) and len(module.stage1) == 2
    assert all(isinstance(copy, fx.GraphModule) for copy in module.stage1)
    keys = set(module.state_dict())
    assert {"down1.conv1.weight", "down1.shortcut_bn.running_var", "stage1.0.conv1.weight",
            "stage1.1.conv3.weight", "stage1.1.bn3.num_batches_tracked"} <= keys
    assert not any(key.startswith("stage1.2.") for key in keys)


def test_a_repeat_x3_holds_three_copies_with_their_own_parameters() -> None:
    module = build_module(line((8,), ("fully-conn", "fc", {"out_features": 8, "repeat": 3})))
    assert sorted(module.state_dict()) == [f"fc.{i}.{p}" for i in range(3) for p in ("bias", "weight")]
    weights = [module.fc[i].weight for i in range(3)]
    assert len({id(w) for w in weights}) == 3
    assert not any(torch.equal(a, b) for i, a in enumerate(weights) for b in weights[i + 1:])
    x = torch.randn(BATCH, 8)
    by_hand = x
    for copy in module.fc:
        by_hand = F.linear(by_hand, copy.weight, copy.bias)
    torch.testing.assert_close(module(x), by_hand)


def test_a_repeated_block_has_three_times_the_entries_of_one() -> None:
    def entries(repeat: int) -> int:
        return len(build_module(line((16, 4, 4), ("resblock", "r", {"repeat": repeat}))).state_dict())
    assert entries(3) == 3 * entries(1)


def test_a_repeat_that_changes_shapes_builds_each_copy_for_what_it_receives() -> None:
    module = build_module(line((3, 16, 16), ("conv-2d", "conv", {"out_channels": 8, "kernel_size": 3, "repeat": 3})))
    assert [copy.in_channels for copy in module.conv] == [3, 8, 8]
    assert module(torch.randn(BATCH, 3, 16, 16)).shape == (BATCH, 8, 10, 10)


# --- checkpoints and calls ------------------------------------------------------------------------------------

def test_a_state_dict_saved_and_loaded_into_a_fresh_module_gives_the_same_outputs() -> None:
    graph = residual_stages()
    torch.manual_seed(0)
    module = build_module(graph)
    module(torch.randn(8, 16, 8, 8)).sum().backward()  # a train-mode step moves the batchnorm statistics
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    torch.manual_seed(1)
    fresh = build_module(graph).eval()
    x = torch.randn(BATCH, 16, 8, 8)
    assert not torch.equal(fresh(x), module.eval()(x))
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True), strict=True)
    assert torch.equal(fresh(x), module(x))


def test_inputs_are_taken_by_position_or_by_name() -> None:
    module = build_module(cross_attention("x_q", "x_kv"))
    q, kv = torch.randn(BATCH, 5, 16), torch.randn(BATCH, 7, 12)
    expected = module(q, kv)
    assert expected.shape == (BATCH, 5, 16)
    for result in (module(Q=q, KV=kv), module(KV=kv, Q=q), module(q, KV=kv)):
        assert torch.equal(result, expected)
    assert module.input_names == ["Q", "KV"]


def test_ports_receive_their_edges_whatever_order_the_edges_were_drawn_in() -> None:
    """Regression: the first edge drawn used to be passed positionally, whatever its port."""
    q, kv = torch.randn(BATCH, 5, 16), torch.randn(BATCH, 7, 12)
    natural = build_module(cross_attention("x_q", "x_kv"))
    reversed_ = build_module(cross_attention("x_kv", "x_q"))
    reversed_.load_state_dict(natural.state_dict())
    assert torch.equal(reversed_(q, kv), natural(q, kv))

    g = Graph("mha")
    q_in, kv_in = g.add("input", "Q", shape=(5, 16)), g.add("input", "KV", shape=(7, 16))
    attention = g.add("mha", "att", num_heads=4)
    g.connect(kv_in, attention, "k")  # keys first; values default to the keys
    g.connect(q_in, attention, "q")
    g.connect(attention, g.add("output", "Y", loss="none"))
    module = build_module(g)
    keys = torch.randn(BATCH, 7, 16)
    assert torch.equal(module(q, keys), module.att(q, keys, keys))


def two_outputs() -> Graph:
    """Y1, added first, lies further from the input than Y2, so a topological order visits Y2 first."""
    g = Graph("two")
    x = g.add("input", "X", shape=(4,))
    y1, y2 = g.add("output", "Y1", loss="none"), g.add("output", "Y2", loss="none")
    chain(g, x, ("fully-conn", "long1", {"out_features": 6}), ("fully-conn", "long2", {"out_features": 7}))
    g.connect("long2", y1)
    g.connect(chain(g, x, ("fully-conn", "short", {"out_features": 5})), y2)
    return g


def test_two_outputs_come_back_as_a_tuple_in_the_order_of_the_output_nodes() -> None:
    """Regression: outputs used to come back in topological order while output_names said otherwise."""
    module = build_module(two_outputs())
    x = torch.randn(BATCH, 4)
    first, second = module(x)
    assert module.output_names == ["Y1", "Y2"]
    torch.testing.assert_close(first, module.long2(module.long1(x)))
    torch.testing.assert_close(second, module.short(x))


def test_a_block_with_two_outputs_returns_them_on_their_own_ports() -> None:
    g = Graph("outer")
    block = two_outputs()
    g.blocks["split"] = block
    node = g.add("split", "s")
    g.connect(g.add("input", "X", shape=(4,)), node)
    for port in ("Y2", "Y1"):
        g.connect(node, g.add("output", f"out_{port}", loss="none"), src_port=port)
    module = build_module(g)
    short, long = module(torch.randn(BATCH, 4))
    assert short.shape == (BATCH, 5) and long.shape == (BATCH, 7)


# --- the module itself ----------------------------------------------------------------------------------------

def test_the_generated_code_is_readable_python_calling_the_layers_by_name() -> None:
    module = build_module(load_graph("lenet"))
    assert "def forward(self, X)" in module.code
    assert "self.conv1(" in module.code and "self.fc2(" in module.code
    assert "self.conv2(" in build_module(residual_stages()).down1.code


@pytest.mark.parametrize("graph", [
    load_graph("mlp"), load_graph("lenet"), resnet_graph(SMALL_RESNET, classes=10, width=8, large=False, size=8),
    gpt_graph(11, 6, 16, 2, 4),
], ids=["mlp", "lenet", "resnet", "gpt"])
def test_no_lazy_module_or_uninitialised_parameter_is_left(graph: Graph) -> None:
    module = build_module(graph)
    assert not any(isinstance(m, LazyModuleMixin) for m in module.modules())
    assert not any(isinstance(p, UninitializedParameter) for p in module.parameters())
    assert sum(p.numel() for p in module.parameters()) == graph.analyze().parameters


def test_a_graph_with_errors_raises_compile_error_naming_the_nodes() -> None:
    g = Graph("broken")
    x = g.add("input", "X", shape=(1, 28, 28))
    chain(g, x, ("fully-conn", "fc_on_image", {"out_features": 10}), ("output", "Y", {}))
    chain(g, x, ("conv-2d", "huge_kernel", {"out_channels": 4, "kernel_size": 40}), ("output", "Y2", {}))
    with pytest.raises(CompileError) as caught:
        build_module(g)
    assert {p.node for p in caught.value.problems} == {"fc_on_image", "huge_kernel"}
    assert "'broken'" in str(caught.value)
    assert "fc_on_image" in str(caught.value) and "huge_kernel" in str(caught.value)


def test_nodes_named_like_torch_attributes_still_compile() -> None:
    """Regression: a node named `forward`, `graph` or `training` clashed with the GraphModule's attributes."""
    g = Graph("names")
    chain(g, g.add("input", "X", shape=(4,)), ("fully-conn", "forward", {"out_features": 5}),
          ("relu", "training", {}), ("fully-conn", "graph", {"out_features": 3}), ("output", "Y", {"loss": "none"}))
    module = build_module(g)
    assert {"forward_.weight", "graph_.bias"} <= set(module.state_dict())
    x = torch.randn(BATCH, 4)
    by_hand = F.linear(F.relu(F.linear(x, module.forward_.weight, module.forward_.bias)),
                       module.graph_.weight, module.graph_.bias)
    torch.testing.assert_close(module(x), by_hand)


def test_the_meta_device_allocates_no_storage() -> None:
    graph = resnet_graph(SMALL_RESNET, classes=10, width=8, large=False, size=8)
    module = build_module(graph, device="meta")
    tensors = list(module.parameters()) + list(module.buffers())
    assert tensors and all(t.is_meta for t in tensors)
    assert module(torch.empty(BATCH, 3, 8, 8, device="meta")).shape == (BATCH, 10)
    assert all(not t.is_meta for t in build_module(graph, device="cpu").parameters())
