"""The live curves of a run: training loss per step (raw and smoothed), validation loss and accuracy per epoch,
learning rate and throughput; other runs overlaid dashed; exported as PNG or CSV.

Every curve is created once and fed with setData from growing numpy arrays; redrawing is coalesced on a timer,
so thousands of steps a second cost one redraw per frame, not one per step."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from graph.fileformat import atomic_write

MAX_POINTS = 100_000  # beyond this, the history is thinned to every other point (old detail matters less)
SMOOTHING = 0.97  # the EMA's weight on the past, per step: runs logging every 10 steps smooth over as many steps
HEADROOM = 0.1  # of the values' span, above and below, when a value range grows
REDRAW_MS = 200  # at most 5 redraws a second: enough to look live, cheap beside training
HINT = "Wheel: zoom · drag: pan · hover: read a point"
TRAIN, VAL, TEXT, GRID = "#1f77b4", "#e8590c", "#333333", "#d0d4da"
OVERLAY_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
STEP_COLUMNS = ("step", "epoch", "loss", "smoothed", "accuracy", "lr", "samples_per_s")
EPOCH_COLUMNS = ("step", "epoch", "val_loss", "val_accuracy", "train_loss", "train_accuracy")


class Table:
    """Rows of floats in a growing numpy array (capacity doubles: appending is amortised O(1))."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self._data = np.empty((1024, len(columns)))
        self.count = 0

    def append(self, row: tuple[float, ...]) -> None:
        if self.count == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self.count] = row
        self.count += 1

    def column(self, name: str) -> np.ndarray:
        return self._data[: self.count, self.columns.index(name)]

    def rows(self) -> np.ndarray:
        return self._data[: self.count]

    def thin(self) -> None:
        """Keep every other row, and always the newest."""
        kept = self._data[: self.count][::-1][::2][::-1].copy()
        self._data = np.concatenate([kept, np.empty((len(kept), len(self.columns)))])
        self.count = len(kept)

    def clear(self) -> None:
        self.count = 0


