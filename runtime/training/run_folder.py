"""A run's folder: the graph it trained, its settings, its metrics, its summary and its checkpoints.

    runs/lenet-20261123-231500/
        graph.layerbook.json   the exact graph trained (a copy; later edits do not change it)
        settings.json          the TrainConfig, the data trained on (provenance.py), the device, versions
        metrics.csv            step, epoch, phase, loss, accuracy, lr, samples_per_s, elapsed
        summary.json           final and best metrics, device, time, samples per second
        last.pt, best.pt       checkpoints (see checkpoint.py)
        events.out.tfevents.*  TensorBoard, when tensorboard is installed
        .training.lock         while a process trains in the folder (folder_lock.py: one at a time)

Only rank 0 writes. A resumed run appends to the same metrics, cut back to the checkpoint's step so that no
step appears twice.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path
from typing import IO, Any

from graph import Graph
from graph.fileformat import atomic_write, save_graph
from graph.names import file_stem
from runtime.training.folder_lock import LOCK_FILE, lock_run_folder, unlock_run_folder

COLUMNS = ("step", "epoch", "phase", "loss", "accuracy", "lr", "samples_per_s", "elapsed")
GRAPH_FILE, SETTINGS_FILE, METRICS_FILE, SUMMARY_FILE = ("graph.layerbook.json", "settings.json", "metrics.csv",
                                                         "summary.json")
LAST, BEST = "last.pt", "best.pt"
SHOWN_ENTRIES = 4  # of a folder's entries, in a message


def new_run_dir(graph_name: str, root: Path = Path("runs")) -> Path:
    """A new, empty folder `root/<graph>-<date>-<time>` (with a suffix if two runs start in the same second),
    made here, so that two runs starting at once never share one. The name goes through `file_stem`: whatever a
    caller passes, the folder is a child of `root`."""
    stamp = f"{file_stem(graph_name)}-{time.strftime('%Y%m%d-%H%M%S')}"
    root.mkdir(parents=True, exist_ok=True)
    path, suffix = root / stamp, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            suffix += 1
            path = root / f"{stamp}-{suffix}"


def is_run(path: Path) -> bool:
    """A Layerbook run folder: its settings and its graph are there (a settings.json alone may be anyone's)."""
    return (path / SETTINGS_FILE).is_file() and (path / GRAPH_FILE).is_file()


def new_run_problem(path: Path) -> str | None:
    """Why a new run must not be written into `path` (a sentence naming it and what to do instead), or None when
    it may: a folder that does not exist yet, or an empty one. A run folder is never overwritten."""
    if not os.path.lexists(path):
        return None
    if not path.is_dir():
        return f"'{path}' is a file, not a folder: choose another --out"
    try:
        entries = sorted(name for name in os.listdir(path) if name != LOCK_FILE)
    except OSError as error:
        return f"cannot read the folder '{path}': {error.strerror or error}"
    if not entries:
        return None
    if is_run(path):
        return _run_there(path)
    shown = ", ".join(name + "/" * (path / name).is_dir() for name in entries[:SHOWN_ENTRIES])
    more = f" and {len(entries) - SHOWN_ENTRIES} more" if len(entries) > SHOWN_ENTRIES else ""
    return (f"'{path}' is not empty and is not a Layerbook run (it holds {shown}{more}): nothing was written; "
            "choose a new or empty folder for --out, or continue a run with --resume RUN")


def _run_there(path: Path) -> str:
    summary = _summary(path)
    if summary.get("state") in ("finished", "early-stopped"):
        epochs = summary.get("epochs")
        return (f"'{path}' holds a finished run ({epochs} epochs), which is never overwritten: train it further "
                f"with --resume {path} --epochs N (N above {epochs}), or choose another --out")
    if (path / LAST).is_file():
        return (f"'{path}' holds a run that did not finish: continue it with --resume {path}, or choose another "
                "--out")
    return (f"'{path}' holds a run without a checkpoint (it failed before its first epoch ended, or is still "
            "running): choose another --out")


def _summary(path: Path) -> dict[str, Any]:
    try:
        summary = read_json(path / SUMMARY_FILE)
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._tensorboard: Any = None
        self._lock: IO[str] | None = None

    def lock(self) -> None:
        """Make the folder this process's to write (ConfigError when another process trains in it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = lock_run_folder(self.path)

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
        self.release()

    def release(self) -> None:
        """Let another process train in the folder (the end of a run, or a quit at once)."""
        if self._lock is not None:
            unlock_run_folder(self._lock, self.path)
            self._lock = None

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
