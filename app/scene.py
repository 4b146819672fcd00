"""The canvas: a QGraphicsScene drawing a graph in the book's convention and kept in sync with the graph's events
one item at a time. It never edits the graph: moves, wires and activations leave as signals (intents) that the main
window hands to the Document, whose commands change the graph, whose events then update the scene."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneMouseEvent
from shiboken6 import isValid

from app.health import health_mark
from app.items import BracketItem, EdgeItem, NodeItem
from app.style import BLOCK_HEIGHT, BOX_WIDTH, LIGHT, Theme
from app.wiring import WireDrag
from graph.inference import Analysis
from graph.layout import layered_layout
from graph.model import Edge, Graph

BRACKET_GAP = 22.0  # from the leftmost box of a bracket to the bracket's line


MOVED_BEFORE_REINDEX = 256
REROUTE_ONE_BY_ONE = 64  # more boxes changed than this: re-route every arrow once rather than near each box
STRIP_HALF_WIDTH = 1e7  # wider than any graph: a horizontal strip of the scene


class GraphScene(QGraphicsScene):
    nodes_moved = Signal(dict)
    connect_requested = Signal(str, str, object, object)
    node_activated = Signal(str)
    message = Signal(str)

    def __init__(self, theme: Theme = LIGHT, parent: Any = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.graph: Graph | None = None
        self.analysis: Analysis | None = None
        self.show_ports = True
        self.show_problems = True  # a figure (render.py) shows the drawing only
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[Edge, list[EdgeItem]] = {}
        self._brackets: list[BracketItem] = []
        self._unsubscribe: Any = None
        self._wire: WireDrag | None = None
        self._press_positions: dict[str, QPointF] = {}
        self._box_index: dict[int, tuple[list[float], list[NodeItem]]] | None = None
        self._moved: set[NodeItem] = set()
        self._shown: dict[str, Any] = {}  # node name → the NodeInfo its box shows
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setBackgroundBrush(QBrush(QColor(theme.background)))

    # --- public API ------------------------------------------------------------------------------------------
    def set_graph(self, graph: Graph) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.graph = graph
        self.analysis = None
        self._rebuild()
        self._unsubscribe = graph.events.subscribe(self._on_event)

    def set_analysis(self, analysis: Analysis) -> None:
        """Shapes, trainable shading and problem marks (red outline for errors, orange for warnings + tooltip).
        Only the boxes whose inferred facts changed are redrawn, and only the arrows near a box that changed
        size re-routed: an edit in a 5,000-node graph touches a handful of boxes, not all of them."""
        self.analysis = analysis
        if self.graph is None:
            return
        by_node: dict[str, list] = {}
        for problem in analysis.problems if self.show_problems else []:
            if problem.node is not None:
                by_node.setdefault(problem.node, []).append(problem)
        changed = [name for name in self._nodes if not _same(self._shown.get(name, _UNSEEN), self._info(name))]
        many = len(changed) > REROUTE_ONE_BY_ONE
        for name in changed:
            self._refresh_node(name, edges=not many)
        if many:
            self._update_edges()
        for name, item in self._nodes.items():
            self._mark(item, by_node.get(name, []))
        self._update_brackets()

    def _mark(self, item: NodeItem, problems: list) -> None:
        severity = ("error" if any(p.is_error for p in problems) else "warning") if problems else None
        lines = [str(p) for p in problems] + ([f"training: {item.health[1]}"] if item.health else [])
        tooltip = "\n".join(lines)
        if tooltip != item.toolTip():
            item.setToolTip(tooltip)
        if severity != item.severity:
            item.severity = severity
            item.update()

    def set_health(self, report: dict[str, Any] | None) -> None:
        """Training health per box (node name → NodeHealth, from the engine's Health events); None clears it."""
        for name, item in self._nodes.items():
            mark = health_mark((report or {}).get(name))
            if mark == item.health:
                continue
            repaint = (mark or ("",))[0] != (item.health or ("",))[0]  # a new colour; new figures only: tooltip
            item.health = mark
            lines = [line for line in item.toolTip().split("\n") if line and not line.startswith("training: ")]
            if mark is not None:
                lines.append(f"training: {mark[1]}")
            item.setToolTip("\n".join(lines))
            if repaint:
                item.update()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackgroundBrush(QBrush(QColor(theme.background)))
        for item in self.items():
            if hasattr(item, "set_theme"):
                item.set_theme(theme)
            elif isinstance(item, BracketItem):
                item.theme = theme
                item.update()

    def set_show_ports(self, show: bool) -> None:
        self.show_ports = show
        for item in self._nodes.values():
            item.show_ports = show
            item.update()

    def node_item(self, name: str) -> NodeItem | None:
        return self._nodes.get(name)

    def node_items(self) -> list[NodeItem]:
        return list(self._nodes.values())

    def edge_items(self) -> list[EdgeItem]:
        return [item for items in self._edges.values() for item in items]

    def bracket_items(self) -> list[BracketItem]:
        return list(self._brackets)

    def selected_nodes(self) -> list[str]:
        # isValid: while a window closes, Qt deletes the items before the scene stops announcing selections
        return [item.name for item in self._nodes.values() if isValid(item) and item.isSelected()]

    def select_nodes(self, names: list[str]) -> None:
        wanted = set(names)
        for name, item in self._nodes.items():
            item.setSelected(name in wanted)

    def graph_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.items():
            if item.parentItem() is None and item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
        return rect

    def boxes_in(self, rect: QRectF) -> list[NodeItem]:
        """The node boxes meeting `rect`. Edges ask this to route around boxes; a bucketed index sorted by y
        answers in O(log n) where QGraphicsScene.items() scans every item not yet indexed (5,000-node builds)."""
        if self._box_index is None or len(self._moved) > MOVED_BEFORE_REINDEX:
            self._box_index = self._build_box_index()
            self._moved = set()
        found: dict[int, NodeItem] = {}
        for key in range(int(rect.left() // BOX_WIDTH), int(rect.right() // BOX_WIDTH) + 1):
            tops, items = self._box_index.get(key, ([], []))
            start = bisect_left(tops, rect.top() - BLOCK_HEIGHT)
            for item in items[start:bisect_right(tops, rect.bottom())]:
                if item not in self._moved and item.scene_box().intersects(rect):
                    found[id(item)] = item
        for item in self._moved:  # indexed where they were: look at where they are
            if item.scene_box().intersects(rect):
                found[id(item)] = item
        return list(found.values())

    def invalidate_boxes(self) -> None:
        self._box_index = None

    def box_moved(self, item: NodeItem) -> None:
        """A box moved: checked on its own until the next re-index (a drag must not rebuild the whole index)."""
        self._moved.add(item)

    def _build_box_index(self) -> dict[int, tuple[list[float], list[NodeItem]]]:
        buckets: dict[int, list[tuple[float, int, NodeItem]]] = {}
        for order, item in enumerate(self._nodes.values()):
            box = item.scene_box()
            for key in range(int(box.left() // BOX_WIDTH), int(box.right() // BOX_WIDTH) + 1):
                buckets.setdefault(key, []).append((box.top(), order, item))
        index = {}
        for key, entries in buckets.items():
            entries.sort(key=lambda entry: (entry[0], entry[1]))
            index[key] = ([entry[0] for entry in entries], [entry[2] for entry in entries])
        return index

    # --- building --------------------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self._cancel_wire()
        # forget the items before deleting them: clear() announces the lost selection to listeners, which must
        # not reach an item already deleted
        self._nodes, self._edges, self._brackets, self._shown = {}, {}, [], {}
        self.clear()
        self._box_index = None
        assert self.graph is not None
        layout: dict[str, tuple[float, float]] | None = None
        if any(node.position is None for node in self.graph):
            layout = layered_layout(self.graph)
        for node in self.graph:
            self._add_node(node.name, layout)
        for edge in self.graph.edges:
            self._add_edge(edge)
        self._update_brackets()

    def _info(self, name: str) -> Any:
        return self.analysis.nodes.get(name) if self.analysis is not None else None

    def _add_node(self, name: str, layout: dict[str, tuple[float, float]] | None = None) -> NodeItem:
        assert self.graph is not None
        node = self.graph.node(name)
        item = NodeItem(self.graph, node, self.theme, self._info(name))
        item.show_ports = self.show_ports
        position = node.position
        if position is None:
            layout = layout if layout is not None and name in layout else layered_layout(self.graph)
            position = layout[name]
        item.setPos(QPointF(*position))
        self.addItem(item)
        self._nodes[name] = item
        self._box_index = None
        return item

    def _add_edge(self, edge: Edge) -> None:
        item = EdgeItem(edge, self._nodes[edge.src], self._nodes[edge.dst], self.theme)
        self.addItem(item)
        item.update_path()  # now in the scene: it can see the boxes it must go around
        self._edges.setdefault(edge, []).append(item)

    def _remove_edge(self, edge: Edge) -> None:
        items = self._edges.get(edge)
        if not items:
            return
        item = items.pop()
        if not items:
            del self._edges[edge]
        item.detach()
        self.removeItem(item)

    def _refresh_node(self, name: str, edges: bool = True) -> None:
        """Recompute a node's texts; `edges=False` when the caller redraws every edge once afterwards."""
        assert self.graph is not None
        item = self._nodes[name]
        before, box = item.sceneBoundingRect(), item.scene_box()
        self._shown[name] = self._info(name)
        item.refresh(self.graph, self.graph.node(name), self._info(name))
        if item.scene_box() != box:  # a box grew (it became a block) or shrank: the index holds the old one
            self._box_index = None
        if not edges:
            return
        for edge in item.edges:
            edge.update_path()
        if item.sceneBoundingRect() != before:  # arrows going around it keep clear of its new texts
            self._update_edges_near(item, before)

    def _update_edges(self) -> None:
        for item in self.edge_items():
            item.update_path()

    def _update_edges_near(self, item: NodeItem, before: QRectF | None = None) -> None:
        """Side paths go around the boxes between their ends: redraw those that went around `item` or now cross
        it (see _update_edges_in)."""
        self._update_edges_in([item.sceneBoundingRect()] + ([before] if before is not None else []))

    def _update_edges_in(self, rects: list[QRectF]) -> None:
        """Redraw the edges that may go around boxes in `rects`. Only edges spanning those heights can: the
        scene's index finds them in the horizontal strips of the rects (a drag in a 5,000-node graph stays
        cheap)."""
        concerned: set[EdgeItem] = set()
        for rect in rects:  # (not sceneRect(): on a big scene with moved items it is recomputed, at length)
            strip = QRectF(-STRIP_HALF_WIDTH, rect.top(), 2 * STRIP_HALF_WIDTH, rect.height())
            concerned.update(e for e in self.items(strip) if isinstance(e, EdgeItem))
        for edge in concerned:
            edge.update_path()

    def _update_brackets(self) -> None:
        for item in self._brackets:
            self.removeItem(item)
        self._brackets = []
        if self.graph is None:
            return
        for bracket in self.graph.brackets:
            boxes = [self._nodes[n].scene_box() for n in bracket.nodes if n in self._nodes]
            if not boxes:
                continue
            item = BracketItem(bracket.label, self.theme)
            item.span(min(b.left() for b in boxes) - BRACKET_GAP, min(b.top() for b in boxes),
                      max(b.bottom() for b in boxes))
            self.addItem(item)
            self._brackets.append(item)

    # --- graph events ----------------------------------------------------------------------------------------
    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(**data)
        else:
            self._rebuild()

    def _on_node_added(self, name: str) -> None:
        self._add_node(name)
        self._update_brackets()

    def _on_node_removed(self, name: str) -> None:
        item = self._nodes.pop(name, None)
        self._shown.pop(name, None)
        if item is None:
            return
        for edge in list(item.edges):  # normally gone already: the graph removes edges first
            self._remove_edge(edge.edge)
        where = item.sceneBoundingRect()
        self.removeItem(item)
        self._box_index = None
        self._update_edges_in([where])  # arrows that went around it take the short way now
        self._update_brackets()

    def _on_edge_added(self, edge: Edge) -> None:
        self._add_edge(edge)

    def _on_edge_removed(self, edge: Edge) -> None:
        self._remove_edge(edge)

    def _on_node_moved(self, name: str) -> None:
        assert self.graph is not None
        position = self.graph.node(name).position
        item = self._nodes.get(name)
        if item is not None and position is not None:
            before = item.sceneBoundingRect()
            item.setPos(QPointF(*position))  # its own edges follow (NodeItem.itemChange)
            self._update_edges_near(item, before)
            self._update_brackets()

    def _on_node_renamed(self, old: str, new: str) -> None:
        item = self._nodes.pop(old)
        self._nodes[new] = item
        self._shown.pop(old, None)
        for edge_item in item.edges:
            old_edge = edge_item.edge
            edge_item.edge = Edge(*(new if part == old else part for part in (old_edge.src, old_edge.dst)),
                                  old_edge.port, old_edge.src_port)
            items = self._edges.get(old_edge, [])
            if edge_item in items:
                items.remove(edge_item)
                if not items:
                    self._edges.pop(old_edge, None)
                self._edges.setdefault(edge_item.edge, []).append(edge_item)
        self._refresh_node(new)

    def _on_params_changed(self, name: str, key: str) -> None:
        self._refresh_node(name)

    def _on_repeat_changed(self, name: str) -> None:
        self._refresh_node(name)

    def _on_label_changed(self, name: str) -> None:
        self._refresh_node(name)

    def _on_meta_changed(self, key: str) -> None:
        for name in self._nodes:
            self._refresh_node(name, edges=False)
        self._update_edges()

    # --- interaction -----------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._start_wire(event.scenePos()):
            event.accept()
            return
        super().mousePressEvent(event)
        self._press_positions = {item.name: item.pos() for item in self._nodes.values() if item.isSelected()}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._wire.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._finish_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._emit_moves()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        item = self._node_at(event.scenePos())
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            self.node_activated.emit(item.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            current: QGraphicsItem | None = item
            while current is not None and not isinstance(current, NodeItem):
                current = current.parentItem()
            if isinstance(current, NodeItem):
                return current
        return None

    def _emit_moves(self) -> None:
        moved = {name: (item.pos().x(), item.pos().y()) for name, item in self._nodes.items()
                 if name in self._press_positions and item.pos() != self._press_positions[name]}
        self._press_positions = {}
        if moved:
            for name in moved:
                self._update_edges_near(self._nodes[name])
            self._update_brackets()
            self.nodes_moved.emit(moved)

    def _start_wire(self, pos: QPointF) -> bool:
        if self.graph is None:
            return False
        for item in self.items(QRectF(pos.x() - 8, pos.y() - 8, 16, 16)):
            if not isinstance(item, NodeItem):
                continue
            port = item.port_at(pos, outputs=True)
            if port is not None:
                self._wire = WireDrag(self, self.graph, item, port, self.theme)
                self._wire.move(pos)
                return True
        return False

    def _finish_wire(self, pos: QPointF) -> None:
        wire, self._wire = self._wire, None
        assert wire is not None
        result = wire.finish(pos)
        if result is None or result.dst is None:
            return
        if result.refusal is not None:
            self.message.emit(result.refusal)
        else:
            self.connect_requested.emit(result.src, result.dst, result.port, result.src_port)

    def _cancel_wire(self) -> None:
        if self._wire is not None:
            self._wire.cancel()
            self._wire = None


_UNSEEN = object()  # a box not yet drawn with any analysis


def _same(shown: Any, info: Any) -> bool:
    """Whether a box already shows `info` (the analysis keeps unchanged nodes' NodeInfo objects; else compare)."""
    return shown is info or (shown is not _UNSEEN and shown == info)
