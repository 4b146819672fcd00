"""Points in feature space: the generated moons, spirals and blobs."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from runtime.data.base import DataMismatch, Dataset
from runtime.data.fit import check_labelled, labelled_targets, one_float_input, shape_text
from runtime.data.options import SPLIT_SEED, DataOptions, sizes
from runtime.data.spec import GraphSpec, InputSpec
from runtime.data.splits import generator, take

# A generator of n labelled points: (features (n, F), labels (n,)).
PointMaker = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def moons(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles with Gaussian noise (0.1)."""
    labels = torch.arange(n) % 2
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.stack([t.cos(), t.sin()], 1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
    points = torch.where(labels[:, None] == 0, upper, lower)
    return points + 0.1 * torch.randn(n, 2, generator=g), labels


def spirals(arms: int) -> PointMaker:
    def make(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """`arms` interleaved spirals: arm k turned by 2πk/arms, one and a half turns each."""
        labels = torch.arange(n) % arms
        r = torch.rand(n, generator=g)
        angle = r * 3 * math.pi + labels * (2 * math.pi / arms)
        points = torch.stack([r * angle.cos(), r * angle.sin()], 1)
        return points + 0.02 * torch.randn(n, 2, generator=g), labels
    return make


def blobs(features: int, classes: int) -> PointMaker:
    # The centres come from the fixed seed: training (any seed) and validation samples share one distribution.
    centres = torch.randn(classes, features, generator=generator(SPLIT_SEED))
    centres = 4.0 * centres / centres.norm(dim=1, keepdim=True)  # 4 standard deviations from the origin

    def make(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Gaussian clusters (unit variance) around the fixed centres."""
        labels = torch.arange(n) % classes
        return centres[labels] + torch.randn(n, features, generator=g), labels
    return make


def _shuffled(points: torch.Tensor, labels: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(len(labels), generator=g)
    return points[order], labels[order]


def _point_input(spec: GraphSpec, name: str, features: int | None) -> InputSpec:
    inp = one_float_input(spec, name)
    if len(inp.shape) != 1 or (features is not None and inp.shape[0] != features):
        # blobs takes as many features as the input has, but always as a vector
        gives = f"{features} features" if features is not None else "a vector of features (as many as the input has)"
        raise DataMismatch(f"dataset '{name}' gives {gives} but input '{inp.name}' expects "
                           f"{shape_text(inp.shape)}")
    return inp


def _classes_wanted(spec: GraphSpec, name: str, least: int) -> int:
    """The number of classes the (first) classifying output asks for."""
    scored = [o for o in spec.outputs if o.loss in ("cross-entropy", "bce") and len(o.shape) == 1]
    if not scored:
        raise DataMismatch(f"dataset '{name}' is a classification set, but no output scores classes (a "
                           f"cross-entropy or bce output of shape {least} or more, one score per class)")
    classes = scored[0].shape[0]
    if classes < least:
        raise DataMismatch(f"dataset '{name}' needs at least {least} classes but output '{scored[0].name}' gives "
                           f"{classes} scores")
    return classes


def _maker(name: str, features: int, classes: int) -> PointMaker:
    if name == "moons":
        return moons
    return spirals(classes) if name == "spirals" else blobs(features, classes)


def build_points(name: str, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """`moons`, `spirals` or `blobs`: training points from `seed`, validation from a fixed seed."""
    inp = _point_input(spec, name, None if name == "blobs" else 2)
    classes = 2 if name == "moons" else _classes_wanted(spec, name, 2)
    maker = _maker(name, inp.shape[0], classes)
    task, warnings = check_labelled(spec, name, inp, classes)
    n_train, n_val = sizes(options, 2000, 500)
    splits = []
    for n, s in ((n_train, seed), (n_val, SPLIT_SEED + 1)):
        g = generator(s)
        x, y = _shuffled(*maker(n, g), g)
        splits.append(take({inp.name: x}, labelled_targets(spec, inp, x, y), torch.arange(n)))
    info: dict[str, object] = {"train": n_train, "val": n_val}
    description = {"moons": "two interleaving half circles, 2 features, 2 classes",
                   "spirals": f"{classes} interleaved spirals, 2 features, {classes} classes",
                   "blobs": f"Gaussian clusters, {inp.shape[0]} features, {classes} classes"}[name]
    return Dataset(name, description, task, splits[0], splits[1], classes=[str(c) for c in range(classes)],
                   info=info, warnings=warnings)
