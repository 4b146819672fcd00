"""Timing helpers and the results table shared by every benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str
    size: str
    ours_ms: float
    reference: str
    reference_ms: float
    budget_ms: float | None = None

    @property
    def ratio(self) -> float:
        """How many times faster than the reference (above 1: we are faster)."""
        return self.reference_ms / self.ours_ms if self.ours_ms else float("inf")


def best_of(action: Callable[[], object], repeats: int = 5, setup: Callable[[], object] | None = None) -> float:
    """The fastest of `repeats` runs in milliseconds (the least disturbed by the rest of the machine)."""
    best = float("inf")
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def table(rows: list[Row]) -> str:
    header = ("benchmark", "size", "ours ms", "reference", "ref ms", "speed-up", "budget ms", "within")
    lines = [header]
    for r in rows:
        within = "" if r.budget_ms is None else ("yes" if r.ours_ms <= r.budget_ms else "NO")
        budget = "" if r.budget_ms is None else f"{r.budget_ms:g}"
        lines.append((r.benchmark, r.size, f"{r.ours_ms:.2f}", r.reference, f"{r.reference_ms:.2f}",
                      f"{r.ratio:.2f}x", budget, within))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) if i in (0, 1, 3, 7) else cell.rjust(w)
                     for i, (cell, w) in enumerate(zip(line, widths, strict=True))) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
