"""What can go wrong while training, each with a message that names the cause and what to do about it."""

from __future__ import annotations

import torch

from graph.fileformat import GraphFileError
from runtime.compile import CompileError
from runtime.data import DataError
from runtime.out_of_memory import allocation_text
from runtime.training.checkpoint import CheckpointError
from runtime.training.config import ConfigError, TrainConfig
from runtime.training.events import Failed

# A user's mistakes, found before or while a run prepares: a run ends with their message, never a traceback.
EXPECTED = (ConfigError, DataError, CompileError, CheckpointError, GraphFileError, ValueError)
KINDS = {ConfigError: "config", DataError: "data", CompileError: "graph", CheckpointError: "resume",
         GraphFileError: "resume"}


class TrainingFailure(Exception):
    """A run that cannot go on; `kind` sorts it for front ends (nan, out-of-memory, data, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def refusal(error: Exception) -> Failed:
    """A user's mistake (one of EXPECTED) as the Failed event that names it, sorted for front ends."""
    return Failed(next((k for t, k in KINDS.items() if isinstance(error, t)), "error"), str(error))


def non_finite_loss(value: float, step: int, epoch: int, lr: float, config: TrainConfig,
                    data: str | None = None) -> TrainingFailure:
    """`lr`: the learning rate at that step (the schedule's); `data`: what `non_finite_data` found, the cause
    when the data itself holds NaN or Inf values."""
    name = "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    where = f"the loss became {name} at step {step} (epoch {epoch})"
    if data is not None:  # no learning rate cures this: say so rather than advise a lower one
        return TrainingFailure(
            "nan", f"{where} because the data holds NaN or Inf values: {data}. Remove or repair those samples; "
            "the last good checkpoint is kept")
    unusual = unusual_settings(config)
    if unusual:
        return TrainingFailure(
            "nan", f"{where} with learning rate {lr:.3g}: training diverged, with settings out of the ordinary: "
            f"{'; '.join(unusual)}. The last good checkpoint is kept")
    return TrainingFailure(
        "nan", f"{where} with learning rate {lr:.3g}: training diverged. Try a lower learning rate (e.g. --lr "
        f"{config.lr / 10:.3g}), gradient clipping (--clip 1.0) or a warm-up (--warmup-steps 100); the last good "
        "checkpoint is kept")


def unusual_settings(config: TrainConfig) -> list[str]:
    """The settings out of the ordinary that make training diverge, each with a usual value to try instead."""
    found = []
    usual_lr = 0.1 if config.optimizer == "sgd" else 0.01  # Adam's steps are about lr in size, whatever the loss
    if config.lr > usual_lr:
        found.append(f"the learning rate {config.lr:g} is high for {config.optimizer} (try --lr {usual_lr / 10:g})")
    if config.optimizer == "sgd" and config.momentum >= 0.99:
        found.append(f"the momentum {config.momentum:g} is close to 1 (try --momentum 0.9)")
    if config.weight_decay > 0.1:
        found.append(f"the weight decay {config.weight_decay:g} is large (try --weight-decay 0.01)")
    if config.noise > 1:
        found.append(f"the input noise {config.noise:g} is large (try --noise 0.1)")
    return found


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
    tried = allocation_text(error)
    return f" ({tried})" if tried else ""


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
