"""A folder of images with one sub-folder per class: held in memory when small, streamed from disk otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from runtime.data.base import Batch, DataError, Dataset
from runtime.data.fit import check_labelled, labelled_targets, one_float_input
from runtime.data.geometry import ImageGeometry, image_geometry
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec, InputSpec
from runtime.data.splits import fixed_split, take

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def list_images(folder: Path) -> tuple[list[Path], torch.Tensor, list[str]]:
    """The image files (sorted by class, then name), their class ids and the class names (sorted folders)."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"'{folder}' has no class sub-folders (one folder of images per class)")
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in SUFFIXES)
        files += found
        labels += [label] * len(found)
    if not files:
        raise DataError(f"'{folder}' has class folders ({', '.join(classes)}) but no images in them")
    return files, torch.tensor(labels, dtype=torch.int64), classes


def decode(path: Path, channels: int, height: int, width: int) -> torch.Tensor:
    """One image as (C, H, W) floats in [0, 1]."""
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"cannot read image '{path}': {exc}") from None
    return torch.from_numpy(pixels.reshape(height, width, channels)).permute(2, 0, 1).contiguous()


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
    task, note = check_labelled(spec, name, inp, len(classes))
    train, val = fixed_split(len(files), options, f"'{folder}'")
    decoded_bytes = len(files) * 4 * int(np.prod(geometry.image_shape))
    info: dict[str, object] = {"source": str(folder), "train": len(train), "val": len(val),
                               "streamed": decoded_bytes > options.stream_bytes}
    if note:
        info["note"] = note
    c, h, w = geometry.image_shape
    description = f"{len(files):,} images from {name}, {c}×{h}×{w}, {len(classes)} classes"
    if info["streamed"]:
        splits = [StreamSplit(spec, inp, _Decoded([files[i] for i in idx], labels[idx], geometry), options.workers)
                  for idx in (train, val)]
        return Dataset(name, description, task, splits[0], splits[1], classes=classes, info=info)
    x = geometry.to_input(torch.stack([decode(f, c, h, w) for f in files]))
    targets = labelled_targets(spec, inp, x, labels)
    return Dataset(name, description, task, take({inp.name: x}, targets, train), take({inp.name: x}, targets, val),
                   classes=classes, info=info)
