"""The open document: one graph, its file, its undo stack and the scope being edited (the top level, or the
inside of a block). Views call its intents; each intent checks the edit, then pushes one undoable command, so
the graph only ever changes through commands and every change can be undone.

A refused edit raises GraphError (a ValueError) with a sentence saying why, and pushes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app import autosave, commands
from graph.connections import check_connect
from graph.document import Reader
from graph.fileformat import _block_document, load_graph, save_graph
from graph.inference import Analysis
from graph.library import SUFFIX, library_blocks
from graph.model import Edge, Graph, GraphError, Node
from graph.registry import canonical_type, layer_spec
from graph.resolve import find_block, name_prefix
from graph.snapshot import restore

T = TypeVar("T")


class Document(QObject):
    changed = Signal()
    analysis_changed = Signal(object)
    scope_changed = Signal(list)
    path_changed = Signal(object)
    modified_changed = Signal(bool)

    def __init__(self, graph: Graph | None = None, path: Path | None = None, parent: QObject | None = None,
                 template: str | None = None) -> None:
        super().__init__(parent)
        self.graph = graph if graph is not None else Graph("untitled")
        self.path = Path(path) if path is not None else None
        self.template = template  # the template it was made from: named by its autosave until it is saved
        self.untitled_id = autosave.next_untitled_id()
        self.scope: list[str] = []
        self.undo_stack = QUndoStack(self)
        self._scope_object = self.graph
        self._analysis_key: Any = None
        self.undo_stack.indexChanged.connect(self._after_change)
        self.undo_stack.cleanChanged.connect(self._clean_changed)

    # --- files ---------------------------------------------------------------------------------------------------
    @classmethod
    def new(cls) -> Document:
        return cls(Graph("untitled"))

    @classmethod
    def open(cls, path: str | Path) -> Document:
        """Load a file (GraphFileError propagates); a file with wrong values still opens, showing problems."""
        return cls(load_graph(path, strict=False), Path(path))

    @classmethod
    def from_template(cls, name: str) -> Document:
        return cls(load_graph(name), template=name)

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise GraphError("this document has no file yet: choose where to save it")
        saved = save_graph(self.graph, target)
        autosave.discard(self)  # the file now holds what the autosave held
        if saved != self.path:
            self.path = saved
            self.path_changed.emit(saved)
        self.undo_stack.setClean()
        return saved

    def title(self) -> str:
        name = self.path.name if self.path is not None else f"{self.graph.name or 'untitled'}{SUFFIX}"
        return name + ("*" if self.is_modified() else "")

    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def autosave_path(self, folder: Path | None = None) -> Path:
        return autosave.autosave_path(self, folder)

    def write_autosave(self, folder: Path | None = None) -> Path:
        return autosave.write_autosave(self, folder)

    @staticmethod
    def recoverable(path: str | Path, folder: Path | None = None) -> Path | None:
        return autosave.recoverable(path, folder)

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    # --- scope ---------------------------------------------------------------------------------------------------
    @property
    def scope_graph(self) -> Graph:
        if not self.scope:
            return self.graph
        block = find_block(self.graph, self.scope[-1])
        if block is None:
            raise GraphError(f"no block named '{self.scope[-1]}'")
        return block

    def enter_block(self, name: str) -> None:
        """Edit the inside of a block, given its name or the name of an instance of it."""
        graph = self.scope_graph
        if name in graph and find_block(graph, graph.node(name).type) is not None:
            name = graph.node(name).type
        if find_block(self.graph, name) is None:
            raise GraphError(f"'{name}' is neither a block nor an instance of one")
        self.set_scope([*self.scope, name])

    def leave_block(self) -> None:
        if self.scope:
            self.set_scope(self.scope[:-1])

    def set_scope(self, scope: list[str]) -> None:
        for name in scope:
            if find_block(self.graph, name) is None:
                raise GraphError(f"no block named '{name}'")
        self.scope = list(scope)
        self._scope_object = self.scope_graph
        self.scope_changed.emit(list(self.scope))

    # --- analysis ------------------------------------------------------------------------------------------------
    def analysis(self) -> Analysis:
        return self.graph.analyze()  # cached there by the revisions of the graph and its blocks

    def scope_analysis(self) -> Analysis:
        """Inside a block: the inner analysis of the first instance of it (following the scope's path)."""
        analysis, graph = self.analysis(), self.graph
        for name in self.scope:
            found = next((info.inner for node in graph.nodes if node.type == name
                          and (info := analysis.nodes.get(node.name)) is not None and info.inner is not None), None)
            block = find_block(graph, name)
            if found is None or block is None:
                return self.scope_graph.analyze()
            analysis, graph = found, block
        return analysis

    def _after_change(self) -> None:
        while self.scope and find_block(self.graph, self.scope[-1]) is None:  # an undo removed the block
            self.scope.pop()
        if self.scope_graph is not self._scope_object:
            self._scope_object = self.scope_graph
            self.scope_changed.emit(list(self.scope))
        self.changed.emit()
        key = (self.graph.revision, tuple((n, b.revision) for n, b in self.graph.blocks.items()))
        if key != self._analysis_key:
            self._analysis_key = key
            self.analysis_changed.emit(self.analysis())

    # --- pushing commands ----------------------------------------------------------------------------------------
    def _push(self, make: Callable[[Graph, tuple[str, ...]], QUndoCommand]) -> None:
        scope = tuple(self.scope)
        if not self._needs_copy():
            self.undo_stack.push(make(self.graph, scope))
            return
        # The first edit of a library block gives the document its own copy of it, in the same undo step.
        before = commands.snapshot(self.graph)
        try:
            self._copy_library_block()
            command = make(self.graph, scope)
            command.redo()
        except Exception:
            restore(self.graph, before)
            raise
        self.undo_stack.push(commands.SnapshotCommand(command.text(), self.graph, before,
                                                      commands.snapshot(self.graph)))

    def _needs_copy(self) -> bool:
        return bool(self.scope) and self.scope[-1] not in self.graph.blocks

    def _copy_library_block(self) -> None:
        name = self.scope[-1]
        doc = commands.snapshot(self.graph)
        doc.setdefault("blocks", {})[name] = _block_document(library_blocks()[name])
        restore(self.graph, doc)

    def edit(self, label: str, function: Callable[[Graph], T]) -> T:
        """A compound edit as one undo step: `function` changes the scope's graph however it likes."""
        before = commands.snapshot(self.graph)
        try:
            if self._needs_copy():
                self._copy_library_block()
            result = function(self.scope_graph)
        except Exception:
            if commands.snapshot(self.graph) != before:
                restore(self.graph, before)
            raise
        after = commands.snapshot(self.graph)
        if after != before:
            self.undo_stack.push(commands.SnapshotCommand(label, self.graph, before, after))
        return result

    # --- intents -------------------------------------------------------------------------------------------------
    def add_node(self, type_name: str, position: tuple[float, float] | None = None, **params: Any) -> str:
        graph = self.scope_graph
        type_name = canonical_type(type_name)
        if layer_spec(type_name) is None and find_block(graph, type_name) is None:
            raise GraphError(f"unknown layer type or block '{type_name}'")
        if self.scope and type_name in self.scope:
            raise GraphError(f"block '{type_name}' cannot contain itself")
        probe = Node("_", type_name)
        for key, value in params.items():
            self._check_value(graph, probe, key, value)
        name = graph.unique_name(name_prefix(graph, type_name))
        self._push(lambda root, scope: commands.AddNode(root, scope, type_name, name, position, params))
        return name

    def remove_nodes(self, names: list[str]) -> None:
        graph = self.scope_graph
        names = list(dict.fromkeys(names))
        for name in names:
            graph.node(name)
        if names:
            self._push(lambda root, scope: commands.RemoveNodes(root, scope, names))

    def connect(self, src: str, dst: str, port: str | None = None, src_port: str | None = None) -> None:
        refusal = check_connect(self.scope_graph, src, dst, port, src_port)
        if refusal is not None:
            raise GraphError(refusal)
        self._push(lambda root, scope: commands.Connect(root, scope, src, dst, port, src_port))

    def disconnect(self, src: str, dst: str, port: str | None = None) -> None:
        graph = self.scope_graph
        edge = next((e for e in graph.in_edges(dst) if e.src == src and port in (None, e.port)), None)
        if edge is None:
            raise GraphError(f"there is no wire from '{src}' to '{dst}'" + (f" port '{port}'" if port else ""))
        found: Edge = edge
        self._push(lambda root, scope: commands.Disconnect(root, scope, found))

    def move_nodes(self, positions: dict[str, tuple[float, float]]) -> None:
        graph = self.scope_graph
        for name in positions:
            graph.node(name)
        moved = {n: (float(p[0]), float(p[1])) for n, p in positions.items() if graph.node(n).position != tuple(p)}
        if moved:
            self._push(lambda root, scope: commands.MoveNodes(root, scope, moved))

    def set_param(self, name: str, key: str, value: Any) -> None:
        graph = self.scope_graph
        node = graph.node(name)
        self._check_value(graph, node, key, value)
        if node.params.get(key) == value and (value is not None or key not in node.params):
            return
        self._push(lambda root, scope: commands.SetParam(root, scope, name, key, value))

    def rename(self, old: str, new: str) -> None:
        graph = self.scope_graph
        graph.node(old)
        if new == old:
            return
        graph.check_name(new)
        self._push(lambda root, scope: commands.Rename(root, scope, old, new))

    def set_repeat(self, name: str, repeat: int | str) -> None:
        graph = self.scope_graph
        graph.node(name)
        reader = Reader()
        if not reader._check_repeat(repeat, f"{name}.repeat"):
            raise GraphError(reader.defects[0])
        if graph.node(name).repeat != repeat:
            self._push(lambda root, scope: commands.SetRepeat(root, scope, name, repeat))

    def set_label(self, name: str, text: str | None) -> None:
        graph = self.scope_graph
        graph.node(name)
        if text is not None and (not isinstance(text, str) or len(text) > 100):
            raise GraphError("a label is a text of at most 100 characters")
        text = text or None
        if graph.node(name).label != text:
            self._push(lambda root, scope: commands.SetLabel(root, scope, name, text))

    def set_meta(self, key: str, value: Any) -> None:
        """A meta-parameter of the whole model (a template's depth N); always the top level's."""
        if key not in self.graph.params:
            raise GraphError(f"the model has no meta-parameter '{key}'")
        if value is not None:
            reader = Reader()
            if not reader._check_value(self.graph.params[key], value, key, allow_expr=True):
                raise GraphError(reader.defects[0])
        self.undo_stack.push(commands.SetMeta(self.graph, (), key, value))

    def group(self, names: list[str], block_name: str | None = None) -> str:
        from graph.grouping import group

        return self.edit("Group", lambda graph: group(graph, list(names), block_name))

    def ungroup(self, name: str) -> list[str]:
        from graph.grouping import ungroup

        analysis = self.scope_analysis()
        return self.edit(f"Ungroup {name}", lambda graph: ungroup(graph, name, analysis))

    def copy(self, names: list[str]) -> str:
        from graph.clipboard import copy_text

        return copy_text(self.scope_graph, names)

    def paste(self, text: str, offset: tuple[float, float] = (40, 40)) -> list[str]:
        from graph.clipboard import paste_text

        return self.edit("Paste", lambda graph: paste_text(graph, text, offset))

    def duplicate(self, names: list[str]) -> list[str]:
        from graph.clipboard import paste_text

        text = self.copy(names)
        return self.edit("Duplicate", lambda graph: paste_text(graph, text))

    def apply_layout(self) -> None:
        try:
            from graph.layout import layered_layout  # written alongside; absent in older checkouts
        except ImportError:
            raise GraphError("automatic layout is not available") from None

        def place(graph: Graph) -> None:
            for name, position in layered_layout(graph).items():
                graph.move(name, position)

        self.edit("Layout", place)

    # --- checks --------------------------------------------------------------------------------------------------
    def _check_value(self, graph: Graph, node: Node, key: str, value: Any) -> None:
        spec = layer_spec(node.type)
        block = None if spec is not None else find_block(graph, node.type)
        if spec is None and block is None:
            raise GraphError(f"'{node.name}' has an unknown type '{node.type}'")
        declared = spec._by_name if spec is not None else block.params  # type: ignore[union-attr]
        if key not in declared:
            raise GraphError(f"{node.type} has no meta-parameter '{key}'")
        if value is None:
            return
        reader = Reader()
        allow_expr = bool(self.scope) or bool(self.graph.params)
        if not reader._check_value(declared[key], value, f"{node.name}.{key}", allow_expr):
            raise GraphError(reader.defects[0])
