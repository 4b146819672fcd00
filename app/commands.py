"""One undoable command per user action. Each holds names and plain data (never Qt items) and changes the graph
only through its API, so views learn of every change, redo or undo, from the graph's events.

Removing and disconnecting remember each edge's and each node's place in the order, and undo puts them back there
(graph/snapshot.py), since the order of a concat's inputs is part of the model and of the file. Places, not order
numbers: an undone compound edit restores the whole document and numbers its edges afresh.

A command edits the graph at a scope: () for the top level, ("resblock",) for the inside of block resblock; it
finds that graph by name each time, since a whole-document undo may have replaced a block's object.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from graph.fileformat import to_document
from graph.model import Edge, Graph, Node
from graph.snapshot import (
    bracket_places,
    disconnect_at,
    edge_index,
    node_index,
    reconnect_at,
    reinsert_node,
    restore,
    restore_bracket_places,
)

Scope = tuple[str, ...]
Position = tuple[float, float]
MOVE_ID = 7301  # any constant: QUndoStack asks mergeWith only of commands with the same id


def scoped(root: Graph, scope: Scope) -> Graph:
    return root.blocks[scope[-1]] if scope else root


class GraphCommand(QUndoCommand):
    def __init__(self, label: str, root: Graph, scope: Scope = ()) -> None:
        super().__init__(label)
        self.root, self.scope = root, tuple(scope)

    @property
    def graph(self) -> Graph:
        return scoped(self.root, self.scope)


class AddNode(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, type_name: str, name: str, position: Position | None,
                 params: dict[str, Any]) -> None:
        super().__init__(f"Add {name}", root, scope)
        self.type_name, self.name, self.position, self.params = type_name, name, position, dict(params)

    def redo(self) -> None:
        self.graph.add(self.type_name, self.name, position=self.position)
        for key, value in self.params.items():  # not as keywords: a key such as 'name' would clash with add's
            self.graph.set_param(self.name, key, copy.deepcopy(value))

    def undo(self) -> None:
        self.graph.remove(self.name)


class RemoveNodes(GraphCommand):
    """Remembers each node with its place in the node order, its bracket places and every edge touching it with
    its place in the edge order, so undo gives back the same file (a concat's inputs in the same order)."""

    def __init__(self, root: Graph, scope: Scope, names: list[str]) -> None:
        label = f"Remove {names[0]}" if len(names) == 1 else f"Remove {len(names)} nodes"
        super().__init__(label, root, scope)
        self.names = list(names)
        self.saved: list[tuple[int, Node, list[tuple[int, int]]]] = []
        self.edges: list[tuple[int, Edge]] = []

    def redo(self) -> None:
        graph = self.graph
        chosen = set(self.names)
        self.saved = [(node_index(graph, n.name), copy.deepcopy(n), bracket_places(graph, n.name))
                      for n in graph.nodes if n.name in chosen]
        self.edges = [(index, e) for index, e in enumerate(graph.edges) if e.src in chosen or e.dst in chosen]
        for _, node, _ in self.saved:
            graph.remove(node.name)

    def undo(self) -> None:
        graph = self.graph
        for index, node, _ in self.saved:  # ascending indices: each lands where it was
            reinsert_node(graph, node, index)
        # bracket places in ascending order too (not in node order: a place past the bracket's end would land last)
        places = sorted((place, node.name) for _, node, node_places in self.saved for place in node_places)
        for place, name in places:
            restore_bracket_places(graph, name, [place])
        for index, edge in self.edges:  # ascending places: each lands where it was
            reconnect_at(graph, edge, index)


class Connect(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, src: str, dst: str, port: str | None,
                 src_port: str | None) -> None:
        super().__init__(f"Connect {src} → {dst}", root, scope)
        self.src, self.dst, self.port, self.src_port = src, dst, port, src_port
        self.edge: Edge | None = None

    def redo(self) -> None:
        self.edge = self.graph.connect(self.src, self.dst, self.port, src_port=self.src_port)

    def undo(self) -> None:
        # the new wire is the last one; an identical older wire (A + A) must stay where it is
        removed = disconnect_at(self.graph, len(self.graph.edges) - 1)
        assert removed == self.edge


class Disconnect(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, edge: Edge) -> None:
        super().__init__(f"Disconnect {edge.src} → {edge.dst}", root, scope)
        self.edge, self.index = edge, -1

    def redo(self) -> None:
        self.index = edge_index(self.graph, self.edge)
        disconnect_at(self.graph, self.index)  # that very wire, where two are identical

    def undo(self) -> None:
        reconnect_at(self.graph, self.edge, self.index)


class MoveNodes(GraphCommand):
    """Consecutive moves of the same set of nodes merge into one undo step (a drag, then a nudge)."""

    def __init__(self, root: Graph, scope: Scope, positions: dict[str, Position]) -> None:
        super().__init__("Move" if len(positions) != 1 else f"Move {next(iter(positions))}", root, scope)
        self.after = {k: (float(v[0]), float(v[1])) for k, v in positions.items()}
        self.before = {name: root_position(self.graph, name) for name in positions}

    def id(self) -> int:
        return MOVE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveNodes) or other.scope != self.scope or set(other.after) != set(self.after):
            return False
        self.after = dict(other.after)
        return True

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)

    def _apply(self, positions: dict[str, Position | None]) -> None:
        graph = self.graph
        for name, position in positions.items():
            if position is not None:
                graph.move(name, position)
            else:  # back to "never placed" (the API's move always places)
                graph.node(name).position = None
                graph.events.emit("node_moved", name=name)


