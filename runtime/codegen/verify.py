"""The check a generated file passes before it is reported written: in a fresh interpreter (the same Python, with
nothing of Layerbook's loaded), its `__main__` example runs, its class is built, takes the compiled module's
weights strictly, and computes the compiled module's outputs on the same inputs (`check_file.py` is that
interpreter's side). Several files can share one interpreter, as the tests' check of every template does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from graph.model import Graph
from runtime.compile import build_module, output_names
from runtime.inputs import CHECK_BATCH, CHECK_TOKENS, example_inputs, token_inputs
from runtime.out_of_memory import TooLarge, ran_out, says_out_of_memory
from runtime.parity import Parity, ParityError, Tolerance, compare

CHECK_FILE = Path(__file__).with_name("check_file.py")
# The file computes what the compiled module computes, layer by layer: only the order of a few sums may differ.
TOLERANCE = Tolerance(rtol=1e-5, scaled=1e-5)


class SourceError(Exception):
    """A generated file that failed its check: a fault of the code generator, not of the graph."""


@dataclass(frozen=True)
class Job:
    graph: Graph
    source: Path  # the generated file (any name: the command checks a temporary file beside its target)
    class_name: str


@dataclass(frozen=True)
class Verified:
    printed: str  # what the file's example printed
    parity: Parity  # the class with the compiled module's weights against the compiled module
    batch: int
    length: int | None = None  # the token sequences' length, when it is not the drawn one

    def inputs(self) -> str:
        """`batch 3` or `batch 3 of 32 tokens`."""
        return f"batch {self.batch}" + (f" of {self.length} tokens" if self.length else "")


def verify(jobs: Sequence[Job]) -> list[Verified | SourceError | TooLarge]:
    """Check each job's file in one fresh interpreter; the result of each, in order."""
    with tempfile.TemporaryDirectory(prefix="layerbook-code-check-") as folder:
        expected, lengths, orders = [], [], []
        for index, job in enumerate(jobs):
            outputs, length = _exchange(job.graph, Path(folder) / f"{index}.in.pt")
            expected.append(outputs)
            lengths.append(length)
            orders.append({"source": str(job.source), "class": job.class_name,
                           "exchange": str(Path(folder) / f"{index}.in.pt"),
                           "result": str(Path(folder) / f"{index}.out.pt")})
        listing = Path(folder) / "jobs.json"
        listing.write_text(json.dumps(orders), encoding="utf-8")
        # -B: no __pycache__ beside the user's file; -P: the checker's folder is not put on the import path.
        done = subprocess.run([sys.executable, "-B", "-P", str(CHECK_FILE), str(listing)], capture_output=True,
                              text=True, check=False)
        return [_result(job, Path(order["result"]), want, length, done)
                for job, order, want, length in zip(jobs, orders, expected, lengths, strict=True)]


def _exchange(graph: Graph, path: Path) -> tuple[list[torch.Tensor], int | None]:
    """Save the compiled module's weights and a batch of inputs for the check; return its outputs on them, and
    the length of their token sequences when it is not the drawn one."""
    module = build_module(graph, device="cpu").eval()
    length = _check_length(graph, module)
    inputs = list(example_inputs(graph, batch=CHECK_BATCH, seed=1, length=length).values())
    with torch.no_grad():
        outputs = module(*inputs)
    torch.save({"state": module.state_dict(), "inputs": inputs}, path)
    return (list(outputs) if isinstance(outputs, tuple) else [outputs]), length


def _check_length(graph: Graph, module: nn.Module) -> int | None:
    """CHECK_TOKENS for the token inputs of a graph drawn with longer sequences, when the compiled module takes
    them (a positional encoding takes any length up to its own; a flatten fixes it); None for the drawn length."""
    drawn = [graph.analyze().nodes[name].values["shape"][0] for name in token_inputs(graph)]
    if not drawn or min(drawn) <= CHECK_TOKENS:
        return None
    try:
        with torch.no_grad():
            module(*example_inputs(graph, batch=1, length=CHECK_TOKENS).values())
    except Exception:  # the module needs the drawn length: check at that length
        return None
    return CHECK_TOKENS


def _result(job: Job, path: Path, expected: list[torch.Tensor], length: int | None,
            done: subprocess.CompletedProcess[str]) -> Verified | SourceError | TooLarge:
    if not path.is_file():
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "")
        cause = f"killed by signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
        return SourceError(f"the interpreter checking the file stopped ({cause}){f': {last}' if last else ''}")
    result = torch.load(path, map_location="cpu", weights_only=True)
    if "error" in result and says_out_of_memory(result["error"]):  # the machine's fault, not the generator's
        return ran_out(job.graph, "checking the generated file", result["error"])
    if "error" in result:
        return SourceError(f"the file fails while {result['stage']}: {result['error']}")
    try:
        parity = compare(output_names(job.graph), [t.numpy() for t in expected],
                         [t.numpy() for t in result["outputs"]], TOLERANCE)
    except ParityError as error:
        return SourceError(f"{job.class_name}() with the compiled module's weights does not compute what it "
                           f"computes: {error}")
    return Verified(result["printed"], parity, CHECK_BATCH, length)
