"""Autosave: a copy of each modified document written now and then to the application's data folder, so that a
crash loses a minute of work, not an afternoon.

    autosave/
        <pid>-<token>/                one folder per editor process: its session
            owner.lock                a QLockFile the process holds while it runs
            <key>.layerbook.json      a document's latest state; key "untitled-<n>" before its first save, else a
                                      hash of its path (so untitled-1 of two processes never collide)
            <key>.about.json          what it belongs to: the file's path or the template it came from, the graph

A session whose lock is free belongs to a process that is gone (a crash, a kill -9; the kernel lets go of the lock
with it): its autosaves are `Leftovers` for the next editor to offer. A clean exit removes its session.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QLockFile

from app.places import data_folder, shown_path
from graph.fileformat import atomic_write, save_graph
from graph.library import SUFFIX

if TYPE_CHECKING:
    from app.document import Document

INTERVAL_S = 30.0
INTERVAL_VARIABLE = "LAYERBOOK_AUTOSAVE_SECONDS"  # a shorter interval, for tests and the cautious
MAX_INTERVAL_S = 86_400.0
LOCK, ABOUT = "owner.lock", ".about.json"

_untitled = itertools.count(1)
_directory: Path | None = None
_sessions: dict[Path, QLockFile] = {}  # this process's session folders (one per autosave directory), locked
_session_name: tuple[int, str] | None = None  # (pid, name): a forked child makes a session of its own


def set_directory(path: Path | None) -> None:
    """Where autosaves go (tests and portable installs); None: the platform's application data folder."""
    global _directory
    _directory = None if path is None else Path(path)


def directory() -> Path:
    return _directory if _directory is not None else data_folder() / "autosave"


def interval_ms() -> int:
    """The autosave timer's interval: 30 s, or LAYERBOOK_AUTOSAVE_SECONDS (a wrong value is named, and ignored)."""
    text = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not text:
        return round(INTERVAL_S * 1000)
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0.01 <= seconds <= MAX_INTERVAL_S:  # NaN fails too
        print(f"{INTERVAL_VARIABLE} must be a number of seconds from 0.01 to {MAX_INTERVAL_S:.0f}, got '{text}': "
              f"autosaving every {INTERVAL_S:g} s", file=sys.stderr)
        return round(INTERVAL_S * 1000)
    return round(seconds * 1000)


def key_for(path: Path | None, untitled_id: int) -> str:
    if path is None:
        return f"untitled-{untitled_id}"
    return hashlib.sha256(str(Path(path).resolve()).encode("utf-8")).hexdigest()[:16]


def next_untitled_id() -> int:
    return next(_untitled)


def session_name() -> str:
    """This process's session: its pid and a random token (a pid is reused once its process is gone)."""
    global _session_name
    if _session_name is None or _session_name[0] != os.getpid():
        _session_name = (os.getpid(), f"{os.getpid()}-{secrets.token_hex(4)}")
    return _session_name[1]


def autosave_path(document: Document, folder: Path | None = None) -> Path:
    return (folder or directory()) / session_name() / f"{key_for(document.path, document.untitled_id)}{SUFFIX}"


def write_autosave(document: Document, folder: Path | None = None) -> Path:
    """Write the document's current state and what it belongs to (each atomically: a crash during the write keeps
    the previous autosave)."""
    target = autosave_path(document, folder)
    _hold_session(target.parent)
    about = {"belongs_to": str(document.path.resolve()) if document.path is not None else None,
             "template": document.template, "graph": document.graph.name}
    atomic_write(about_path(target), json.dumps(about, indent=1).encode("utf-8"))
    return save_graph(document.graph, target)


def discard(document: Document, folder: Path | None = None) -> None:
    _remove(autosave_path(document, folder))


def end_session(folder: Path | None = None) -> None:
    """A clean exit: this process's autosaves and its session go (every window has asked about its edits)."""
    session = (folder or directory()) / session_name()
    lock = _sessions.pop(session, None)
    if lock is not None:
        lock.unlock()
    shutil.rmtree(session, ignore_errors=True)


