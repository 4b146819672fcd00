"""Autosaves as an editor process that is gone leaves them, made in the test's own process: its session folder as
the process wrote it, with no process holding its lock (the kernel lets go of a killed process's lock). The real
thing, a killed editor, is in tests/test_killed_save.py."""

from __future__ import annotations

import shutil
from pathlib import Path

from app import autosave
from app.document import Document


def left_behind(document: Document, folder: Path, session: str = "4242-gone") -> Path:
    """Autosave `document` in `folder` as the (gone) process `session` did; the autosave's path."""
    written = autosave.write_autosave(document, folder)
    gone = folder / session
    gone.mkdir(parents=True, exist_ok=True)
    for path in (written, autosave.about_path(written)):
        shutil.copy2(path, gone / path.name)
    autosave.discard(document, folder)
    return gone / written.name