class LivePlots(QWidget):
    def __init__(self, parent: QWidget | None = None, live: bool = True) -> None:
        super().__init__(parent)
        self.live = live  # False: only other runs' curves are shown (the runs panel), so the legend names only them
        self.steps = Table(STEP_COLUMNS)
        self.epochs = Table(EPOCH_COLUMNS)
        self._ema: float | None = None
        self._ema_step = 0.0
        self._overlays: dict[str, list[pg.PlotDataItem]] = {}
        self.export_folder: Path | None = None  # where the save dialogs open (the panel sets the run folder)
        self._steady = False  # the run's length spans the step axis; value ranges only grow (set_run_length)
        self._build()
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw_timer.timeout.connect(self.redraw)
        self._proxy = pg.SignalProxy(self.canvas.scene().sigMouseMoved, rateLimit=30, slot=self._hover)

    # --- building ------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.canvas.setAccessibleName("Training curves")
        self.loss_plot = self._plot(0, 0, "Loss", "step")
        self.accuracy_plot = self._plot(0, 1, "Accuracy", "step")
        self.lr_plot = self._plot(1, 0, "Learning rate", "step")
        self.speed_plot = self._plot(1, 1, "Samples per second", "step")
        self.accuracy_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.speed_plot.setXLink(self.loss_plot)
        self._curves()
        self.log_scale = QCheckBox("Log scale (loss)")
        self.log_scale.setAccessibleName("Log scale loss")
        self.log_scale.toggled.connect(lambda on: self.loss_plot.setLogMode(y=on))
        self.fit_button = _bar_button("Fit", "Fit curves to view",
                                      "Show all points (after zooming with the mouse wheel)", self.fit)
        self.save_picture_button = _bar_button("Save picture…", "Save curves as picture",
                                               "Save the four plots as a PNG image", self.save_picture)
        self.save_data_button = _bar_button("Save data…", "Save curves as data",
                                            "Save this run's points as a CSV table (one row per reported step "
                                            "and per epoch)", self.save_data)
        self.readout = QLabel(HINT)
        self.readout.setAccessibleName("Curve read-out")
        self.readout.setStyleSheet(f"color: {TEXT};")
        bar = QHBoxLayout()
        bar.addWidget(self.log_scale)
        bar.addWidget(self.fit_button)
        if self.live:  # the runs panel shows other runs only: this run's points (the CSV) would be empty there
            bar.addWidget(self.save_picture_button)
            bar.addWidget(self.save_data_button)
        else:
            self.save_picture_button.hide()
            self.save_data_button.hide()
        bar.addStretch(1)
        bar.addWidget(self.readout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(bar)

    def _plot(self, row: int, col: int, title: str, x_label: str) -> pg.PlotItem:
        plot = self.canvas.addPlot(row=row, col=col)
        plot.setTitle(title, color=TEXT, size="10pt")
        # no grid: it doubles the cost of a redraw (24 → 12 ms for the four plots), time taken from training on a
        # small machine; the hover read-out gives exact values
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(pg.mkPen(GRID))
            axis.setTextPen(pg.mkPen(TEXT))
        # plain numbers (1e-3, 1,500): an SI prefix on an unlabelled axis would hide the scale from the reader
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.getAxis("left").setWidth(52)
        plot.setLabel("bottom", x_label, color=TEXT)
        plot.getViewBox().sigRangeChangedManually.connect(self._manual_range)
        return plot

    def _curves(self) -> None:
        legend = self.loss_plot.addLegend(offset=(-10, 10), labelTextColor=TEXT, brush=pg.mkBrush(255, 255, 255, 200))
        legend.setZValue(10)
        self.raw_loss = self.loss_plot.plot(pen=pg.mkPen(TRAIN + "55", width=1))
        self.smooth_loss = self.loss_plot.plot(pen=pg.mkPen(TRAIN, width=2.5),
                                               name="train (smoothed)" if self.live else None)
        self.val_loss = self.loss_plot.plot(pen=pg.mkPen(VAL, width=1.5), symbol="o", symbolSize=7,
                                            symbolBrush=VAL, symbolPen="w", name="validation" if self.live else None)
        self.train_accuracy = self.accuracy_plot.plot(pen=pg.mkPen(TRAIN + "88", width=1))
        self.val_accuracy = self.accuracy_plot.plot(pen=pg.mkPen(VAL, width=1.5), symbol="o", symbolSize=7,
                                                    symbolBrush=VAL, symbolPen="w")
        self.lr_curve = self.lr_plot.plot(pen=pg.mkPen("#6c757d", width=2))
        self.speed_curve = self.speed_plot.plot(pen=pg.mkPen("#2b8a3e", width=1.5))

    # --- feeding -------------------------------------------------------------------------------------------

    def reset(self) -> None:
        self.steps.clear()
        self.epochs.clear()
        self._ema, self._ema_step = None, 0.0
        self.fit()  # a new run: the axes follow its points until set_run_length
        self.redraw()

    def set_run_length(self, total_steps: int) -> None:
        """Span the whole run on the step axis from its start: the curves fill it as training goes, and the
        axes, no longer re-laid out at every redraw, cost half as much to draw (13 → 6 ms for the four plots on
        a 2-core machine, taken from training). The Fit button or the mouse wheel change it as before."""
        if total_steps > 0:
            self.loss_plot.setXRange(0, total_steps, padding=0.02)  # the other plots are linked to it
            self.loss_plot.disableAutoRange(axis="x")
            self._steady = True

    def add_step(self, metrics: Any) -> None:
        """A StepMetrics: appended now, drawn at the next redraw."""
        smoothed = self._smooth(metrics.loss, metrics.step)
        accuracy = math.nan if metrics.accuracy is None else metrics.accuracy
        self.steps.append((metrics.step, metrics.epoch, metrics.loss, smoothed, accuracy, metrics.lr,
                           metrics.samples_per_s))
        if self.steps.count > MAX_POINTS:
            self.steps.thin()
        self._schedule()

    def add_epoch(self, metrics: Any) -> None:
        """An EpochMetrics: validation points, one per epoch."""
        self.epochs.append((metrics.step, metrics.epoch, metrics.val_loss, _nan(metrics.val_accuracy),
                            _nan(metrics.train_loss), _nan(metrics.train_accuracy)))
        self._schedule()

    def point_count(self) -> int:
        return self.steps.count + self.epochs.count

    def _smooth(self, loss: float, step: float) -> float:
        """An EMA started at the first loss (so it needs no bias correction), weighted by the steps between two
        reports (so its lag in steps does not depend on how often the run reports); a NaN does not poison it."""
        if not math.isfinite(loss):
            return loss
        weight = SMOOTHING ** max(1.0, step - self._ema_step)
        self._ema = loss if self._ema is None else weight * self._ema + (1 - weight) * loss
        self._ema_step = step
        return self._ema

    def _schedule(self) -> None:
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def redraw(self) -> None:
        steps, epochs = self.steps, self.epochs
        x = steps.column("step")
        self.raw_loss.setData(x, steps.column("loss"))
        self.smooth_loss.setData(x, steps.column("smoothed"))
        _set_finite(self.train_accuracy, x, steps.column("accuracy"))
        self.lr_curve.setData(x, steps.column("lr"))
        self.speed_curve.setData(x, steps.column("samples_per_s"))
        self.val_loss.setData(epochs.column("step"), epochs.column("val_loss"))
        _set_finite(self.val_accuracy, epochs.column("step"), epochs.column("val_accuracy"))
        if self._steady:
            self._grow_value_ranges()

    def _grow_value_ranges(self) -> None:
        """While the run spans the step axis, each plot's value range only grows, with some headroom, when a
        point falls outside it: a range that moves at every redraw re-lays the axes out each time (5 → 3 ms)."""
        steps, epochs = self.steps, self.epochs
        shown = ((self.loss_plot, (steps.column("loss"), epochs.column("val_loss"))),
                 (self.accuracy_plot, (steps.column("accuracy"), epochs.column("val_accuracy"))),
                 (self.lr_plot, (steps.column("lr"),)), (self.speed_plot, (steps.column("samples_per_s"),)))
        for plot, columns in shown:
            values = np.concatenate(columns)
            values = values[np.isfinite(values)]
            if not len(values) or (plot is self.loss_plot and self.log_scale.isChecked()):
                plot.enableAutoRange(axis="y")
                continue
            low, high = float(values.min()), float(values.max())
            bottom, top = plot.viewRange()[1]
            if plot.getViewBox().autoRangeEnabled()[1] or low < bottom or high > top:
                margin = HEADROOM * ((high - low) or abs(high) or 1.0)
                plot.setYRange(low - margin, high + margin, padding=0)

    def _manual_range(self, *_: object) -> None:
        self._steady = False  # the user zoomed or panned: their view stays as they left it

    def fit(self) -> None:
        self._steady = False
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot, self.speed_plot):
            plot.enableAutoRange()

    # --- other runs ----------------------------------------------------------------------------------------

    def add_overlay(self, name: str, metrics: dict[str, dict[str, list[float]]]) -> None:
        """Another run's curves (from runtime.training.runs.read_metrics), dashed, in a colour of its own."""
        self.remove_overlay(name)
        colour = OVERLAY_COLOURS[len(self._overlays) % len(OVERLAY_COLOURS)]
        pen = pg.mkPen(colour, width=1.8, style=Qt.PenStyle.DashLine)
        train, val = metrics.get("train", {}), metrics.get("val", {})
        items = [
            _overlay(self.loss_plot, train, "loss", pen, name),
            _overlay(self.loss_plot, val, "loss", pen, None, symbol="t"),
            _overlay(self.accuracy_plot, val, "accuracy", pen, None, symbol="t"),
            _overlay(self.lr_plot, train, "lr", pen, None),
            _overlay(self.speed_plot, train, "samples_per_s", pen, None),
        ]
        self._overlays[name] = [item for item in items if item is not None]

    def remove_overlay(self, name: str) -> None:
        for item in self._overlays.pop(name, []):
            for owner in (self.loss_plot, self.accuracy_plot, self.lr_plot, self.speed_plot):
                if item in owner.listDataItems():
                    owner.removeItem(item)  # also takes it out of the legend

    def clear_overlays(self) -> None:
        for name in list(self._overlays):
            self.remove_overlay(name)

    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    # --- reading and exporting -----------------------------------------------------------------------------

    def _hover(self, event: tuple[QPointF]) -> None:
        position = event[0]
        for plot, label, column in ((self.loss_plot, "loss", "loss"), (self.accuracy_plot, "accuracy", "accuracy"),
                                    (self.lr_plot, "lr", "lr"), (self.speed_plot, "samples/s", "samples_per_s")):
            if plot.sceneBoundingRect().contains(position):
                self.readout.setText(self.readout_at(plot.vb.mapSceneToView(position).x(), label, column))
                return

    def readout_at(self, x: float, label: str = "loss", column: str = "loss") -> str:
        """'step 1,230 · loss 0.3412': the recorded point nearest to step `x`."""
        steps = self.steps.column("step")
        if not len(steps):
            return HINT
        i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
        if i > 0 and abs(steps[i - 1] - x) < abs(steps[i] - x):
            i -= 1
        value = self.steps.column(column)[i]
        return f"step {int(steps[i]):,} · {label} {value:.4g}"

    def save_picture(self) -> Path | None:
        """Ask where, then save the plots as a PNG; None when cancelled or not written (the user was told why)."""
        return self._save("Save picture", "curves.png", "PNG images (*.png)", self.export_png)

    def save_data(self) -> Path | None:
        """Ask where, then save this run's points as CSV; None when cancelled or not written."""
        return self._save("Save data", "curves.csv", "CSV tables (*.csv)", self.export_csv)

    def _save(self, title: str, default_name: str, file_filter: str,
              export: Callable[[Path], Path]) -> Path | None:
        start = str((self.export_folder or Path.cwd()) / default_name)
        chosen, _ = QFileDialog.getSaveFileName(self, title, start, file_filter)
        if not chosen:
            return None
        path = Path(chosen)
        if not path.suffix:  # a name typed without extension still gets the format it is written in
            path = path.with_suffix(Path(default_name).suffix)
        try:
            export(path)
        except OSError as error:
            reason = error.strerror or str(error)
            QMessageBox.warning(self, title, f"Could not save {path}:\n{reason}\n\nThe curves are still here: "
                                "choose another place and try again.")
            return None
        self.readout.setText(f"Saved {path}")
        return path

    def export_png(self, path: str | Path) -> Path:
        """The four plots as a PNG at least 800 pixels wide; OSError when it cannot be written."""
        from pyqtgraph.exporters import ImageExporter

        exporter = ImageExporter(self.canvas.scene())
        exporter.parameters()["width"] = max(800, self.canvas.width())
        image = exporter.export(toBytes=True)
        encoded = QByteArray()
        device = QBuffer(encoded)
        device.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(device, "PNG"):  # Qt reports failure as False, without a reason
            raise OSError("the picture could not be encoded as PNG")
        return _write(Path(path), bytes(encoded.data()))

    def export_csv(self, path: str | Path) -> Path:
        """The current run's points: one row per reported step ("train") and per epoch ("val")."""
        table = io.StringIO(newline="")
        writer = csv.writer(table)
        writer.writerow(["phase", "step", "epoch", "loss", "accuracy", "lr", "samples_per_s"])
        for step, epoch, loss, _, accuracy, lr, speed in self.steps.rows():
            writer.writerow(["train", int(step), int(epoch), loss, _cell(accuracy), lr, speed])
        for step, epoch, val_loss, val_accuracy, _, _ in self.epochs.rows():
            writer.writerow(["val", int(step), int(epoch), val_loss, _cell(val_accuracy), "", ""])
        return _write(Path(path), table.getvalue().encode("utf-8"))


