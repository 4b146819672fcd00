"""A layered layout in the book's convention: data flows upward, the main chain in one column at x=0.

Longest-path layering from the inputs gives each node a layer (y = -layer × LAYER_SPACING, so the input sits at
y=0 and later layers above it, as Qt's y grows downward). A node stays in the column of its primary parent (the
predecessor in the highest layer, i.e. the one right below it), so skip connections never push a node sideways;
a parent's column is given to one child only, and every further branch opens a new column to the right.
"""

from __future__ import annotations

from graph.model import Graph

LAYER_SPACING = 80.0  # centre to centre, the templates' spacing
COLUMN_SPACING = 240.0  # a box, its meta-parameters and shapes on the right, and some air


def layered_layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """Each node's (x, y) position, bottom (y=0) to top (negative y). Deterministic: follows insertion order."""
    order = [node.name for node in graph]
    index = {name: i for i, name in enumerate(order)}
    preds = _forward_predecessors(graph, order, index)
    layers = _layers(order, preds)
    columns = _columns(order, preds, layers, index)
    return {name: (columns[name] * COLUMN_SPACING, -layers[name] * LAYER_SPACING) for name in order}


def _forward_predecessors(graph: Graph, order: list[str], index: dict[str, int]) -> dict[str, list[str]]:
    """Predecessors in edge order, without the edges that close a cycle (found by a depth-first search)."""
    succs: dict[str, list[str]] = {name: [] for name in order}
    for edge in graph.edges:
        succs[edge.src].append(edge.dst)
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    for root in order:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succs[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succs[child])))
    preds: dict[str, list[str]] = {name: [] for name in order}
    for edge in graph.edges:
        if (edge.src, edge.dst) not in back and edge.src not in preds[edge.dst]:
            preds[edge.dst].append(edge.src)
    return preds


def _layers(order: list[str], preds: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from a node without predecessors (Kahn's order over the acyclic edges)."""
    remaining = {name: len(preds[name]) for name in order}
    succs: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for p in preds[name]:
            succs[p].append(name)
    layers = {name: 0 for name in order}
    ready = [name for name in order if remaining[name] == 0]
    for node in ready:  # `ready` grows while we walk it
        for child in succs[node]:
            layers[child] = max(layers[child], layers[node] + 1)
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    return layers


def _columns(order: list[str], preds: dict[str, list[str]], layers: dict[str, int],
             index: dict[str, int]) -> dict[str, int]:
    columns: dict[str, int] = {}
    given: set[str] = set()  # parents whose column a child has already taken
    next_column = 0
    for name in sorted(order, key=lambda n: (layers[n], index[n])):
        parents = preds[name]
        primary = max(parents, key=lambda p: (layers[p], -parents.index(p))) if parents else None
        if primary is not None and primary not in given:
            given.add(primary)
            columns[name] = columns[primary]
        else:
            columns[name] = next_column
            next_column += 1
        next_column = max(next_column, columns[name] + 1)
    return columns
