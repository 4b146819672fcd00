"""Metrics gathered over some steps without waiting for the device: losses and correct counts stay tensors
until the window is read, which costs one synchronisation (and one all-reduce under torchrun)."""

from __future__ import annotations

import math
import time

import torch

from runtime.training.distributed import World, total


class Window:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.clear()

    def clear(self) -> None:
        self._losses: list[torch.Tensor] = []
        self._weights: list[int] = []
        self._hits: torch.Tensor | None = None
        self._count = 0
        self.samples = 0
        self.steps = 0
        self._start = time.perf_counter()

    def add(self, loss: torch.Tensor, samples: int, correct: tuple[torch.Tensor, int] | None) -> None:
        self._losses.append(loss.detach().float())
        self._weights.append(samples)
        self.samples += samples
        self.steps += 1
        if correct is not None:
            hits, count = correct
            self._hits = hits if self._hits is None else self._hits + hits
            self._count += count

    def losses(self) -> torch.Tensor:
        """This process's loss at each step of the window, on the CPU."""
        return torch.stack(self._losses).cpu() if self._losses else torch.zeros(0)

    def means(self, world: World) -> tuple[float, float | None, bool]:
        """The mean loss (weighted by samples) and accuracy over every process, and whether any loss of the
        window, in any process, was NaN or Inf."""
        losses = torch.stack(self._losses) if self._losses else torch.zeros(0, device=self.device)
        weights = torch.tensor(self._weights, dtype=torch.float32, device=self.device)
        finite = torch.isfinite(losses)
        sums = torch.stack([
            (torch.where(finite, losses, 0.0) * weights).sum(),
            weights.sum(),
            self._hits.float() if self._hits is not None else torch.zeros((), device=self.device),
            torch.tensor(float(self._count), device=self.device),
            (~finite).sum().float(),
        ])
        loss_sum, weight, hits, count, bad = total(sums, world).tolist()
        loss = loss_sum / weight if weight else math.nan
        return loss, (hits / count if count else None), bad > 0

    def seconds(self) -> float:
        return time.perf_counter() - self._start
