"""A user's CSV file: a header row, numeric feature columns and one label column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from runtime.data.base import DataError, DataMismatch, Dataset
from runtime.data.fit import VALUE_LOSSES, one_float_input, shape_text, trained_outputs
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec, OutputSpec
from runtime.data.splits import fixed_split, take


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: spreadsheets often write a BOM
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read '{path}': {exc}") from exc
    if len(rows) < 2:
        raise DataError(f"'{path}' needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"'{path}' row {number} has {len(row)} cells but the header has {len(header)}")
    return header, rows[1:]


def _columns(path: Path, header: list[str], options: DataOptions) -> tuple[list[int], int]:
    def find(name: str) -> int:
        if name not in header:
            raise DataError(f"'{path}' has no column '{name}' (columns: {', '.join(header)})")
        return header.index(name)

    label = find(options.label) if options.label is not None else len(header) - 1
    if options.features is not None:
        return [find(f) for f in options.features], label
    return [i for i in range(len(header)) if i != label], label


def _numbers(path: Path, rows: list[list[str]], columns: list[int], header: list[str]) -> np.ndarray:
    values = np.empty((len(rows), len(columns)), dtype=np.float32)
    for r, row in enumerate(rows):
        for c, col in enumerate(columns):
            try:
                values[r, c] = float(row[col])
            except ValueError:
                raise DataError(f"'{path}' row {r + 2}, column '{header[col]}': '{row[col]}' is not a number") \
                    from None
    return values


def _class_ids(path: Path, cells: list[str], out: OutputSpec) -> tuple[torch.Tensor, list[str]]:
    """Class ids for the label cells: their sorted distinct values (numerically if all are numbers)."""
    distinct = set(cells)
    try:
        names = sorted(distinct, key=float)
    except ValueError:
        names = sorted(distinct)
    if len(names) > out.shape[-1]:
        raise DataMismatch(f"'{path.name}' has {len(names)} classes but output '{out.name}' gives "
                           f"{out.shape[-1]} scores")
    index = {name: i for i, name in enumerate(names)}
    return torch.tensor([index[c] for c in cells], dtype=torch.int64), names


def build_csv(path: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """A CSV file split 80/20 (fixed permutation); `seed` plays no part."""
    name = path.name
    inp = one_float_input(spec, name)
    header, rows = read_rows(path)
    features, label = _columns(path, header, options)
    if tuple(inp.shape) != (len(features),):
        raise DataMismatch(f"'{name}' gives {len(features)} features but input '{inp.name}' expects "
                           f"{shape_text(inp.shape)}")
    x = torch.from_numpy(_numbers(path, rows, features, header))
    out = trained_outputs(spec, name)[0]
    cells = [row[label].strip() for row in rows]
    classes = None
    if out.loss == "cross-entropy" and len(out.shape) == 1:
        y, classes = _class_ids(path, cells, out)
        task = "classification"
    elif out.loss in VALUE_LOSSES and int(np.prod(out.shape)) == 1:
        y = torch.from_numpy(_numbers(path, rows, [label], header)).reshape(len(rows), *out.shape)
        task = "regression"
    else:
        raise DataMismatch(f"'{name}' gives one label per row (column '{header[label]}') but output '{out.name}' "
                           f"is {out.loss} with shape {shape_text(out.shape)}; use cross-entropy (C) for classes "
                           f"or mse/l1 (1) for a value")
    train, val = fixed_split(len(x), options, f"'{name}'")
    info: dict[str, object] = {"source": str(path), "features": [header[i] for i in features],
                               "label": header[label], "train": len(train), "val": len(val)}
    if classes is not None and len(classes) < out.shape[-1]:  # allowed: the spare scores are never the answer
        info["note"] = f"output '{out.name}' gives {out.shape[-1]} scores for {len(classes)} classes"
    description = f"{len(x):,} rows of {len(features)} features from {name}"
    return Dataset(name, description, task, take({inp.name: x}, {out.name: y}, train),
                   take({inp.name: x}, {out.name: y}, val), classes=classes, info=info)
