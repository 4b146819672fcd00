"""How much data to take and how to read it: the knobs a user may set next to a dataset's name."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.data.base import DataError

# Validation sets must be the same across runs (so curves compare), so splitting and validation content use this
# seed and never the training seed.
SPLIT_SEED = 1_234_567


@dataclass
class DataOptions:
    size: int | None = None  # training samples generated, or a cap on those taken from a file (None: default)
    val_size: int | None = None  # validation samples generated, or a cap (None: default)
    val_fraction: float = 0.2  # share of a file's or a fixed dataset's samples kept for validation
    features: list[str] | None = None  # CSV columns fed to the input (None: all but the label)
    label: str | None = None  # CSV label column (None: the last column)
    stream_bytes: int = 512 * 1024 * 1024  # decoded image folders larger than this stream from disk
    workers: int = 2  # DataLoader workers when streaming


def sizes(options: DataOptions, train: int, val: int) -> tuple[int, int]:
    """The numbers of training and validation samples to generate: the options' or the dataset's defaults."""
    n_train = train if options.size is None else options.size
    n_val = val if options.val_size is None else options.val_size
    if n_train < 1 or n_val < 1:
        raise DataError(f"a dataset needs at least one training and one validation sample (got {n_train}, {n_val})")
    return n_train, n_val
