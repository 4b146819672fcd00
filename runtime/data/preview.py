"""A glimpse of a dataset as the graph would receive it, for the train panel: a grid of images, table rows or a
text excerpt, with the dataset's description; or the reason it does not fit the graph, or this machine's memory
(an input of 10**9 values makes samples of 4 GB: refused before any is made)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from graph.capacity import available_memory, format_bytes
from runtime.data import DataError, DataOptions, GraphSpec, load_dataset
from runtime.out_of_memory import allocation_text, is_out_of_memory

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
    problem = too_large(spec, count)
    if problem:
        return Preview("error", error=problem)
    try:
        dataset = load_dataset(source, spec, options=options or DataOptions(size=count, val_size=count))
        inputs, targets = next(iter(dataset.val.batches(torch.arange(min(count, len(dataset.val))), count, CPU)))
    except DataError as error:
        return Preview("error", error=str(error))
    except Exception as error:  # the estimate below does not count a dataset's own tables (a blob's centres)
        if not is_out_of_memory(error):
            raise
        tried = allocation_text(error)
        return Preview("error", error=f"out of memory while making the preview's samples"
                       f"{f' ({tried})' if tried else ''}: make the graph's inputs smaller")
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


def too_large(spec: GraphSpec, count: int) -> str | None:
    """Why this machine cannot hold the preview's samples (`count` of training and of validation data, each with
    its inputs and targets), found before any is made; None when it can."""
    available = available_memory()
    if available is None or not spec.inputs:  # a graph without inputs is refused for that by load_dataset
        return None
    sizes = {i.name: math.prod(i.shape) * (8 if i.dtype == "int" else 4) for i in spec.inputs}
    sample = sum(sizes.values()) + sum(math.prod(o.target_shape) * (8 if o.classes else 4) for o in spec.outputs)
    needed = 2 * count * sample
    if needed <= available.usable:
        return None
    largest = max(spec.inputs, key=lambda i: sizes[i.name])
    return (f"no preview: one sample takes {format_bytes(sample)} (input '{largest.name}' holds "
            f"{math.prod(largest.shape):,} values), and the preview's {2 * count} samples would need about "
            f"{format_bytes(needed)} but {available.text()} may be used: make the input smaller")


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
