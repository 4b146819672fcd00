"""Export a graph to ONNX with torch's dynamo-based exporter, and verify the file before reporting success.

The module is captured with `torch.export` here rather than inside `torch.onnx.export`: the exporter would
quietly fix a dynamic dimension the model cannot vary (or fall back to a draft export), while capturing it
ourselves lets us fall back to a static sequence length knowingly, say so, and name the node responsible.
The file is written under a temporary name in the destination folder, checked with onnx's checker, run with
onnxruntime at another batch size (and sequence length) against the torch module, and only then renamed:
a failed export never leaves a file behind.
"""

from __future__ import annotations

import io
import logging
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch
from torch import fx

from graph import Graph
from graph.outputs import check_output, replacing
from runtime.compile import CompileError, build_module, input_names, output_names
from runtime.export_errors import (
    ExportError,
    UnusableWeights,
    culprit,
    describe_node,
    exporter_error,
    first_line,
    name_in_text,
    onnx_node_module,
)
from runtime.inputs import CHECK_BATCH, CHECK_TOKENS, EXAMPLE_BATCH, example_inputs, token_inputs
from runtime.onnx_registry import reuse_onnx_registry
from runtime.out_of_memory import check_runs_here, is_out_of_memory, named_out_of_memory
from runtime.parity import Parity, ParityError, Tolerance, compare
from runtime.weights import WeightsError, load_weights

SMALLEST_DYNAMIC = 2  # torch.export specialises dimensions of size 0 and 1
# onnxruntime's kernels (fused attention, other summation orders) differ from torch's by at most 1e-6 of the
# output's size on every template (gpt2-small: 6e-4 on logits of size 700); a mistranslated operation is off by a
# good part of its size.
TOLERANCE = Tolerance(rtol=1e-3, scaled=1e-4)
Dims = list[int | str]  # an ONNX shape: sizes, or the names of dynamic dimensions
Shapes = tuple[dict[int, object], ...]  # torch.export's dynamic_shapes for positional inputs
# Set one by one: torch configures some of them itself, so quieting a parent would not reach them.
QUIET_LOGGERS = ("torch.onnx", "torch.export", "torch._export", "torch._dynamo",
                 "torch.fx.experimental.symbolic_shapes", "onnxscript")


@dataclass
class ExportReport:
    """A verified export: where it is, how long it took and how closely onnxruntime reproduces torch."""

    path: Path
    opset: int
    seconds: float
    max_abs_diff: float  # onnxruntime against torch
    max_scaled_diff: float  # the same over the output's scale (its largest |value|)
    batch_checked: int
    inputs: dict[str, Dims]  # name → ONNX shape, in the order of the graph's inputs
    outputs: dict[str, Dims]
    dynamic: list[str] = field(default_factory=list)  # "batch", then "seq" for each dynamic sequence length
    length_checked: int | None = None  # the sequence length of the onnxruntime check, when it is dynamic
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """What the command line prints: the file, its signature, and how the check went."""
        def signature(dims: dict[str, Dims]) -> str:
            return ", ".join(f"{name} [{'×'.join(str(d) for d in shape)}]" for name, shape in dims.items())

        length = f", sequence length {self.length_checked}" if self.length_checked else ""
        lines = [
            f"wrote {self.path} (opset {self.opset}) in {self.seconds:.1f} s",
            f"  inputs:  {signature(self.inputs)}",
            f"  outputs: {signature(self.outputs)}",
            f"  dynamic: {', '.join(self.dynamic) or 'nothing'}",
            f"  verified with onnxruntime at batch {self.batch_checked}{length}: "
            f"{Parity(self.max_abs_diff, self.max_scaled_diff)} from torch",
        ]
        return "\n".join(lines + [f"  note: {note}" for note in self.notes])


@dataclass
class _Capture:
    program: torch.export.ExportedProgram
    axes: tuple[dict[int, str], ...]  # per input: its dynamic dimensions and their names
    dynamic: list[str]
    notes: list[str]
    lengths: dict[str, tuple[int, int | None]]  # token inputs whose length stayed dynamic: its least and most


