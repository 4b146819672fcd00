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

from bench.timing import Row

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 10  # the template's own: long enough that starting the run is not most of it
MIN_RATIO = 0.9
LATENCY_BUDGET_MS = 50.0
TICK_MS = 10
REPEATS = 2
AFTER_THE_RUN_MS = 1000


def run() -> list[Row]:
    cli_rate, app_rate, latencies = 0.0, 0.0, []
    with tempfile.TemporaryDirectory() as folder:
        for attempt in range(REPEATS):  # alternated, best of each: the machine's noise is of the same order
            cli_rate = max(cli_rate, _command_line(Path(folder) / f"cli{attempt}"))
            rate, ticks = _from_the_app(Path(folder) / f"app{attempt}")
            if rate > app_rate:
                app_rate, latencies = rate, ticks
    per_k = 1e6  # ms per 1,000 samples, so that the usual "reference / ours" ratio is the throughput ratio
    worst = max(latencies) if latencies else float("nan")
    typical = sorted(latencies)[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    size = f"lenet, digits, {EPOCHS} epochs"
    return [
        Row("app: training throughput, live curves", f"{size}, {app_rate:,.0f} samples/s", per_k / app_rate,
            f"command line ({cli_rate:,.0f}/s)", per_k / cli_rate, per_k / cli_rate / MIN_RATIO),
        Row("app: event loop lateness while training", f"worst of {len(latencies)} ticks; p99 {typical:.1f} ms",
            worst, "budget", LATENCY_BUDGET_MS, LATENCY_BUDGET_MS),
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
    main_window.RUNS_ROOT = runs
    settings = QSettings(str(runs.parent / "bench.ini"), QSettings.Format.IniFormat)
    window = main_window.MainWindow(settings)
    window.open_graph("lenet")
    window.resize(1400, 1000)
    window.show()
    window.show_training()
    panel = window.train_panel
    panel.runs_root = runs
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
    (run,) = list(runs.iterdir())
    window.document.undo_stack.setClean()
    window.close()
    return float(json.loads((run / "summary.json").read_text())["samples_per_s"]), latencies[5:]
