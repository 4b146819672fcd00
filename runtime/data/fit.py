"""Checking data against a graph's inputs and outputs, and building the targets each output is trained on.

Every refusal is a DataMismatch naming the dataset, the node and both shapes, so the user knows what to change.
"""

from __future__ import annotations

import torch

from runtime.data.base import DataError, DataMismatch
from runtime.data.spec import GraphSpec, InputSpec, OutputSpec, _shape

VALUE_LOSSES = ("mse", "l1")


def shape_text(shape: tuple[int, ...]) -> str:
    return _shape(tuple(shape))


def trained_outputs(spec: GraphSpec, dataset: str) -> list[OutputSpec]:
    """The outputs that have a loss (those without one get no target)."""
    outputs = [o for o in spec.outputs if o.loss != "none"]
    if not outputs:
        raise DataMismatch(f"dataset '{dataset}': the graph has no output with a loss to train")
    return outputs


def one_float_input(spec: GraphSpec, dataset: str) -> InputSpec:
    """The single float input that image and tabular data feed."""
    if len(spec.inputs) != 1:
        raise DataMismatch(f"dataset '{dataset}' feeds one input, but the graph has {len(spec.inputs)} "
                           f"({spec.describe_inputs()}); use an .npz file with one array per input")
    (inp,) = spec.inputs
    if inp.dtype != "float":
        raise DataMismatch(f"dataset '{dataset}' gives float values but input '{inp.name}' "
                           f"{shape_text(inp.shape)} takes int token ids")
    return inp


def is_reconstruction(out: OutputSpec, inp: InputSpec) -> bool:
    return out.loss in VALUE_LOSSES and tuple(out.shape) == tuple(inp.shape) and inp.dtype == "float"


def check_labelled(spec: GraphSpec, dataset: str, inp: InputSpec, n_classes: int) -> tuple[str, list[str]]:
    """Checks that every output can learn from (input, class label) samples: the task and the warnings to show."""
    task, warnings = None, []
    for out in trained_outputs(spec, dataset):
        if is_reconstruction(out, inp):
            task = task or "reconstruction"
            continue
        if out.loss not in ("cross-entropy", "bce") or len(out.shape) != 1:
            raise DataMismatch(f"dataset '{dataset}' gives {n_classes} classes, but output '{out.name}' "
                               f"({out.loss}, {shape_text(out.shape)}) neither scores them (cross-entropy or bce "
                               f"with shape {n_classes}) nor reconstructs input '{inp.name}' (mse or l1 with "
                               f"shape {shape_text(inp.shape)})")
        if out.shape[-1] < n_classes:
            raise DataMismatch(f"dataset '{dataset}' has {n_classes} classes but output '{out.name}' gives "
                               f"{out.shape[-1]} scores")
        warnings += spare_scores(f"dataset '{dataset}'", out, n_classes)
        task = task or "classification"
    return task or "classification", warnings


def spare_scores(source: str, out: OutputSpec, n_classes: int) -> list[str]:
    """A warning when an output scores more classes than the data has (allowed: the spare ones are never the
    answer, but the user probably meant the output to match)."""
    spare = out.shape[-1] - n_classes
    if spare <= 0:
        return []
    return [f"output '{out.name}' scores {out.shape[-1]} classes but {source} has {n_classes}: the {spare} extra "
            f"score{'s are' if spare > 1 else ' is'} never the answer"]


def class_warnings(source: str, out: OutputSpec, labels: torch.Tensor, names: list[str] | None = None) -> list[str]:
    """Warnings for class labels that cannot teach the whole output: one class only (a model learns to give
    that answer whatever the input), more scores than named classes, classes without a single sample."""
    known = len(names) if names is not None else out.shape[-1]
    counts = torch.bincount(labels.reshape(-1), minlength=known)[:known].tolist()
    shown = [repr(name) for name in names] if names is not None else [str(i) for i in range(known)]
    present = [i for i, n in enumerate(counts) if n]
    if len(present) == 1:
        return [f"every label in {source} is class {shown[present[0]]}: output '{out.name}' scores "
                f"{out.shape[-1]} classes, and a model trained on one class learns to give that answer whatever "
                f"the input"]
    warnings = spare_scores(source, out, known) if names is not None else []
    absent = [shown[i] for i, n in enumerate(counts) if not n]
    if absent:
        listed = ", ".join(absent[:10]) + (", ..." if len(absent) > 10 else "")
        warnings.append(f"{source} has no sample of class{'es' * (len(absent) > 1)} {listed} (of the "
                        f"{out.shape[-1]} classes of output '{out.name}'): the model never learns to give "
                        f"{_those(len(absent))}")
    return warnings


def _those(count: int) -> str:
    return "those answers" if count > 1 else "that answer"


def labelled_targets(spec: GraphSpec, inp: InputSpec, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Targets by output name for a batch of inputs `x` (already in the input's shape) and class ids."""
    targets = {}
    for out in spec.outputs:
        if out.loss == "none":
            continue
        if is_reconstruction(out, inp):
            targets[out.name] = x  # the engine adds noise to the input if denoising is asked
        elif out.loss == "bce":
            targets[out.name] = torch.nn.functional.one_hot(labels, out.shape[-1]).float()
        else:
            targets[out.name] = labels
    return targets


def value_task(spec: GraphSpec) -> str:
    """The task of a graph fed from arrays: what its first trained output asks."""
    outs = [o for o in spec.outputs if o.loss != "none"]
    if not outs:
        raise DataError("the graph has no output with a loss to train")
    out = outs[0]
    ints = [i for i in spec.inputs if i.dtype == "int"]
    if out.loss == "cross-entropy":
        if len(out.shape) >= 2 and ints:
            return "seq2seq" if len(ints) >= 2 else "next-token"
        return "sequence-classification" if ints else "classification"
    if out.loss == "bce":
        return "classification"
    if any(is_reconstruction(out, i) for i in spec.inputs):
        return "reconstruction"
    return "regression"
