"""Data for training: built-in datasets (nothing downloaded) and a user's files, fitted to a graph.

    dataset = load_dataset("digits", GraphSpec.of(graph), seed=0)
    for inputs, targets in dataset.train.batches(order, 64, device): ...

Validation sets never depend on `seed` (a fixed split seed); `seed` only changes generated training content.
"""

from __future__ import annotations

from runtime.data.base import Batch, DataError, DataMismatch, Dataset, Split, TensorSplit
from runtime.data.options import DataOptions
from runtime.data.registry import BUILTINS, builder_for
from runtime.data.spec import GraphSpec, InputSpec, OutputSpec

__all__ = ["Batch", "DataError", "DataMismatch", "DataOptions", "Dataset", "GraphSpec", "InputSpec", "OutputSpec",
           "Split", "TensorSplit", "builtin_datasets", "fitting_datasets", "load_dataset"]


def load_dataset(source: str, spec: GraphSpec, *, seed: int = 0, options: DataOptions | None = None) -> Dataset:
    """A built-in dataset by name, or a .csv / .npz / .npy / .txt file or an image folder, fitted to `spec`.
    Raises DataError when the data cannot be read, DataMismatch when it does not fit the graph."""
    options = options or DataOptions()
    return builder_for(source, options)(spec, seed, options)


def builtin_datasets() -> dict[str, str]:
    """The built-in datasets: name → one-line description."""
    return {name: description for name, (description, _) in BUILTINS.items()}


def fitting_datasets(spec: GraphSpec) -> list[str]:
    """The built-in datasets that fit a graph, each tried on two samples (well under a second in all): what to
    suggest when a graph names no data."""
    tiny = DataOptions(size=2, val_size=2)
    fits: list[str] = []
    for name in BUILTINS:
        try:
            load_dataset(name, spec, options=tiny)
            fits.append(name)
        except (DataError, ValueError, RuntimeError):  # any refusal means "does not fit": this is a suggestion
            continue
    return fits
