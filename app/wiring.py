"""Drawing a wire: a press on an output port starts a WireDrag; it follows the mouse with a temporary curve,
highlights the node under the cursor (green: the wire may end there, red: it may not) and, on release, says what
should happen. The scene owns the drag; the graph is never edited here (the Document does it on request)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from app.items.node import NodeItem
from app.style import Theme
from graph.connections import check_connect
from graph.model import Graph


@dataclass(frozen=True)
class WireResult:
    """The outcome of a released wire: a connection to request, a refusal to explain, or nothing (empty space)."""

    src: str
    dst: str | None = None
    port: str | None = None
    src_port: str | None = None
    refusal: str | None = None


class WireDrag:
    def __init__(self, scene: QGraphicsScene, graph: Graph, source: NodeItem, src_port: str, theme: Theme) -> None:
        self.scene, self.graph, self.source, self.src_port = scene, graph, source, src_port
        self.start = source.out_port_pos(src_port)
        self.curve = QGraphicsPathItem()
        self.curve.setPen(QPen(QColor(theme.selection), 1.5, Qt.PenStyle.DashLine))
        self.curve.setZValue(10)
        scene.addItem(self.curve)
        self.hovered: NodeItem | None = None

    def move(self, pos: QPointF) -> None:
        reach = max(30.0, abs(self.start.y() - pos.y()) / 2)
        path = QPainterPath(self.start)
        path.cubicTo(QPointF(self.start.x(), self.start.y() - reach), QPointF(pos.x(), pos.y() + reach), pos)
        self.curve.setPath(path)
        target = self._node_at(pos)
        if target is not self.hovered and self.hovered is not None:
            self.hovered.set_highlight(None)
        self.hovered = target
        if target is not None:
            _, refusal = self.target(target, pos)
            target.set_highlight("valid" if refusal is None else "invalid")

    def finish(self, pos: QPointF) -> WireResult | None:
        """Remove the temporary curve; None when released over empty space."""
        self.cancel()
        node = self._node_at(pos)
        if node is None:
            return None
        port, refusal = self.target(node, pos)
        src_port = self.src_port if len(self.source.out_ports) > 1 else None
        return WireResult(self.source.name, node.name, port, src_port, refusal)

    def cancel(self) -> None:
        if self.hovered is not None:
            self.hovered.set_highlight(None)
            self.hovered = None
        if self.curve.scene() is not None:
            self.scene.removeItem(self.curve)

    def target(self, node: NodeItem, pos: QPointF) -> tuple[str | None, str | None]:
        """(input port, refusal): the port under the cursor, else the node's first port that accepts the wire."""
        src_port = self.src_port if len(self.source.out_ports) > 1 else None
        port = node.port_at(pos, outputs=False)
        if port is not None:
            return port, check_connect(self.graph, self.source.name, node.name, port, src_port)
        first_refusal: tuple[str | None, str | None] | None = None
        for candidate in node.in_ports or [None]:
            refusal = check_connect(self.graph, self.source.name, node.name, candidate, src_port)
            if refusal is None:
                return candidate, None
            first_refusal = first_refusal or (candidate, refusal)
        assert first_refusal is not None
        return first_refusal

    def _node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.scene.items(pos):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem) and item is not self.source:
                return item
        return None
