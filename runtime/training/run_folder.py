"""A run's folder: the graph it trained, its settings, its metrics, its summary and its checkpoints.

    runs/lenet-20261123-231500/
        graph.layerbook.json   the exact graph trained (a copy; later edits do not change it)
        settings.json          the TrainConfig, the dataset, the device, versions
        metrics.csv            step, epoch, phase, loss, accuracy, lr, samples_per_s, elapsed
        summary.json           final and best metrics, device, time, samples per second
        last.pt, best.pt       checkpoints (see checkpoint.py)
        events.out.tfevents.*  TensorBoard, when tensorboard is installed

Only rank 0 writes. A resumed run appends to the same metrics, cut back to the checkpoint's step so that no
step appears twice.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from graph import Graph
from graph.fileformat import atomic_write, save_graph

COLUMNS = ("step", "epoch", "phase", "loss", "accuracy", "lr", "samples_per_s", "elapsed")
GRAPH_FILE, SETTINGS_FILE, METRICS_FILE, SUMMARY_FILE = ("graph.layerbook.json", "settings.json", "metrics.csv",
                                                         "summary.json")
LAST, BEST = "last.pt", "best.pt"


def new_run_dir(graph_name: str, root: Path = Path("runs")) -> Path:
    """`runs/<graph>-<date>-<time>`, with a suffix if two runs start in the same second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{graph_name}-{stamp}"
    suffix = 2
    while path.exists():
        path = root / f"{graph_name}-{stamp}-{suffix}"
        suffix += 1
    return path


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._tensorboard: Any = None

    def begin(self, graph: Graph, settings: dict[str, Any], resume_step: int | None) -> None:
        """Write the graph and settings (a new run) or cut the metrics back to the checkpoint (a resumed one)."""
        self.path.mkdir(parents=True, exist_ok=True)
        if resume_step is None:
            save_graph(graph, self.path / GRAPH_FILE)
            self._write_csv([])
        else:
            self._write_csv([row for row in self.read_metrics() if _complete(row) and int(row["step"]) <= resume_step])
        write_json(self.path / SETTINGS_FILE, settings)
        self._tensorboard = _tensorboard_writer(self.path)

    def log(self, row: dict[str, Any]) -> None:
        with open(self.path / METRICS_FILE, "a", newline="", encoding="utf-8") as stream:
            csv.writer(stream, lineterminator="\n").writerow([_cell(row.get(column)) for column in COLUMNS])
        if self._tensorboard is not None:
            for name in ("loss", "accuracy", "lr", "samples_per_s"):
                if row.get(name) is not None:
                    self._tensorboard.add_scalar(f"{row['phase']}/{name}", row[name], row["step"])

    def read_metrics(self) -> list[dict[str, str]]:
        path = self.path / METRICS_FILE
        if not path.is_file():
            return []
        with open(path, newline="", encoding="utf-8") as stream:
            return list(csv.DictReader(stream))

    def finish(self, summary: dict[str, Any]) -> None:
        write_json(self.path / SUMMARY_FILE, summary)
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None

    def _write_csv(self, rows: list[dict[str, str]]) -> None:
        """The header and `rows`, written by the same csv writer as `log`'s rows, atomically."""
        text = io.StringIO(newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([row.get(c) or "" for c in COLUMNS] for row in rows)
        atomic_write(self.path / METRICS_FILE, text.getvalue().encode())


def write_json(path: Path, content: dict[str, Any]) -> None:
    atomic_write(path, (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode())


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _complete(row: dict[str | None, Any]) -> bool:
    """False for a row torn by a crash while it was appended (a power cut): too few or too many cells, or a
    step that is not a number. Its start could pass for an earlier step ("1" of "17"), so it is dropped."""
    if None in row or any(row.get(column) is None for column in COLUMNS):
        return False
    return row["step"].isdigit() and row["epoch"].isdigit() and row["phase"] in ("train", "val")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _tensorboard_writer(path: Path) -> Any:
    """A TensorBoard writer when tensorboard is installed; None otherwise (it is optional)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(path))
