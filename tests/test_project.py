"""The project's promises to a new user: the README's quick start and CI agree, templates and entry points exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_blocks(section: str) -> list[str]:
    return re.findall(r"```\n(.*?)```", section, re.S)


def test_quick_start_is_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n### ", 1)[0]
    blocks = [b.strip() for b in code_blocks(quick)]
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    assert "torch==2.13.0" in blocks[0] and blocks[0].endswith("main.py")
    assert blocks[1].startswith(".venv/bin/python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "torch==2.13.0" in ci and "QT_QPA_PLATFORM=offscreen" in ci
    assert "grep -m1 -E '^\\.venv/bin/python -m pytest' README.md" in ci


def test_pyproject_declares_the_stack_with_lower_bounds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = {re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower(): d for d in project["dependencies"]}
    for name in ("pyside6-essentials", "torch", "pyqtgraph", "networkx", "onnx", "onnxruntime", "onnxscript"):
        assert ">=" in deps[name], name
    assert "<6.12" in deps["pyside6-essentials"]
    tests = " ".join(project["optional-dependencies"]["test"])
    assert all(t in tests for t in ("pytest", "pytest-qt", "hypothesis"))
    assert project["scripts"]["layerbook"] == "main:main"
