"""Random valid graphs, end to end: what inference says of every node is what the compiled module computes; one
training step moves the parameters by their finite gradients; the ONNX export, run by onnxruntime, gives the
torch module's outputs.

The graphs come from `random_graphs.valid_graphs` (chains, merged branches, residual skips, library and user
blocks, repeats ×N). 500 graphs are inferred, compiled and trained. Exports are the costly part: torch.export and
the ONNX translation trace every operator symbolically, about 0.8 s for one of these small graphs on a 2-core
machine (exporting several graphs as one costs as much per operator),
so the suite's export test checks a sample (LAYERBOOK_RANDOM_EXPORTS sets its size) and a slow test, run by
.ci/run after the suite, exports 500 distinct graphs (about 7 minutes).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from hypothesis import HealthCheck, assume, given, note, settings

from graph import Graph, GraphError, TensorType, dumps
from graph.inference import Analysis
from graph.lint import OUTPUT_PADDING, lint
from graph.resolve import block_outputs, resolve
from runtime.compile import build_module, module_name
from runtime.export import export_onnx
from runtime.export_errors import ExportError
from runtime.inputs import example_inputs
from runtime.training.objective import as_tuple
from runtime.weights import save_weights
from tests.runtime.random_graphs import valid_graphs

torch.set_num_threads(1)  # tiny tensors: threads cost more than they save

GRAPHS = 500
# An export costs about 0.8 s on a 2-core machine: the suite exports a sample (LAYERBOOK_RANDOM_EXPORTS sets its
# size); the slow test (`pytest -m slow`, run by .ci/run after the suite) exports 500 distinct graphs.
EXPORTS = int(os.environ.get("LAYERBOOK_RANDOM_EXPORTS", "60"))
BATCH = 2
CHECK_BATCH = 5  # neither the export's example batch (2) nor its own verification batch (3)
LR = 0.1
RTOL, ATOL = 1e-3, 1e-4
# What the 500 graphs must include, so that a change to the generator cannot quietly narrow the test.
COVERED = frozenset({
    "fully-conn", "conv-1d", "conv-2d", "transp-conv-1d", "transp-conv-2d", "batchnorm", "layernorm", "relu", "gelu",
    "dropout", "maxpool", "avgpool-1d", "adaptive-avgpool", "upsample", "mha", "lstm", "gru", "embed", "pos-enc",
    "cls-token", "reshape", "flatten", "+", "mul", "concat", "resblock", "dresblock", "ffw", "self-att", "cross-att",
    "mlp", "conv_bn", "two_convs", "split", "×N",
})


# --- shapes: every node, inside blocks and repeats too -------------------------------------------------------

def type_of(tensor: torch.Tensor) -> TensorType:
    return TensorType(tuple(tensor.shape[1:]), "float" if tensor.is_floating_point() else "int")


def expected_types(graph: Graph, analysis: Analysis, prefix: str = "") -> Iterator[tuple[str, list[TensorType]]]:
    """(sub-module path, the types inference gives its outputs) for every layer and block, each copy of a repeat
    and every node inside a block; a copy's output is the input inference gave the next copy."""
    for name, info in analysis.nodes.items():
        if info.type in ("input", "output"):
            continue
        target = resolve(graph, info.type)
        ports = block_outputs(target) if isinstance(target, Graph) else ["y"]
        chained = next(iter(info.inputs))
        path = prefix + module_name(graph, name)
        for index in range(info.copies):
            copy_path = path if info.copies == 1 else f"{path}.{index}"
            last = index == info.copies - 1
            yield copy_path, [info.outputs[p] for p in ports] if last else [info.stage(index + 1).inputs[chained][0]]
            inner = info.stage(index).inner
            if isinstance(target, Graph) and inner is not None:
                yield from expected_types(target, inner, copy_path + ".")


def run_recording(module: torch.nn.Module, paths: list[str], inputs: list[torch.Tensor]
                  ) -> tuple[tuple[torch.Tensor, ...], dict[str, list[torch.Tensor]]]:
    """The module's outputs, and what each sub-module at `paths` returned (forward hooks)."""
    seen: dict[str, list[torch.Tensor]] = {}
    hooks = []
    for path in paths:
        def record(_: torch.nn.Module, __: object, out: object, path: str = path) -> None:
            seen[path] = list(out) if isinstance(out, tuple) else [out]
        hooks.append(module.get_submodule(path).register_forward_hook(record))
    try:
        outputs = as_tuple(module(*inputs))
    finally:
        for hook in hooks:
            hook.remove()
    return outputs, seen


