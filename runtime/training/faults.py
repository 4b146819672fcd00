"""What can go wrong while training, each with a message that names the cause and what to do about it."""

from __future__ import annotations

import re

import torch

from graph.capacity import format_bytes


class TrainingFailure(Exception):
    """A run that cannot go on; `kind` sorts it for front ends (nan, out-of-memory, data, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def non_finite_loss(value: float, step: int, epoch: int, lr: float, data: str | None = None) -> TrainingFailure:
    """`data`: what `non_finite_data` found, the cause when the data itself holds NaN or Inf values."""
    name = "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    if data is not None:  # no learning rate cures this: say so rather than advise a lower one
        return TrainingFailure(
            "nan", f"the loss became {name} at step {step} (epoch {epoch}) because the data holds NaN or Inf "
            f"values: {data}. Remove or repair those samples; the last good checkpoint is kept")
    return TrainingFailure(
        "nan", f"the loss became {name} at step {step} (epoch {epoch}) with learning rate {lr:.3g}: training "
        f"diverged. Try a lower learning rate (e.g. --lr {lr / 10:.3g}), gradient clipping (--clip 1.0) or a "
        "warm-up (--warmup-steps); the last good checkpoint is kept")


# How torch says that an allocation failed: CUDA and MPS ("out of memory"), the CPU's allocator on Linux ("can't
# allocate memory") and on Windows ("not enough memory").
OUT_OF_MEMORY_TEXTS = ("out of memory", "can't allocate memory", "not enough memory")
_TRIED = re.compile(r"tried to allocate (\d+(?:\.\d+)?) ?(bytes|[KMGT]iB)", re.IGNORECASE)
_UNITS = {"bytes": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(error, RuntimeError) and any(text in str(error) for text in OUT_OF_MEMORY_TEXTS)


def out_of_memory(device: torch.device, batch_size: int, fits: int | None,
                  error: BaseException | None = None) -> TrainingFailure:
    advice = (f"batch size {fits} fits: run with --batch-size {fits}" if fits
              else f"try --batch-size {max(1, batch_size // 2)} or a smaller model")
    return TrainingFailure("out-of-memory", f"out of memory on {device} with batch size {batch_size}"
                           f"{_tried(error)}: {advice}; the last good checkpoint is kept")


def out_of_memory_preparing(error: BaseException) -> TrainingFailure:
    """Out of memory before the first step: building the model, its optimizer or the data (which the estimate
    made before them does not count); nothing was written yet."""
    return TrainingFailure("out-of-memory", f"out of memory while building the model or loading the data"
                           f"{_tried(error)}: free some memory, or train a smaller model or on less data "
                           "(--train-size); no run folder was made")


def _tried(error: BaseException | None) -> str:
    """` (torch could not allocate 11.2 GiB more)`, when torch's message says how much it asked for."""
    found = _TRIED.search(str(error)) if error is not None else None
    if found is None:
        return ""
    count = float(found.group(1)) * _UNITS[found.group(2).lower()]
    return f" (torch could not allocate {format_bytes(int(count))} more)"


def non_finite_data(splits: dict[str, object]) -> str | None:
    """Which split and node hold NaN or Inf values, and in how many samples, for splits held as tensors
    (`TensorSplit`); None when all are finite or the data is generated or streamed (not looked at). Called only
    after a loss turned NaN, so its cost (a pass over the data) is paid once."""
    for split_name, split in splits.items():
        tensors = {**getattr(split, "inputs", {}), **getattr(split, "targets", {})}
        for node, tensor in tensors.items():
            if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or not tensor.numel():
                continue
            bad = (~torch.isfinite(tensor)).reshape(len(tensor), -1).any(dim=1)
            if bool(bad.any()):
                return f"{int(bad.sum())} of the {len(tensor)} {split_name} samples of '{node}' do"
    return None
