"""One node: a box labelled with the book's name (or plain text for an input or output), its meta-parameters in
blue on the right, its output shape above it on the right of the incoming arrow, and its ports (inputs on the
bottom edge, outputs on the top: data flows upward)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.items.frame import RepeatFrame
from app.items.text import is_io, is_trainable, node_label, param_text, shape_text
from app.style import BLOCK_HEIGHT, BOX_HEIGHT, BOX_WIDTH, PORT_RADIUS, Theme, font
from graph.inference import NodeInfo
from graph.model import Graph, Node
from graph.registry import layer_spec
from graph.resolve import input_ports, output_ports

if TYPE_CHECKING:
    from app.items.edge import EdgeItem

IO_HEIGHT = 20  # room for the label between its ports
TEXT_GAP = 8  # between a box (or its repeat frame) and the blue text on its right
PORT_HIT = 8.0  # a press this close to a port's centre is on the port


SKETCH_BELOW = 0.4  # level of detail (scale) under which boxes are drawn as plain rectangles


class NodeItem(QGraphicsItem):
    """The scene's view of one graph node. `refresh(graph, node, info)` recomputes every text once, so painting
    (cached per device pixel) never lays out text again."""

    def __init__(self, graph: Graph, node: Node, theme: Theme, info: NodeInfo | None = None) -> None:
        super().__init__()
        self.name = node.name
        self.theme = theme
        self.edges: list[EdgeItem] = []
        self.show_ports = True
        self.highlight: str | None = None  # "valid" / "invalid" while a wire hovers this node
        self.severity: str | None = None  # "error" / "warning" from the analysis
        self.health: tuple[str, str] | None = None  # (colour, sentence) while training reports on this box
        self.frame: RepeatFrame | None = None
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self.refresh(graph, node, info)

    # --- content ---------------------------------------------------------------------------------------------
    def refresh(self, graph: Graph, node: Node, info: NodeInfo | None) -> None:
        self.prepareGeometryChange()
        self.name = node.name
        self.layer_type = node.type
        self.io = is_io(node)
        self.label = node_label(node)
        self.params = param_text(node)
        self.output_shape = shape_text(node, info)
        self.trainable = is_trainable(graph, node, info)
        self.block = not self.io and layer_spec(node.type) is None
        self.height = IO_HEIGHT if self.io else BLOCK_HEIGHT if self.block else BOX_HEIGHT
        self.in_ports = self._ports(input_ports(graph, node.type), ["x"])
        self.out_ports = self._ports(output_ports(graph, node.type), ["y"])
        self._refresh_frame(node.repeat)
        self._measure()
        self.update()

    @staticmethod
    def _ports(known: list[str] | None, fallback: list[str]) -> list[str]:
        return list(known) if known is not None else fallback

    def _refresh_frame(self, repeat: int | str) -> None:
        if repeat == 1 or self.io:
            if self.frame is not None:
                self.frame.setParentItem(None)
                if self.frame.scene() is not None:
                    self.frame.scene().removeItem(self.frame)
                self.frame = None
            return
        if self.frame is None:
            self.frame = RepeatFrame(self)
        self.frame.set_content(self.box_rect_for(self.height), f"×{repeat}", self.theme)

    def _measure(self) -> None:
        metrics = QFontMetricsF(font())
        box = self.box_rect()
        right = box.right() if self.frame is None else self.frame.rect_right()
        self.params_pos = QPointF(right + TEXT_GAP, metrics.ascent() / 2 - 1.5)
        self.shape_pos = QPointF(TEXT_GAP, box.top() - PORT_RADIUS - 4)
        label_width = metrics.horizontalAdvance(self.label)
        width = max(BOX_WIDTH, label_width + 12) if not self.io else label_width
        self.label_width = width
        extent = max(self.params_pos.x() + metrics.horizontalAdvance(self.params),
                     TEXT_GAP + metrics.horizontalAdvance(self.output_shape), box.right() + PORT_RADIUS + 2)
        top = min(box.top() - PORT_RADIUS, self.shape_pos.y() - metrics.ascent()) - 3
        self._bounds = QRectF(min(box.left(), -width / 2) - 4, top, extent - box.left() + 8,
                              box.bottom() + PORT_RADIUS + 4 - top)

    # --- geometry --------------------------------------------------------------------------------------------
    @staticmethod
    def box_rect_for(height: float) -> QRectF:
        return QRectF(-BOX_WIDTH / 2, -height / 2, BOX_WIDTH, height)

    def box_rect(self) -> QRectF:
        return self.box_rect_for(self.height)

    def scene_box(self) -> QRectF:
        return self.box_rect().translated(self.pos())

    def boundingRect(self) -> QRectF:
        return self._bounds

    def in_port_pos(self, port: str) -> QPointF:
        """A port's centre in scene coordinates: inputs spread along the bottom edge."""
        return self.pos() + self._port_local(self.in_ports, port, self.box_rect().bottom())

    def out_port_pos(self, port: str) -> QPointF:
        return self.pos() + self._port_local(self.out_ports, port, self.box_rect().top())

    def _port_local(self, ports: list[str], port: str, y: float) -> QPointF:
        index = ports.index(port) if port in ports else 0
        count = max(1, len(ports))
        return QPointF(BOX_WIDTH * ((index + 1) / (count + 1) - 0.5), y)

    def port_at(self, scene_pos: QPointF, outputs: bool) -> str | None:
        ports = self.out_ports if outputs else self.in_ports
        for port in ports:
            centre = self.out_port_pos(port) if outputs else self.in_port_pos(port)
            delta = centre - scene_pos
            if delta.x() ** 2 + delta.y() ** 2 <= PORT_HIT ** 2:
                return port
        return None

    # --- state -----------------------------------------------------------------------------------------------
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        if self.frame is not None:
            self.frame.set_content(self.box_rect(), self.frame.text, theme)
        self.update()

    def set_highlight(self, highlight: str | None) -> None:
        if highlight != self.highlight:
            self.highlight = highlight
            self.update()

    def fill_color(self) -> QColor:
        return QColor(self.theme.box_fill_trainable if self.trainable else self.theme.box_fill)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            scene = self.scene()
            if scene is not None and hasattr(scene, "box_moved"):
                scene.box_moved(self)
            for edge in self.edges:
                edge.update_path(recheck=False)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.update()
        return super().itemChange(change, value)

    # --- painting --------------------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        box = self.box_rect()
        if option.levelOfDetailFromTransform(painter.worldTransform()) < SKETCH_BELOW:
            # zoomed far out, text is unreadable anyway: a filled box per layer keeps thousands of them fluid
            painter.fillRect(box, self._outline().color() if self.severity or self.isSelected()
                             else self.fill_color())
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(font())
        if self.io:
            self._paint_io(painter, box)
        else:
            painter.setPen(self._outline())
            painter.setBrush(QBrush(self.fill_color()))
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor(self.theme.text))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.label)
        if self.params:
            painter.setPen(QColor(self.theme.param_text))
            painter.drawText(self.params_pos, self.params)
        if self.output_shape:
            painter.setPen(QColor(self.theme.shape_text))
            painter.drawText(self.shape_pos, self.output_shape)
        if self.show_ports:
            self._paint_ports(painter, box)
        if self.health is not None and not self.io:  # training health: a bar on the box's left
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(self.health[0])))
            painter.drawRoundedRect(QRectF(box.left() + 2, box.top() + 3, 5, box.height() - 6), 2, 2)

    def _paint_io(self, painter: QPainter, box: QRectF) -> None:
        if self.isSelected() or self.severity or self.highlight:
            painter.setPen(self._outline())
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(-self.label_width / 2 - 4, box.top(), self.label_width + 8, box.height()),
                                    3, 3)
        painter.setPen(QColor(self.theme.text))
        painter.drawText(box.adjusted(-40, 0, 40, 0), Qt.AlignmentFlag.AlignCenter, self.label)

    def _outline(self) -> QPen:
        colour, width = self.theme.box_border, 1.0
        if self.highlight is not None:
            colour, width = (self.theme.valid_target if self.highlight == "valid" else self.theme.error), 2.5
        elif self.isSelected():
            colour, width = self.theme.selection, 2.5
        elif self.severity is not None:
            colour, width = (self.theme.error if self.severity == "error" else self.theme.warning), 2.2
        return QPen(QColor(colour), width)

    def _paint_ports(self, painter: QPainter, box: QRectF) -> None:
        painter.setPen(QPen(QColor(self.theme.port), 1.0))
        painter.setBrush(QBrush(QColor(self.theme.background)))
        for port in self.in_ports:
            painter.drawEllipse(self._port_local(self.in_ports, port, box.bottom()), PORT_RADIUS, PORT_RADIUS)
        for port in self.out_ports:
            painter.drawEllipse(self._port_local(self.out_ports, port, box.top()), PORT_RADIUS, PORT_RADIUS)
