"""A trained run taken out of the app: ONNX with its weights (checked against onnxruntime), PyTorch source and
weights, the checkpoint, or a bundle zip that reproduces the run. Each export runs in a worker thread."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.training.preview_view import ERROR_STYLE
from app.training.tasks import run_task

GRAPH_FILE, BEST, LAST = "graph.layerbook.json", "best.pt", "last.pt"
FigureSvg = Callable[[Any], bytes]  # Graph → the figure's SVG bytes


def checkpoint(run_dir: Path) -> Path:
    """The run's best weights, or its last ones."""
    return run_dir / BEST if (run_dir / BEST).is_file() else run_dir / LAST


def export_onnx(run_dir: Path, output: Path) -> str:
    """The ONNX file with the trained weights; returns the report (file, signature, onnxruntime parity)."""
    from graph import load_graph
    from runtime.export import export_onnx as export

    report = export(load_graph(run_dir / GRAPH_FILE), output, weights=checkpoint(run_dir))
    return report.summary()


def export_source(run_dir: Path, output: Path) -> str:
    """`output` (model.py), verified, and beside it the weights as a plain state_dict that loads into its class
    (never over the run's own checkpoint)."""
    import torch

    from graph import load_graph
    from graph.outputs import check_output, replacing
    from runtime.codegen import write_source

    weights = check_output(output.with_suffix(".pt"), (".pt",), source=checkpoint(run_dir))
    report = write_source(load_graph(run_dir / GRAPH_FILE), output)
    state = torch.load(checkpoint(run_dir), map_location="cpu", weights_only=True)
    with replacing(weights) as temporary:
        torch.save(state.get("model", state), temporary)
    return f"{report.summary()}\nwrote {weights} (load with model.load_state_dict(torch.load(path)))"


def export_checkpoint(run_dir: Path, output: Path) -> str:
    """A copy of the run's checkpoint, written beside `output` and renamed over it once complete."""
    from graph.outputs import check_output, replacing

    source = checkpoint(run_dir)
    with replacing(check_output(output, (".pt",), source=source)) as temporary:
        shutil.copyfile(source, temporary)
    return f"copied {source.name} to {output}"


def export_bundle(run_dir: Path, output: Path, figure_svg: FigureSvg | None = None) -> str:
    figure, note = figure_bytes(run_dir, figure_svg)
    return write_bundle_report(run_dir, output, figure, note)


def figure_bytes(run_dir: Path, figure_svg: FigureSvg | None) -> tuple[bytes | None, str]:
    """The run's figure (drawn by Qt: call it on the UI thread), or None and why."""
    from graph import load_graph

    if figure_svg is None:
        return None, " (without the figure)"
    try:
        return figure_svg(load_graph(run_dir / GRAPH_FILE)), ""
    except Exception as error:  # the bundle is still worth having without its picture
        return None, f" (without the figure: {error})"


def write_bundle_report(run_dir: Path, output: Path, figure: bytes | None, note: str) -> str:
    from graph.outputs import check_output
    from runtime.bundle import write_bundle

    write_bundle(run_dir, check_output(output, (".zip",)), figure)
    return f"wrote {output}" + ("" if figure is not None else note)


def render_svg(graph: Any) -> bytes:
    """The figure via app.render, when it is there (another part of the app draws figures)."""
    import tempfile

    from app.render import render_to_file

    with tempfile.TemporaryDirectory() as folder:
        return render_to_file(graph, Path(folder) / "figure.svg").read_bytes()


KINDS = {  # name → (what it does, file filter, default file name)
    "ONNX": ("the model with its trained weights, verified with onnxruntime", "ONNX (*.onnx)", "{run}.onnx"),
    "PyTorch source": ("model.py and its weights (.pt state_dict)", "Python (*.py)", "model.py"),
    "Checkpoint": ("the best (or last) checkpoint as trained", "Checkpoint (*.pt)", "{run}.pt"),
    "Bundle": ("a zip that reproduces the run: graph, source, settings, metrics, weights, figure", "Zip (*.zip)",
               "{run}.zip"),
}


class ExportDialog(QDialog):
    def __init__(self, run_dir: Path, parent: QWidget | None = None, figure_svg: FigureSvg | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.figure_svg = figure_svg or render_svg
        self.setWindowTitle(f"Export · {self.run_dir.name}")
        self.resize(640, 380)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for row, (kind, (what, _, _)) in enumerate(KINDS.items()):
            button = QPushButton(f"{kind}…")
            button.setAccessibleName(f"Export {kind}")
            button.clicked.connect(lambda _=False, k=kind: self.choose(k))
            self.buttons[kind] = button
            grid.addWidget(button, row, 0)
            grid.addWidget(QLabel(what), row, 1)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setAccessibleName("Export report")
        self.report.setStyleSheet("font-family: monospace;")
        self.status = QLabel("")
        self.status.setAccessibleName("Export status")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.status)

    def choose(self, kind: str) -> None:
        _, filter_, default = KINDS[kind]
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind}", default.format(run=self.run_dir.name), filter_)
        if path:
            self.export(kind, Path(path))

    def export(self, kind: str, output: Path) -> None:
        """Write `output` in a worker thread; the report (or the error) appears when it is done."""
        if kind == "Bundle":  # the figure is drawn here, on the UI thread: Qt draws nowhere else
            figure, note = figure_bytes(self.run_dir, self.figure_svg)
            work = partial(write_bundle_report, self.run_dir, output, figure, note)
        else:
            work = partial({"ONNX": export_onnx, "PyTorch source": export_source,
                            "Checkpoint": export_checkpoint}[kind], self.run_dir, output)
        self._set_busy(True)
        self.status.setStyleSheet("color: #555;")
        self.status.setText(f"Exporting {kind}…")
        run_task(work, self._done, self._failed, owner=self.status)

    def _done(self, report: str) -> None:
        self._set_busy(False)
        self.report.setPlainText(report)
        self.status.setText("Done.")

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(f"Export failed: {message}")

    def _set_busy(self, busy: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(not busy)
