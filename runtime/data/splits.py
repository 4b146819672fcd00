"""Deterministic train/validation splits of fixed data (a file, the digits): the same on every run."""

from __future__ import annotations

import math

import torch

from runtime.data.base import DataError, TensorSplit
from runtime.data.options import SPLIT_SEED, DataOptions


def fixed_split(n: int, options: DataOptions, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and validation samples among `n`: a permutation with a fixed seed, so the
    validation set never depends on the training seed; options.size / val_size cap each part."""
    n_val = math.ceil(n * options.val_fraction) if n > 1 else 0
    if n - n_val < 1 or n_val < 1:
        raise DataError(f"{what} has {n} samples: too few for a training and a validation set")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    train, val = order[:n - n_val], order[n - n_val:]
    if options.size is not None:
        train = train[:max(1, options.size)]
    if options.val_size is not None:
        val = val[:max(1, options.val_size)]
    return train, val


def take(inputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], index: torch.Tensor) -> TensorSplit:
    """The samples `index` of whole-dataset tensors as a TensorSplit (tensors shared are taken once)."""
    taken: dict[int, torch.Tensor] = {}

    def pick(t: torch.Tensor) -> torch.Tensor:
        if id(t) not in taken:  # a reconstruction target is the input tensor itself: copy it once
            taken[id(t)] = t[index]
        return taken[id(t)]

    return TensorSplit({k: pick(v) for k, v in inputs.items()}, {k: pick(v) for k, v in targets.items()})


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
