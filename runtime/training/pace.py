"""A run's clock and throughput: the seconds it has trained (a resumed run counts its earlier time too), and the
samples per second and time left of this process's training steps (validation and checkpoints not counted)."""

from __future__ import annotations

import time


class Pace:
    def __init__(self) -> None:
        self._clock = 0.0  # time.perf_counter() when this process started training
        self._before = 0.0  # seconds the run had trained before this process (resumed runs)
        self._trained = 0.0  # seconds spent in training steps by this process
        self._samples = 0  # samples trained by this process
        self._steps = 0  # steps trained by this process

    def start(self, before: float) -> None:
        """Training starts now, after `before` seconds of the run's earlier processes."""
        self._clock, self._before = time.perf_counter(), before

    def add_step(self, seconds: float, samples: int) -> None:
        self._trained += seconds
        self._samples += samples
        self._steps += 1

    def elapsed(self) -> float:
        """Seconds the run has trained, its earlier processes' included."""
        since = time.perf_counter() - self._clock if self._clock else 0.0
        return self._before + since

    def eta(self, steps_left: int) -> float | None:
        """Seconds the steps left will take at this process's pace; None before its first step."""
        return steps_left * self._trained / self._steps if self._steps else None

    def samples_per_s(self) -> float | None:
        return self._samples / self._trained if self._trained else None