def root_position(graph: Graph, name: str) -> Position | None:
    return graph.node(name).position


class SetParam(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, name: str, key: str, value: Any) -> None:
        super().__init__(f"Set {name}.{key}", root, scope)
        self.name, self.key, self.value = name, key, copy.deepcopy(value)
        self.old = copy.deepcopy(self.graph.node(name).params.get(key))
        self.had = key in self.graph.node(name).params  # absent before: undo removes it again (the default)

    def redo(self) -> None:
        self.graph.set_param(self.name, self.key, copy.deepcopy(self.value))

    def undo(self) -> None:
        self.graph.set_param(self.name, self.key, copy.deepcopy(self.old) if self.had else None)


class Rename(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, old: str, new: str) -> None:
        super().__init__(f"Rename {old} → {new}", root, scope)
        self.old, self.new = old, new

    def redo(self) -> None:
        self.graph.rename(self.old, self.new)

    def undo(self) -> None:
        self.graph.rename(self.new, self.old)


class SetRepeat(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, name: str, repeat: int | str) -> None:
        super().__init__(f"Repeat {name}", root, scope)
        self.name, self.repeat, self.old = name, repeat, self.graph.node(name).repeat

    def redo(self) -> None:
        self.graph.set_repeat(self.name, self.repeat)

    def undo(self) -> None:
        self.graph.set_repeat(self.name, self.old)


class SetLabel(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, name: str, label: str | None) -> None:
        super().__init__(f"Label {name}", root, scope)
        self.name, self.label, self.old = name, label, self.graph.node(name).label

    def redo(self) -> None:
        self.graph.set_label(self.name, self.label)

    def undo(self) -> None:
        self.graph.set_label(self.name, self.old)


class SetMeta(GraphCommand):
    def __init__(self, root: Graph, scope: Scope, key: str, value: Any) -> None:
        super().__init__(f"Set {key}", root, scope)
        self.key, self.value = key, copy.deepcopy(value)
        self.old = copy.deepcopy(self.graph.param_values.get(key))

    def redo(self) -> None:
        self.graph.set_meta(self.key, copy.deepcopy(self.value))

    def undo(self) -> None:
        self.graph.set_meta(self.key, copy.deepcopy(self.old))


class SnapshotCommand(QUndoCommand):
    """A compound edit (group, paste, layout, a quick fix) recorded as the whole document before and after;
    undo and redo restore the top-level graph in place."""

    def __init__(self, label: str, root: Graph, before: dict[str, Any], after: dict[str, Any]) -> None:
        super().__init__(label)
        self.root, self.before, self.after = root, before, after
        self.first = True  # the edit has already been made when the command is pushed

    def redo(self) -> None:
        if self.first:
            self.first = False
            return
        restore(self.root, self.after)

    def undo(self) -> None:
        restore(self.root, self.before)


def snapshot(root: Graph) -> dict[str, Any]:
    return copy.deepcopy(to_document(root))
