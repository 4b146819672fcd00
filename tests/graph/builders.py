"""Small graphs the graph tests build again and again."""

from __future__ import annotations

from typing import Any

from graph import Graph


def chain(shape: tuple[int, ...], *layers: tuple[str, dict[str, Any]], g: Graph | None = None) -> Graph:
    """input(shape) → layers... → output, wired in series."""
    g = g if g is not None else Graph()
    previous = g.add("input", shape=shape)
    for type_name, params in layers:
        node = g.add(type_name, **params)
        g.connect(previous, node)
        previous = node
    g.connect(previous, g.add("output", loss="none"))
    return g
