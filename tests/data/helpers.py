"""Small helpers shared by the data tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from runtime.data import Dataset, GraphSpec, Split
from runtime.data.spec import InputSpec, OutputSpec

CPU = torch.device("cpu")


def spec(inputs: list[tuple], outputs: list[tuple]) -> GraphSpec:
    """A GraphSpec from (name, shape, dtype[, vocab]) and (name, shape, loss) tuples."""
    return GraphSpec(tuple(InputSpec(*i) for i in inputs), tuple(OutputSpec(*o) for o in outputs))


def classifier(shape: tuple[int, ...], classes: int) -> GraphSpec:
    return spec([("X", shape, "float")], [("Y", (classes,), "cross-entropy")])


def everything(split: Split, batch_size: int = 10_000) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """All samples of a split in index order, concatenated."""
    parts = list(split.batches(torch.arange(len(split)), batch_size, CPU))
    inputs = {k: torch.cat([p[0][k] for p in parts]) for k in parts[0][0]}
    targets = {k: torch.cat([p[1][k] for p in parts]) for k in parts[0][1]}
    return inputs, targets


def first(dataset: Dataset, n: int = 8) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    return next(dataset.train.batches(torch.arange(n), n, CPU))


def write_classifier(path: Path, features: int, classes: int) -> str:
    """A graph file of one fully connected layer: `features` inputs → `classes` scores (cross-entropy)."""
    graph = {"format": "layerbook", "version": 1, "name": path.name.split(".")[0],
             "nodes": [{"name": "X", "type": "input", "params": {"shape": [features]}, "position": [0, 0]},
                       {"name": "fc", "type": "fully-conn", "params": {"out_features": classes},
                        "position": [0, -80]},
                       {"name": "Y", "type": "output", "position": [0, -160]}],
             "edges": [{"from": "X", "to": "fc"}, {"from": "fc", "to": "Y"}]}
    path.write_text(json.dumps(graph), encoding="utf-8")
    return str(path)
