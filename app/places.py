"""Where the application keeps things: its data folder (autosaves; the runs of templates and unsaved graphs) and
the default runs folder of a document (whether a folder can take a run: graph.outputs.unwritable_reason). Never
the process's working directory: started from a desktop launcher that is `/` or the home folder."""

from __future__ import annotations

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


def shown_path(path: Path) -> str:
    """A path as people read it: the home folder as ~."""
    try:
        return str(Path("~") / Path(path).relative_to(Path.home()))
    except ValueError:
        return str(path)
