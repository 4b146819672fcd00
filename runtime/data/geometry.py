"""Fitting rendered images to an input: C×H×W as is, a flat vector, or patches for a vision transformer.

Patch order (vision transformer inputs of shape (M, D)): an S×S image with C channels is cut into M = (S/P)²
patches of P×P, taken row by row (left to right, then top to bottom); each patch is flattened channel-major,
then row, then column — D = C·P·P, the order `x.unfold(2, P, P).unfold(3, P, P)` gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from runtime.data.base import DataMismatch
from runtime.data.fit import shape_text
from runtime.data.spec import InputSpec


@dataclass(frozen=True)
class ImageGeometry:
    channels: int
    height: int
    width: int
    patch: int | None = None  # patch side for a (M, C·P·P) input
    flat: bool = False  # a rank-1 input: the image flattened

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def to_input(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images in the input's layout."""
        if self.patch is not None:
            return patchify(images, self.patch)
        return images.flatten(1) if self.flat else images


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, S, S) → (N, M, C·P·P), patches row-major, each channel-major (see the module's docstring)."""
    n, c = images.shape[:2]
    tiles = images.unfold(2, patch, patch).unfold(3, patch, patch)  # N, C, rows, cols, P, P
    return tiles.permute(0, 2, 3, 1, 4, 5).reshape(n, -1, c * patch * patch)


def image_geometry(inp: InputSpec, dataset: str, gives: tuple[int, int, int], channels: tuple[int, ...] = (1, 3),
                   native: bool = False) -> ImageGeometry:
    """How to render images for `inp`: `gives` is the dataset's usual C×H×W (for the message), `channels` the
    counts it can render, `native` whether its H×W is fixed."""
    shape = tuple(inp.shape)
    geometry = _from_shape(shape, channels)
    if geometry is None or geometry.channels not in channels or (
            native and (geometry.height, geometry.width) != gives[1:]):
        seen = f" ({shape_text(geometry.image_shape)} images in {geometry.patch}×{geometry.patch} patches)" \
            if geometry is not None and geometry.patch else ""
        raise DataMismatch(f"dataset '{dataset}' gives {shape_text(gives)} images but input '{inp.name}' expects "
                           f"{shape_text(shape)}{seen}")
    return geometry


def _from_shape(shape: tuple[int, ...], channels: tuple[int, ...]) -> ImageGeometry | None:
    if len(shape) == 3:
        return ImageGeometry(*shape)
    if len(shape) == 2:
        return _patches(*shape)
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        return ImageGeometry(1, side, side, flat=True) if side * side == shape[0] else None
    return None


def _patches(m: int, d: int) -> ImageGeometry | None:
    """A (M, C·P·P) input: M must be a square number of patches and D = C·P·P for C in {1, 3}."""
    grid = math.isqrt(m)
    if grid * grid != m:
        return None
    for c in (3, 1):
        p = math.isqrt(d // c)
        if d % c == 0 and p * p * c == d:
            return ImageGeometry(c, grid * p, grid * p, patch=p)
    return None

