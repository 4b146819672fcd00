"""The shared library of blocks (resources/blocks/) and the templates (resources/templates/)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from graph.model import Graph

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
TEMPLATES = RESOURCES / "templates"
BLOCKS = RESOURCES / "blocks"
SUFFIX = ".layerbook.json"


@lru_cache(maxsize=1)
def library_blocks() -> dict[str, Graph]:
    """Every block defined in resources/blocks/*.layerbook.json, by name (loaded once)."""
    from graph.fileformat import load_graph

    blocks: dict[str, Graph] = {}
    for path in sorted(BLOCKS.glob(f"*{SUFFIX}")):
        blocks.update(load_graph(path, library=False).blocks)
    return blocks


def template_names() -> list[str]:
    return sorted(p.name[: -len(SUFFIX)] for p in TEMPLATES.glob(f"*{SUFFIX}"))


def template_path(name: str) -> Path | None:
    path = TEMPLATES / f"{name}{SUFFIX}"
    try:
        return path if path.is_file() else None
    except OSError:  # a name too long to be a file's: no template has it
        return None
