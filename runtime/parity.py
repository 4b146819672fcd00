"""Whether two computations of a network's outputs agree: the exported ONNX file against torch, the generated
PyTorch source against the compiled module.

Differences are judged as `numpy.testing.assert_allclose` judges them, with both a relative and an absolute
tolerance, the absolute one scaled by the output's own size (its largest |value|): a difference of 1e-4 is noise
on logits of size 700 and an error on probabilities. A relative difference per element would mean nothing for
values near zero (1e-4 off a logit of 3e-6 is "31 times" its value), so the figure reported is the largest
difference over the output's scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """|actual − expected| ≤ atol + rtol·|expected| per element, with atol = `scaled` × the output's scale."""

    rtol: float
    scaled: float

    def __str__(self) -> str:
        return f"rtol {self.rtol:g}, atol {self.scaled:g} of the output's scale"


@dataclass(frozen=True)
class Parity:
    """The largest difference over all outputs, absolute and over its output's scale."""

    max_abs: float
    max_scaled: float

    def __str__(self) -> str:
        return f"largest difference {self.max_scaled:.1e} of the output's scale ({self.max_abs:.1e} absolute)"


class ParityError(ValueError):
    """An output that differs beyond the tolerance, or has another shape; `output` names it."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def scale(values: np.ndarray) -> float:
    """The size of an output: its largest finite |value| (1 when all are zero, so that atol stays absolute)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max(initial=0.0)) or 1.0


def compare(names: Sequence[str], expected: Sequence[np.ndarray], actual: Sequence[np.ndarray],
            tolerance: Tolerance) -> Parity:
    """The largest differences of `actual` from `expected`, output by output (NaN where both are NaN counts as
    equal); a ParityError naming the first output beyond `tolerance`."""
    max_abs = max_scaled = 0.0
    for name, want, got in zip(names, expected, actual, strict=True):
        b, a = np.asarray(want, dtype=np.float64), np.asarray(got, dtype=np.float64)
        if a.shape != b.shape:
            raise ParityError(f"output '{name}' has shape {list(a.shape)} instead of {list(b.shape)}", name)
        size = scale(b)
        with np.errstate(invalid="ignore"):
            diff = np.where((a == b) | np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b))
        diff = np.nan_to_num(diff, nan=np.inf, posinf=np.inf)  # NaN against a number: an infinite difference
        largest = float(diff.max(initial=0.0))
        max_abs, max_scaled = max(max_abs, largest), max(max_scaled, largest / size)
        if np.any(diff > tolerance.scaled * size + tolerance.rtol * np.abs(np.nan_to_num(b))):
            raise ParityError(f"output '{name}' differs beyond the tolerance ({tolerance}, its scale being "
                              f"{size:.3g}): largest difference {largest / size:.2g} of its scale "
                              f"({largest:.3g} absolute)", name)
    return Parity(max_abs, max_scaled)
