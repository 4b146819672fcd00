"""A glimpse of a dataset as the graph would receive it, for the train panel: a grid of images, table rows or a
text excerpt, with the dataset's description; or the reason it does not fit the graph."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from runtime.data import DataError, DataOptions, GraphSpec, load_dataset

CPU = torch.device("cpu")


@dataclass
class Preview:
    kind: str  # images, table, text, tokens, error
    description: str = ""
    task: str = ""
    images: list[torch.Tensor] = field(default_factory=list)  # (H, W, 3) uint8 each
    labels: list[str] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    text: str = ""
    error: str = ""
    warnings: list[str] = field(default_factory=list)  # the dataset's: what to know before training on it


def preview(source: str, spec: GraphSpec, count: int = 16, options: DataOptions | None = None) -> Preview:
    try:
        dataset = load_dataset(source, spec, options=options or DataOptions(size=count, val_size=count))
        inputs, targets = next(iter(dataset.val.batches(torch.arange(min(count, len(dataset.val))), count, CPU)))
    except DataError as error:
        return Preview("error", error=str(error))
    x = next(iter(inputs.values()))
    labels = _labels(dataset.classes, next(iter(targets.values()), None))
    shown = Preview("tokens", dataset.description, dataset.task, labels=labels, warnings=list(dataset.warnings))
    if x.is_floating_point() and x.dim() == 4 and x.shape[1] in (1, 3):
        shown.kind, shown.images = "images", [_picture(image) for image in x]
    elif x.is_floating_point():
        shown.kind, shown.rows = "table", x.reshape(len(x), -1)[:, :12].tolist()
    elif dataset.vocabulary:
        shown.kind = "text"
        shown.text = "".join(dataset.vocabulary[int(t)] for t in x[: max(1, count // 4)].reshape(-1))
    else:
        shown.rows = x.reshape(len(x), -1)[:, :24].tolist()
    return shown


def _picture(image: torch.Tensor) -> torch.Tensor:
    """A (C, H, W) float image as (H, W, 3) uint8, stretched to its own range (standardised data included)."""
    low, high = image.min(), image.max()
    scaled = ((image - low) / (high - low) if high > low else torch.zeros_like(image)) * 255
    picture = scaled.round().to(torch.uint8).permute(1, 2, 0)
    return picture.expand(-1, -1, 3).contiguous() if picture.shape[2] == 1 else picture.contiguous()


def _labels(classes: list[str] | None, target: torch.Tensor | None) -> list[str]:
    if target is None or target.is_floating_point() or target.dim() != 1:
        return []
    return [classes[int(t)] if classes and int(t) < len(classes) else str(int(t)) for t in target]