def export_onnx(graph: Graph, path: str | os.PathLike[str], *, weights: str | os.PathLike[str] | None = None,
                opset: int | None = None, tolerance: Tolerance = TOLERANCE) -> ExportReport:
    """Export `graph` (with the weights of a checkpoint, or freshly initialised ones) to an ONNX file at `path`,
    with a dynamic batch dimension, and a dynamic sequence length for token inputs where the graph allows it."""
    start = time.perf_counter()
    target = check_output(path, (".onnx",))
    check_opset(opset)
    # the module, and onnxruntime's copy of its weights, at the check's batch
    check_runs_here(graph, CHECK_BATCH, "checking the export", weight_copies=2)
    with named_out_of_memory(graph, "exporting"):
        module = _prepare(graph, weights)
        with replacing(target) as temporary, _quiet():
            capture = _capture(graph, module)
            _write(capture, graph, temporary, opset)
            check = _verify(graph, module, temporary, _check_length(graph, capture.lengths), tolerance)
            model = onnx.load(str(temporary))
    return ExportReport(target, _opset(model), time.perf_counter() - start, check.parity.max_abs,
                        check.parity.max_scaled, CHECK_BATCH, _shapes(model.graph.input),
                        _shapes(model.graph.output), capture.dynamic, check.length, capture.notes)


def supported_opsets() -> range:
    """The opsets the installed exporter writes. torch.onnx translates to its own library's opset (the least it
    writes) and onnxscript's version converter moves the model up to its newest; for any other opset the exporter
    falls back to onnx's converter, which fails on most models and then keeps the library's opset without a word."""
    from onnxscript.version_converter import _version_converter
    from torch.onnx._internal.exporter import _constants

    newest = min(_version_converter.SUPPORTED_MAX_ONNX_OPSET, onnx.defs.onnx_opset_version())
    return range(_constants.TORCHLIB_OPSET, newest + 1)


def check_opset(opset: int | None) -> None:
    """A ValueError naming the supported range for an opset the exporter would not write."""
    opsets = supported_opsets()
    if opset is not None and opset not in opsets:
        raise ValueError(f"opset {opset} is not supported: the installed exporter writes opsets {opsets.start} to "
                         f"{opsets.stop - 1}")


# --- preparing -----------------------------------------------------------------------------------------------

def _prepare(graph: Graph, weights: str | os.PathLike[str] | None) -> fx.GraphModule:
    """The module to export, on the CPU in evaluation mode (dropout off, batchnorm on its running statistics)."""
    try:
        module = build_module(graph, device="cpu")
    except CompileError as error:
        raise ExportError(str(error), node=next((p.node for p in error.problems if p.node), None)) from None
    if weights is not None:
        try:
            load_weights(module, weights)
        except WeightsError as error:
            raise UnusableWeights(f"cannot export '{graph.name}': {error}") from None
    return module.eval()


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter logs its progress, missing optional packages (torchvision), deprecations of its own and,
    when capture fails, whole graphs: none of it is the user's concern (a failure becomes one ExportError),
    and it would bury the command line's output."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


# --- capturing and writing -----------------------------------------------------------------------------------

def _capture(graph: Graph, module: fx.GraphModule) -> _Capture:
    """Capture with a dynamic batch and sequence length. When capturing with a dynamic length fails, capture
    again with the length the graph was drawn with, and note why."""
    args = tuple(example_inputs(graph, batch=EXAMPLE_BATCH).values())
    sequences = token_inputs(graph)
    notes = []
    if sequences:
        try:
            return _checked(graph, module, *_export(module, args, _dynamic_shapes(graph, sequences)))
        except ExportError:
            raise
        except Exception as error:
            notes = [_fixed_length_note(graph, module, name, first_line(error)) for name in sequences]
    try:
        capture = _checked(graph, module, *_export(module, args, _dynamic_shapes(graph, [])))
    except ExportError:
        raise
    except Exception as error:
        if is_out_of_memory(error):  # named as such by export_onnx, not as the exporter's failure
            raise
        raise exporter_error(graph, error, module) from None
    capture.notes[:0] = notes
    return capture


def _dynamic_shapes(graph: Graph, sequences: list[str]) -> Shapes:
    """Per positional input: the batch (one dimension shared by all inputs), and the sequence length of the
    token inputs in `sequences` (`seq` for the first, `seq_<input>` for others: each may have its own)."""
    batch = torch.export.Dim("batch")
    names = {name: "seq" if i == 0 else f"seq_{name}" for i, name in enumerate(sequences)}
    shapes = []
    for name in input_names(graph):
        dims: dict[int, object] = {0: batch}
        if name in names:
            dims[1] = torch.export.Dim(names[name])
        shapes.append(dims)
    return tuple(shapes)


