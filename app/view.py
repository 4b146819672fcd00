"""The canvas's view: zoom under the cursor, pan, frame all, box-select, drops from the palette and quick-add.

Gestures become intents: `layer_dropped(type, scene position)` for a layer dragged from the palette or picked in
the quick-add popup, `file_dropped(path)` for a graph file dropped on the canvas. The view never edits the graph.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from app.quick_add import QuickAdd

LAYER_MIME = "application/x-layerbook-layer"
ZOOM_STEP = 1.15
MIN_ZOOM, MAX_ZOOM = 0.03, 8.0
FRAME_MARGIN = 40.0
OVERVIEW_BELOW = 0.08  # zoom under which the view shows a cached picture of the scene (boxes under ~10 px)


class GraphView(QGraphicsView):
    layer_dropped = Signal(str, QPointF)
    file_dropped = Signal(str)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setAcceptDrops(True)
        self.setAccessibleName("Canvas")
        self._pan_from: QPointF | None = None
        self.quick_add = QuickAdd(self)
        self.quick_add.chosen.connect(self._quick_added)
        self._quick_add_at = QPointF()
        self._overview: QPixmap | None = None
        self._overview_rect: QRectF | None = None

    # ---- zoom and framing ------------------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        factor = max(MIN_ZOOM / self.zoom, min(MAX_ZOOM / self.zoom, factor))
        self.scale(factor, factor)
        self.zoom_changed.emit(self.zoom)

    def frame(self, rect: QRectF | None = None) -> None:
        """Fit `rect` (default: everything drawn) in the view, never enlarging past 1.5×."""
        scene = self.scene()
        if scene is None:
            return
        if rect is None:
            rect = scene.graph_rect() if hasattr(scene, "graph_rect") else scene.itemsBoundingRect()
        if rect.isEmpty():
            return
        self.fitInView(rect.adjusted(-FRAME_MARGIN, -FRAME_MARGIN, FRAME_MARGIN, FRAME_MARGIN),
                       Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.5:
            self.resetTransform()
            self.scale(1.5, 1.5)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom)

    # ---- far out: a picture of the whole scene, redrawn only when the scene changes --------------------------

    def setScene(self, scene) -> None:
        previous = self.scene()
        if previous is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                previous.changed.disconnect(self._scene_changed)
        super().setScene(scene)
        self._overview, self._overview_rect = None, None
        if scene is not None:
            scene.changed.connect(self._scene_changed)

    def _scene_changed(self, *_: object) -> None:
        self._overview = None
        self._overview_rect = None

    def paintEvent(self, event: QPaintEvent) -> None:
        scene = self.scene()
        if scene is None or self.zoom >= OVERVIEW_BELOW or not hasattr(scene, "graph_rect"):
            super().paintEvent(event)
            return
        # thousands of boxes a pixel tall: painting each item costs tens of milliseconds a frame, a picture of
        # them all costs one blit
        if self._overview_rect is None:
            self._overview_rect = scene.graph_rect()  # walks every item: once per change, not per frame
        rect = self._overview_rect
        painter = QPainter(self.viewport())
        painter.fillRect(self.viewport().rect(), scene.backgroundBrush())
        target = self.mapFromScene(rect).boundingRect()
        painter.drawPixmap(target, self._overview_picture(rect, target.size()))
        painter.end()

    def _overview_picture(self, rect: QRectF, size: QSize) -> QPixmap:
        if self._overview is None or self._overview.size() != size:
            picture = QPixmap(size.expandedTo(QSize(1, 1)))
            picture.fill(Qt.GlobalColor.transparent)
            painter = QPainter(picture)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.scene().render(painter, QRectF(picture.rect()), rect)
            painter.end()
            self._overview = picture
        return self._overview

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:  # shift+wheel scrolls sideways
            super().wheelEvent(event)
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP ** steps)
        event.accept()

    # ---- keys: F frames, Tab quick-adds, +/- zoom ------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_F and not event.modifiers():
            self.frame()
        elif key == Qt.Key.Key_Tab:
            self.open_quick_add(self.mapToScene(self.mapFromGlobal(self.cursor().pos())))
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / ZOOM_STEP)
        else:
            super().keyPressEvent(event)

    def focusNextPrevChild(self, forward: bool) -> bool:
        return False  # Tab belongs to the quick-add, not to focus navigation

    # ---- panning with the middle button ----------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton and self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.itemAt(event.position().toPoint()) is None:  # empty space: quick-add here
            self.open_quick_add(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # ---- quick-add -------------------------------------------------------------------------------------------

    def open_quick_add(self, scene_position: QPointF) -> None:
        self._quick_add_at = scene_position
        self.quick_add.popup(self.mapToGlobal(self.mapFromScene(scene_position)))

    def _quick_added(self, type_name: str) -> None:
        self.layer_dropped.emit(type_name, self._quick_add_at)

    # ---- drops: layers from the palette, graph files ---------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) or _graph_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) or _graph_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if data.hasFormat(LAYER_MIME):
            type_name = bytes(data.data(LAYER_MIME).data()).decode("utf-8")
            self.layer_dropped.emit(type_name, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        elif files := _graph_files(data):
            self.file_dropped.emit(files[0])
            event.acceptProposedAction()
        else:
            super().dropEvent(event)


def _graph_files(data: object) -> list[str]:
    """Local files among the dropped URLs that look like graphs (.json)."""
    urls = data.urls() if data.hasUrls() else []
    return [u.toLocalFile() for u in urls if u.isLocalFile() and Path(u.toLocalFile()).suffix == ".json"]
