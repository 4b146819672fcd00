"""Checkpoints: save a module's weights atomically, load them safely and explain any mismatch.

Loading always uses `weights_only=True`: a checkpoint is data, and an arbitrary pickle could run code. Every
failure becomes a WeightsError whose message says what is wrong, never a raw traceback.
"""

from __future__ import annotations

import io
import os
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
    state = _state_dict(_read(Path(path)), Path(path))
    problem = mismatch(module.state_dict(), state)
    if problem:
        raise WeightsError(f"checkpoint '{path}' does not fit the model: {problem}")
    module.load_state_dict(state, strict=True)


def _read(path: Path) -> Any:
    if not path.is_file():
        raise WeightsError(f"no checkpoint at '{path}'")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols; the outcome is what matters
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsError(f"'{path}' is not a checkpoint of weights: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    """The useful part of torch.load's error: its long advice on weights_only ends with the real cause."""
    text = str(error)
    refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if refused:
        return f"it holds a Python object ({refused.group(1)}), refused because loading it could run code"
    unpickler = re.search(r"WeightsUnpickler error: ([^\n]*)", text)
    if unpickler:
        return unpickler.group(1).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(error).__name__}: {first}" if first else f"{type(error).__name__} (empty or truncated file?)"


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
