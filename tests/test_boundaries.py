"""The architecture's boundaries: graph/ imports neither Qt nor torch; runtime/ never imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"graph": ("torch", "PySide6", "pyqtgraph", "shiboken6"), "runtime": ("PySide6", "pyqtgraph", "shiboken6")}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_import_in_source(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & set(FORBIDDEN[package]))
        for path in (ROOT / package).rglob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_graph_loads_and_validates_without_torch_or_qt() -> None:
    """Import every graph module, load and validate a template, and check nothing heavy came along."""
    code = (
        "import sys, pkgutil, importlib, graph\n"
        "for m in pkgutil.iter_modules(graph.__path__): importlib.import_module('graph.' + m.name)\n"
        "g = graph.load_graph('lenet'); assert g.analyze().ok\n"
        "heavy = [m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_cli_commands_do_not_import_torch_or_qt() -> None:
    code = (
        "import sys, main\n"
        "assert main.main(['validate', 'mlp']) == 0\n"
        "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


def test_the_editor_reads_training_events_without_importing_torch() -> None:
    """The app's process unpickles every event a run sends; importing torch there (1-2 s of CPU) would be taken
    from the training beside it."""
    code = (
        "import pickle, sys\n"
        "from runtime.training.events import EpochMetrics, Failed, Finished, Health, NodeHealth, Started, Status, "
        "StepMetrics\n"
        "events = [Started('r', 'cpu', 'd', 'classification', 1, 1, 1, 0), Status('running'), "
        "StepMetrics(1, 1, 1.0, None, 1e-3, 1.0, 0.0, 0.1, None), EpochMetrics(1, 1, 1.0, None, 1.0, None, True, 0.0), "
        "Health(1, {'fc1': NodeHealth(0.1, None, False)}), Failed('nan', 'm'), Finished('finished')]\n"
        "blob = pickle.dumps(events)\n"
        "import runtime.training, app.training.panel\n"
        "assert pickle.loads(blob) == events\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=_offscreen())


def _offscreen() -> dict[str, str]:
    import os

    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
