"""The values of a user's file, checked before they become tensors: numbers of a usable kind, finite in float32,
whole ids within the range the graph takes. Each refusal names where the values are (`where`: "'labels' in
data.npz", "column 'kind' of pets.csv") and what was found there, so the user knows what to change.
"""

from __future__ import annotations

import numpy as np
import torch

from runtime.data.base import DataError, DataMismatch
from runtime.data.spec import InputSpec, OutputSpec

NUMBER_KINDS = "biuf"  # bool, signed and unsigned integers, floats
TEXT_KINDS = "US"  # str and bytes
SHOWN = 3  # distinct values quoted in a message
LIKELY_IDS = 1_000_000  # ids beyond this are not class or token ids gone slightly wrong: no advice to grow to them


def rows(array: np.ndarray, where: str) -> np.ndarray:
    """`array` if it has a first axis to count samples along (a 0-d array is one value)."""
    if array.ndim == 0:
        raise DataError(f"{where} is a single value ({_quoted(array.reshape(1))}), not one row per sample: save an "
                        f"array whose first axis counts the samples")
    return array


def numbers(array: np.ndarray, where: str) -> np.ndarray:
    """`array` if it holds numbers (bools count as 0 and 1); a DataError saying what it holds otherwise."""
    if rows(array, where).dtype.kind in NUMBER_KINDS:
        return array
    raise DataError(f"{where} holds {found(array)}; Layerbook needs numbers: {_advice(array)}")


def found(array: np.ndarray) -> str:
    """What an array that is not numbers holds, in words, with a few of its values."""
    kind = array.dtype.kind
    if array.dtype.names:
        return f"records with fields {', '.join(array.dtype.names)}"
    words = {"U": "text", "S": "bytes", "c": "complex numbers", "M": "datetime64 dates",
             "m": "timedelta64 time spans", "O": "Python objects"}.get(kind, f"values of type {array.dtype}")
    return f"{words} ({_quoted(array)})" if array.size else words


def _advice(array: np.ndarray) -> str:
    kind = array.dtype.kind
    if array.dtype.names:
        return "save each field as an array of its own, or stack them into one (np.stack([a[f] for f in " \
               "a.dtype.names], axis=-1))"
    if kind == "c":
        return "save the real and imaginary parts as separate features (np.real, np.imag) or the magnitude " \
               "(np.abs), rather than lose the imaginary part"
    if kind in "Mm":
        return "convert them to numbers first (e.g. seconds: a.astype('datetime64[s]').astype('int64'))"
    if kind in TEXT_KINDS:
        return "convert the text to numbers first (only class labels may be names)"
    return "save an array of ints or floats"


def _quoted(array: np.ndarray) -> str:
    """The first few distinct values, quoted as Python would write them: 'cat', 'dog', ..."""
    flat = array.reshape(-1)
    shown: list[str] = []
    for value in flat[:1000]:  # enough to find a few distinct ones without sorting a large array
        text = _shown(value)
        if text not in shown:
            shown.append(text)
        if len(shown) == SHOWN:
            break
    more = ", ..." if flat.size > len(shown) else ""
    return ", ".join(shown) + more


def _shown(value: np.generic) -> str:
    if value.dtype.kind in "cf":
        return f"{value.item():.4g}"
    if value.dtype.kind in "Mm":
        return str(value)
    text = repr(value.item())
    return text if len(text) <= 40 else text[:37] + "..."


def floats(array: np.ndarray, where: str) -> torch.Tensor:
    """The values as float32, refused when any is NaN or infinite (there or once made float32), naming how many
    samples hold such values and the first of them: a clear message now rather than a NaN loss at step 1."""
    with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf, refused below by name
        values = np.ascontiguousarray(numbers(array, where), dtype=np.float32)
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1) if values.size else np.zeros(0, dtype=bool)
    if bad.any():
        first = int(np.argmax(bad))
        sample = array[first]
        cause = "NaN" if np.isnan(sample).any() else "infinite values" if np.isinf(sample).any() \
            else "values too large for 32-bit floats (beyond ±3.4e38)"
        raise DataError(f"{where} holds {cause} in {int(bad.sum()):,} of its {len(values):,} samples (the first "
                        f"at index {first}): remove or repair those samples")
    return torch.from_numpy(values)


def class_ids(array: np.ndarray, where: str, out: OutputSpec) -> torch.Tensor:
    """Class labels for a cross-entropy output: whole numbers 0..C-1, as int64."""
    classes = out.shape[-1]
    owner = f"output '{out.name}' scores {classes} classes (ids 0..{classes - 1})"
    return _ids(array, where, classes, owner, "class id", "give the output {} classes (the size of the layer "
                "that feeds it) or fix the labels", "; for values to predict, use an mse or l1 output")


def token_ids(array: np.ndarray, where: str, inp: InputSpec) -> torch.Tensor:
    """Token ids for an int input: whole numbers from 0, below its vocabulary when it has one."""
    takes = f"takes {inp.vocab} token ids (0..{inp.vocab - 1})" if inp.vocab is not None else "takes ids from 0"
    return _ids(array, where, inp.vocab, f"input '{inp.name}' {takes}", "token id",
                "raise its vocabulary to {} or fix the ids", "")


def _ids(array: np.ndarray, where: str, count: int | None, owner: str, noun: str, grow: str,
         hint: str) -> torch.Tensor:
    values = numbers(array, where)
    if values.dtype.kind == "f":
        _check_whole(values, where, owner, hint)
    if values.size:
        low, high = values.min().item(), values.max().item()  # exact: before a cast to int64 could wrap
        if low < 0:
            raise DataMismatch(f"{where} holds the {noun} {_number(low)}, but {owner}")
        if count is not None and high >= count:
            advice = grow.format(_number(high + 1)) if high < LIKELY_IDS else "these look like other values than ids"
            raise DataMismatch(f"{where} holds {noun}s up to {_number(high)}, but {owner}: {advice}")
        if high > np.iinfo(np.int64).max:
            raise DataMismatch(f"{where} holds the id {_number(high)}, too large for any graph")
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.int64))


def _check_whole(values: np.ndarray, where: str, owner: str, hint: str) -> None:
    finite = np.isfinite(values)
    broken = ~finite | (np.mod(values, 1, where=finite, out=np.zeros_like(values)) != 0)
    if broken.any():
        first = np.unravel_index(int(np.argmax(broken)), values.shape)
        at = str(first[0]) if len(first) == 1 else "[" + ", ".join(map(str, first)) + "]"
        raise DataMismatch(f"{where} holds {_number(values[first].item())} at index {at} where whole numbers "
                           f"are needed: {owner}{hint}")


def _number(value: float | int | bool) -> str:
    """An id as the user wrote it: 7, not 7.0 (1e+30 stays so)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(int(value)) if isinstance(value, bool) else str(value)


def class_names(array: np.ndarray, where: str, out: OutputSpec) -> tuple[torch.Tensor, list[str]]:
    """Class labels given as names (text): ids in the sorted order of the distinct names, as for a CSV column."""
    distinct, ids = np.unique(array.reshape(-1), return_inverse=True)
    names = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in distinct.tolist()]
    if len(names) > out.shape[-1]:
        raise DataMismatch(f"{where} names {len(names)} classes ({_quoted(distinct)}), but output '{out.name}' "
                           f"scores {out.shape[-1]}: give the output {len(names)} classes, or fix the labels")
    return torch.from_numpy(ids.astype(np.int64).reshape(array.shape)), names