def _write(path: Path, data: bytes) -> Path:
    # atomically: a full disk or a refused write never leaves a truncated file in place of one the user had;
    # a folder gone since the dialog showed it is reported, not made again
    atomic_write(path, data, make_folder=False)
    return path


def _bar_button(text: str, name: str, tip: str, slot: Callable[[], object]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _cell(value: float) -> str | float:
    return "" if math.isnan(value) else value


def _set_finite(curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
    """Leave out missing values (a task without accuracy): the curve stays empty rather than broken."""
    keep = np.isfinite(y)
    curve.setData(x[keep], y[keep])


def _overlay(plot: pg.PlotItem, phase: dict[str, list[float]], column: str, pen: Any, name: str | None,
             symbol: str | None = None) -> pg.PlotDataItem | None:
    x, y = phase.get("step", []), phase.get(column, [])
    if not y or len(x) != len(y):  # read_metrics leaves empty cells out: only whole columns pair with the steps
        return None
    options: dict[str, Any] = {"symbol": symbol, "symbolSize": 7, "symbolPen": pen.color(), "symbolBrush": "w"} \
        if symbol else {}
    item = plot.plot(np.asarray(x), np.asarray(y), pen=pen, name=name, **options)
    item.setZValue(-1)  # under the current run
    return item
