"""Where a file the user names may be written: one rule for every writer (`export`, `code`, `render`,
`screenshot` and the application's exports), checked before any work is done.

A missing folder is refused, never created: a typo in a path (`/nonexistent/dir/x.onnx`) would otherwise plant
folders at the root. So is a folder in place of the file, a folder that cannot be written to, a read-only file, a
file name without the writer's extension (which keeps an ONNX file from landing on a `.py` or a graph file), and
the file being read itself (the graph, or the checkpoint being exported).

`unwritable_reason` is the one rule of a folder that must take a new file: a writer's, and the runs folder of
`train` and of the application, which may not exist yet (its nearest existing parent must then take one).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class OutputError(ValueError):
    """A file that cannot or must not be written; the message names it and says why."""


def check_output(path: str | os.PathLike[str], suffixes: Sequence[str], *,
                 source: str | os.PathLike[str] | None = None) -> Path:
    """`path` as a Path when a file with one of `suffixes` may be written there (in place of `source`, the file
    being read, never); an OutputError saying why not otherwise."""
    text = os.fspath(path)
    try:
        reason = _refusal(Path(text), text, suffixes, source)
    except OSError as error:  # a name too long for the file system, a folder above that cannot be searched
        reason = error.strerror or str(error)
    if reason:
        raise OutputError(f"cannot write '{text}': {reason}")
    return Path(text)


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary file beside `target` to write, renamed over `target` when the block ends, removed when it
    raises: a failed or interrupted write leaves what was there, and no half-written file."""
    temporary = temporary_beside(target)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def temporary_beside(target: Path) -> Path:
    """An empty temporary file in the target's folder, with the permissions a new file of the user would have
    (mkstemp's are private), to be renamed over the target once it is complete."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(name, 0o666 & ~mask)
    return Path(name)


def _refusal(target: Path, text: str, suffixes: Sequence[str], source: str | os.PathLike[str] | None) -> str:
    if not text or text.endswith(("/", os.sep)) or target.is_dir():
        return "it is a folder, not a file name" if text else "no file name given"
    if target.suffix.lower() not in suffixes:
        return f"the file name must end in {_either(suffixes)}"
    folder = target.parent
    if not folder.exists():
        return f"the folder '{folder}' does not exist (create it first)"
    if target.exists() or target.is_symlink():
        if source is not None and _same_file(target, Path(source)):
            return "it is the file being read (choose another name)"
        if not target.is_file():
            return "it is not a regular file"
        if not os.access(target, os.W_OK):
            return "the file is read-only"
    return unwritable_reason(folder) or ""  # a file in the folder's place too


def _same_file(target: Path, source: Path) -> bool:
    try:
        return target.exists() and source.exists() and os.path.samefile(target, source)
    except OSError:  # a source that cannot be looked up (a name too long) is no file, let alone this one
        return False


def unwritable_reason(folder: str | os.PathLike[str]) -> str | None:
    """Why no new file can be made in `folder` (None when one can): the folder, or the nearest of its parents
    that exists when it is still to be made, must be a folder that takes a new file. Tried for real
    (permissions, a read-only disk) without creating anything: the file tried has no name, or loses it at once."""
    existing = Path(folder)
    try:
        while not existing.exists() and existing.parent != existing:  # False too below a regular file
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            return f"'{_absolute(existing)}' is a file, not a folder"
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:  # a folder above that cannot be searched, too
        return f"the folder '{_absolute(existing)}' is not writable ({error.strerror or error})"
    return None


def _absolute(path: Path) -> Path:
    """`path` from the root, as messages name it ('.' says nothing); as given when the working folder is gone."""
    try:
        return path.absolute()
    except OSError:
        return path


def _either(suffixes: Sequence[str]) -> str:
    return suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
