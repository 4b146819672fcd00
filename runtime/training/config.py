"""The settings of a training run: one typed dataclass, filled from the template's defaults, then the user's.

Everything a run needs to be repeated is here, and it round-trips through `settings.json` in the run folder.
Each numeric setting declares its range with its field (`ranged`); `check` refuses a value outside it, of the
wrong type, or not finite, naming the setting, its range and the value, before anything runs. The ranges are
those a demanding user would call sensible (an lr above 10 or a seed beyond 32 bits is a typo), and `--help`
shows them (`range_text`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine")
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("fp32", "bf16", "fp16")
CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "device": DEVICES, "precision": PRECISIONS}
FLAGS = ("nesterov", "channels_last", "compile")
TEXTS = ("dataset", "label")  # a text, or None


class ConfigError(ValueError):
    """A setting out of its range or of the wrong type; the message names the setting."""


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: whole numbers (`whole`) or real ones, from `low` to `high`, each
    end included unless `above` (low excluded) or `below` (high excluded). Never NaN or infinite."""

    low: float
    high: float
    whole: bool = True
    above: bool = False
    below: bool = False

    def holds(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        low_ok = value > self.low if self.above else value >= self.low
        high_ok = value < self.high if self.below else value <= self.high
        return low_ok and high_ok

    def text(self) -> str:
        """`1 to 100,000`, `above 0, at most 10`, `0 to below 1`."""
        low, high = _number_text(self.low), _number_text(self.high)
        if self.above:
            return f"above {low}, " + (f"below {high}" if self.below else f"at most {high}")
        return f"{low} to below {high}" if self.below else f"{low} to {high}"


def ranged(default: float | None, low: float, high: float, *, whole: bool = True, above: bool = False,
           below: bool = False) -> Any:
    """A dataclass field whose values are checked against its range (None allowed when it is the default)."""
    return field(default=default, metadata={"range": Range(low, high, whole, above, below)})


@dataclass
class TrainConfig:
    dataset: str | None = None  # a built-in name or a path; None: the template's
    epochs: int = ranged(10, 1, 100_000)
    batch_size: int = ranged(64, 1, 1_000_000)  # the global batch: split between processes under torchrun
    lr: float = ranged(1e-3, 0, 10, whole=False, above=True)
    optimizer: str = "adam"
    momentum: float = ranged(0.9, 0, 1, whole=False, below=True)  # SGD only
    nesterov: bool = False  # SGD only
    weight_decay: float = ranged(0.0, 0, 1, whole=False)
    schedule: str = "constant"  # the learning rate after warm-up
    warmup_steps: int = ranged(0, 0, 10_000_000)  # linear warm-up from 0
    step_epochs: int = ranged(10, 1, 100_000)  # "step" schedule: multiply by `gamma` every `step_epochs` epochs
    gamma: float = ranged(0.1, 0, 1, whole=False, above=True)  # a decay: a factor above 1 would be a growth
    clip: float | None = ranged(None, 0, 1e6, whole=False, above=True)  # clip the gradient's global norm to this
    seed: int = ranged(0, 0, 2**32 - 1)  # the batch order seeds torch with seed × 1,000,003 + epoch: 64 bits
    device: str = "auto"
    precision: str = "fp32"  # bf16 or fp16: mixed precision (CUDA)
    channels_last: bool = False  # CUDA: convolutions in NHWC
    compile: bool = False  # torch.compile the model
    patience: int | None = ranged(None, 1, 100_000)  # stop after this many epochs without a better val. loss
    noise: float = ranged(0.0, 0, 10, whole=False)  # reconstruction: std. of the noise added to the input
    train_size: int | None = ranged(None, 1, 100_000_000)  # cap the training samples (generated sets: how many)
    val_size: int | None = ranged(None, 1, 100_000_000)
    features: list[str] | None = None  # CSV columns used as features (default: all but the label)
    label: str | None = None  # CSV column of the label (default: the last)
    log_every: int = ranged(10, 1, 1_000_000)  # steps between reported training metrics
    health_every: int | None = ranged(None, 1, 1_000_000)  # steps between health reports (the app's colours)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if "range" in spec.metadata:
                _check_number(spec.name, value, spec.metadata["range"], optional=spec.default is None)
            elif spec.name in CHOICES:
                _check_choice(spec.name, value)
            elif spec.name in FLAGS and not isinstance(value, bool):
                raise ConfigError(f"{spec.name} must be true or false, got {_shown(value)}")
            elif spec.name in TEXTS and value is not None and not isinstance(value, str):
                raise ConfigError(f"{spec.name} must be a text, got {_shown(value)}")
        if self.features is not None and not (isinstance(self.features, list) and
                                              all(isinstance(name, str) for name in self.features)):
            raise ConfigError(f"features must be a list of column names, got {_shown(self.features)}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Settings from JSON (settings.json, a template's `training`); unknown keys are refused by name."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"the training settings must be a JSON object of settings, not {_shown(values)}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown training setting{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
                              f"(the settings are: {', '.join(f.name for f in fields(cls))})")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def updated(self, **changes: Any) -> TrainConfig:
        """A copy with the given settings changed (those given as None are left as they are)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def template_config(training: Mapping[str, Any]) -> TrainConfig:
    """The defaults a template carries in its `training` entry."""
    return TrainConfig.from_dict(training)


def setting_range(name: str) -> Range:
    """The declared range of a numeric setting (KeyError for one without)."""
    found = next((f.metadata["range"] for f in fields(TrainConfig) if f.name == name and "range" in f.metadata), None)
    if found is None:  # not StopIteration, which a caller's generator would take for its own end
        raise KeyError(f"{name} is not a numeric setting with a range")
    return found


def range_text(name: str) -> str:
    return setting_range(name).text()


def _check_number(name: str, value: Any, allowed: Range, optional: bool) -> None:
    if value is None and optional:
        return
    kind = "a whole number" if allowed.whole else "a number"
    right_type = isinstance(value, int) if allowed.whole else isinstance(value, int | float)
    if not right_type or isinstance(value, bool) or not allowed.holds(value):
        span = allowed.text() if allowed.above else f"from {allowed.text()}"
        raise ConfigError(f"{name} must be {kind} {span}, got {_shown(value)}")


def _check_choice(name: str, value: Any) -> None:
    allowed = CHOICES[name]
    if value in allowed or (name == "device" and isinstance(value, str) and _is_device_index(value)):
        return
    extra = " or cuda:N" if name == "device" else ""
    raise ConfigError(f"{name} must be one of {', '.join(allowed)}{extra}; got {_shown(value)}")


def _shown(value: Any) -> str:
    """A value as a message shows it: short, whatever its size (an int of a hundred digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"{'-' if value < 0 else ''}a number of {len(str(abs(value)))} digits"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:40] + "...")
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "..."


def _number_text(value: float) -> str:
    if float(value).is_integer() and abs(value) < 10**15:
        return f"{int(value):,}"
    return f"{value:g}"


def _is_device_index(value: str) -> bool:
    """`cuda:1` picks one GPU among several."""
    kind, _, index = value.partition(":")
    return kind == "cuda" and index.isdigit()
