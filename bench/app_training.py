"""Training from the app against the command line: the same run (LeNet on the digits, the template's settings,
a few epochs), once as `python main.py train` and once started from the Train panel of the off-screen main
window with its live curves. Throughput is the run's own samples/s (summary.json); the target is ≥ 90% of the
command line's. Meanwhile a 10 ms timer measures how late the editor's event loop answers (target ≤ 50 ms).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.timing import REPEATS, Row, Timing, interleaved_figures

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 10  # the template's own: long enough that starting the run is not most of it
MIN_RATIO = 0.9
LATENCY_BUDGET_MS = 50.0
TICK_MS = 10
PER_K = 1e6  # ms per 1,000 samples, so that the usual "reference / ours" ratio is the throughput ratio
AFTER_THE_RUN_MS = 1000


def run() -> list[Row]:
    rates: dict[str, list[float]] = {"cli": [], "app": []}
    worst: list[float] = []  # per run from the app: the latest the event loop answered
    ticks: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        attempts = iter(range(1_000))

        def command_line() -> float:
            rates["cli"].append(_command_line(Path(folder) / f"cli{next(attempts)}"))
            return PER_K / rates["cli"][-1]

        def from_the_app() -> float:
            rate, latencies = _from_the_app(Path(folder) / f"app{next(attempts)}")
            rates["app"].append(rate)
            worst.append(max(latencies, default=float("nan")))
            ticks.extend(latencies)
            return PER_K / rate

        throughput = interleaved_figures(from_the_app, command_line, REPEATS)
    p99 = sorted(ticks)[int(0.99 * (len(ticks) - 1))] if ticks else float("nan")
    size = f"lenet, digits, {EPOCHS} epochs"
    app_rate, cli_rate = PER_K / throughput.ours_ms, PER_K / throughput.reference_ms
    return [
        Row("app: training throughput, live curves", f"{size}, {app_rate:,.0f} samples/s", throughput,
            f"command line ({cli_rate:,.0f}/s)", throughput.reference_ms / MIN_RATIO),
        Row("app: event loop lateness while training", f"worst per run, {len(ticks)} ticks; p99 {p99:.1f} ms",
            Timing(tuple(worst), (LATENCY_BUDGET_MS,) * len(worst)), "budget", LATENCY_BUDGET_MS),
    ]


def _command_line(out: Path) -> float:
    command = [sys.executable, str(ROOT / "main.py"), "train", "lenet", "--epochs", str(EPOCHS), "--quiet",
               "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return float(json.loads((out / "summary.json").read_text())["samples_per_s"])


def _from_the_app(runs: Path) -> tuple[float, list[float]]:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    import app.main_window as main_window
    from bench.editor import qt_application

    qt_application()
    settings = QSettings(str(runs.parent / "bench.ini"), QSettings.Format.IniFormat)
    window = main_window.MainWindow(settings)
    window.open_graph("lenet")
    window.resize(1400, 1000)
    window.show()
    window.show_training()
    # as the user's choice in the Train panel (remembered in the bench's own settings file): the template's default
    # would be the user's data folder
    window.set_runs_folder(str(runs))
    panel = window.train_panel
    panel.settings.epochs.setValue(EPOCHS)
    latencies: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        latencies.append(max(0.0, (now - last[0]) * 1000 - TICK_MS))
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(TICK_MS)
    loop = QEventLoop()
    # the editor is still in use when a run ends: keep watching it a moment (a wait for the ending child froze it)
    panel.run_finished.connect(lambda _outcome: QTimer.singleShot(AFTER_THE_RUN_MS, loop.quit))
    panel.train()
    loop.exec()  # the application's own event loop, as a person's session runs it
    timer.stop()
    (run,) = list(runs.iterdir())  # the run went into the temporary folder, and only it
    window.document.undo_stack.setClean()
    window.close()
    return float(json.loads((run / "summary.json").read_text())["samples_per_s"]), latencies[5:]
