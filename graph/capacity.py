"""The limits a graph is held to and the machine's memory, read without torch (the editor and `validate` compare
a graph's estimate with it; `train` refuses a run that cannot fit before it allocates anything).

Each limit is stated here once, and every message that applies one names it:
- MAX_BOXES: the boxes a graph may expand to, every copy of a repeat and every box inside a block instance
  counted (a block ×10 holding a layer ×20 counts 10 × (20 + its input and output) = 220). Far above any real
  network (ResNet-50 expands to about 200 boxes, GPT-2 small to about 190, DenseNet-121 to 550, ResNet-1001 to
  about 3,000); building 100,000 boxes already takes torch about 15 s and 700 MB of bookkeeping, so a graph
  beyond it is a mistake or a bomb, refused at load.
- MAX_REPEAT: the copies of one repeat ×N.
- MAX_NESTING: blocks inside blocks; far beyond any real network, well within Python's recursion limit.
- MEMORY_MARGIN: the share of the free memory a run leaves unplanned, for what the estimate of graph/summary.py
  does not count (torch's own buffers, the allocator's slack, the data): a run may plan on the rest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_BOXES = 100_000
MAX_REPEAT = 10_000
MAX_NESTING = 32
MEMORY_MARGIN = 0.2

GIB = 2**30
_UNLIMITED = 2**60  # cgroup v1 writes "no limit" as a number near 2**63
V2_FILES, V1_FILES = ("memory.max", "memory.current"), ("memory.limit_in_bytes", "memory.usage_in_bytes")


@dataclass(frozen=True)
class Available:
    """Free memory in bytes, and where, as the messages say it after the figure: "of free RAM", "free on
    NVIDIA H100 (cuda:0)"."""

    bytes: int
    where: str

    @property
    def usable(self) -> int:
        """What a run may plan on: the free memory less the safety margin."""
        return int(self.bytes * (1 - MEMORY_MARGIN))

    def text(self) -> str:
        """`17.1 GiB (80% of the 21.4 GiB of free RAM, a 20% safety margin)`."""
        return (f"{format_bytes(self.usable)} ({100 - round(MEMORY_MARGIN * 100)}% of the "
                f"{format_bytes(self.bytes)} {self.where}, a {round(MEMORY_MARGIN * 100)}% safety margin)")


def repeat_problem(value: Any) -> str | None:
    """Why `value` is not the count of a repeat's copies ("must be an integer from 1 to 10,000"), or None: the
    one statement of the rule, for the file reader, inference and the inspector."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REPEAT:
        return None
    return f"must be an integer from 1 to {MAX_REPEAT:,}"


def available_memory() -> Available | None:
    """The memory this process could still take: the RAM available (free plus reclaimable caches), bounded by
    a container's memory limit (cgroup v2 or v1) and by an address-space limit (`ulimit -v`); None where the
    system does not say."""
    found = [a for a in (_ram(), _cgroup(), _address_space()) if a is not None]
    return min(found, key=lambda a: a.bytes) if found else None


def _ram() -> Available | None:
    meminfo = _meminfo()
    if "MemAvailable" in meminfo:
        return Available(meminfo["MemAvailable"], "of free RAM")
    try:
        return Available(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "of free RAM")
    except (AttributeError, ValueError, OSError):  # not a POSIX system that says
        return None


def total_memory() -> int | None:
    """The machine's RAM in bytes (None where the system does not say)."""
    meminfo = _meminfo()
    if "MemTotal" in meminfo:
        return meminfo["MemTotal"]
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _meminfo() -> dict[str, int]:
    return _sizes(Path("/proc/meminfo"))


def _sizes(path: Path) -> dict[str, int]:
    """The `Name:  123 kB` lines of a /proc file, in bytes."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key] = int(fields[0]) * (1024 if fields[1:] == ["kB"] else 1)
    return values


def _cgroup() -> Available | None:
    """The room left under the tightest memory limit of this process's cgroup and its parents: the limit less
    the usage, the inactive file cache counted as free (the kernel reclaims it before it fails)."""
    rooms = [room for folder in _cgroup_folders() if (room := _cgroup_room(folder)) is not None]
    return Available(min(rooms), "free under the container's memory limit") if rooms else None


def _cgroup_folders() -> list[Path]:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    folders: list[Path] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            root = Path("/sys/fs/cgroup")
        elif "memory" in controllers.split(","):
            root = Path("/sys/fs/cgroup/memory")
        else:
            continue
        own = root / path.lstrip("/")
        folders += [own, *[p for p in own.parents if p.is_relative_to(root)]] if own.is_dir() else [root]
    return folders


def _cgroup_room(folder: Path) -> int | None:
    for limit_file, usage_file in V2_FILES, V1_FILES:
        limit, usage = _read_number(folder / limit_file), _read_number(folder / usage_file)
        if limit is not None and usage is not None and limit < _UNLIMITED:
            return max(0, limit - usage + _inactive_file(folder))
    return None


def _inactive_file(folder: Path) -> int:
    try:
        lines = (folder / "memory.stat").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        key, _, value = line.partition(" ")
        if key in ("inactive_file", "total_inactive_file") and value.strip().isdigit():
            return int(value)
    return 0


def _read_number(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _address_space() -> Available | None:
    """Room under `ulimit -v`: the limit less the address space already mapped."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    mapped = _sizes(Path("/proc/self/status")).get("VmSize", 0)
    return Available(max(0, limit - mapped), "free under the address-space limit (ulimit -v)")


def format_bytes(count: int) -> str:
    """Bytes as the messages show them: `909.4 GiB`, `12.0 MiB`, `512 bytes`."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count:,} bytes"