def check_shapes(graph: Graph, module: torch.nn.Module, inputs: list[torch.Tensor]) -> None:
    analysis = graph.analyze()
    expected = dict(expected_types(graph, analysis))
    outputs, seen = run_recording(module, list(expected), inputs)
    for path, types in expected.items():
        assert [type_of(t) for t in seen[path]] == types, f"sub-module '{path}'"
        assert all(t.shape[0] == BATCH for t in seen[path]), f"sub-module '{path}' lost the batch"
    wanted = [analysis.nodes[n.name].output for n in graph.nodes_of_type("output")]
    assert [type_of(t) for t in outputs] == wanted


# --- one training step ---------------------------------------------------------------------------------------

def check_training_step(module: torch.nn.Module, inputs: list[torch.Tensor]) -> None:
    """MSE to zeros on the float outputs, backward, one SGD step: every parameter gets a finite gradient and
    moves by -lr × gradient (a graph without parameters has nothing to check)."""
    named = {name: p for name, p in module.named_parameters() if p.requires_grad}
    params = list(named.values())
    if not params:
        return
    module.train()
    outputs = [o for o in as_tuple(module(*inputs)) if o.is_floating_point()]
    loss = sum(o.square().mean() for o in outputs)
    assert isinstance(loss, torch.Tensor) and torch.isfinite(loss), loss
    loss.backward()
    before = [p.detach().clone() for p in params]
    missing = [name for name, p in named.items() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no finite gradient for {missing}"
    grads = [p.grad for p in params]
    torch.optim.SGD(params, lr=LR).step()
    for p, old, grad in zip(params, before, grads, strict=True):
        assert torch.isfinite(p).all()
        torch.testing.assert_close(p.detach(), old - LR * grad)
    if any(g.abs().max() > 1e-3 for g in grads):  # a step of 1e-4 or more shows in float32
        assert any(not torch.equal(p.detach(), old) for p, old in zip(params, before, strict=True))


# --- ONNX ------------------------------------------------------------------------------------------------------

def check_onnx(graph: Graph, folder: Path) -> None:
    """Export with known weights, then run the file in onnxruntime at another batch and compare with torch."""
    torch.manual_seed(0)
    module = build_module(graph).eval()
    report = export_onnx(graph, folder / "model.onnx", weights=save_weights(module, folder / "model.pt"))
    inputs = example_inputs(graph, batch=CHECK_BATCH, seed=7)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: a failure raises; its shape-merging warnings are noise here
    session = onnxruntime.InferenceSession(str(report.path), options, providers=["CPUExecutionProvider"])
    actual = session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})
    with torch.no_grad():
        expected = as_tuple(module(*inputs.values()))
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        np.testing.assert_allclose(got, want.numpy(), rtol=RTOL, atol=ATOL)


# --- the property --------------------------------------------------------------------------------------------

def check_graph(g: Graph) -> None:
    assert g.analyze().ok, g.analyze().errors
    torch.manual_seed(0)
    module = build_module(g).eval()
    inputs = list(example_inputs(g, batch=BATCH).values())
    with torch.no_grad():
        check_shapes(g, module, inputs)
    check_training_step(module, inputs)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's advice on tiny inputs (one-value normalisation, ...)
