"""The settings of a training run: one typed dataclass, filled from the template's defaults, then the user's.

Everything a run needs to be repeated is here, and it round-trips through `settings.json` in the run folder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine")
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("fp32", "bf16", "fp16")


class ConfigError(ValueError):
    """A setting out of its range or of the wrong type; the message names the setting."""


@dataclass
class TrainConfig:
    dataset: str | None = None  # a built-in name or a path; None: the template's
    epochs: int = 10
    batch_size: int = 64  # the global batch: split between processes under torchrun
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9  # SGD only
    nesterov: bool = False  # SGD only
    weight_decay: float = 0.0
    schedule: str = "constant"  # the learning rate after warm-up
    warmup_steps: int = 0  # linear warm-up from 0
    step_epochs: int = 10  # "step" schedule: multiply by `gamma` every `step_epochs` epochs
    gamma: float = 0.1
    clip: float | None = None  # clip the gradient's global norm to this
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"  # bf16 or fp16: mixed precision (CUDA)
    channels_last: bool = False  # CUDA: convolutions in NHWC
    compile: bool = False  # torch.compile the model
    patience: int | None = None  # stop after this many epochs without a better validation loss
    noise: float = 0.0  # reconstruction: standard deviation of the noise added to the input (denoising)
    train_size: int | None = None  # cap the number of training samples (generated sets: how many)
    val_size: int | None = None
    features: list[str] | None = None  # CSV columns used as features (default: all but the label)
    label: str | None = None  # CSV column of the label (default: the last)
    log_every: int = 10  # steps between reported training metrics
    health_every: int | None = None  # steps between health reports of each box (the app's graph colouring)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        _positive("log_every", self.log_every)
        _positive("step_epochs", self.step_epochs)
        if not self.lr > 0:
            raise ConfigError(f"lr must be above 0, got {self.lr}")
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS), ("schedule", self.schedule, SCHEDULES),
                                     ("device", self.device, DEVICES), ("precision", self.precision, PRECISIONS)):
            if value not in allowed and not (name == "device" and _is_device_index(value)):
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got '{value}'")
        for name in ("weight_decay", "noise", "warmup_steps", "momentum"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.clip is not None and not self.clip > 0:
            raise ConfigError(f"clip must be above 0, got {self.clip}")
        if self.health_every is not None:
            _positive("health_every", self.health_every)
        if self.patience is not None:
            _positive("patience", self.patience)
        for name in ("train_size", "val_size"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Settings from JSON (settings.json, a template's `training`); unknown keys are refused by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown training setting{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        try:
            return cls(**dict(values))
        except TypeError as error:
            raise ConfigError(str(error)) from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def updated(self, **changes: Any) -> TrainConfig:
        """A copy with the given settings changed (those given as None are left as they are)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def template_config(training: Mapping[str, Any]) -> TrainConfig:
    """The defaults a template carries in its `training` entry."""
    return TrainConfig.from_dict(training)


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")


def _is_device_index(value: str) -> bool:
    """`cuda:1` picks one GPU among several."""
    kind, _, index = value.partition(":")
    return kind == "cuda" and index.isdigit()
