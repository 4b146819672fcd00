"""Everything torch: layer modules, compilation to torch.fx, data, training, export. Never imports Qt.

Its names load when first asked for: the desktop app unpickles training events (runtime.training.events) in the
editor's process, which must not pay for importing torch while a run trains beside it.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"CompileError": "runtime.compile", "build_module": "runtime.compile",
          "count_parameters": "runtime.modules", "make_module": "runtime.modules"}
__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'runtime' has no attribute '{name}'")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