def recoverable(path: Path | str, folder: Path | None = None) -> Path | None:
    """The autosave of the file at `path` that an editor now gone left behind, newer than the file; else None."""
    with Leftovers(folder) as leftovers:
        entry = leftovers.of_file(Path(path))
        return entry.path if entry is not None else None


@dataclass(frozen=True)
class Autosave:
    """One autosave left behind: the file, what it belongs to, when it was written (seconds since the epoch)."""

    path: Path
    belongs_to: Path | None
    template: str | None
    graph: str
    written: float

    def describe(self) -> str:
        if self.belongs_to is not None:
            return shown_path(self.belongs_to)
        return f"unsaved graph from template {self.template}" if self.template else "unsaved new graph"


class Leftovers:
    """The autosaves of editor processes that are gone, newest first. Their sessions stay locked by this process
    until `close` (a `with` block), so that an editor started meanwhile does not offer them too."""

    def __init__(self, folder: Path | None = None) -> None:
        self.root = folder or directory()
        self.entries: list[Autosave] = []
        self._held: dict[Path, QLockFile] = {}
        for session in _sessions_in(self.root):
            if session.name != session_name() and (lock := _try_lock(session)) is not None:
                self._held[session] = lock
                self.entries.extend(_autosaves_of(session))
        self.entries.sort(key=lambda entry: entry.written, reverse=True)

    def __enter__(self) -> Leftovers:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def of_file(self, path: Path) -> Autosave | None:
        resolved = path.resolve()
        return next((entry for entry in self.entries if entry.belongs_to == resolved), None)

    def discard(self, entry: Autosave) -> None:
        _remove(entry.path)
        self.entries.remove(entry)

    def close(self) -> None:
        """Let go of the sessions; one with no autosave left is removed (with what a killed write left in it)."""
        for session, lock in self._held.items():
            lock.unlock()
            if not any(session.glob(f"*{SUFFIX}")):
                shutil.rmtree(session, ignore_errors=True)
        self._held.clear()


def _sessions_in(root: Path) -> list[Path]:
    try:
        return sorted(path for path in root.iterdir() if path.is_dir())
    except OSError:  # no autosave folder yet, or one that cannot be read: nothing to offer
        return []


def _hold_session(session: Path) -> None:
    if session in _sessions:
        return
    session.mkdir(parents=True, exist_ok=True)
    lock = _try_lock(session)
    if lock is None:
        raise OSError(f"cannot lock the autosave folder {session}")
    _sessions[session] = lock


def _try_lock(session: Path) -> QLockFile | None:
    """The session's lock, taken; None when its process still holds it."""
    lock = QLockFile(str(session / LOCK))
    lock.setStaleLockTime(0)  # never stale by age: only when its process is gone
    return lock if lock.tryLock(0) else None


def _autosaves_of(session: Path) -> list[Autosave]:
    """A session's autosaves, less those of a file saved since (their edits are in the file: removed)."""
    entries = []
    for path in sorted(session.glob(f"*{SUFFIX}")):
        about = _read_about(about_path(path))
        belongs_to = Path(about["belongs_to"]) if isinstance(about.get("belongs_to"), str) else None
        written = path.stat().st_mtime
        if belongs_to is not None and belongs_to.is_file() and belongs_to.stat().st_mtime >= written:
            _remove(path)
            continue
        template = about.get("template") if isinstance(about.get("template"), str) else None
        graph = about.get("graph") if isinstance(about.get("graph"), str) else path.name.removesuffix(SUFFIX)
        entries.append(Autosave(path, belongs_to, template, graph, written))
    return entries


def _read_about(path: Path) -> dict[str, Any]:
    try:
        about = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # an autosave without a readable note: still offered, as an unsaved graph
    return about if isinstance(about, dict) else {}


def about_path(autosave: Path) -> Path:
    return autosave.with_name(autosave.name.removesuffix(SUFFIX) + ABOUT)


def _remove(autosave: Path) -> None:
    autosave.unlink(missing_ok=True)
    about_path(autosave).unlink(missing_ok=True)
