"""Run in a fresh interpreter by `runtime.codegen.verify`: each generated file as a user would use it, with
nothing of Layerbook's loaded (this script imports torch and the standard library only).

    python -B -P check_file.py JOBS.json

JOBS.json lists jobs, each {"source", "class", "exchange", "result"}: the file is run as a script (its `__main__`
example), imported as a module, its class built and given the weights of `exchange` (a state_dict and inputs,
saved with torch.save) strictly, and its outputs on those inputs saved to `result`, or the error that stopped it
with the line of the file where it happened.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
import json
import runpy
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import torch


def run(job: dict[str, str]) -> dict[str, Any]:
    source = job["source"]
    stage = "running its example"
    try:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), torch.no_grad():
            runpy.run_path(source, run_name="__main__")
        stage = "importing it"
        module = _import(source)
        stage = f"building {job['class']}()"
        model = getattr(module, job["class"])().eval()
        exchange = torch.load(job["exchange"], map_location="cpu", weights_only=True)
        stage = "loading the compiled module's weights"
        model.load_state_dict(exchange["state"], strict=True)
        stage = "running it on the check's inputs"
        with torch.no_grad():
            outputs = model(*exchange["inputs"])
    except Exception as error:
        return {"error": f"{_one_line(error)}{_where(error, source)}", "stage": stage}
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return {"outputs": [t.detach() for t in outputs], "printed": printed.getvalue().strip()}


def _import(source: str) -> Any:
    loader = importlib.machinery.SourceFileLoader("generated", source)  # any file name: the check's is a .tmp
    spec = importlib.util.spec_from_loader("generated", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _one_line(error: BaseException, longest: int = 400) -> str:
    """The error in one line: torch spreads some over several (load_state_dict's missing and unexpected keys)."""
    text = " ".join(s.strip() for s in str(error).splitlines() if s.strip())
    text = text if len(text) <= longest else f"{text[:longest]}…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _where(error: BaseException, source: str) -> str:
    """`(line 212 of the file: X = torch.randint(V, (2, 64)))`: the innermost line of the file involved."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == Path(source)]
    if isinstance(error, SyntaxError) and error.lineno:
        return f" (line {error.lineno} of the file)"
    if not frames:
        return ""
    return f" (line {frames[-1].lineno} of the file: {frames[-1].line})"


def main(jobs_file: str) -> None:
    warnings.simplefilter("ignore")  # torch's advice (padding='same' on some versions) is not the check's result
    for job in json.loads(Path(jobs_file).read_text(encoding="utf-8")):
        torch.save(run(job), job["result"])


if __name__ == "__main__":
    main(sys.argv[1])
