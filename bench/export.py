"""ONNX export time for LeNet and ResNet-50, verification included.

Reference: torch's own dynamo export of the same module with a dynamic batch, without our checks (onnx.checker,
onnxruntime at another batch size, the comparison with torch), measured in the same run.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path

import torch

from bench.compile import resnet_graph
from bench.timing import Row, interleaved
from graph import Graph, load_graph
from runtime import build_module
from runtime.export import export_onnx
from runtime.inputs import example_inputs


def _plain_export(graph: Graph, path: Path) -> None:
    module = build_module(graph).eval()
    inputs = tuple(example_inputs(graph, batch=2).values())
    batch = torch.export.Dim("batch", min=1)
    shapes = {name: {0: batch} for name in module.input_names}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        torch.onnx.export(module, inputs, str(path), dynamo=True, dynamic_shapes=shapes, external_data=False,
                          input_names=module.input_names, output_names=module.output_names)


def run() -> list[Row]:
    logging.getLogger("torch").setLevel(logging.ERROR)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        _plain_export(load_graph("mlp"), work / "warm-up.onnx")  # the exporter's one-time start-up, for neither
        for name, graph in (("LeNet", load_graph("lenet")), ("ResNet-50", resnet_graph())):
            timing = interleaved(lambda g=graph: export_onnx(g, work / "ours.onnx"),
                                 lambda g=graph: _plain_export(g, work / "plain.onnx"), warm_up=False)
            rows.append(Row(f"ONNX export + verification: {name}", "batch dynamic", timing,
                            "torch.onnx.export alone"))
    return rows
