"""Importing a generated PyTorch source file as a module, under a name of its own each time."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

_loaded = itertools.count()


def load_generated(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"generated_{next(_loaded)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
