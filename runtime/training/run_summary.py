"""What a run writes when it ends, summary.json: its state (and the failure that stopped it), its final and best
metrics, the device, time and throughput; and what a run-folder file that cannot be written does to the run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from graph import Graph
from runtime.training.checkpoint import Position
from runtime.training.devices import describe
from runtime.training.faults import TrainingFailure
from runtime.training.run_folder import SUMMARY_FILE
from runtime.training.session import Session


def run_summary(state: str, graph: Graph, session: Session, position: Position, elapsed: float,
                samples_per_s: float | None, failure: dict[str, str] | None = None) -> dict[str, Any]:
    """The summary of a run ending in `state` ("failed" with `failure`: its kind and message)."""
    summary = {
        "state": state, "graph": graph.name, "dataset": session.dataset.description,
        "task": session.dataset.task, "device": describe(session.device), "world_size": session.world.size,
        "parameters": session.parameters, "epochs": position.epoch, "steps": position.step,
        "elapsed_s": round(elapsed, 3),
        "samples_per_s": round(samples_per_s, 1) if samples_per_s is not None else None,
        "final": dict(position.history),
        "best": {"epoch": position.best_epoch, "val_loss": position.best_loss,
                 "val_accuracy": position.best_accuracy},
        "torch": torch.__version__,
    }
    return {"state": state, "failure": failure, **summary} if failure else summary


def write_summary(session: Session, summary: dict[str, Any]) -> None:
    """summary.json in the session's run folder (none: nothing is written)."""
    if session.folder is not None:
        with writing(session.folder.path / SUMMARY_FILE):
            session.folder.finish(summary)


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """A run folder file that cannot be written (a full disk, a folder gone) stops the run with a message naming
    it, instead of a traceback; files are replaced atomically or appended to, so what was written stays."""
    try:
        yield
    except OSError as error:
        raise TrainingFailure("disk", f"could not write '{path}': {error.strerror or error}; the run stopped "
                              "and the files written before, checkpoints included, are intact") from None