def test_random_graphs_infer_and_train() -> None:
    checked: set[str] = set()
    kinds: Counter[str] = Counter()

    # Hypothesis draws some small graphs more than once: draw more than GRAPHS, check each distinct one once.
    @settings(max_examples=GRAPHS * 6 // 5, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(valid_graphs())
    def check(g: Graph) -> None:
        text = dumps(g)
        if text in checked:
            return
        note(text)  # the failing graph, as a file one can open in the editor
        check_graph(g)
        checked.add(text)
        kinds.update(node.type for node in g.nodes)
        kinds.update("×N" for node in g.nodes if node.repeat != 1)

    check()
    assert len(checked) >= GRAPHS, len(checked)
    assert not COVERED - kinds.keys(), f"the generator no longer makes {COVERED - kinds.keys()}"


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=EXPORTS, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(valid_graphs())
def test_random_graphs_export_to_onnx(tmp_path: Path, g: Graph) -> None:
    assume(not onnxruntime_refuses(g))
    note(dumps(g))
    check_onnx(g, tmp_path)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_500_distinct_random_graphs_export_to_onnx(tmp_path_factory: pytest.TempPathFactory) -> None:
    exported: set[str] = set()

    @settings(max_examples=GRAPHS * 3 // 2, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(valid_graphs())
    def check(g: Graph) -> None:
        text = dumps(g)
        if len(exported) >= GRAPHS or text in exported or onnxruntime_refuses(g):
            return
        note(text)
        check_onnx(g, tmp_path_factory.mktemp("onnx"))
        exported.add(text)

    check()
    assert len(exported) >= GRAPHS, len(exported)


def onnxruntime_refuses(g: Graph) -> bool:
    """Torch (and so inference) accepts a transposed convolution's output_padding below its stride or its
    dilation, ONNX's ConvTranspose only below its stride: the editor warns of it (lint), and such a graph trains
    but cannot be exported (test_the_lint_warning_predicts_the_refused_export). The random graphs check the
    warning's other half: every graph without it exports."""
    return any(p.code == OUTPUT_PADDING for p in lint(g, g.analyze()))


def test_the_lint_warning_predicts_the_refused_export(tmp_path: Path) -> None:
    g = Graph()
    g.connect(g.add("input", "X", shape=[1, 2]),
              g.add("transp-conv-1d", "up", out_channels=1, kernel_size=1, stride=1, dilation=2, output_padding=1))
    g.connect("up", g.add("output", "Y", loss="none"))
    assert g.analyze().ok and onnxruntime_refuses(g)
    with pytest.raises(ExportError, match="up"):
        export_onnx(g, tmp_path / "refused.onnx")


# --- defects the random graphs found -------------------------------------------------------------------------

def test_names_the_compiled_forward_cannot_take_are_refused() -> None:
    """An input named `getattr` became a parameter of the compiled forward and hid the builtin that the generated
    code calls to reach the copies of a repeat (`getattr(self.relu1, "0")`: 'Tensor' object is not callable);
    `__debug__` cannot be a parameter at all (SyntaxError)."""
    for name in ("getattr", "__debug__"):
        g = Graph()
        with pytest.raises(GraphError, match="reserved by Python"):
            g.add("input", name, shape=[3])
        g.add("input", "X", shape=[3])
        with pytest.raises(GraphError, match="reserved by Python"):
            g.rename("X", name)


def test_inputs_named_like_other_builtins_still_reach_the_copies_of_a_repeat() -> None:
    for name in ("sum", "len", "input", "torch"):
        g = Graph()
        relu = g.add("relu", repeat=2)
        g.connect(g.add("input", name, shape=[3]), relu)
        g.connect(relu, g.add("output", loss="none"))
        x = torch.randn(2, 3)
        assert torch.equal(build_module(g)(**{name: x}), x.relu()), name


def graph_from(nodes: list[tuple[str, str, dict[str, Any]]], edges: list[tuple[str, str]]) -> Graph:
    g = Graph("found")
    for name, type_, params in nodes:
        g.add(type_, name, **params)
    for src, dst in edges:
        g.connect(src, dst)
    return g


OUT = {"loss": "none"}
# An output node named like a value inside the exported graph: torch.onnx named the output `relu` beside the
# value `relu` of a relu layer, and onnx's checker refused the file (not in SSA form).
CLASHING_NAMES = {
    "minimal": graph_from(
        [("X", "input", {"shape": [3]}), ("relu1", "relu", {}), ("fc1", "fully-conn", {"out_features": 2}),
         ("relu", "output", OUT)],
        [("X", "relu1"), ("relu1", "fc1"), ("fc1", "relu")]),
    "as found": graph_from(
        [("X0", "input", {"shape": [3, 5, 2]}), ("conv1", "conv-2d", {"out_channels": 4, "kernel_size": 1}),
         ("resblock1", "resblock", {}), ("lrelu1", "leaky-relu", {"negative_slope": 0.01}), ("add1", "+", {}),
         ("resblock2", "resblock", {}), ("flatten1", "flatten", {}), ("Y", "output", OUT), ("relu", "output", OUT)],
        [("X0", "conv1"), ("conv1", "resblock1"), ("resblock1", "lrelu1"), ("lrelu1", "add1"), ("resblock1", "add1"),
         ("add1", "resblock2"), ("add1", "flatten1"), ("resblock2", "Y"), ("flatten1", "relu")]),
}


@pytest.mark.parametrize("case", CLASHING_NAMES)
def test_an_output_named_like_an_inner_value_exports(case: str, tmp_path: Path) -> None:
    g = CLASHING_NAMES[case]
    check_onnx(g, tmp_path)
    model = onnx.load(str(tmp_path / "model.onnx"))
    assert [v.name for v in model.graph.output] == [n.name for n in g.nodes_of_type("output")]
