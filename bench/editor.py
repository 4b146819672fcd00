"""The editor: opening big templates, drawing a 5,000-node graph, dragging a node in it, the first window.

- open: load the file, infer every shape and build the canvas for the graph AND for the inside of every block it
  uses (what a user sees after expanding each block); reference: loading and inference alone (the model without
  the view). Budget 1 s.
- frame: one paint of the whole view (1400×860) of a 5,000-node graph, framed entirely and at 1:1 zoom after a pan;
  reference: painting the same view of an empty scene (the floor). Budget 16 ms at 1:1 (a frame at 60 Hz).
- drag: one move of a node during a drag in a 5,000-node graph: the undoable move, re-validation (a move changes
  no shape: the cached analysis is reused) and the scene's update; reference: re-validating the whole graph from
  scratch, what a tool without incremental validation would pay. Budget 16 ms.
- edit in the window: one parameter edit (the classifier's width) in the main window holding a 5,000-node graph:
  the undoable edit, re-validation, lint, the canvas, problems and inspector brought up to date and the view
  (framed on the edited box, as one sees it while editing) painted; reference: re-validating the whole graph from
  scratch. Budget 250 ms (a quarter of a second: an edit answers without a lag one waits for).
- first window: `python main.py screenshot lenet` from a cold interpreter to the saved picture of the window;
  reference: a bare Python interpreter starting and exiting.
- live curves: 200,000 training steps fed to the Train panel's plots one by one (a long run's history, thinned as
  it grows), the UI given its turn every 20,000, then drawn; reference: one bare pyqtgraph curve of the loss
  alone, its points appended to lists and the whole history set at each of those turns (no smoothing, no other
  plots, no thinning). Budget 10 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.inference import residual_graph
from bench.timing import REPEATS, Row, interleaved, interleaved_figures
from graph import Graph, load_graph
from graph.inference import analyze
from graph.layout import layered_layout
from graph.resolve import resolve

ROOT = Path(__file__).resolve().parent.parent
VIEW_SIZE = (1400, 860)
FRAME_BUDGET_MS = 16.0
OPEN_BUDGET_MS = 1000.0
EDIT_BUDGET_MS = 250.0
BIG = 5000
CURVE_STEPS, CURVE_TURN = 200_000, 20_000
CURVE_BUDGET_MS = 10_000.0


def qt_application():  # -> QApplication
    """The Qt application the benchmarks draw in, off-screen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def run() -> list[Row]:
    qt_application()
    rows = [_open(name) for name in ("resnet50", "gpt2-small")]
    big = _laid_out(residual_graph(BIG))
    rows += _frames(big)
    rows.append(_drag(big))
    rows.append(_window_edit(big))
    rows.append(_live_curves())
    rows.append(_first_window())
    return rows


def _laid_out(graph: Graph) -> Graph:
    for name, position in layered_layout(graph).items():
        graph.move(name, position)
    return graph


def open_expanded(name: str) -> int:
    """Load, analyse and draw a template and, for every copy of every block instance, its inside (nested blocks
    too), each with its inferred shapes: what a user sees after expanding everything. The number of boxes."""
    graph = load_graph(name)
    return _draw(graph, graph.analyze())


def _draw(graph: Graph, analysis) -> int:
    from app.scene import GraphScene

    scene = GraphScene()
    scene.set_graph(graph)
    scene.set_analysis(analysis)
    drawn = len(scene.node_items())
    for node in graph:
        block = resolve(graph, node.type)
        info = analysis.nodes.get(node.name)
        if isinstance(block, Graph) and info is not None:
            for copy in range(info.copies):
                drawn += _draw(block, info.stage(copy).inner)
    return drawn


def _open(name: str) -> Row:
    boxes = open_expanded(name)
    timing = interleaved(lambda: open_expanded(name), lambda: load_graph(name).analyze())
    return Row(f"editor: open {name}, blocks expanded", f"{boxes} boxes", timing, "load + inference only",
               OPEN_BUDGET_MS)


