"""Coloured geometric shapes, rendered on the fly per batch from per-sample parameters.

All parameters (class, centre, size, rotation, colours, noise key) are drawn once for all N samples from a seeded
generator, so sample i is the same image whatever batch it falls in; a batch is rendered in one go with
coordinate grids and masks (no per-sample Python loop).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

from runtime.data.base import Batch, Dataset
from runtime.data.fit import check_labelled, labelled_targets, one_float_input
from runtime.data.geometry import ImageGeometry, image_geometry
from runtime.data.options import SPLIT_SEED, DataOptions, sizes
from runtime.data.spec import GraphSpec, InputSpec
from runtime.data.splits import generator

SHAPE_CLASSES = ["circle", "square", "triangle", "cross", "ring", "diamond"]
NOISE = 0.05  # amplitude of the background noise: visible, never enough to hide a shape


def shape_parameters(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Per-sample parameters for `n` shapes; classes are exactly balanced, then shuffled."""
    g = generator(seed)
    k = len(SHAPE_CLASSES)
    labels = (torch.arange(n) % k)[torch.randperm(n, generator=g)]
    size = 0.3 + 0.3 * torch.rand(n, generator=g)  # radius, in half-widths of the image
    centre = (torch.rand(n, 2, generator=g) * 2 - 1) * (1 - size)[:, None]  # keeps the shape inside
    # Small rotations only: a square turned by 45° would be a diamond.
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(20)
    fg = 0.55 + 0.45 * torch.rand(n, 3, generator=g)
    bg = 0.35 * torch.rand(n, 3, generator=g)
    swap = torch.rand(n, generator=g) < 0.5  # dark shapes on light ground as often as the reverse
    fg, bg = torch.where(swap[:, None], bg, fg), torch.where(swap[:, None], fg, bg)
    key = torch.randint(1, 2**31 - 1, (n,), generator=g)
    return {"label": labels, "size": size, "centre": centre, "angle": angle, "fg": fg, "bg": bg, "key": key}


def render_shapes(p: dict[str, torch.Tensor], channels: int, height: int, width: int) -> torch.Tensor:
    """The images of the samples whose parameters are `p` (a batch), (N, C, H, W) in [0, 1]."""
    device = p["size"].device
    ys = (torch.arange(height, device=device) + 0.5) / height * 2 - 1  # pixel centres in [-1, 1]
    xs = (torch.arange(width, device=device) + 0.5) / width * 2 - 1
    dx = xs[None, None, :] - p["centre"][:, 0, None, None]
    dy = ys[None, :, None] - p["centre"][:, 1, None, None]
    cos, sin = p["angle"].cos()[:, None, None], p["angle"].sin()[:, None, None]
    scale = p["size"][:, None, None]
    u, v = (cos * dx + sin * dy) / scale, (cos * dy - sin * dx) / scale  # shape frame, radius 1
    inside = _inside(u, v, p["label"])
    colour_fg, colour_bg = _colours(p, channels)
    image = torch.where(inside, colour_fg[:, :, None, None], colour_bg[:, :, None, None])
    return (image + NOISE * _noise(p["key"], height, width)[:, None]).clamp_(0.0, 1.0)


def _inside(u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): whether each pixel is inside its sample's shape. One pass per class over that class's
    samples (six passes, not one per sample), so no image pays for the other classes' masks."""
    inside = torch.empty(u.shape, dtype=torch.bool, device=u.device)
    for k, mask in enumerate(MASKS):
        chosen = (labels == k).nonzero().squeeze(1)
        if len(chosen):
            inside[chosen] = mask(u[chosen], v[chosen])
    return inside[:, None]


def _radius(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u * u + v * v).sqrt()


# Masks in the shape's own frame (radius 1), in the order of SHAPE_CLASSES.
MASKS: list[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = [
    lambda u, v: u * u + v * v <= 1,
    lambda u, v: torch.maximum(u.abs(), v.abs()) <= 0.8,
    lambda u, v: (v >= -0.5) & (math.sqrt(3) * u.abs() + v <= 1),  # equilateral, pointing up
    lambda u, v: ((u.abs() <= 0.3) & (v.abs() <= 1)) | ((v.abs() <= 0.3) & (u.abs() <= 1)),
    lambda u, v: (_radius(u, v) <= 1) & (_radius(u, v) >= 0.55),
    lambda u, v: u.abs() + v.abs() <= 1,
]


def _colours(p: dict[str, torch.Tensor], channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    if channels == 3:
        return p["fg"], p["bg"]
    return p["fg"].mean(1, keepdim=True), p["bg"].mean(1, keepdim=True)  # grey keeps the contrast


def _noise(key: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Uniform noise in [-1, 1] from an integer hash of (sample key, pixel): fixed per sample, any batch."""
    pixel = torch.arange(height * width, device=key.device, dtype=torch.int64)
    h = key[:, None] * 0x9E3779B1 + pixel[None, :] * 0x85EBCA77
    for shift, mul in ((15, 0x2C1B3C6D), (13, 0x297A2D39)):
        h = ((h ^ (h >> shift)) * mul) & 0x7FFFFFFF  # 31-bit arithmetic: no int64 overflow
    return (h.float() / 0x7FFFFFFF * 2 - 1).view(-1, height, width)


class ShapesSplit:
    """A split of generated shapes: parameters held, images rendered per batch on the device."""

    def __init__(self, spec: GraphSpec, inp: InputSpec, geometry: ImageGeometry, n: int, seed: int) -> None:
        self.spec, self.inp, self.geometry = spec, inp, geometry
        self.params = shape_parameters(n, seed)
        self._placed: tuple[str, dict[str, torch.Tensor]] | None = None

    def __len__(self) -> int:
        return len(self.params["label"])

    def batches(self, order: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[Batch]:
        params = self._on(device)
        order = order.to(device)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield self.batch({k: v[index] for k, v in params.items()})

    def batch(self, p: dict[str, torch.Tensor]) -> Batch:
        g = self.geometry
        x = g.to_input(render_shapes(p, g.channels, g.height, g.width))
        return {self.inp.name: x}, labelled_targets(self.spec, self.inp, x, p["label"])

    def _on(self, device: torch.device) -> dict[str, torch.Tensor]:
        if self._placed is None or self._placed[0] != str(device):
            self._placed = (str(device), {k: v.to(device) for k, v in self.params.items()})
        return self._placed[1]


def build_shapes(spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """`shapes`: training content from `seed`, validation from a fixed seed (the same set on every run)."""
    inp = one_float_input(spec, "shapes")
    geometry = image_geometry(inp, "shapes", (3, 64, 64))
    task, warnings = check_labelled(spec, "shapes", inp, len(SHAPE_CLASSES))
    n_train, n_val = sizes(options, 4000, 1000)
    c, h, w = geometry.image_shape
    info: dict[str, object] = {"train": n_train, "val": n_val, "rendered": f"{c}×{h}×{w}"}
    return Dataset("shapes", f"generated coloured shapes, {c}×{h}×{w}, {len(SHAPE_CLASSES)} classes", task,
                   ShapesSplit(spec, inp, geometry, n_train, seed), ShapesSplit(spec, inp, geometry, n_val, SPLIT_SEED),
                   classes=list(SHAPE_CLASSES), info=info, warnings=warnings)
