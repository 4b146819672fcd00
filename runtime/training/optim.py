"""Optimizers and learning-rate schedules, from the settings.

The schedule is a per-step multiplier of the base learning rate (a LambdaLR): a linear warm-up, then constant,
step decay every few epochs, or a cosine down to zero at the last step. Being a pure function of the step, it
resumes exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from runtime.training.config import TrainConfig

Schedule = Callable[[int], float]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    parameters = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                               weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)


def schedule(config: TrainConfig, steps_per_epoch: int) -> Schedule:
    """The multiplier of the base learning rate before step `step` (counted from 0)."""
    total = max(1, config.epochs * steps_per_epoch)
    warmup = config.warmup_steps

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "step":
            return config.gamma ** (step // (config.step_epochs * steps_per_epoch))
        if config.schedule == "cosine":
            done = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1.0 + math.cos(math.pi * done))
        return 1.0

    return factor


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
                   ) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(config, steps_per_epoch))
