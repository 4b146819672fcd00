"""The variables of a generated `forward`: the order nodes are written in, and which variable holds each value."""

from __future__ import annotations

import keyword
from collections import Counter
from collections.abc import Collection

from graph.model import Graph
from graph.resolve import block_inputs
from runtime.codegen.helpers import RESERVED

Value = tuple[str, str]  # (node, output port)


class Names:
    """Python names for one scope, each given once: keywords and reserved names get a trailing underscore."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)

    def claim(self, base: str) -> str:
        name = f"{base}_" if keyword.iskeyword(base) or base in RESERVED else base
        candidate, index = name, 2
        while candidate in self.taken:
            candidate, index = f"{name}_{index}", index + 1
        self.taken.add(candidate)
        return candidate


class Variables:
    """Which variable of `forward` holds each value. A chain reuses one running variable; a value still needed
    while another chain goes on gets a name of its own; returned values are never overwritten."""

    def __init__(self, graph: Graph, names: Names) -> None:
        self.names = names
        self.pending: Counter[Value] = Counter()  # uses not yet written (outputs excluded)
        self.pinned: set[Value] = set()  # values returned at the end
        for edge in graph.edges:
            value = (edge.src, edge.src_port)
            if graph.node(edge.dst).type == "output":
                self.pinned.add(value)
            else:
                self.pending[value] += 1
        self.var_of: dict[Value, str] = {}
        self.holder: dict[str, Value] = {}
        self.params = [self.bind((name, "y"), names.claim(name)) for name in block_inputs(graph)]
        nodes = {n.name for n in graph}
        self.running = names.claim(next((n for n in ("x", "h", "y", "z") if n not in names.taken | nodes), "out"))

    def bind(self, value: Value, var: str) -> str:
        self.var_of[value], self.holder[var] = var, value
        return var

    def needed(self, value: Value) -> bool:
        return self.pending[value] > 0 or value in self.pinned

    def live(self, var: str) -> bool:
        value = self.holder.get(var)
        return value is not None and self.needed(value)

    def consume(self, sources: list[Value]) -> None:
        for value in sources:
            self.pending[value] -= 1

    def target(self, node: str, sources: list[Value], keep: Collection[str] = ()) -> str:
        """Where a node's result goes once its sources are read: the running variable when free, else the
        variable of a source no longer needed, else a variable named after the node. `keep`: variables read
        again after the result is written (the side inputs of a repeated node, read by every copy)."""
        if not self.live(self.running) and self.running not in keep:
            return self.running
        free = [var for var in (self.var_of[v] for v in sources)
                if var not in self.params and var not in keep and not self.live(var)]
        return free[0] if free else self.names.claim(node)


def chain_order(graph: Graph) -> list[str]:
    """A topological order that follows chains: a node's consumer comes next when it is ready, so one running
    variable carries a chain and a side branch is written in one piece; otherwise nodes come as they were drawn."""
    names = [node.name for node in graph]
    index = {name: i for i, name in enumerate(names)}
    waiting = {name: len(graph.in_edges(name)) for name in names}
    ready = [name for name in names if waiting[name] == 0]
    order: list[str] = []
    while ready:
        last = order[-1] if order else None
        chosen = next((n for n in ready if any(e.src == last for e in graph.in_edges(n))), ready[0])
        ready.remove(chosen)
        order.append(chosen)
        for edge in graph.out_edges(chosen):
            waiting[edge.dst] -= 1
            if waiting[edge.dst] == 0:
                ready.append(edge.dst)
                ready.sort(key=index.__getitem__)
    return order
