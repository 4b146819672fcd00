"""A user's arrays: an .npz with one array per input and output node, or an .npy of inputs to reconstruct.

Files are read with allow_pickle=False: a data file must never execute code, so object arrays are refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from runtime.data.base import DataError, DataMismatch, Dataset
from runtime.data.fit import is_reconstruction, shape_text, trained_outputs, value_task
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec, InputSpec, OutputSpec
from runtime.data.splits import fixed_split, take

READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # an .npy saved under an .npz name
            raise DataError(f"'{path}' is not an .npz archive (np.savez writes one)")
        with archive:
            return {name: archive[name] for name in archive.files}
    except READ_ERRORS as exc:
        raise DataError(f"cannot read '{path}' (arrays of numbers only, no pickled objects): {exc}") from None


def load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except READ_ERRORS as exc:
        raise DataError(f"cannot read '{path}' (an array of numbers only, no pickled objects): {exc}") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"'{path}' holds no single array")
    return array


def _pick(path: Path, arrays: dict[str, np.ndarray], node: str, aliases: tuple[str, ...]) -> np.ndarray | None:
    for name in (node, *aliases):
        if name in arrays:
            return arrays[name]
    return None


def _as_input(path: Path, array: np.ndarray, inp: InputSpec) -> torch.Tensor:
    if tuple(array.shape[1:]) != tuple(inp.shape):
        raise DataMismatch(f"'{path.name}' gives input '{inp.name}' samples of shape {shape_text(array.shape[1:])} "
                           f"but the input expects {shape_text(inp.shape)} (array shape (N, *input shape))")
    if inp.dtype == "float":
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    ids = _integers(path, array, f"input '{inp.name}'")
    if inp.vocab is not None and ids.numel() and (ids.min() < 0 or ids.max() >= inp.vocab):
        raise DataMismatch(f"'{path.name}' gives token ids {int(ids.min())}..{int(ids.max())} but input "
                           f"'{inp.name}' takes 0..{inp.vocab - 1}")
    return ids


def _integers(path: Path, array: np.ndarray, what: str) -> torch.Tensor:
    if not np.issubdtype(array.dtype, np.number) or (
            not np.issubdtype(array.dtype, np.integer) and not np.all(np.mod(array, 1) == 0)):
        raise DataMismatch(f"'{path.name}' gives {array.dtype} values for {what}, which takes integer ids")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.int64))


def _as_target(path: Path, array: np.ndarray, out: OutputSpec) -> torch.Tensor:
    want = out.target_shape
    if tuple(array.shape[1:]) != tuple(want):
        raise DataMismatch(f"'{path.name}' gives output '{out.name}' targets of shape {shape_text(array.shape[1:])} "
                           f"but {out.loss} on {shape_text(out.shape)} needs {shape_text(want)}")
    if out.loss != "cross-entropy":
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    labels = _integers(path, array, f"output '{out.name}'")
    if labels.numel() and (labels.min() < 0 or labels.max() >= out.shape[-1]):
        raise DataMismatch(f"'{path.name}' has class ids {int(labels.min())}..{int(labels.max())} but output "
                           f"'{out.name}' gives {out.shape[-1]} scores")
    return labels


def _targets(path: Path, arrays: dict[str, np.ndarray], spec: GraphSpec,
             inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    outputs = trained_outputs(spec, path.name)
    taken = {i.name for i in spec.inputs}
    aliases = tuple(a for a in ("y", "Y") if a not in taken) if len(outputs) == 1 else ()
    targets = {}
    for out in outputs:
        array = _pick(path, arrays, out.name, aliases)
        if array is not None:
            targets[out.name] = _as_target(path, array, out)
            continue
        source = next((i for i in spec.inputs if is_reconstruction(out, i)), None)
        if source is None:
            names = ", ".join(arrays) or "none"
            raise DataMismatch(f"'{path.name}' has no array '{out.name}'{' (or y)' if aliases else ''} for output "
                               f"'{out.name}' ({out.loss}, {shape_text(out.shape)}); its arrays: {names}")
        targets[out.name] = inputs[source.name]  # reconstruction: the clean input is the target
    return targets


def build_arrays(path: Path, spec: GraphSpec, arrays: dict[str, np.ndarray], options: DataOptions) -> Dataset:
    if not spec.inputs:
        raise DataMismatch(f"'{path.name}': the graph has no input")
    taken = {o.name for o in spec.outputs}
    aliases = tuple(a for a in ("x", "X") if a not in taken) if len(spec.inputs) == 1 else ()
    inputs = {}
    for inp in spec.inputs:
        array = _pick(path, arrays, inp.name, aliases)
        if array is None:
            raise DataMismatch(f"'{path.name}' has no array '{inp.name}' for input '{inp.name}' "
                               f"{shape_text(inp.shape)}; its arrays: {', '.join(arrays) or 'none'}")
        inputs[inp.name] = _as_input(path, array, inp)
    targets = _targets(path, arrays, spec, inputs)
    counts = {len(t) for t in (*inputs.values(), *targets.values())}
    if len(counts) != 1:
        raise DataMismatch(f"'{path.name}' arrays disagree on the number of samples: {sorted(counts)}")
    train, val = fixed_split(counts.pop(), options, f"'{path.name}'")
    scored = [o for o in spec.outputs if o.loss == "cross-entropy" and len(o.shape) == 1]
    classes = [str(c) for c in range(scored[0].shape[0])] if scored else None
    description = f"{len(train) + len(val):,} samples from {path.name}"
    return Dataset(path.name, description, value_task(spec), take(inputs, targets, train),
                   take(inputs, targets, val), classes=classes,
                   info={"source": str(path), "train": len(train), "val": len(val)})


def build_npz(path: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    return build_arrays(path, spec, load_npz(path), options)


def build_npy(path: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """Inputs only: enough for a graph whose every output reconstructs its single input."""
    outputs = trained_outputs(spec, path.name)
    if len(spec.inputs) != 1 or not all(is_reconstruction(o, spec.inputs[0]) for o in outputs):
        out = outputs[0]
        raise DataMismatch(f"'{path.name}' holds inputs only, enough to train reconstruction (mse/l1 outputs "
                           f"shaped like the input), but output '{out.name}' is {out.loss} "
                           f"{shape_text(out.shape)}; save an .npz with the inputs and the labels (x=..., y=...)")
    return build_arrays(path, spec, {spec.inputs[0].name: load_npy(path)}, options)
