"""The check every template file owes: it loads by name and is stored exactly as Layerbook writes it."""

from __future__ import annotations

from graph import Graph, dumps, load_graph
from graph.library import template_path


def load_canonical(name: str) -> Graph:
    """Load template `name`, asserting its file equals the canonical text of the graph it holds."""
    path = template_path(name)
    assert path is not None, name
    graph = load_graph(name)
    assert path.read_text(encoding="utf-8") == dumps(graph)
    return graph
