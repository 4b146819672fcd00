"""A user's arrays: an .npz with one array per input and output node, or an .npy of inputs to reconstruct.

Each node's array is found by the node's name (X, Y), by x / y when the graph has one input / one trained output,
or by the name given in the options: `features` names the input's array, `label` the output's (the command line's
--features and --label, as for a CSV's columns). Files are read with allow_pickle=False: a data file must never
execute code, so object arrays are refused; and an array is read only when a node needs it, so an unused one
(class names, a pickled note) never stops a run.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from pathlib import Path

import numpy as np
import torch

from runtime.data.base import DataError, DataMismatch, Dataset
from runtime.data.fit import class_warnings, is_reconstruction, shape_text, trained_outputs, value_task
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec, InputSpec, OutputSpec
from runtime.data.splits import fixed_split, take
from runtime.data.values import TEXT_KINDS, class_ids, class_names, floats, numbers, rows, token_ids

# What numpy and zipfile raise for a damaged or foreign file (a bad header, a cut archive, corrupt deflate data).
READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError)
PICKLED = "Layerbook never loads pickled Python objects, because loading them can run code: save arrays of " \
          "numbers (np.savez(path, x=..., y=...))"

Where = Callable[[str], str]  # array name → how a message names it: "'y' in data.npz"


def _read_error(what: str, exc: Exception) -> str:
    if "allow_pickle" in str(exc):  # numpy's refusal of an object array or of a pickle
        return f"{what} holds Python objects: {PICKLED}"
    return f"cannot read {what}: {exc}"


def _open(path: Path) -> np.ndarray | np.lib.npyio.NpzFile:
    try:
        if path.stat().st_size == 0:
            raise DataError(f"'{path}' is empty (0 bytes)")
        return np.load(path, allow_pickle=False)
    except READ_ERRORS as exc:
        if "pickled" in str(exc):  # neither a zip nor an .npy: numpy would have unpickled it
            raise DataError(f"'{path}' is neither an .npz archive nor an .npy array (np.savez and np.save write "
                            f"them); {PICKLED}") from None
        raise DataError(_read_error(f"'{path}'", exc)) from None


class NpzArrays(Mapping[str, np.ndarray]):
    """The arrays of an .npz file by name, each read when first asked for, with errors naming the array."""

    def __init__(self, path: Path) -> None:
        archive = _open(path)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"'{path}' is not an .npz archive but a single array (np.savez writes an .npz, np.save "
                            f"an .npy)")
        self.path, self._archive = path, archive
        self._read: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._read:
            try:
                self._read[name] = self._archive[name]
            except READ_ERRORS as exc:
                raise DataError(_read_error(f"array '{name}' of '{self.path}'", exc)) from None
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._archive.files)

    def __len__(self) -> int:
        return len(self._archive.files)

    def close(self) -> None:
        self._archive.close()


def load_npy(path: Path) -> np.ndarray:
    array = _open(path)
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"'{path}' is an .npz archive, not a single array: name it .npz")
    return array


def _check_shape(where: str, array: np.ndarray, want: tuple[int, ...], node: str, need: str) -> None:
    if tuple(array.shape[1:]) != tuple(want):
        whole = ", ".join(map(str, (len(array), *want)))
        raise DataMismatch(f"{where} gives samples of shape {shape_text(array.shape[1:])}, but {node} needs "
                           f"{need}: save it as an array of shape ({whole}{',' * (not want)}), one row per sample")


def _as_input(where: str, array: np.ndarray, inp: InputSpec) -> torch.Tensor:
    """The input's samples; grey images saved without their channel axis (N, H, W) are taken as (N, 1, H, W)."""
    values = numbers(array, where)
    image = len(inp.shape) == 3
    if image and inp.shape[0] == 1 and values.shape[1:] == inp.shape[1:]:
        values = values[:, None]
    need = shape_text(inp.shape)
    if image and values.shape[1:] == (*inp.shape[1:], inp.shape[0]):
        need += " (channels first; these look channels-last: save x.transpose(0, 3, 1, 2))"
    _check_shape(where, values, inp.shape, f"input '{inp.name}'", need)
    return floats(values, where) if inp.dtype == "float" else token_ids(values, where, inp)


def _as_target(where: str, array: np.ndarray, out: OutputSpec) -> tuple[torch.Tensor, list[str] | None]:
    """The targets of `out` and, for class labels given as text, the class names. Class labels may come as a
    column (N, 1), as Keras and scikit-learn users often save them."""
    labels = out.loss == "cross-entropy" and len(out.shape) == 1
    if labels and rows(array, where).shape[1:] == (1,):
        array = array.reshape(len(array))
    by_name = labels and array.dtype.kind in TEXT_KINDS
    need = f"targets of shape {shape_text(out.target_shape)}"
    if labels:
        one_hot = " (for one-hot rows, save y.argmax(axis=1))" if array.shape[1:] == out.shape else ""
        need = f"one class id per sample{one_hot}"
    _check_shape(where, array if by_name else numbers(array, where), out.target_shape,
                 f"output '{out.name}' ({out.loss}, {shape_text(out.shape)})", need)
    if by_name:
        return class_names(array, where, out)
    if out.loss != "cross-entropy":
        return floats(array, where), None
    return class_ids(array, where, out), None


