"""What data a run trained on, recorded in its settings.json (`data`) so that a run trained again from its
settings can tell whether it sees the same data.

    {"kind": "built-in", "name": "blobs", "version": 1}
    {"kind": "built-in", "name": "pytext", "version": 1, "sha256": "..."}       content taken from this machine
    {"kind": "file", "name": "iris.csv", "size": 4551, "sha256": "..."}
    {"kind": "folder", "name": "images", "files": 240, "size": 1843200, "hashed": "contents", "sha256": "..."}

A built-in dataset is its name and version. **Bump its version in `VERSIONS` whenever the output of its
generator changes** (other samples, labels, sizes or order for the same seed and options): a run recorded with
the old version is then refused as "other data" instead of silently training on something else. The built-ins
made from files of this machine (`pytext` from the Python standard library, the digits from scikit-learn's data
file) also record a hash of that content, which changes with the Python or scikit-learn installed.

A user's file is its name, size and SHA-256. A folder is a SHA-256 over its sorted relative paths, each file's
size and, up to `FOLDER_CONTENT_BYTES` in all, its contents (`"hashed": "contents"`); a larger folder (streamed
from disk while training, too large to read an extra time) is hashed over its paths and sizes only
(`"hashed": "names and sizes"`). Hidden files (`.DS_Store`) do not count. Each is computed once per process.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from runtime.data.registry import BUILTINS

VERSIONS: dict[str, int] = {"digits": 1, "digits8": 1, "shapes": 1, "moons": 1, "spirals": 1, "blobs": 1,
                            "pytext": 1, "reverse": 1, "copy": 1, "sort": 1, "majority": 1}
FOLDER_CONTENT_BYTES = 1 << 30
SHOWN_HEX = 12  # of a SHA-256 in a message
_CHUNK = 1 << 20


def describe_data(source: str | None) -> dict[str, Any] | None:
    """The record of the data `source` names (a built-in name or a path, as --data takes it); None when there is
    none or the path does not exist (loading it will say so)."""
    if not source:
        return None
    if source in BUILTINS:
        return _builtin(source)
    path = Path(source).expanduser()
    try:
        if path.is_file():
            stat = path.stat()
            return {"kind": "file", "name": path.name, "size": stat.st_size,
                    "sha256": _file_hash(str(path.resolve()), stat.st_size, stat.st_mtime_ns)}
        if path.is_dir():
            listing = _listing(path)
            total = sum(size for _, size, _ in listing)
            contents = total <= FOLDER_CONTENT_BYTES
            return {"kind": "folder", "name": path.resolve().name, "files": len(listing), "size": total,
                    "hashed": "contents" if contents else "names and sizes",
                    "sha256": _folder_hash(str(path.resolve()), listing, contents)}
    except OSError:  # unreadable: the dataset's own loader names the file and the cause
        return None
    return None


def data_difference(recorded: Any, current: dict[str, Any] | None) -> str | None:
    """How the data about to be used differs from the recorded data ("it trained on X; this run would use Y"),
    or None when they are the same, or when either is unknown (nothing to compare)."""
    if not isinstance(recorded, dict) or current is None:
        return None
    if _identity(recorded) == _identity(current):
        return None
    return f"it trained on {describe_record(recorded)}; this run would use {describe_record(current)}"


def describe_record(record: dict[str, Any]) -> str:
    """A record in words: `built-in dataset 'blobs' version 1`, `file 'iris.csv' (4,551 bytes, sha256 …)`."""
    digest = f"sha256 {str(record.get('sha256', ''))[:SHOWN_HEX]}"
    kind, name = record.get("kind"), record.get("name")
    if kind == "built-in":
        content = f", content {digest}" if record.get("sha256") else ""
        return f"built-in dataset '{name}' version {record.get('version')}{content}"
    if kind == "file":
        return f"file '{name}' ({_count(record.get('size'))} bytes, {digest})"
    if kind == "folder":
        return (f"folder '{name}' ({_count(record.get('files'))} files, {_count(record.get('size'))} bytes, "
                f"{digest} of its {record.get('hashed')})")
    return f"data {record!r}"


def _identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """What must be equal for the data to be the same: the content, not the file's name or where it lies."""
    if record.get("kind") == "built-in":
        return "built-in", record.get("name"), record.get("version"), record.get("sha256")
    return record.get("kind"), record.get("size"), record.get("sha256"), record.get("hashed")


def _builtin(name: str) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "built-in", "name": name, "version": VERSIONS[name]}
    content = _machine_content(name)
    if content is not None:
        record["sha256"] = content
    return record


def _machine_content(name: str) -> str | None:
    """The hash of what a built-in reads from this machine (None for the generated ones). The loaders cache
    what they read, so the run itself reads nothing twice."""
    if name == "pytext":
        from runtime.data.text import python_corpus

        return hashlib.sha256(python_corpus().numpy().tobytes()).hexdigest()
    if name in ("digits", "digits8"):
        from runtime.data.images import digit_arrays

        images, labels = digit_arrays()
        return hashlib.sha256(images.numpy().tobytes() + labels.numpy().tobytes()).hexdigest()
    return None


@lru_cache(maxsize=16)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:
    """Keyed on the size and time of change too: a file changed since is hashed again."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _listing(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(relative POSIX path, size, mtime_ns) of every regular file under `folder`, sorted; hidden ones left out."""
    found = []
    for directory, subfolders, files in os.walk(folder):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = Path(directory) / name
            stat = path.stat()
            found.append((path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


@lru_cache(maxsize=4)
def _folder_hash(folder: str, listing: tuple[tuple[str, int, int], ...], contents: bool) -> str:
    digest = hashlib.sha256()
    for relative, size, _ in listing:
        digest.update(f"{relative}\0{size}\0".encode())
        if contents:
            with open(Path(folder) / relative, "rb") as stream:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
    return digest.hexdigest()


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)
