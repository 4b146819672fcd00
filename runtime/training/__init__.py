"""The training engine (no Qt): the command line and the desktop app drive the same `Trainer`.

`Trainer` (and with it torch) loads when first asked for: the app's editor process reads the events and settings
without importing torch.
"""

from __future__ import annotations

from typing import Any

from runtime.training.config import ConfigError, TrainConfig, template_config
from runtime.training.control import Control
from runtime.training.events import EpochMetrics, Event, Failed, Finished, Started, Status, StepMetrics

__all__ = ["ConfigError", "Control", "EpochMetrics", "Event", "Failed", "Finished", "Started", "Status",
           "StepMetrics", "TrainConfig", "Trainer", "template_config"]


def __getattr__(name: str) -> Any:
    if name != "Trainer":
        raise AttributeError(f"module 'runtime.training' has no attribute '{name}'")
    from runtime.training.engine import Trainer

    globals()["Trainer"] = Trainer
    return Trainer
