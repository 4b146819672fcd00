"""A folder of images with one sub-folder per class: held in memory when small, streamed from disk otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from runtime.data.base import Batch, DataError, Dataset
from runtime.data.fit import check_labelled, class_warnings, labelled_targets, one_float_input
from runtime.data.geometry import ImageGeometry, image_geometry
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec, InputSpec
from runtime.data.splits import fixed_split, take

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# Grey modes wider than 8 bits → the value of white. PIL's convert("L") clips them at 255, which would make most
# of a 16-bit image white; they are scaled to [0, 1] instead.
WIDE_MODES = {"I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I;16N": 65535.0, "I": 65535.0, "F": 1.0}
BILINEAR = Image.Resampling.BILINEAR


def list_images(folder: Path) -> tuple[list[Path], torch.Tensor, list[str]]:
    """The image files (sorted by class, then name), their class ids and the class names (sorted folders).
    Hidden entries are left out: .DS_Store, and the ._name.jpg files macOS writes beside images on other disks."""
    try:
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        files, labels = [], []
        for label, name in enumerate(classes):
            found = sorted(p for p in (folder / name).iterdir()
                           if p.suffix.lower() in SUFFIXES and not p.name.startswith("."))
            files += found
            labels += [label] * len(found)
    except OSError as exc:  # a folder that cannot be listed (permissions, a disk gone)
        raise DataError(f"cannot read the folder '{exc.filename or folder}': {exc.strerror or exc}") from None
    if not classes:
        raise DataError(f"'{folder}' has no class sub-folders (one folder of images per class)")
    if not files:
        raise DataError(f"'{folder}' has class folders ({', '.join(classes)}) but no images in them "
                        f"({', '.join(sorted(SUFFIXES))})")
    return files, torch.tensor(labels, dtype=torch.int64), classes


def decode(path: Path, channels: int, height: int, width: int) -> torch.Tensor:
    """One image as (C, H, W) floats in [0, 1], whatever its size and mode (grey, colour, palette, alpha,
    16-bit)."""
    try:
        if path.stat().st_size == 0:
            raise DataError(f"cannot read image '{path}': the file is empty (0 bytes)")
        with Image.open(path) as image:
            pixels = _pixels(image, channels, height, width)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # not an image, cut short, too large
        raise DataError(f"cannot read image '{path}': {exc}") from None
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def _pixels(image: Image.Image, channels: int, height: int, width: int) -> np.ndarray:
    """(H, W, C) floats in [0, 1]."""
    white = WIDE_MODES.get(image.mode)
    if white is None:
        image = image.convert("L" if channels == 1 else "RGB").resize((width, height), BILINEAR)
        return np.asarray(image, dtype=np.float32).reshape(height, width, channels) / 255.0
    grey = image.convert("F").resize((width, height), BILINEAR)
    values = np.clip(np.asarray(grey, dtype=np.float32) / white, 0.0, 1.0)
    return np.repeat(values[:, :, None], channels, axis=2)


class _Decoded(torch.utils.data.Dataset):
    """Per-sample decoding for DataLoader workers."""

    def __init__(self, files: list[Path], labels: torch.Tensor, geometry: ImageGeometry) -> None:
        self.files, self.labels, self.geometry = files, labels, geometry

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.geometry
        return decode(self.files[i], g.channels, g.height, g.width), self.labels[i]


class StreamSplit:
    """Images decoded from disk per batch by DataLoader workers, in the order the engine asks."""

    def __init__(self, spec: GraphSpec, inp: InputSpec, data: _Decoded, workers: int) -> None:
        self.spec, self.inp, self.data, self.workers = spec, inp, data, workers

    def __len__(self) -> int:
        return len(self.data)

    def batches(self, order: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[Batch]:
        cuda = device.type == "cuda"
        loader = torch.utils.data.DataLoader(self.data, batch_size=batch_size, sampler=order.tolist(),
                                             num_workers=self.workers, pin_memory=cuda)
        try:
            for images, labels in loader:
                x = self.data.geometry.to_input(images.to(device, non_blocking=cuda))
                yield {self.inp.name: x}, labelled_targets(self.spec, self.inp, x, labels.to(device))
        except DataError as error:  # an image deleted or cut short since the run started
            raise type(error)(worker_message(error)) from None


def worker_message(error: DataError) -> str:
    """The message a worker raised. DataLoader re-raises a worker's error with the worker's whole traceback as
    the message; the user's part is what follows the exception's name on the traceback's last line."""
    marker = f"{type(error).__module__}.{type(error).__qualname__}: "
    _, found, original = str(error).rpartition(marker)
    return original.strip() if found else str(error)


def build_folder(folder: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """Classes from the sorted sub-folders, a fixed 80/20 split; `seed` plays no part."""
    name = folder.name
    inp = one_float_input(spec, name)
    geometry = image_geometry(inp, name, (3, 64, 64))
    files, labels, classes = list_images(folder)
    task, _ = check_labelled(spec, name, inp, len(classes))
    warnings = [w for out in spec.outputs if out.loss in ("cross-entropy", "bce") and len(out.shape) == 1
                for w in class_warnings(f"folder '{folder}'", out, labels, classes)]
    train, val = fixed_split(len(files), options, f"'{folder}'")
    decoded_bytes = len(files) * 4 * int(np.prod(geometry.image_shape))
    info: dict[str, object] = {"source": str(folder), "train": len(train), "val": len(val),
                               "streamed": decoded_bytes > options.stream_bytes}
    c, h, w = geometry.image_shape
    description = f"{len(files):,} images from {name}, {c}×{h}×{w}, {len(classes)} class{'es' * (len(classes) > 1)}"
    if info["streamed"]:
        splits = [StreamSplit(spec, inp, _Decoded([files[i] for i in idx], labels[idx], geometry), options.workers)
                  for idx in (train, val)]
        return Dataset(name, description, task, splits[0], splits[1], classes=classes, info=info,
                       warnings=warnings)
    x = geometry.to_input(torch.stack([decode(f, c, h, w) for f in files]))
    targets = labelled_targets(spec, inp, x, labels)
    return Dataset(name, description, task, take({inp.name: x}, targets, train), take({inp.name: x}, targets, val),
                   classes=classes, info=info, warnings=warnings)
