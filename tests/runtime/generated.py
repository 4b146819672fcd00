"""Generated PyTorch source as a file (unchecked: the tests compare it with the compiled module in-process, where
`write_source` would check it in a fresh interpreter), imported as a module under a name of its own each time."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

from graph import Graph
from runtime.codegen import generate_source

_loaded = itertools.count()


def load_generated(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"generated_{next(_loaded)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_generated(graph: Graph, path: Path) -> Path:
    path.write_text(generate_source(graph), encoding="utf-8")
    return path
