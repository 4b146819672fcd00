"""Which samples each step trains on: a seeded permutation per epoch, cut into global batches, each batch cut
into one contiguous share per rank. A pure function of (seed, epoch), so a resumed run sees the same batches."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from runtime.training.distributed import World, share


@dataclass(frozen=True)
class EpochPlan:
    order: torch.Tensor  # this rank's samples, in order, from the batch to start at
    local_batch: int  # this rank's share of a full global batch (the last batch may be smaller)
    global_sizes: list[int]  # samples in each remaining global batch (for the loss weights and throughput)


def steps_per_epoch(samples: int, batch_size: int, world: World) -> int:
    """Global batches in an epoch; a last batch too small to give every rank a sample is dropped."""
    full, rest = divmod(samples, batch_size)
    return full + (1 if rest and all_ranks_served(rest, world) else 0)


def all_ranks_served(size: int, world: World) -> bool:
    """Whether a batch of `size` gives every rank at least one sample (the last rank's share is the first to
    run dry)."""
    last = World(world.size - 1, world.size)
    start, stop = share(size, last)
    return stop > start


def epoch_plan(samples: int, batch_size: int, seed: int, epoch: int, world: World, start_batch: int = 0
               ) -> EpochPlan:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    permutation = torch.randperm(samples, generator=generator)
    steps = steps_per_epoch(samples, batch_size, world)
    pieces, sizes = [], []
    for index in range(start_batch, steps):
        batch = permutation[index * batch_size:(index + 1) * batch_size]
        start, stop = share(len(batch), world)
        pieces.append(batch[start:stop])
        sizes.append(len(batch))
    order = torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.int64)
    local = share(batch_size, world)
    return EpochPlan(order, max(1, local[1] - local[0]), sizes)


def validation_order(samples: int, world: World) -> torch.Tensor:
    """This rank's contiguous share of the validation set (in its natural order)."""
    start, stop = share(samples, world)
    return torch.arange(start, stop)
