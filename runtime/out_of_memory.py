"""Memory that runs out: how torch says an allocation failed (on any device) and how much it asked for, and a
graph too large for this machine refused before it is built.

`export` and `code` build the model on the CPU and run it at a small batch to check what they write; a graph of
61e9 parameters or with an input of 10**9 values would take the machine down (the kernel kills the process when
torch touches the memory it was promised) or end in the allocator's traceback. `check_runs_here` compares
graph/summary.py's estimate with the free memory first and refuses with the figures; `named_out_of_memory` names
an out-of-memory error that still happens the same way, with torch's figure instead of its text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from graph import Graph
from graph.capacity import available_memory, format_bytes
from graph.summary import run_problem, summarize

# How torch says that an allocation failed: CUDA and MPS ("out of memory"), the CPU's allocator on Linux ("can't
# allocate memory") and on Windows ("not enough memory").
OUT_OF_MEMORY_TEXTS = ("out of memory", "can't allocate memory", "not enough memory")
_TRIED = re.compile(r"tried to allocate (\d+(?:\.\d+)?) ?(bytes|[KMGT]iB)", re.IGNORECASE)
_UNITS = {"bytes": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
ADVICE = "use a smaller model (fewer parameters, smaller inputs) or a machine with more memory"


class TooLarge(Exception):
    """A graph this machine's memory cannot build or run: a graph that cannot be used here (exit 2)."""


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(error, RuntimeError) and says_out_of_memory(str(error))


def says_out_of_memory(text: str) -> bool:
    """Whether an error's text (another process's: `code`'s checking interpreter) is torch's out-of-memory."""
    return any(said in text for said in OUT_OF_MEMORY_TEXTS)


def allocation_text(error: BaseException | str | None) -> str:
    """`torch could not allocate 11.2 GiB more`, when torch's message says how much it asked for; '' if not."""
    found = _TRIED.search(str(error)) if error is not None else None
    if found is None:
        return ""
    count = float(found.group(1)) * _UNITS[found.group(2).lower()]
    return f"torch could not allocate {format_bytes(int(count))} more"


def check_runs_here(graph: Graph, batch: int, doing: str, weight_copies: int = 1) -> None:
    """TooLarge when `doing` ("checking the export"), which runs `graph` at `batch` on the CPU, would not fit
    this machine's free memory; nothing is allocated to find out."""
    available = available_memory()
    if available is None or not graph.analyze().ok:  # a graph with errors is refused for those, when built
        return
    problem = run_problem(summarize(graph), batch, available, doing, weight_copies)
    if problem:
        raise TooLarge(f"'{graph.name}' does not fit this machine's memory: {problem}; nothing was written: "
                       f"{ADVICE}")


@contextmanager
def named_out_of_memory(graph: Graph, doing: str) -> Iterator[None]:
    """An out-of-memory error in the block (the estimate is not exact) as TooLarge, naming what was being done."""
    try:
        yield
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        raise ran_out(graph, doing, error) from None


def ran_out(graph: Graph, doing: str, error: BaseException | str) -> TooLarge:
    """The TooLarge of an out-of-memory `error` (or its text) met while `doing` ("exporting")."""
    tried = allocation_text(error)
    return TooLarge(f"'{graph.name}' does not fit this machine's memory: out of memory while {doing}"
                    f"{f' ({tried})' if tried else ''}; nothing was written: {ADVICE}")
