"""Training checkpoints: everything a run needs to continue exactly where it was.

A checkpoint holds the weights under "model" (so `export --weights` and `load_weights` read it as it is), the
optimizer, the schedule, the gradient scaler, the position (epoch and batch within it), the early-stopping
state and the random generators. Only tensors and plain values: it loads with `weights_only=True`. It is written
to a temporary file and renamed, so a crash or a full disk never leaves a half-written file in place of the last
good one.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from graph.fileformat import atomic_write
from runtime.weights import WeightsError, read_checkpoint_file

FORMAT = "layerbook-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be written or resumed from; the message names the file and the cause."""


@dataclass
class Position:
    """Where training stands: `epoch` (from 0) is the epoch under way, `batch` the batches of it done."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    elapsed: float = 0.0
    best_loss: float | None = None
    best_epoch: int | None = None
    best_accuracy: float | None = None
    bad_epochs: int = 0  # epochs since the best one, for early stopping
    history: dict[str, float] = field(default_factory=dict)  # the last epoch's metrics, for the summary


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, scaler: torch.amp.GradScaler | None,
                    position: Position, noise: torch.Generator) -> None:
    state = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "position": asdict(position),
        "rng": _rng_state(noise),
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as error:
        raise CheckpointError(f"could not write checkpoint '{path}': {error.strerror or error}; the previous "
                              "checkpoint is intact") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint, read safely (runtime.weights: tensors and plain values only, never code)."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at '{path}': nothing to resume")
    try:
        state = read_checkpoint_file(path)
    except WeightsError as error:
        raise CheckpointError(str(error)) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' holds weights only, not a training checkpoint: it cannot resume a run")
    return state


def restore(state: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            scheduler: torch.optim.lr_scheduler.LRScheduler, scaler: torch.amp.GradScaler | None,
            noise: torch.Generator) -> Position:
    """Put a run back in the state of its checkpoint; the position to continue from."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    _set_rng_state(state["rng"], noise)
    return Position(**state["position"])


def _rng_state(noise: torch.Generator) -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state(), "noise": noise.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], noise: torch.Generator) -> None:
    torch.set_rng_state(state["cpu"])
    noise.set_state(state["noise"])
    if torch.cuda.is_available() and "cuda" in state and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
