"""Where the application keeps things: its data folder (autosaves)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def data_folder() -> Path:
    """The platform's folder for the application's own files (~/.local/share/Layerbook on Linux)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) if base else Path.home() / ".layerbook"


def shown_path(path: Path) -> str:
    """A path as people read it: the home folder as ~."""
    try:
        return str(Path("~") / Path(path).relative_to(Path.home()))
    except ValueError:
        return str(path)
