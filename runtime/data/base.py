"""The contract between datasets and the training engine.

A dataset has a train and a validation `Split`. The engine decides the order of the samples (a seeded permutation
per epoch, sharded per rank under torchrun, skipped ahead on resume) and asks the split for the batches in that
order; the split gives them on the training device. Small splits hold their tensors on the device (a batch is an
index, no per-sample Python work); generated ones render each batch from per-sample parameters; large ones stream
from disk with DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import torch

# A batch: the inputs by input node name, the targets by output node name.
Batch = tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]

TASKS = ("classification", "regression", "next-token", "seq2seq", "reconstruction", "sequence-classification")


class DataError(Exception):
    """The data cannot be read: a missing file, an unreadable format, an unknown dataset name."""


class DataMismatch(DataError):
    """The data does not fit the graph; the message names the dataset, the node and both shapes."""


class Split(Protocol):
    def __len__(self) -> int: ...

    def batches(self, order: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[Batch]:
        """The samples `order` (a 1-d int64 CPU tensor of indices) in batches of `batch_size` (the last may be
        smaller), on `device`."""
        ...


@dataclass
class TensorSplit:
    """A split held as tensors (moved to the training device once, on first use)."""

    inputs: dict[str, torch.Tensor]
    targets: dict[str, torch.Tensor]
    _placed: dict[str, tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = field(default_factory=dict,
                                                                                       repr=False)

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def batches(self, order: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[Batch]:
        inputs, targets = self._on(device)
        order = order.to(device)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield ({k: v[index] for k, v in inputs.items()}, {k: v[index] for k, v in targets.items()})

    def _on(self, device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        key = str(device)
        if key not in self._placed:
            self._placed.clear()  # keep one copy: the device being trained on
            self._placed[key] = ({k: v.to(device) for k, v in self.inputs.items()},
                                 {k: v.to(device) for k, v in self.targets.items()})
        return self._placed[key]


@dataclass
class Dataset:
    """A dataset fitted to a graph: what the engine trains on and what the app shows about it."""

    name: str
    description: str  # one line: "1,797 handwritten digits (scikit-learn), 1×28×28, 10 classes"
    task: str  # one of TASKS
    train: Split
    val: Split
    classes: list[str] | None = None  # class names, for a confusion matrix
    vocabulary: list[str] | None = None  # token id → text, for generated text
    info: dict[str, object] = field(default_factory=dict)  # anything else worth showing (source path, sizes)
    # What the user should know before training on it (one class only, spare output scores...): each a sentence
    # printed by the command line and carried by the run's events and settings.
    warnings: list[str] = field(default_factory=list)
