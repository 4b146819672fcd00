"""A graph's name: what it may hold, and the file-name stem made from it.

A graph's name comes from a file anyone may share, and it becomes part of paths: the run folder
`runs/<name>-<date>-<time>`, the default file names of saves and exports. So the file format restricts it
(`graph_name_problem`, checked by the reader and by `Graph` itself), and every path built from a name goes through
`file_stem`, which keeps any name, even one that skipped the check, to a single harmless path component.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 64
# control characters, format characters (bidirectional overrides that disguise a name), surrogates, line and
# paragraph separators: none has a place in a name printed in a terminal or used in a path
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_STEM_UNSAFE = re.compile(r"[^\w.-]+")  # \w: letters and digits of any script, and _
MAX_STEM_BYTES = 120  # of a path component's 255: room for the date, the time and a suffix


def graph_name_problem(name: object) -> str | None:
    """Why `name` cannot be a graph's name (a sentence completing "the name ..."), or None when it can."""
    if not isinstance(name, str):
        return f"must be a text, not {type(name).__name__}"
    if not name.strip():
        return "must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters (it has {len(name):,})"
    if "/" in name or "\\" in name:
        return "must not contain / or \\: a graph's name is not a path"
    if ".." in name:
        return "must not contain '..': a graph's name is not a path"
    bad = next((c for c in name if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        return f"must not contain control characters (it holds U+{ord(bad):04X}, {_char_name(bad)})"
    return None


def file_stem(name: str, fallback: str = "graph") -> str:
    """`name` as one safe path component: letters, digits, `_`, `-` and `.` kept, anything else (separators,
    spaces, control characters) replaced by `-`; no leading dot (no hidden file, never `.` or `..`); cut to fit
    a file name. `fallback` when nothing is left."""
    stem = _STEM_UNSAFE.sub("-", unicodedata.normalize("NFC", str(name))).strip("-.")
    stem = re.sub(r"\.{2,}", ".", stem)
    while len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip("-.")
    return stem or fallback


def _char_name(char: str) -> str:
    return unicodedata.name(char, "a control character").lower()
