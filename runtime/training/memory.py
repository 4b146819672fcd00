"""Memory before and after a failure: whether a run fits its device before anything is allocated, and after an
out-of-memory error on a GPU, the largest batch size that fits, found by trying halves.

The estimate is graph/summary.py's (weights, buffers, gradients, optimizer state, activations at the batch size,
the step's workspace), compared with the device's free memory less the safety margin of graph/capacity.py: the
RAM available to this process for the CPU (and Apple's MPS, which shares it), `torch.cuda.mem_get_info` for a
CUDA GPU.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import torch

from graph import Graph
from graph.capacity import Available, available_memory
from graph.summary import fit_problem, optimizer_kind, summarize
from runtime.out_of_memory import is_out_of_memory
from runtime.training import distributed
from runtime.training.config import ConfigError, TrainConfig
from runtime.training.devices import autocast, describe, pick_device
from runtime.training.distributed import World
from runtime.training.objective import as_tuple

if TYPE_CHECKING:
    from runtime.training.session import Session


def check_before_start(graph: Graph, config: TrainConfig) -> None:
    """check_fits on the device and processes the environment gives, those open_session will use: for the
    command line, before it makes anything (data included, even to suggest a dataset)."""
    world = distributed.from_environment()
    check_fits(graph, config, pick_device(config.device, world.local_rank if world.distributed else None), world)


def check_fits(graph: Graph, config: TrainConfig, device: torch.device, world: World) -> None:
    """Refuse (ConfigError) a run whose model and training step cannot fit the device's free memory."""
    problem = fit_refusal(graph, config, device, world)
    if problem:
        raise ConfigError(problem)


def fit_refusal(graph: Graph, config: TrainConfig, device: torch.device, world: World | None = None) -> str | None:
    """Why the run cannot fit `device` (with the figures and the largest batch that would), or None."""
    world = world or World()
    available = free_memory(device, world)
    if available is None or not graph.analyze().ok:  # a graph with errors is refused for those, when built
        return None
    local_batch = -(-config.batch_size // world.size)  # each process trains its share of the global batch
    problem = fit_problem(summarize(graph), local_batch, optimizer_kind(config.optimizer, config.momentum),
                          available, activation_bytes=2 if config.precision != "fp32" else None)
    return f"cannot train '{graph.name}' on {describe(device)}: {problem}" if problem else None


def refusal_before_start(graph: Graph, config: TrainConfig) -> str | None:
    """For the app, before it starts a training process: why the run cannot start here, or None. A GPU run is
    checked by its training process (reading a GPU's free memory here would give the editor a CUDA context of
    its own, memory the run would then lack), before it makes its folder."""
    try:
        device = pick_device(config.device)
    except ConfigError as error:
        return str(error)
    return None if device.type == "cuda" else fit_refusal(graph, config, device)


def free_memory(device: torch.device, world: World | None = None) -> Available | None:
    """The memory a run on `device` may take: a GPU's free memory, or the RAM (shared by the processes of this
    machine under torchrun); None when it cannot be read."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return Available(int(free), f"free on {describe(device)}")
    available = available_memory()
    processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if world is not None and world.distributed else 1
    if available is None or processes <= 1:
        return available
    return Available(available.bytes // processes, f"{available.where}, shared by {processes} processes")


def largest_fitting_batch(session: Session, failed: int) -> int | None:
    """The largest of failed/2, failed/4, ... for which a training step fits in the GPU's memory; None on
    other devices (probing the CPU's memory could bring the whole machine down) or when not even 1 fits."""
    if session.device.type != "cuda":
        return None
    size = failed // 2
    while size >= 1:
        if _fits(session, size):
            return size
        size //= 2
    return None


def _fits(session: Session, size: int) -> bool:
    order = torch.arange(min(size, len(session.dataset.train)))
    inputs, targets = next(iter(session.dataset.train.batches(order, size, session.device)))
    try:
        with autocast(session.config, session.device):
            loss = session.objective.loss(as_tuple(session.model(**inputs)), targets)
        loss.backward()
        return True
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        return False
    finally:
        session.model.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
