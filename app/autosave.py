"""Autosave: a copy of each open document written now and then to the application's data folder, so a crash
loses a minute of work, not an afternoon. A document's autosave name is a stable hash of its path (or
"untitled-<n>" before its first save); `recoverable` finds an autosave newer than the file it belongs to.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths

from graph.fileformat import save_graph
from graph.library import SUFFIX

if TYPE_CHECKING:
    from app.document import Document

_untitled = itertools.count(1)
_directory: Path | None = None


def set_directory(path: Path | None) -> None:
    """Where autosaves go (tests and portable installs); None: the platform's application data folder."""
    global _directory
    _directory = None if path is None else Path(path)


def directory() -> Path:
    if _directory is not None:
        return _directory
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home())
    return Path(base) / "autosave"


def key_for(path: Path | None, untitled_id: int) -> str:
    if path is None:
        return f"untitled-{untitled_id}"
    return hashlib.sha256(str(Path(path).resolve()).encode("utf-8")).hexdigest()[:16]


def next_untitled_id() -> int:
    return next(_untitled)


def autosave_path(document: Document, folder: Path | None = None) -> Path:
    return (folder or directory()) / f"{key_for(document.path, document.untitled_id)}{SUFFIX}"


def write_autosave(document: Document, folder: Path | None = None) -> Path:
    """Write the document's current state (atomically: a crash during the write keeps the previous autosave)."""
    return save_graph(document.graph, autosave_path(document, folder))


def recoverable(path: Path | str, folder: Path | None = None) -> Path | None:
    """The autosave of the file at `path` when it is newer than the file (or the file is gone), else None."""
    autosave = (folder or directory()) / f"{key_for(Path(path), 0)}{SUFFIX}"
    if not autosave.is_file():
        return None
    target = Path(path)
    if target.is_file() and target.stat().st_mtime_ns >= autosave.stat().st_mtime_ns:
        return None
    return autosave


def discard(document: Document, folder: Path | None = None) -> None:
    autosave_path(document, folder).unlink(missing_ok=True)
