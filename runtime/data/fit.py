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


def check_labelled(spec: GraphSpec, dataset: str, inp: InputSpec, n_classes: int) -> tuple[str, str | None]:
    """Checks that every output can learn from (input, class label) samples: the task and a note to show."""
    task, notes = None, []
    for out in trained_outputs(spec, dataset):
        if is_reconstruction(out, inp):
            task = task or "reconstruction"
            continue
        if out.loss not in ("cross-entropy", "bce") or len(out.shape) != 1:
            raise DataMismatch(f"dataset '{dataset}' gives {n_classes} classes, but output '{out.name}' "
                               f"({out.loss}, {shape_text(out.shape)}) neither scores classes (C) nor "
                               f"reconstructs input '{inp.name}' {shape_text(inp.shape)}")
        notes.append(_class_note(dataset, out, n_classes))
        task = task or "classification"
    note = "; ".join(n for n in notes if n) or None
    return task or "classification", note


def _class_note(dataset: str, out: OutputSpec, n_classes: int) -> str | None:
    given = out.shape[-1]
    if given < n_classes:
        raise DataMismatch(f"dataset '{dataset}' has {n_classes} classes but output '{out.name}' gives "
                           f"{given} scores")
    if given > n_classes:  # labels still fit: the spare scores are simply never the answer
        return f"output '{out.name}' gives {given} scores for {n_classes} classes; the extra ones stay unused"
    return None


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
