"""Where the application keeps things: its data folder (autosaves; the runs of templates and unsaved graphs), the
default runs folder of a document, and whether a folder can take a run. Never the process's working directory:
started from a desktop launcher that is `/` or the home folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QStandardPaths

RUNS = "runs"


def data_folder() -> Path:
    """The platform's folder for the application's own files (~/.local/share/Layerbook on Linux)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) if base else Path.home() / ".layerbook"


def default_runs_folder(graph_path: Path | None) -> Path:
    """Beside a saved graph (<its folder>/runs); the data folder's for a template or an unsaved graph. The graph of
    a run (runs/x/graph.layerbook.json, opened from the Runs panel) trains into the runs folder it lives in, not
    into a runs folder nested in the run."""
    from runtime.training.runs import is_run  # no torch: the run folder's file names

    if graph_path is None:
        return data_folder() / RUNS
    folder = Path(graph_path).resolve().parent
    return folder.parent if is_run(folder) else folder / RUNS


def unwritable_reason(folder: Path) -> str | None:
    """Why no run can be written in `folder` (None when one can), found without creating anything: the folder, or
    the nearest of its parents that exists, must be a folder that takes a new file."""
    existing = folder
    try:
        while not existing.exists():  # False too below a regular file: its parent is then that file
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is a file, not a folder"
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        return f"{existing} cannot be written ({error.strerror or error})"
    return None


def shown_path(path: Path) -> str:
    """A path as people read it: the home folder as ~."""
    try:
        return str(Path("~") / Path(path).relative_to(Path.home()))
    except ValueError:
        return str(path)
