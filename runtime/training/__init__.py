"""The training engine (no Qt): the command line and the desktop app drive the same `Trainer`."""

from runtime.training.config import ConfigError, TrainConfig, template_config
from runtime.training.control import Control
from runtime.training.engine import Trainer
from runtime.training.events import EpochMetrics, Event, Failed, Finished, Started, Status, StepMetrics

__all__ = ["ConfigError", "Control", "EpochMetrics", "Event", "Failed", "Finished", "Started", "Status",
           "StepMetrics", "TrainConfig", "Trainer", "template_config"]
