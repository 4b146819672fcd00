"""The handwritten digits scikit-learn ships (read from its data file, without importing scikit-learn)."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from runtime.data.base import DataError, Dataset
from runtime.data.fit import check_labelled, labelled_targets, one_float_input
from runtime.data.geometry import image_geometry
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec
from runtime.data.splits import fixed_split, take

DIGIT_CLASSES = [str(d) for d in range(10)]


@lru_cache(maxsize=1)
def digit_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 digits as (N, 1, 8, 8) float values in [0, 1] and (N,) int64 labels."""
    raw = np.loadtxt(_digits_file(), delimiter=",", dtype=np.float32)  # numpy reads the .gz itself
    images = torch.from_numpy(raw[:, :64].reshape(-1, 1, 8, 8) / 16.0)
    return images, torch.from_numpy(raw[:, 64].astype(np.int64))


def _digits_file() -> Path:
    # find_spec on the top-level package locates scikit-learn without running its (slow) package imports.
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the 'digits' dataset comes with scikit-learn: pip install scikit-learn")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise DataError(f"scikit-learn's digits file is missing ({path}): pip install --force-reinstall scikit-learn")
    return path


def render(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Images resampled to H×W by bilinear interpolation (identity at the native size)."""
    if images.shape[-2:] == (height, width):
        return images.clone()
    return F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)


def digit_statistics() -> tuple[float, float]:
    """Mean and standard deviation of every pixel of the 1,797 digits in [0, 1] (fixed: they do not depend on
    the split, the size or a cap on the number of samples)."""
    images, _ = digit_arrays()
    return images.mean().item(), images.std().item()


def standardised(x: torch.Tensor) -> torch.Tensor:
    """Mean 0 and deviation 1: a classifier learns faster and more reliably on such inputs (LeNet on digits:
    97.5-98.6% in 10 epochs, against 95-97% on raw [0, 1] values). A reconstruction keeps [0, 1], the range of
    the target it must give back."""
    mean, std = digit_statistics()
    return (x - mean) / std


def build_digits(spec: GraphSpec, seed: int, options: DataOptions, native: bool = False) -> Dataset:
    """`digits` (rendered at the input's H×W) or `digits8` (8×8 only); `seed` plays no part: the data is fixed."""
    name = "digits8" if native else "digits"
    inp = one_float_input(spec, name)
    geometry = image_geometry(inp, name, (1, 8, 8) if native else (1, 28, 28), channels=(1,), native=native)
    task, warnings = check_labelled(spec, name, inp, 10)
    images, labels = digit_arrays()
    x = geometry.to_input(render(images, geometry.height, geometry.width))
    targets = labelled_targets(spec, inp, x, labels)
    train, val = fixed_split(len(x), options, f"dataset '{name}'")
    description = f"1,797 handwritten digits (scikit-learn), 1×{geometry.height}×{geometry.width}, 10 classes"
    if task != "reconstruction":
        x = standardised(x)
        description += ", standardised"
    info: dict[str, object] = {"source": "scikit-learn digits", "train": len(train), "val": len(val)}
    return Dataset(name, description, task,
                   take({inp.name: x}, targets, train), take({inp.name: x}, targets, val),
                   classes=DIGIT_CLASSES, info=info, warnings=warnings)