def _frames(graph: Graph) -> list[Row]:
    """Paint times of the shown view, as the window paints it (the viewport grabbed into a picture), interleaved
    with paints of a second view of the same size showing an empty scene (the floor)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication, QGraphicsScene

    from app.scene import GraphScene
    from app.view import GraphView

    views = GraphView(), GraphView()
    for view in views:
        view.resize(*VIEW_SIZE)
        view.show()
    view, floor = views
    scene, empty = GraphScene(), QGraphicsScene()
    scene.set_graph(graph)
    scene.set_analysis(graph.analyze())
    view.setScene(scene)
    floor.setScene(empty)
    QApplication.processEvents()

    def paint(target: GraphView):  # -> an action painting that view once
        return lambda: target.viewport().grab()

    view.frame()
    whole = interleaved(paint(view), paint(floor))
    view.resetTransform()
    middle = scene.node_item(list(graph.structure)[len(graph) // 2])
    view.centerOn(middle.pos() if middle is not None else QPointF())
    view.verticalScrollBar().setValue(view.verticalScrollBar().value() + 200)  # a pan
    close = interleaved(paint(view), paint(floor))
    view.zoom_by(0.5)
    half = interleaved(paint(view), paint(floor))
    for each in views:
        each.close()
    size = f"{len(graph):,} nodes"
    return [Row("editor: frame, all of it in view", size, whole, "empty scene", FRAME_BUDGET_MS),
            Row("editor: frame at 1:1 after a pan", size, close, "empty scene", FRAME_BUDGET_MS),
            Row("editor: frame zoomed out to 1:2", size, half, "empty scene", FRAME_BUDGET_MS)]


def _drag(graph: Graph) -> Row:
    from PySide6.QtWidgets import QApplication

    from app.document import Document
    from app.scene import GraphScene

    document = Document(graph)
    scene = GraphScene()
    scene.set_graph(document.scope_graph)
    scene.set_analysis(document.scope_analysis())
    name = list(graph.structure)[len(graph) // 2]
    x, y = graph.node(name).position
    moves = iter(range(1, 10_000))

    def move() -> None:
        step = next(moves)
        document.move_nodes({name: (x + step, y)})
        document.scope_analysis()  # what the window asks after every change
        QApplication.processEvents()

    copies = iter([graph.copy() for _ in range(2 * REPEATS + 1)])  # copied untimed: the reference is the analysis
    timing = interleaved(move, lambda: analyze(next(copies)))
    return Row("editor: one drag move, re-validation", f"{len(graph):,} nodes", timing, "full re-validation",
               FRAME_BUDGET_MS)


def _window_edit(graph: Graph) -> Row:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.document import Document
    from app.main_window import MainWindow

    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(QSettings(str(Path(folder) / "bench.ini"), QSettings.Format.IniFormat))
        window.resize(*VIEW_SIZE)
        window.show()
        window.set_document(Document(graph.copy()))
        QApplication.processEvents()
        classifier = next(n for n in window.document.graph.structure
                          if window.document.graph.node(n).type == "fully-conn")
        window.view.frame(window.scene.node_item(classifier).sceneBoundingRect())  # close up, as one edits
        QApplication.processEvents()
        widths = iter(range(11, 10_000))  # 10 is the width it has: an edit to it would be no edit

        def edit() -> None:
            window.document.set_param(classifier, "out_features", next(widths))
            QApplication.processEvents()  # the paint of the changed view

        copies = iter([graph.copy() for _ in range(2 * REPEATS + 1)])
        timing = interleaved(edit, lambda: analyze(next(copies)))
        window.hide()  # not close(): it would ask whether to save the edits
    return Row("editor: one parameter edit in the window", f"{len(graph):,} nodes", timing, "full re-validation",
               EDIT_BUDGET_MS)


def _live_curves() -> Row:
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from app.training.plots import LivePlots
    from runtime.training.events import StepMetrics

    def ours() -> None:
        plots = LivePlots()
        plots.resize(800, 500)
        plots.show()
        for i in range(1, CURVE_STEPS + 1):
            plots.add_step(StepMetrics(step=i, epoch=1 + i // 100, loss=2.0 / i, accuracy=0.5, lr=1e-3,
                                       samples_per_s=1000.0, elapsed=i / 10, progress=0.5, eta=1.0))
            if i % CURVE_TURN == 0:
                QApplication.processEvents()  # the UI's turn, as between training events
        plots.redraw()
        QApplication.processEvents()
        plots.close()

    def bare() -> None:
        widget = pg.PlotWidget()
        widget.resize(800, 500)
        widget.show()
        curve, steps, losses = widget.plot(), [], []
        for i in range(1, CURVE_STEPS + 1):
            steps.append(i)
            losses.append(2.0 / i)
            if i % CURVE_TURN == 0:
                curve.setData(np.asarray(steps, dtype=float), np.asarray(losses))
                QApplication.processEvents()
        widget.close()

    return Row("editor: live curves, a long run", f"{CURVE_STEPS:,} steps", interleaved(ours, bare, warm_up=False),
               "one bare curve, whole history", CURVE_BUDGET_MS)


def _first_window() -> Row:
    with tempfile.TemporaryDirectory() as folder:
        shot = Path(folder) / "window.png"
        environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        command = [sys.executable, str(ROOT / "main.py"), "screenshot", "lenet", "-o", str(shot)]
        timing = interleaved_figures(lambda: _wall(command, environment),
                                     lambda: _wall([sys.executable, "-c", "pass"], environment), warm_up=True)
    return Row("editor: first window (cold start)", "lenet", timing, "bare interpreter")


def _wall(command: list[str], environment: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment, cwd=ROOT)
    return (time.perf_counter() - start) * 1000.0
