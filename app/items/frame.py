"""Decorations: the dashed frame of a repeated node (`×2`, `×N`) and the brackets naming parts of a model."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.style import Theme, font

FRAME_MARGIN = QPointF(8, 5)
FACTOR_GAP = 5


class RepeatFrame(QGraphicsItem):
    """A dashed box around a node replicated in series, with its factor on the right (a child of the node)."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.text = ""
        self._frame = QRectF()
        self._bounds = QRectF()
        self.theme: Theme | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_content(self, box: QRectF, text: str, theme: Theme) -> None:
        self.prepareGeometryChange()
        self.text, self.theme = text, theme
        self._frame = box.adjusted(-FRAME_MARGIN.x(), -FRAME_MARGIN.y(), FRAME_MARGIN.x(), FRAME_MARGIN.y())
        self._text_width = QFontMetricsF(font()).horizontalAdvance(text)
        self._bounds = self._frame.adjusted(-1, -1, FACTOR_GAP + self._text_width + 2, 1)
        self.update()

    def rect_right(self) -> float:
        """Where the blue meta-parameters may start: after the factor."""
        return self._frame.right() + FACTOR_GAP + self._text_width

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        assert self.theme is not None
        pen = QPen(QColor(self.theme.repeat_frame), 1.0, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self._frame)
        painter.setFont(font())
        painter.setPen(QColor(self.theme.text))
        metrics = QFontMetricsF(font())
        painter.drawText(QPointF(self._frame.right() + FACTOR_GAP, metrics.ascent() / 2 - 1.5), self.text)


class BracketItem(QGraphicsItem):
    """A bracket on the left of a part of the model, its label written vertically (read bottom to top)."""

    TICK = 6.0

    def __init__(self, label: str, theme: Theme) -> None:
        super().__init__()
        self.label = label
        self.theme = theme
        self._x, self._top, self._bottom = 0.0, 0.0, 0.0
        self.setZValue(-1)

    def span(self, x: float, top: float, bottom: float) -> None:
        """The bracket's vertical line at `x` from `top` to `bottom` (scene coordinates)."""
        self.prepareGeometryChange()
        self._x, self._top, self._bottom = x, top, bottom
        self.update()

    def boundingRect(self) -> QRectF:
        height = QFontMetricsF(font()).height()
        return QRectF(self._x - height - 6, self._top - 1, height + 6 + self.TICK + 2, self._bottom - self._top + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(self.theme.bracket), 1.0))
        x, t, b = self._x, self._top, self._bottom
        painter.drawPolyline([QPointF(x + self.TICK, t), QPointF(x, t), QPointF(x, b), QPointF(x + self.TICK, b)])
        painter.save()
        painter.translate(x - 5, (t + b) / 2)
        painter.rotate(-90)
        painter.setFont(font())
        painter.setPen(QColor(self.theme.text))
        width = QFontMetricsF(font()).horizontalAdvance(self.label)
        painter.drawText(QPointF(-width / 2, 0), self.label)
        painter.restore()
