"""Where a run trains and in which precision: `auto` picks CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from runtime.training.config import ConfigError, TrainConfig

AUTOCAST_TYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(name: str, local_rank: int | None = None) -> torch.device:
    """The device a run asks for; an unavailable one is refused with the reason."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank or 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' asked for, but torch sees no CUDA GPU here (is this a CPU build "
                              "of torch?); use --device auto or cpu")
        index = int(name.partition(":")[2] or (local_rank or 0))
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device '{name}' asked for, but there are {torch.cuda.device_count()} GPUs")
        return torch.device("cuda", index)
    if name == "mps" and not _mps_available():
        raise ConfigError("device 'mps' asked for, but this machine has no Apple GPU available to torch")
    return torch.device(name)


def describe(device: torch.device) -> str:
    """`NVIDIA H100 80GB HBM3 (cuda:0, 79.1 GiB)`, `Apple GPU (mps)` or `cpu`."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({device}, {props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "Apple GPU (mps)"
    return "cpu"


def check_precision(config: TrainConfig, device: torch.device) -> None:
    if config.precision != "fp32" and device.type != "cuda":
        raise ConfigError(f"mixed precision ({config.precision}) needs a CUDA GPU; this run is on {device.type}: "
                          "use --precision fp32")
    if config.precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU does not support bf16; use --precision fp16")


def autocast(config: TrainConfig, device: torch.device) -> AbstractContextManager[object]:
    if config.precision == "fp32":
        return nullcontext()
    return torch.autocast(device.type, dtype=AUTOCAST_TYPES[config.precision])


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