def _export(module: fx.GraphModule, args: tuple[torch.Tensor, ...], shapes: Shapes
            ) -> tuple[torch.export.ExportedProgram, Shapes]:
    """torch.export with the given dynamic dimensions, or with torch's suggested fixes when the graph
    constrains them: a bound (a positional encoding supports sequences up to its table's length) or a
    constant (a reshape fixes the length). Returns the program and the dimensions it was captured with."""
    try:
        return _torch_export(module, args, shapes), shapes
    except Exception as error:
        message = getattr(error, "msg", "")  # torch's UserError: the bare message, without its advice after
        if "Suggested fixes" not in message:
            raise
        refined = torch.export.dynamic_shapes.refine_dynamic_shapes_from_suggested_fixes(message, shapes)
    return _torch_export(module, args, tuple(refined)), tuple(refined)


def _torch_export(module: fx.GraphModule, args: tuple[torch.Tensor, ...], shapes: Shapes
                  ) -> torch.export.ExportedProgram:
    # On failure torch.export prints the partial graph to stderr itself; the ExportError says what matters.
    with redirect_stderr(io.StringIO()):
        return torch.export.export(module, args, dynamic_shapes=shapes, strict=False)


def _checked(graph: Graph, module: fx.GraphModule, program: torch.export.ExportedProgram, shapes: Shapes
             ) -> _Capture:
    """Which dimensions stayed dynamic: a fixed batch is an error, a fixed sequence length a note."""
    names = input_names(graph)
    if not all(_is_dynamic(dims.get(0)) for dims in shapes):
        node = culprit(graph, module, batch=CHECK_BATCH)
        cause = f": node '{node}' needs batch {EXAMPLE_BATCH}" if node else ""
        raise ExportError(f"cannot export '{graph.name}' with a dynamic batch{cause}", node=node)
    axes = tuple({axis: str(dim.__name__) for axis, dim in dims.items() if _is_dynamic(dim)} for dims in shapes)
    notes = [_fixed_length_note(graph, module, name, "")
             for name, dims in zip(names, shapes, strict=True) if 1 in dims and not _is_dynamic(dims[1])]
    lengths = {name: (int(dims[1].min), dims[1].max if isinstance(dims[1].max, int) else None)
               for name, dims in zip(names, shapes, strict=True) if _is_dynamic(dims.get(1))}
    notes += [note for name, (low, high) in lengths.items() if (note := _length_note(name, low, high))]
    return _Capture(program, axes, list(dict.fromkeys(n for dims in axes for n in dims.values())), notes, lengths)


def _length_note(name: str, low: int, high: int | None) -> str:
    """The bounds torch found on a dynamic length: a positional encoding's table, a readout's position."""
    if high is not None:
        return f"sequences of '{name}' may be {low} to {high} long" if low > SMALLEST_DYNAMIC else \
            f"sequences of '{name}' may be at most {high} long"
    return f"sequences of '{name}' must be at least {low} long" if low > SMALLEST_DYNAMIC else ""


def _is_dynamic(dim: object) -> bool:
    return isinstance(dim, torch.export.Dim)


def _fixed_length_note(graph: Graph, module: fx.GraphModule, name: str, reason: str) -> str:
    length = graph.analyze().nodes[name].values["shape"][0]
    node = culprit(graph, module, batch=EXAMPLE_BATCH, length=_other_length(length))
    cause = f"node '{node}' needs that length" if node else reason or "the graph needs that length"
    return f"sequence length of '{name}' fixed at {length} ({cause})"


def _write(capture: _Capture, graph: Graph, path: Path, opset: int | None) -> None:
    """Translate the captured program. Naming the dynamic axes here gives them our names in the file
    (`batch`, `seq`) rather than torch's symbols (`s29`)."""
    reuse_onnx_registry()
    try:
        program = torch.onnx.export(capture.program, args=(), dynamo=True, dynamic_shapes=capture.axes,
                                    input_names=input_names(graph), output_names=output_names(graph),
                                    opset_version=opset, verbose=False)
        _rename_inner_values(program.model)
        program.save(str(path), external_data=False)
    except Exception as error:
        raise exporter_error(graph, error, capture.program.module(), capture.program) from None
    written = program.model.opset_imports.get("")
    if opset is not None and written != opset:  # the exporter keeps another opset when it cannot convert
        raise ExportError(f"the exporter could not convert '{graph.name}' to opset {opset} (it wrote {written})")


