"""Checkpoints: save a module's weights atomically, load them safely and explain any mismatch.

Loading always uses `weights_only=True`: a checkpoint is data, and an arbitrary pickle could run code. Every
failure becomes a WeightsError whose message says what is wrong, never a raw traceback.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graph.fileformat import atomic_write

WRAPPER_KEYS = ("model", "state_dict")  # where training scripts commonly nest the state_dict
LISTED = 5  # keys named in a message before "and N more"


class WeightsError(Exception):
    """A checkpoint that cannot be loaded into the module; the message names the cause."""


def save_weights(module: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write the module's state_dict; an interrupted save leaves any previous file intact."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    target = Path(path)
    atomic_write(target, buffer.getvalue())
    return target


def load_weights(module: nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a checkpoint (a state_dict, or a dict holding one under "model" or "state_dict") onto the CPU and
    into `module`, which must have exactly the same keys and shapes."""
    if not os.fspath(path):  # Path("") would be the working folder
        raise WeightsError("no checkpoint given: '' is no file name")
    state = _state_dict(read_checkpoint_file(Path(path)), Path(path))
    problem = mismatch(module.state_dict(), state)
    if problem:
        raise WeightsError(f"checkpoint '{path}' does not fit the model: {problem}")
    module.load_state_dict(state, strict=True)


def read_checkpoint_file(path: Path) -> Any:
    """What a .pt file holds, read with `weights_only=True`: tensors and plain values, never code. WeightsError
    naming the file and why it cannot be read (it holds code or objects; it is truncated or not a checkpoint)."""
    try:
        regular, exists = path.is_file(), path.exists()
    except OSError as error:  # a name too long for the file system
        raise WeightsError(f"cannot read the checkpoint '{path}': {error.strerror or error}") from None
    if not regular:
        raise WeightsError(f"'{path}' is not a checkpoint file (it is a folder, a device or a pipe)" if exists
                           else f"no checkpoint at '{path}'")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; the outcome is what matters
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsError(f"'{path}' {_reason(error)}") from None


def _reason(error: Exception) -> str:
    """Why torch.load refused a file, in words: the safe unpickler's refusal (whose long advice, to load the file
    with weights_only=False, is exactly what must not be done) or a damaged file."""
    text = str(error)
    if isinstance(error, pickle.UnpicklingError) and "weights_only" in text:
        refused = re.search(r"GLOBAL ([\w.]+)", text)
        what = f" ({refused.group(1)})" if refused else " (a Python pickle, not a PyTorch checkpoint)"
        return (f"holds code or Python objects{what} that Layerbook will not load: a checkpoint must hold only "
                "tensors and plain values, and loading anything else could run code")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    cause = f"{type(error).__name__}: {first[:160]}" if first else type(error).__name__
    return f"cannot be read as a checkpoint ({cause}): it is empty, truncated or not a PyTorch file"


def _state_dict(content: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(content, Mapping) and not _is_state_dict(content):
        content = next((content[k] for k in WRAPPER_KEYS if k in content), content)
    if not isinstance(content, Mapping) or not _is_state_dict(content):
        raise WeightsError(f"'{path}' holds no state_dict (a dict of tensors, or one under "
                           f"{' or '.join(repr(k) for k in WRAPPER_KEYS)})")
    return dict(content)


def _is_state_dict(content: Mapping[Any, Any]) -> bool:
    return all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in content.items())


def mismatch(expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]) -> str:
    """What keeps `given` from loading into a module whose state_dict is `expected`; empty when it fits."""
    parts = []
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    if missing:
        parts.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {_listing(unexpected)}")
    for key, tensor in expected.items():
        if key in given and given[key].shape != tensor.shape:
            parts.append(f"'{key}' has shape {_shape(given[key])} in the checkpoint but {_shape(tensor)} "
                         "in the model")
            break  # the first mismatch explains the rest: the graph changed since the checkpoint was saved
    return "; ".join(parts)


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:LISTED])
    return shown if len(keys) <= LISTED else f"{shown} and {len(keys) - LISTED} more"


def _shape(tensor: torch.Tensor) -> str:
    return "×".join(map(str, tensor.shape)) or "scalar"
