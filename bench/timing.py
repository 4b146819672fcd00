"""Timing helpers and the results table shared by every benchmark.

A single ratio cannot be trusted on a shared machine: one run read the compiled forward+backward at 0.89x while
the same suite run alone read 0.98–1.02x. So every row is measured as at least five interleaved repetitions
(ours, reference, reference, ours, ...: the order flips each round, so neither side always runs on a warmer
cache), each repetition gives one ratio, and the table shows the median ratio with the range of the ratios. A
budget is judged on the median of our times.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

REPEATS = 5  # the fewest interleaved repetitions a row is measured with

Action = Callable[[], object]
Measure = Callable[[], float]  # runs once and returns its own figure (milliseconds)


@dataclass(frozen=True)
class Timing:
    """Milliseconds of paired repetitions: `ours[i]` and `reference[i]` were measured one right after the other."""

    ours: tuple[float, ...]
    reference: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.ours) != len(self.reference) or not self.ours:
            raise ValueError("a timing needs as many reference times as times of ours, and at least one")

    @property
    def ours_ms(self) -> float:
        return statistics.median(self.ours)

    @property
    def reference_ms(self) -> float:
        return statistics.median(self.reference)

    @property
    def ratios(self) -> tuple[float, ...]:
        """Per repetition: how many times faster than the reference (above 1: we are faster)."""
        return tuple(r / o if o else float("inf") for o, r in zip(self.ours, self.reference, strict=True))

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def ratio_range(self) -> tuple[float, float]:
        return min(self.ratios), max(self.ratios)


def interleaved(ours: Action, reference: Action, repeats: int = REPEATS, *, ours_setup: Action | None = None,
                reference_setup: Action | None = None, warm_up: bool = True) -> Timing:
    """Run `ours` and `reference` in turns, `repeats` times each, the order flipped every round, after one
    untimed run of each (`warm_up`). A setup runs before each timed run of its side and is not timed."""
    return interleaved_figures(lambda: _timed(ours, ours_setup), lambda: _timed(reference, reference_setup),
                               repeats, warm_up=warm_up)


def interleaved_figures(ours: Measure, reference: Measure, repeats: int = REPEATS, *, warm_up: bool = False
                        ) -> Timing:
    """As `interleaved`, for measures that time themselves (milliseconds of a run's steps only, or per 1,000
    samples of a run's own throughput)."""
    if repeats < 1:
        raise ValueError("at least one repetition")
    sides = (ours, reference)
    if warm_up:
        for measure in sides:
            measure()
    figures: tuple[list[float], list[float]] = ([], [])
    for round_ in range(repeats):
        for which in ((0, 1) if round_ % 2 == 0 else (1, 0)):
            figures[which].append(sides[which]())
    return Timing(tuple(figures[0]), tuple(figures[1]))


def sharing_a_reference(reference: Action, ours: dict[str, tuple[Action, Action | None]],
                        repeats: int = REPEATS) -> dict[str, Timing]:
    """Several of our actions (name → action and its setup) interleaved with one reference whose every run serves
    them all: for a costly reference (a forward pass on torch's meta device takes seconds at 5,000 nodes)."""
    for action, setup in [(reference, None), *ours.values()]:
        _timed(action, setup)
    reference_times: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in ours}
    for round_ in range(repeats):
        if round_ % 2 == 0:
            reference_times.append(_timed(reference, None))
        for name, (action, setup) in ours.items():
            times[name].append(_timed(action, setup))
        if round_ % 2 == 1:
            reference_times.append(_timed(reference, None))
    return {name: Timing(tuple(t), tuple(reference_times)) for name, t in times.items()}


def repeated(ours: Action, reference_ms: float, repeats: int = REPEATS, setup: Action | None = None) -> Timing:
    """Our action timed `repeats` times against a fixed reference figure (a budget, a figure of the same run)."""
    return Timing(tuple(_timed(ours, setup) for _ in range(repeats)), (reference_ms,) * repeats)


def _timed(action: Action, setup: Action | None) -> float:
    if setup is not None:
        setup()
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000.0


@dataclass(frozen=True)
class Row:
    benchmark: str
    size: str
    timing: Timing
    reference: str
    budget_ms: float | None = None

    @property
    def ours_ms(self) -> float:
        return self.timing.ours_ms

    @property
    def reference_ms(self) -> float:
        return self.timing.reference_ms

    @property
    def ratio(self) -> float:
        """The median over the repetitions of how many times faster than the reference (above 1: faster)."""
        return self.timing.ratio

    @property
    def within_budget(self) -> bool | None:
        return None if self.budget_ms is None else self.ours_ms <= self.budget_ms


HEADER = ("benchmark", "size", "ours ms", "reference", "ref ms", "speed-up", "range", "n", "budget ms", "within")
LEFT = {0, 1, 3, 9}  # text columns; the others are figures, aligned right


def table(rows: list[Row]) -> str:
    """One line per row: medians of both sides, the median ratio and its range over the repetitions."""
    lines = [HEADER]
    for r in rows:
        within = "" if r.within_budget is None else ("yes" if r.within_budget else "NO")
        budget = "" if r.budget_ms is None else f"{r.budget_ms:g}"
        low, high = r.timing.ratio_range
        lines.append((r.benchmark, r.size, f"{r.ours_ms:.2f}", r.reference, f"{r.reference_ms:.2f}",
                      f"{r.ratio:.2f}x", f"{low:.2f}–{high:.2f}", str(len(r.timing.ours)), budget, within))
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = ["  ".join(cell.ljust(w) if i in LEFT else cell.rjust(w)
                     for i, (cell, w) in enumerate(zip(line, widths, strict=True))) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
