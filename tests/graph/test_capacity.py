"""The machine's memory, read without torch: RAM, a container's limit (cgroup v2 and v1), `ulimit -v`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import graph.capacity as capacity
from graph.capacity import GIB, MEMORY_MARGIN, Available, available_memory, format_bytes
from tests.processes import CHILD_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]


def test_the_available_ram_is_read_from_meminfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24683784 kB\nMemFree:         1000000 kB\nMemAvailable:   20807836 kB\n"
                       "HugePages_Total:       0\n")
    monkeypatch.setattr(capacity, "_meminfo", lambda: capacity._sizes(meminfo))
    monkeypatch.setattr(capacity, "_cgroup_folders", lambda: [])
    monkeypatch.setattr(capacity, "_address_space", lambda: None)
    assert available_memory() == Available(20807836 * 1024, "of free RAM")
    assert capacity.total_memory() == 24683784 * 1024


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_a_container_limit_bounds_the_ram(version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The room under the limit counts the inactive file cache as free (the kernel reclaims it first); the
    tightest of the cgroup and its parents wins, and a parent without a limit does not count."""
    own, parent = tmp_path / "machine" / "job", tmp_path / "machine"
    own.mkdir(parents=True)
    limit, usage = ("memory.max", "memory.current") if version == "v2" else ("memory.limit_in_bytes",
                                                                             "memory.usage_in_bytes")
    (own / limit).write_text(f"{4 * GIB}\n")
    (own / usage).write_text(f"{3 * GIB}\n")
    (own / "memory.stat").write_text(f"anon 1000\ninactive_file {GIB // 2}\n")
    (parent / limit).write_text("max\n" if version == "v2" else "9223372036854771712\n")
    (parent / usage).write_text(f"{10 * GIB}\n")
    monkeypatch.setattr(capacity, "_cgroup_folders", lambda: [own, parent])
    monkeypatch.setattr(capacity, "_ram", lambda: Available(20 * GIB, "of free RAM"))
    monkeypatch.setattr(capacity, "_address_space", lambda: None)
    assert available_memory() == Available(GIB + GIB // 2, "free under the container's memory limit")


def test_an_address_space_limit_is_respected_in_a_real_process() -> None:
    """`ulimit -v` in a child: what it may still map is what a run may take."""
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
            "from graph.capacity import available_memory; a = available_memory(); print(a.bytes, a.where)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=CHILD_ENVIRONMENT, capture_output=True,
                          text=True, timeout=60, check=True)
    count, where = done.stdout.split(" ", 1)
    assert 0 < int(count) < 3 << 30 and where.strip() == "free under the address-space limit (ulimit -v)"


def test_the_margin_and_the_figures_read_as_the_messages_say() -> None:
    free = Available(20 * GIB, "of free RAM")
    assert MEMORY_MARGIN == 0.2 and free.usable == 16 * GIB
    assert free.text() == "16.0 GiB (80% of the 20.0 GiB of free RAM, a 20% safety margin)"
    assert [format_bytes(n) for n in (512, 1536, 5 * 2**20, 2**40 * 3 // 2, 2**50 * 7)] == [
        "512 bytes", "1.5 KiB", "5.0 MiB", "1.5 TiB", "7.0 PiB"]
