"""Figures of a graph as files or images, drawn by the canvas itself (GraphScene) without ports or selection, so
a figure and the editor always agree. `render_command` backs `python main.py render GRAPH -o figure.svg`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from app.scene import GraphScene
from app.style import theme as theme_named
from graph.model import Graph
from graph.outputs import OutputError, check_output, replacing

MARGIN = 16.0
SUFFIXES = (".svg", ".pdf", ".png")
PNG_SCALE = 2.0  # a PNG is drawn at twice the scene's size: crisp on a high-density screen or a page


def _application() -> None:
    """A QGraphicsScene needs a QApplication; a command-line render on a machine without a display runs headless."""
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _application.app = QApplication([])  # type: ignore[attr-defined]  # kept alive for the process


def figure_scene(graph: Graph, theme: str = "light") -> tuple[GraphScene, QRectF]:
    """A scene drawing `graph` as a figure (no ports), and the rectangle to render (with a margin)."""
    _application()
    scene = GraphScene(theme_named(theme))
    scene.set_show_ports(False)
    scene.show_problems = False
    scene.set_graph(graph)
    scene.set_analysis(graph.analyze())
    for item in scene.items():  # cached items would reach an SVG or PDF as bitmaps, not as text and paths
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    rect = scene.graph_rect().marginsAdded(QMarginsF(MARGIN, MARGIN, MARGIN, MARGIN))
    return scene, rect


def render_to_file(graph: Graph, path: str | Path, theme: str = "light") -> Path:
    """Write the figure as SVG, PDF or PNG, chosen by the suffix (atomically: drawn into a temporary file beside
    it, then renamed); an OutputError (a ValueError) for another suffix or a place that cannot be written."""
    path = check_output(path, SUFFIXES)
    scene, rect = figure_scene(graph, theme)
    with replacing(path) as temporary:
        {".svg": _svg, ".pdf": _pdf, ".png": _png}[path.suffix.lower()](scene, rect, temporary)
    return path


def render_image(graph: Graph, width: int, height: int, theme: str = "light") -> QImage:
    """The figure scaled to fit a width × height image (thumbnails), centred on the theme's background."""
    scene, rect = figure_scene(graph, theme)
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor(scene.theme.background))
    _paint(scene, rect, image, QRectF(0, 0, width, height))
    return image


def render_command(source: str, output: str, theme: str = "light") -> int:
    """0 on success; 2 with a message on stderr for an output that cannot be written (checked first), an
    unreadable graph or a failed write."""
    from graph.fileformat import GraphFileError, load_graph

    try:
        check_output(output, SUFFIXES, source=source)
        graph = load_graph(source)
    except (GraphFileError, OutputError, OSError) as error:
        print(error, file=sys.stderr)
        return 2
    try:
        render_to_file(graph, output, theme)
    except (OutputError, OSError) as error:
        print(error if isinstance(error, OutputError) else f"cannot write '{output}': {error.strerror or error}",
              file=sys.stderr)
        return 2
    return 0


def _paint(scene: GraphScene, source: QRectF, device: object, target: QRectF) -> None:
    painter = QPainter(device)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()


def _svg(scene: GraphScene, rect: QRectF, path: Path) -> None:
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(round(rect.width()), round(rect.height())))
    generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    generator.setTitle(scene.graph.name if scene.graph is not None else "graph")
    _paint(scene, rect, generator, QRectF(0, 0, rect.width(), rect.height()))
    if not path.stat().st_size:
        raise OSError("Qt could not write the SVG file")


def _pdf(scene: GraphScene, rect: QRectF, path: Path) -> None:
    writer = QPdfWriter(str(path))
    writer.setResolution(72)  # one scene unit = one point
    writer.setPageSize(QPageSize(rect.size(), QPageSize.Unit.Point))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    _paint(scene, rect, writer, QRectF(0, 0, rect.width(), rect.height()))
    del writer  # the file is complete once the writer is gone
    if not path.stat().st_size:
        raise OSError("Qt could not write the PDF file")


def _png(scene: GraphScene, rect: QRectF, path: Path) -> None:
    image = QImage(round(rect.width() * PNG_SCALE), round(rect.height() * PNG_SCALE), QImage.Format.Format_ARGB32)
    image.fill(QColor(scene.theme.background))
    _paint(scene, rect, image, QRectF(0, 0, image.width(), image.height()))
    if not image.save(str(path), "PNG"):  # the format named: the temporary file's name does not say it
        raise OSError("Qt could not write the PNG file")
