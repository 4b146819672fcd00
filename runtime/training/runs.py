"""The runs on disk: each run folder (see run_folder.py) listed with its settings and results, its metrics read
back for curves, two runs compared, a run deleted (only if it really is a run folder)."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.training.run_folder import LAST, METRICS_FILE, SETTINGS_FILE, SUMMARY_FILE, is_run

__all__ = ["RunInfo", "compare_settings", "delete_run", "is_run", "list_runs", "read_metrics", "read_run"]


@dataclass
class RunInfo:
    path: Path
    graph: str
    dataset: str
    state: str  # finished, stopped, early-stopped, or "running / interrupted" (no summary yet)
    settings: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def best_accuracy(self) -> float | None:
        return (self.summary.get("best") or {}).get("val_accuracy")

    @property
    def best_loss(self) -> float | None:
        return (self.summary.get("best") or {}).get("val_loss")


def list_runs(root: Path) -> list[RunInfo]:
    """Every run under `root`, newest first; unreadable ones are skipped (a run being written, a stray folder)."""
    if not root.is_dir():
        return []
    runs = [info for path in root.iterdir() if path.is_dir() and is_run(path) and (info := read_run(path))]
    return sorted(runs, key=lambda r: r.path.stat().st_mtime, reverse=True)


def read_run(path: Path) -> RunInfo | None:
    try:
        settings = json.loads((path / SETTINGS_FILE).read_text(encoding="utf-8"))
        summary_file = path / SUMMARY_FILE
        summary = json.loads(summary_file.read_text(encoding="utf-8")) if summary_file.is_file() else {}
    except (OSError, ValueError):
        return None
    state = summary.get("state") or ("interrupted" if (path / LAST).is_file() else "running or failed")
    return RunInfo(path, str(settings.get("graph", "?")), str(settings.get("dataset", "?")), state, settings,
                   summary)


def read_metrics(path: Path) -> dict[str, dict[str, list[float]]]:
    """Columns of metrics.csv by phase: {"train": {"step": [...], "loss": [...], ...}, "val": {...}}; empty cells
    are left out, so every list of a phase pairs with its "step" list only where both are present."""
    phases: dict[str, dict[str, list[float]]] = {}
    file = path / METRICS_FILE
    if not file.is_file():
        return phases
    with open(file, newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            columns = phases.setdefault(row["phase"], {})
            for key, value in row.items():
                if key != "phase" and value not in ("", None):
                    columns.setdefault(key, []).append(float(value))
    return phases


def compare_settings(a: RunInfo, b: RunInfo) -> dict[str, tuple[Any, Any]]:
    """The settings that differ between two runs: name → (a's, b's)."""
    config_a, config_b = a.settings.get("config", {}), b.settings.get("config", {})
    return {k: (config_a.get(k), config_b.get(k)) for k in sorted(set(config_a) | set(config_b))
            if config_a.get(k) != config_b.get(k)}


def delete_run(path: Path) -> None:
    """Delete a run folder, refusing anything that is not one (a mistaken path must not erase other files)."""
    if not is_run(path):
        raise ValueError(f"'{path}' is not a run folder (no settings.json and graph.layerbook.json): not deleted")
    shutil.rmtree(path)
