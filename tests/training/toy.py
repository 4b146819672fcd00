"""Small graphs and in-memory datasets the engine tests train on (independent of the built-in datasets)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from graph import Graph
from runtime.data.base import Batch, Dataset, TensorSplit


def classifier(features: int = 8, classes: int = 3, hidden: int = 16, dropout: float = 0.0) -> Graph:
    """input(features) → fully-conn → relu [→ dropout] → fully-conn → output (cross-entropy)."""
    g = Graph("toy")
    x = g.add("input", name="X", shape=(features,))
    fc1 = g.add("fully-conn", name="fc1", out_features=hidden)
    relu = g.add("relu", name="relu")
    fc2 = g.add("fully-conn", name="fc2", out_features=classes)
    y = g.add("output", name="Y", loss="cross-entropy")
    g.connect(x, fc1)
    g.connect(fc1, relu)
    previous = relu
    if dropout:
        drop = g.add("dropout", name="drop", p=dropout)
        g.connect(relu, drop)
        previous = drop
    g.connect(previous, fc2)
    g.connect(fc2, y)
    return g


def clusters(samples: int, features: int = 8, classes: int = 3, seed: int = 0) -> TensorSplit:
    """Gaussian clusters around fixed centres (the same centres for every split and seed)."""
    centres = torch.randn(classes, features, generator=torch.Generator().manual_seed(1234)) * 3
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (samples,), generator=generator)
    points = centres[labels] + torch.randn(samples, features, generator=generator)
    return TensorSplit({"X": points}, {"Y": labels})


def cluster_dataset(train: int = 600, val: int = 200, features: int = 8, classes: int = 3) -> Dataset:
    return Dataset("clusters", "gaussian clusters", "classification", clusters(train, features, classes, seed=1),
                   clusters(val, features, classes, seed=2))


class PoisonedSplit:
    """A split whose inputs turn to NaN from the `from_batch`-th batch it gives (counted from 1) onwards."""

    def __init__(self, inner: TensorSplit, from_batch: int) -> None:
        self.inner = inner
        self.from_batch = from_batch
        self.given = 0

    def __len__(self) -> int:
        return len(self.inner)

    def batches(self, order: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[Batch]:
        for inputs, targets in self.inner.batches(order, batch_size, device):
            self.given += 1
            if self.given >= self.from_batch:
                inputs = {k: torch.full_like(v, float("nan")) for k, v in inputs.items()}
            yield inputs, targets
