"""What can go wrong while training, each with a message that names the cause and what to do about it."""

from __future__ import annotations

import torch


class TrainingFailure(Exception):
    """A run that cannot go on; `kind` sorts it for front ends (nan, out-of-memory, data, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def non_finite_loss(value: float, step: int, epoch: int, lr: float) -> TrainingFailure:
    name = "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    return TrainingFailure(
        "nan", f"the loss became {name} at step {step} (epoch {epoch}) with learning rate {lr:.3g}: training "
        f"diverged. Try a lower learning rate (e.g. --lr {lr / 10:.3g}), gradient clipping (--clip 1.0) or a "
        "warm-up (--warmup-steps); the last good checkpoint is kept")


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(error, RuntimeError) and ("out of memory" in str(error) or "not enough memory" in str(error))


def out_of_memory(device: torch.device, batch_size: int, fits: int | None) -> TrainingFailure:
    advice = (f"batch size {fits} fits: run with --batch-size {fits}" if fits
              else f"try --batch-size {max(1, batch_size // 2)} or a smaller model")
    return TrainingFailure("out-of-memory", f"out of memory on {device} with batch size {batch_size}: {advice}; "
                           "the last good checkpoint is kept")
