"""The command line's view of a run: a tqdm progress bar (rate, ETA, loss), one line per epoch, a summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from runtime.training.events import EpochMetrics, Event, Failed, Finished, Started, Status, StepMetrics
from runtime.training.signals import resume_command


class ProgressPrinter:
    def __init__(self, stream: TextIO | None = None, bar: bool = True) -> None:
        self._stream = stream
        self.bar_enabled = bar
        self._bar: tqdm | None = None
        self._epochs = 0
        self._run_dir = ""
        self._processes = 1

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr  # looked up late: the one in use when the run prints

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            self._started(event)
        elif isinstance(event, StepMetrics):
            self._step(event)
        elif isinstance(event, EpochMetrics):
            self._write(epoch_line(event, self._epochs))
        elif isinstance(event, Status) and event.state == "stopping":
            self._write("stopping: saving the last checkpoint (press Ctrl+C again to quit at once)")
        elif isinstance(event, Failed):
            self.close()
            print(f"training failed ({event.kind}): {event.message}", file=self.stream)
        elif isinstance(event, Finished):
            self.close()
            print(summary_text(event, self._run_dir, self._processes), file=self.stream)

    def _started(self, event: Started) -> None:
        # the folder's full path: by default runs/ is in the working directory, which a user may not think of
        self._epochs, self._run_dir = event.epochs, str(Path(event.run_dir).absolute()) if event.run_dir else ""
        self._processes = event.world_size
        processes = f" × {event.world_size} processes" if event.world_size > 1 else ""
        print(f"training on {event.device}{processes}: {event.parameters:,} parameters, {event.dataset} "
              f"({event.task}); run folder {self._run_dir or '(none)'}", file=self.stream)
        for warning in event.warnings:
            print(f"warning: {warning}", file=self.stream)
        if self.bar_enabled:
            tqdm.monitor_interval = 0  # no monitor thread: the bar is refreshed by the run's own reports
            self._bar = tqdm(total=event.epochs * event.steps_per_epoch, initial=event.first_step, unit="step",
                             file=self.stream, dynamic_ncols=True, leave=True)

    def _step(self, event: StepMetrics) -> None:
        if self._bar is None:
            return
        self._bar.update(event.step - self._bar.n)
        postfix = {"epoch": event.epoch, "loss": f"{event.loss:.4f}"}
        if event.accuracy is not None:
            postfix["acc"] = f"{event.accuracy:.1%}"
        postfix["samples/s"] = f"{event.samples_per_s:,.0f}"
        self._bar.set_postfix(postfix, refresh=False)

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream)

    def close(self) -> None:
        """End the progress bar's line (a run that ends, or is quit at once)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def epoch_line(event: EpochMetrics, epochs: int) -> str:
    parts = [f"epoch {event.epoch}/{epochs}"]
    if event.train_loss is not None:
        parts.append(f"train loss {event.train_loss:.4f}")
    if event.train_accuracy is not None:
        parts.append(f"train acc {event.train_accuracy:.1%}")
    parts.append(f"val loss {event.val_loss:.4f}")
    if event.val_accuracy is not None:
        parts.append(f"val acc {event.val_accuracy:.1%}")
    return " · ".join(parts) + (" (best)" if event.best else "")


def summary_text(event: Finished, run_dir: str, processes: int = 1) -> str:
    summary = event.summary
    words = {"finished": "finished", "stopped": "stopped on request", "early-stopped": "stopped early (patience)"}
    text = f"{words.get(event.state, event.state)}: {summary.get('epochs')} epochs, {summary.get('steps')} steps " \
           f"in {summary.get('elapsed_s', 0):.1f} s"
    if summary.get("samples_per_s"):
        text += f", {summary['samples_per_s']:,.0f} samples/s"
    best = summary.get("best") or {}
    if best.get("val_loss") is not None:
        text += f"; best val loss {best['val_loss']:.4f}"
        if best.get("val_accuracy") is not None:
            text += f", val acc {best['val_accuracy']:.1%}"
        text += f" at epoch {best['epoch']}"
    if run_dir:
        text += f"\nrun folder: {run_dir} (best.pt, last.pt, metrics.csv, summary.json)"
        if event.state == "stopped":
            text += f"; continue with: {resume_command(run_dir, processes)}"
    return text
