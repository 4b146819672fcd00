"""Several processes under torchrun: DistributedDataParallel with gloo on CPUs, NCCL on GPUs.

`--batch-size` is the global batch. Each step's global batch (the same on every rank: the order comes from the
shared seed) is cut into contiguous shares, one per rank, and each rank scales its mean loss by its share of the
samples, so the averaged gradient equals that of one process on the whole batch, even when the batch does not
divide evenly. Only rank 0 writes metrics and checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

_cpu_group: Any = None  # under NCCL, a gloo group beside it for `any_rank`'s flags (None: the default group)


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def from_environment() -> World:
    """The process group torchrun describes in the environment (one process when there is none)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


def start(world: World, device: torch.device) -> None:
    if world.distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, rank=world.rank, world_size=world.size,
                                device_id=device if device.type == "cuda" else None)
        if backend == "nccl":
            global _cpu_group
            _cpu_group = dist.new_group(backend="gloo")


def finish(world: World, together: bool = False) -> None:
    """Leave the process group. `together` (a run every rank finished): wait for the others first, since a rank
    tearing gloo down while another still uses it aborts the process ("terminate called without an active
    exception", seen in CI). After a failure no rank waits: another may never arrive."""
    if world.distributed and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()
        global _cpu_group
        _cpu_group = None


def share(batch_size: int, world: World) -> tuple[int, int]:
    """The [start, stop) of this rank's share of a global batch of `batch_size` samples."""
    chunk = -(-batch_size // world.size)
    start = min(world.rank * chunk, batch_size)
    return start, min(start + chunk, batch_size)


def total(values: torch.Tensor, world: World) -> torch.Tensor:
    """The sum over ranks (a copy; the tensor itself is left as it was)."""
    if not world.distributed:
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_text(text: str, world: World) -> str:
    """Rank 0's string on every rank (the run folder's name)."""
    if not world.distributed:
        return text
    box = [text]
    dist.broadcast_object_list(box, src=0)
    return str(box[0])



def any_rank(flag: bool, world: World) -> bool:
    """Whether `flag` holds on any rank: every rank calls it at the same point and all get the same answer (a
    stop request that reached the ranks at different steps). Through gloo on the CPU, even beside NCCL: a flag
    on the GPU would make every step wait for the device."""
    if not world.distributed:
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int32)
    dist.all_reduce(value, op=dist.ReduceOp.MAX, group=_cpu_group)
    return bool(value.item())