def _rename_inner_values(model: Any) -> None:
    """torch.onnx gives the graph's inputs and outputs our names without renaming an inner value that already
    has one (an output node named `relu` beside a relu layer's value `relu`): the file would define the name
    twice and fail onnx's checker. Rename such inner values (`relu_1`) instead."""
    boundary = [*model.graph.inputs, *model.graph.outputs]
    ours = {value.name for value in boundary}
    inner = [value for node in model.graph for value in node.outputs if not any(value is b for b in boundary)]
    taken = ours | {value.name for value in inner} | set(model.graph.initializers)
    for value in inner:
        if value.name in ours:
            index = 1
            while f"{value.name}_{index}" in taken:
                index += 1
            value.name = f"{value.name}_{index}"
            taken.add(value.name)


# --- verifying -----------------------------------------------------------------------------------------------

@dataclass
class _Check:
    parity: Parity
    length: int | None


def _verify(graph: Graph, module: fx.GraphModule, path: Path, length: int | None, tolerance: Tolerance
            ) -> _Check:
    """onnx's checker on the file, then onnxruntime against torch on a batch of another size (and of
    sequences of another `length`, when given)."""
    try:
        onnx.checker.check_model(str(path))
    except Exception as error:
        raise ExportError(f"the exported file of '{graph.name}' is not valid ONNX: {first_line(error)}") from None
    inputs = example_inputs(graph, batch=CHECK_BATCH, seed=1, length=length)
    try:
        with torch.no_grad():
            expected = module(*inputs.values())
    except Exception as error:  # the capture accepted a size the module refuses: a bound torch did not see
        if is_out_of_memory(error):
            raise
        raise ExportError(f"torch cannot run '{graph.name}' at batch {CHECK_BATCH}"
                          f"{f' and length {length}' if length else ''}: {first_line(error)}") from None
    expected = expected if isinstance(expected, tuple) else (expected,)
    actual = _run_onnx(graph, path, inputs)
    try:
        parity = compare(output_names(graph), [t.detach().numpy() for t in expected], actual, tolerance)
    except ParityError as error:
        raise ExportError(f"onnxruntime's {error}", node=error.output) from None
    return _Check(parity, length)


def _other_length(length: int) -> int:
    """Shorter when possible: a positional encoding supports any length up to the one drawn."""
    return length - 1 if length > 2 else length + 1


def _check_length(graph: Graph, lengths: dict[str, tuple[int, int | None]]) -> int | None:
    """A sequence length other than the drawn one, at most CHECK_TOKENS where it can be, that every token input
    accepts (example inputs give all of them one length); None when some length is fixed or no other length fits
    the bounds."""
    if not lengths or set(lengths) != set(token_inputs(graph)):
        return None
    drawn = graph.analyze().nodes[next(iter(lengths))].values["shape"][0]
    low = max(SMALLEST_DYNAMIC, *(least for least, _ in lengths.values()))
    high = min((most for _, most in lengths.values() if most is not None), default=None)
    candidates = (min(drawn - 1, CHECK_TOKENS), drawn + 1)
    return next((n for n in candidates if n >= low and (high is None or n <= high)), None)


def _run_onnx(graph: Graph, path: Path, inputs: dict[str, torch.Tensor]) -> list[np.ndarray]:
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # fatal only: a failure is reported once, as an ExportError
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})
    except Exception as error:
        path_in_module = onnx_node_module(str(error), path) or name_in_text(str(error), graph)
        node = path_in_module.split(".")[0] if path_in_module else None
        where = describe_node(node, path_in_module, " (at {})")
        raise ExportError(f"onnxruntime cannot run the exported '{graph.name}' at batch {CHECK_BATCH}"
                          f"{where}: {first_line(error)}", node=node) from None


# --- reading the file ----------------------------------------------------------------------------------------

def _opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _shapes(values: list[onnx.ValueInfoProto]) -> dict[str, Dims]:
    shapes: dict[str, Dims] = {}
    for value in values:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in dims]
    return shapes
