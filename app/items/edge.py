"""An edge: an arrow going up from an output port to an input port. A skip connection (the source in the same
column but other boxes in between, like resblock's X into `+`) takes a side path out to the right, up, and back in,
as in Figure 5.3; an edge between columns is a smooth curve."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPainterPathStroker, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.items.node import SKETCH_BELOW, NodeItem
from app.style import BOX_WIDTH, Theme
from graph.model import Edge

ARROW = 6.0
SIDE_MARGIN = 14.0  # the side path passes this far right of everything it goes around
SPLIT = 7.0  # how far from a port a route turns
SIDE_SPLIT = 3.0  # a side path leaves the straight line this far above the source port, under the shape text
NEST = 3.0  # per box gone around: a longer skip passes further out, so nested skips (U-Net) stay apart


class EdgeItem(QGraphicsItem):
    def __init__(self, edge: Edge, src: NodeItem, dst: NodeItem, theme: Theme) -> None:
        super().__init__()
        self.edge = edge
        self.src, self.dst = src, dst
        self.theme = theme
        self.side = False  # drawn as a side path (a skip connection)
        self._path = QPainterPath()
        self._head = QPolygonF()
        self._dot: QPointF | None = None
        self._bounds = QRectF()
        self._in_the_way: list[NodeItem] = []
        self._turn_late: bool | None = True
        src.edges.append(self)
        dst.edges.append(self)
        self.setZValue(0)
        self.update_path(recheck=False)  # the owner calls update_path() again once the edge is in a scene

    def detach(self) -> None:
        for item in (self.src, self.dst):
            if self in item.edges:
                item.edges.remove(self)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()

    def update_path(self, recheck: bool = True) -> None:
        """Recompute the route. `recheck=False` (while a box is being dragged, from inside itemChange, where the
        scene's index must not be queried) keeps the boxes found to stand in the way last time."""
        start = self.src.out_port_pos(self.edge.src_port)
        end = self.dst.in_port_pos(self.edge.port)
        if recheck:
            same_column = abs(start.x() - end.x()) < BOX_WIDTH / 2
            self._in_the_way = self._obstacles(start, end) if same_column else []
        self._dot = None
        self.side = bool(self._in_the_way)
        if self.side:
            self._side_path(start, end, self._in_the_way)
        elif end.y() > start.y() - 2 * SPLIT:
            self._backward(start, end)
        elif abs(start.x() - end.x()) < 0.5:
            self._path = QPainterPath(start)
            self._path.lineTo(end)
            self._set_head(end, QPointF(0, -1))
        else:
            self._curve(start, end, recheck)
        self.prepareGeometryChange()
        self._bounds = self._path.boundingRect().united(self._head.boundingRect()).adjusted(-4, -4, 4, 4)
        self.update()

    def _obstacles(self, start: QPointF, end: QPointF) -> list[NodeItem]:
        """Other boxes standing between the two ends (in their column, or in the band they span)."""
        scene = self.scene()
        if scene is None or start.y() <= end.y() + 4:
            return []
        left = min(start.x(), end.x()) - BOX_WIDTH / 2 + 2
        band = QRectF(left, end.y() + 2, abs(start.x() - end.x()) + BOX_WIDTH - 4, start.y() - end.y() - 4)
        boxes_in = getattr(scene, "boxes_in", None)  # GraphScene's own index: fast while items are being added
        found = boxes_in(band) if boxes_in is not None else [
            item for item in scene.items(band, Qt.ItemSelectionMode.IntersectsItemBoundingRect)
            if isinstance(item, NodeItem) and item.scene_box().intersects(band)]
        return [item for item in found if item is not self.src and item is not self.dst]

    def _side_path(self, start: QPointF, end: QPointF, obstacles: list[NodeItem]) -> None:
        right = max(item.sceneBoundingRect().right() for item in obstacles) + SIDE_MARGIN
        right += NEST * min(len(obstacles), 20)
        split = QPointF(start.x(), start.y() - SIDE_SPLIT)
        box = self.dst.scene_box()
        path = QPainterPath(start)
        path.lineTo(split)
        path.lineTo(right, split.y())
        if len(self.dst.in_ports) == 1:  # into the box's right side, as the book draws `+` receiving X
            entry = QPointF(box.right(), box.center().y())
            path.lineTo(right, entry.y())
            path.lineTo(entry)
            self._set_head(entry, QPointF(-1, 0))
        else:  # several ports: into the port itself, from below
            below = end.y() + SPLIT
            path.lineTo(right, below)
            path.lineTo(end.x(), below)
            path.lineTo(end)
            self._set_head(end, QPointF(0, -1))
        self._path = path
        self._dot = split

    def _backward(self, start: QPointF, end: QPointF) -> None:
        """The target is not above the source: up out of the source, across between the two, down, and up into
        the target's port from below, so the arrow still enters from underneath as data flows upward."""
        if abs(start.x() - end.x()) >= BOX_WIDTH:
            across = (start.x() + end.x()) / 2
        else:
            across = max(self.src.sceneBoundingRect().right(), self.dst.sceneBoundingRect().right()) + SIDE_MARGIN
        top, below = start.y() - SPLIT * 2, end.y() + SPLIT * 2
        path = QPainterPath(start)
        for point in ((start.x(), top), (across, top), (across, below), (end.x(), below)):
            path.lineTo(*point)
        path.lineTo(end)
        self._path = path
        self._set_head(end, QPointF(0, -1))

    def _curve(self, start: QPointF, end: QPointF, recheck: bool) -> None:
        """Between columns: straight up the column that is free, turning once near the other end; a curve when
        both columns are crowded."""
        below = end.y() + SPLIT * 2
        if recheck:
            late = not self._obstacles(start, QPointF(start.x(), below))
            early = not self._obstacles(QPointF(end.x(), start.y() - SPLIT), end)
            self._turn_late = True if late else False if early else None
        if self._turn_late is None:
            self._bezier(start, end)
            return
        if self._turn_late:
            corners = [QPointF(start.x(), below), QPointF(end.x(), below)]
        else:
            corners = [QPointF(start.x(), start.y() - SPLIT), QPointF(end.x(), start.y() - SPLIT)]
        path = QPainterPath(start)
        for corner in corners:
            path.lineTo(corner)
        path.lineTo(end)
        self._path = path
        self._set_head(end, QPointF(0, -1))

    def _bezier(self, start: QPointF, end: QPointF) -> None:
        reach = max(30.0, abs(start.y() - end.y()) / 2)
        path = QPainterPath(start)
        path.cubicTo(QPointF(start.x(), start.y() - reach), QPointF(end.x(), end.y() + reach), end)
        self._path = path
        self._set_head(end, QPointF(0, -1))

    def _set_head(self, tip: QPointF, direction: QPointF) -> None:
        normal = QPointF(-direction.y(), direction.x())
        base = tip - direction * ARROW
        self._head = QPolygonF([tip, base + normal * (ARROW / 2.2), base - normal * (ARROW / 2.2)])

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(6)
        return stroker.createStroke(self._path)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colour = QColor(self.theme.edge)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < SKETCH_BELOW:
            painter.setPen(QPen(colour, 0))  # zoomed far out: the route only, hairline, no arrowhead
            painter.drawPath(self._path)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(colour))
        painter.drawPolygon(self._head)
        if self._dot is not None:
            painter.drawEllipse(self._dot, 2.2, 2.2)

