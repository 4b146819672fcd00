"""Everything a run trains with, put together from a graph and its settings: the device, the data fitted to the
graph, the compiled model (wrapped for several processes and compiled when asked), the optimizer and schedule,
and the run folder. Building it is the part of a run that can fail before the first step, with a message."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from graph import Graph
from runtime.compile import build_module
from runtime.data import DataOptions, Dataset, GraphSpec, builtin_datasets, load_dataset
from runtime.data.provenance import describe_data
from runtime.training import distributed
from runtime.training.batching import all_ranks_served, steps_per_epoch
from runtime.training.config import ConfigError, TrainConfig
from runtime.training.devices import check_precision, describe, pick_device
from runtime.training.distributed import World
from runtime.training.memory import check_fits
from runtime.training.objective import Objective
from runtime.training.optim import make_optimizer, make_scheduler
from runtime.training.run_folder import RunFolder


@dataclass
class Session:
    graph: Graph
    config: TrainConfig
    world: World
    device: torch.device
    dataset: Dataset
    objective: Objective
    model: nn.Module  # the compiled graph: what checkpoints hold
    step_model: nn.Module  # what a step calls: the model, wrapped by DDP and torch.compile when asked
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler | None
    noise: torch.Generator
    steps_per_epoch: int
    folder: RunFolder | None = None  # where rank 0 writes; None on other ranks and for runs without a folder

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def settings(self) -> dict[str, Any]:
        """What settings.json records: enough to repeat the run, and what data it trained on (`data`)."""
        return {"graph": self.graph.name, "config": self.config.to_dict(), "dataset": self.dataset.description,
                "data": describe_data(self.config.dataset), "data_warnings": self.dataset.warnings,
                "task": self.dataset.task, "device": describe(self.device),
                "world_size": self.world.size, "parameters": self.parameters, "torch": torch.__version__,
                "python": platform.python_version()}


def open_session(graph: Graph, config: TrainConfig, dataset: Dataset | None = None) -> Session:
    world = distributed.from_environment()
    device = pick_device(config.device, world.local_rank if world.distributed else None)
    check_precision(config, device)
    check_fits(graph, config, device, world)  # before the data, the model or the optimizer takes any memory
    distributed.start(world, device)
    spec = GraphSpec.of(graph)
    if dataset is None:
        dataset = load_dataset(_dataset_source(config), spec, seed=config.seed, options=data_options(config))
    _check_batch(config, world, len(dataset.train))
    torch.manual_seed(config.seed)  # the same initial weights for the same seed (on every rank)
    model = build_module(graph, device=device)
    if config.channels_last and device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    steps = steps_per_epoch(len(dataset.train), config.batch_size, world)
    optimizer = make_optimizer(model, config)
    return Session(
        graph=graph, config=config, world=world, device=device, dataset=dataset, objective=Objective(spec.outputs),
        model=model, step_model=_step_model(model, config, world, device), optimizer=optimizer,
        scheduler=make_scheduler(optimizer, config, steps),
        scaler=torch.amp.GradScaler(device.type) if config.precision == "fp16" else None,
        noise=torch.Generator(device=device).manual_seed(config.seed + 1), steps_per_epoch=steps,
        folder=None)


def _dataset_source(config: TrainConfig) -> str:
    if not config.dataset:
        raise ConfigError("no dataset: pass --data with a built-in name (" + ", ".join(builtin_datasets()) +
                          ") or a path to your data")
    return config.dataset


def data_options(config: TrainConfig) -> DataOptions:
    """How much of the data a run takes, and which CSV columns: what the settings say."""
    return DataOptions(size=config.train_size, val_size=config.val_size, features=config.features,
                       label=config.label)


def _check_batch(config: TrainConfig, world: World, samples: int) -> None:
    if samples == 0:
        raise ConfigError("the training split is empty")
    if not all_ranks_served(config.batch_size, world):
        raise ConfigError(f"batch size {config.batch_size} cannot give a sample to each of the {world.size} "
                          f"processes: use --batch-size {world.size} or more")


def _step_model(model: nn.Module, config: TrainConfig, world: World, device: torch.device) -> nn.Module:
    wrapped: nn.Module = model
    if world.distributed:
        wrapped = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    if config.compile:
        wrapped = torch.compile(wrapped)
    return wrapped
