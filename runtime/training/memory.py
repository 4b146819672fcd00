"""After an out-of-memory error: find the largest batch size that fits, by trying halves on the GPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from runtime.training.devices import autocast
from runtime.training.faults import is_out_of_memory
from runtime.training.objective import as_tuple

if TYPE_CHECKING:
    from runtime.training.session import Session


def largest_fitting_batch(session: Session, failed: int) -> int | None:
    """The largest of failed/2, failed/4, ... for which a training step fits in the GPU's memory; None on
    other devices (probing the CPU's memory could bring the whole machine down) or when not even 1 fits."""
    if session.device.type != "cuda":
        return None
    size = failed // 2
    while size >= 1:
        if _fits(session, size):
            return size
        size //= 2
    return None


def _fits(session: Session, size: int) -> bool:
    order = torch.arange(min(size, len(session.dataset.train)))
    inputs, targets = next(iter(session.dataset.train.batches(order, size, session.device)))
    try:
        with autocast(session.config, session.device):
            loss = session.objective.loss(as_tuple(session.model(**inputs)), targets)
        loss.backward()
        return True
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        return False
    finally:
        session.model.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