def _chosen(path: Path, arrays: Mapping[str, np.ndarray], names: list[str] | None, option: str,
            nodes: tuple[InputSpec, ...] | list[OutputSpec], kind: str) -> str | None:
    """The array that the `features` (input) or `label` (output) option names, if it names one."""
    if names is None:
        return None
    if len(nodes) != 1:
        raise DataError(f"{option} names the array of the graph's one {kind}, but it has {len(nodes)} "
                        f"({', '.join(n.name for n in nodes)}): name the arrays of '{path.name}' after them instead")
    if len(names) != 1:
        raise DataError(f"{option} names one array of '{path.name}' (the {kind}'s), not {len(names)}: "
                        f"{', '.join(names)}")
    if names[0] not in arrays:
        raise DataError(f"'{path.name}' has no array '{names[0]}' ({option}); its arrays: "
                        f"{', '.join(arrays) or 'none'}")
    return names[0]


def _listed(arrays: Mapping[str, np.ndarray]) -> str:
    if not arrays:
        return "none"
    return f"{', '.join(arrays)} (--features and --label choose the input's and the output's arrays by name)"


def _find(arrays: Mapping[str, np.ndarray], node: str, aliases: tuple[str, ...]) -> str | None:
    return next((name for name in (node, *aliases) if name in arrays), None)


def _inputs(path: Path, spec: GraphSpec, arrays: Mapping[str, np.ndarray], options: DataOptions,
            where: Where) -> dict[str, torch.Tensor]:
    chosen = _chosen(path, arrays, options.features, "--features", spec.inputs, "input")
    taken = {o.name for o in spec.outputs}
    aliases = tuple(a for a in ("x", "X") if a not in taken) if len(spec.inputs) == 1 else ()
    inputs = {}
    for inp in spec.inputs:
        name = chosen or _find(arrays, inp.name, aliases)
        if name is None:
            raise DataMismatch(f"'{path.name}' has no array '{inp.name}'{' (or x)' if aliases else ''} for input "
                               f"'{inp.name}' of shape {shape_text(inp.shape)}; its arrays: {_listed(arrays)}")
        inputs[inp.name] = _as_input(where(name), arrays[name], inp)
    return inputs


def _targets(path: Path, spec: GraphSpec, arrays: Mapping[str, np.ndarray], options: DataOptions, where: Where,
             inputs: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str] | None, list[str]]:
    """The targets by output name, the class names (labels given as text) and the warnings about the labels."""
    outputs = trained_outputs(spec, path.name)
    chosen = _chosen(path, arrays, None if options.label is None else [options.label], "--label", outputs,
                     "trained output")
    taken = {i.name for i in spec.inputs}
    aliases = tuple(a for a in ("y", "Y") if a not in taken) if len(outputs) == 1 else ()
    targets, names, warnings = {}, None, []
    for out in outputs:
        name = chosen or _find(arrays, out.name, aliases)
        if name is not None:
            targets[out.name], named = _as_target(where(name), arrays[name], out)
            names = names or named
            if out.loss == "cross-entropy" and len(out.shape) == 1:
                warnings += class_warnings(f"{path.name} (array '{name}')", out, targets[out.name], named)
            continue
        source = next((i for i in spec.inputs if is_reconstruction(out, i)), None)
        if source is None:
            raise DataMismatch(f"'{path.name}' has no array '{out.name}'{' (or y)' if aliases else ''} for output "
                               f"'{out.name}' ({out.loss}, {shape_text(out.shape)}); its arrays: {_listed(arrays)}")
        targets[out.name] = inputs[source.name]  # reconstruction: the clean input is the target
    return targets, names, warnings


def build_arrays(path: Path, spec: GraphSpec, arrays: Mapping[str, np.ndarray], options: DataOptions,
                 where: Where | None = None) -> Dataset:
    if not spec.inputs:
        raise DataMismatch(f"'{path.name}': the graph has no input")
    where = where or (lambda name: f"'{name}' in {path.name}")
    inputs = _inputs(path, spec, arrays, options, where)
    targets, names, warnings = _targets(path, spec, arrays, options, where, inputs)
    counts = {len(t) for t in (*inputs.values(), *targets.values())}
    if len(counts) != 1:
        raise DataMismatch(f"'{path.name}' arrays disagree on the number of samples: {sorted(counts)}")
    train, val = fixed_split(counts.pop(), options, f"'{path.name}'")
    scored = [o for o in spec.outputs if o.loss == "cross-entropy" and len(o.shape) == 1]
    classes = names or ([str(c) for c in range(scored[0].shape[0])] if scored else None)
    description = f"{len(train) + len(val):,} samples from {path.name}"
    return Dataset(path.name, description, value_task(spec), take(inputs, targets, train),
                   take(inputs, targets, val), classes=classes,
                   info={"source": str(path), "train": len(train), "val": len(val)}, warnings=warnings)


def build_npz(path: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    with closing(NpzArrays(path)) as arrays:
        return build_arrays(path, spec, arrays, options)


def build_npy(path: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """Inputs only: enough for a graph whose every output reconstructs its single input."""
    outputs = trained_outputs(spec, path.name)
    if len(spec.inputs) != 1 or not all(is_reconstruction(o, spec.inputs[0]) for o in outputs):
        out = outputs[0]
        raise DataMismatch(f"'{path.name}' holds inputs only, enough to train reconstruction (mse/l1 outputs "
                           f"shaped like the input), but output '{out.name}' is {out.loss} "
                           f"{shape_text(out.shape)}; save an .npz with the inputs and the labels (x=..., y=...)")
    return build_arrays(path, spec, {spec.inputs[0].name: load_npy(path)}, options, lambda _: f"'{path.name}'")
