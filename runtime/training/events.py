"""What the engine reports while it trains: a stream of small, picklable events any front end can consume
(the command line's progress bar, the app's live curves through a multiprocessing queue, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Started:
    run_dir: str
    device: str  # "NVIDIA H100 80GB HBM3 (cuda:0)" or "cpu"
    dataset: str  # the dataset's one-line description
    task: str
    parameters: int
    epochs: int
    steps_per_epoch: int
    first_step: int  # above 0 when resuming
    world_size: int = 1
    warnings: tuple[str, ...] = ()  # about the data, each a sentence (one class only, spare output scores...)


@dataclass(frozen=True)
class Status:
    state: str  # preparing, running, paused, validating, stopping, stopped, finished, failed
    message: str = ""


@dataclass(frozen=True)
class StepMetrics:
    step: int  # steps done so far (global, from 1)
    epoch: int  # from 1
    loss: float  # mean over the steps since the previous report
    accuracy: float | None
    lr: float
    samples_per_s: float
    elapsed: float  # seconds of training (resumed runs count their earlier time)
    progress: float  # 0..1 of the whole run
    eta: float | None  # seconds left


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    step: int
    train_loss: float | None
    train_accuracy: float | None
    val_loss: float
    val_accuracy: float | None
    best: bool  # the best validation loss so far: best.pt was written
    elapsed: float


@dataclass(frozen=True)
class Health:
    """Per box of the graph (node name): gradient norm, dead relu fraction, NaN/Inf (see health.py)."""

    step: int
    nodes: dict[str, Any]  # node name → NodeHealth


@dataclass(frozen=True)
class NodeHealth:
    """One box's figures (here, not in health.py: the editor unpickles them without importing torch)."""

    grad_norm: float | None  # None for a box without trainable parameters
    dead_fraction: float | None  # relu boxes: the fraction of outputs at zero in the measured batch
    nonfinite: bool  # NaN or Inf in the box's output


@dataclass(frozen=True)
class Failed:
    kind: str  # nan, out-of-memory, data, graph, config, resume, disk, error
    message: str


@dataclass(frozen=True)
class Finished:
    state: str  # finished, stopped, early-stopped
    summary: dict[str, Any] = field(default_factory=dict)


Event = Started | Status | StepMetrics | EpochMetrics | Health | Failed | Finished
