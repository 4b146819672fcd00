"""A user's CSV file: a header row, numeric feature columns and one label column.

Class labels are the label column's values: whole numbers below the output's class count are the class ids
themselves (a model exported afterwards answers 7 for "7"); any other labels (names such as cat / dog, or numbers
such as 1, 2, 3 or -1, 1) are class names, numbered in sorted order (numerically when all are numbers).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import torch

from runtime.data.base import DataError, DataMismatch, Dataset
from runtime.data.fit import VALUE_LOSSES, class_warnings, one_float_input, shape_text, trained_outputs
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec, OutputSpec
from runtime.data.splits import fixed_split, take
from runtime.data.text import read_text
from runtime.data.values import class_ids

FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows. Cells are separated by commas, or by semicolons or tabs when the header has
    no comma (as spreadsheets set to a decimal comma write them)."""
    text = read_text(path)  # UTF-8 with or without a byte-order mark, UTF-16 with one; binary refused
    first = text.partition("\n")[0]
    delimiter = next((d for d in ",;\t" if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        rows = [row for row in reader if row]
    except csv.Error as exc:  # a quote left open, text after a closing quote
        raise DataError(f"cannot read '{path}' as CSV (line {reader.line_num}): {exc}") from None
    if len(rows) < 2:
        raise DataError(f"'{path}' needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if all(_number(h) is not None for h in header):
        raise DataError(f"'{path}' starts with a row of numbers ({', '.join(header[:4])}{', ...' * (len(header) > 4)})"
                        f" where the column names belong: add a header row (e.g. x1,x2,label)")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"'{path}' row {number} has {len(row)} cells but the header has {len(header)}")
    if header[-1] == "" and all(not row[-1].strip() for row in rows[1:]):  # a comma ending every line
        return header[:-1], [row[:-1] for row in rows[1:]]
    return header, rows[1:]


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _columns(path: Path, header: list[str], options: DataOptions) -> tuple[list[int], int]:
    def find(name: str, option: str) -> int:
        if name not in header:
            raise DataError(f"'{path}' has no column '{name}' ({option}); its columns: {', '.join(header)}")
        if header.count(name) > 1:
            raise DataError(f"'{path}' has {header.count(name)} columns named '{name}' ({option}): rename them")
        return header.index(name)

    label = find(options.label, "--label") if options.label is not None else len(header) - 1
    if options.features is None:
        return [i for i in range(len(header)) if i != label], label
    features = [find(f, "--features") for f in options.features]
    if label in features:
        raise DataError(f"column '{header[label]}' of '{path}' is the label, so it cannot be a feature too: leave "
                        f"it out of --features")
    if len(set(features)) < len(features):
        raise DataError(f"--features names a column of '{path}' twice: {','.join(options.features)}")
    return features, label


def _numbers(path: Path, rows: list[list[str]], columns: list[int], header: list[str],
             features: list[int]) -> np.ndarray:
    """The cells of `columns` as float32, each a finite number within float32's range; else the first cell that
    is not, named by row and column."""
    values = np.empty((len(rows), len(columns)), dtype=np.float64)
    try:
        for r, row in enumerate(rows):
            for c, col in enumerate(columns):
                values[r, c] = float(row[col])
        if np.isfinite(values).all() and not (np.abs(values) > FLOAT32_MAX).any():
            return values.astype(np.float32)
    except ValueError:  # a cell that is not a number: found below
        pass
    r, col = next((r, col) for r, row in enumerate(rows) for col in columns if not _usable(row[col]))
    raise DataError(f"'{path}' row {r + 2}, column '{header[col]}': {_why(rows[r][col], col, header, features)}")


def _usable(cell: str) -> bool:
    value = _number(cell)
    return value is not None and math.isfinite(value) and abs(value) <= FLOAT32_MAX


def _why(cell: str, column: int, header: list[str], features: list[int]) -> str:
    """Why a cell is not a number a network can take, and what to do."""
    if not cell.strip():
        return "the cell is empty: fill in the missing value or remove the row"
    if _number(cell) is not None:
        return f"'{cell}' is not a finite number (NaN, infinite or beyond ±3.4e38): repair or remove the row"
    if column not in features:
        return f"'{cell}' is not a number (values to predict are numbers; for classes, use a cross-entropy output)"
    others = [header[i] for i in features if i != column]
    leave = f"; to leave this column out, pass --features {','.join(others)}" if others else ""
    return f"'{cell}' is not a number (features are numbers{leave})"


def _class_ids(path: Path, cells: list[str], out: OutputSpec, column: str
               ) -> tuple[torch.Tensor, list[str] | None, list[str]]:
    """Class ids for the label cells, the class names (None when the labels are the ids themselves) and a
    warning when numbers are taken as names (see the module's docstring)."""
    where = f"column '{column}' of {path.name}"
    if "" in cells:
        raise DataError(f"'{path}' row {cells.index('') + 2}, column '{column}': the label is empty: fill it in or "
                        f"remove the row")
    parsed = [_number(c) for c in cells]
    numeric = all(n is not None for n in parsed)
    if numeric:
        values = np.array(parsed, dtype=np.float64)
        if not np.isfinite(values).all():
            bad = cells[int(np.argmax(~np.isfinite(values)))]
            raise DataError(f"{where} holds '{bad}', which is not a finite number: repair or remove that row")
        if (values == np.round(values)).all() and values.min() >= 0 and values.max() < out.shape[-1]:
            return class_ids(values, where, out), None, []
    names = sorted(set(cells), key=float if numeric else None)
    if len(names) > out.shape[-1]:
        raise DataMismatch(f"{where} has {len(names)} distinct labels but output '{out.name}' scores "
                           f"{out.shape[-1]} classes: give the output {len(names)} classes, or for values to "
                           f"predict use an mse or l1 output of shape 1")
    index = {name: i for i, name in enumerate(names)}
    pairs = ", ".join(f"{name} → {i}" for i, name in enumerate(names[:4])) + (", ..." if len(names) > 4 else "")
    renamed = [f"the labels in {where} are numbers but not the class ids 0..{out.shape[-1] - 1} of output "
               f"'{out.name}': they are taken as class names in increasing order (label → class id: {pairs})"] \
        if numeric else []
    return torch.tensor([index[c] for c in cells], dtype=torch.int64), names, renamed


def _unnamed(header: list[str], features: list[int]) -> str:
    """What to say of feature columns without a name: most often the row index pandas saves by default."""
    unnamed = [i for i in features if not header[i]]
    if not unnamed:
        return ""
    named = ",".join(header[i] for i in features if header[i])
    return f"column {', '.join(str(i + 1) for i in unnamed)} has no name (a saved row index?) and is taken as a " \
           f"feature: leave it out with --features {named}"


def _targets(path: Path, rows: list[list[str]], header: list[str], label: int,
             out: OutputSpec) -> tuple[torch.Tensor, list[str] | None, list[str], str]:
    """The label column as class ids or values, the class names, the warnings about the labels, and the task."""
    if out.loss == "cross-entropy" and len(out.shape) == 1:
        y, names, warnings = _class_ids(path, [row[label].strip() for row in rows], out, header[label])
        warnings += class_warnings(f"{path.name} (column '{header[label]}')", out, y, names)
        return y, names or [str(c) for c in range(out.shape[-1])], warnings, "classification"
    if out.loss in VALUE_LOSSES and int(np.prod(out.shape)) == 1:
        y = torch.from_numpy(_numbers(path, rows, [label], header, [])).reshape(len(rows), *out.shape)
        return y, None, [], "regression"
    raise DataMismatch(f"'{path.name}' gives one label per row (column '{header[label]}') but output '{out.name}' "
                       f"is {out.loss} with shape {shape_text(out.shape)}; use a cross-entropy output with one "
                       f"score per class, or an mse or l1 output of shape 1 for a value")


def build_csv(path: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """A CSV file split 80/20 (fixed permutation); `seed` plays no part."""
    name = path.name
    inp = one_float_input(spec, name)
    header, rows = read_rows(path)
    features, label = _columns(path, header, options)
    unnamed = _unnamed(header, features)
    if tuple(inp.shape) != (len(features),):
        raise DataMismatch(f"'{name}' gives {len(features)} features but input '{inp.name}' expects "
                           f"{shape_text(inp.shape)}{'; ' + unnamed if unnamed else ''}")
    x = torch.from_numpy(_numbers(path, rows, features, header, features))
    out = trained_outputs(spec, name)[0]
    y, classes, warnings, task = _targets(path, rows, header, label, out)
    warnings += [f"{name}: {unnamed}"] if unnamed else []
    train, val = fixed_split(len(x), options, f"'{name}'")
    info: dict[str, object] = {"source": str(path), "features": [header[i] for i in features],
                               "label": header[label], "train": len(train), "val": len(val)}
    description = f"{len(x):,} rows of {len(features)} features from {name}"
    return Dataset(name, description, task, take({inp.name: x}, {out.name: y}, train),
                   take({inp.name: x}, {out.name: y}, val), classes=classes, info=info, warnings=warnings)
