"""Training in a separate (spawned) process: events arrive through the queue, stop is honoured, a killed child
is reported with the cause."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from graph import load_graph
from runtime.training import EpochMetrics, Failed, Finished, StepMetrics, TrainConfig
from runtime.training.process import TRAINING_NICENESS, TrainingProcess


def drain(job: TrainingProcess, timeout: float = 90.0, until=None) -> list:
    events: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events += job.poll()
        if job.outcome is not None or (until is not None and until(events)):
            return events
        time.sleep(0.05)
    raise TimeoutError(f"no outcome after {timeout} s; got {events[-3:]}")


def test_a_run_in_a_child_process_sends_its_events_and_writes_its_folder(tmp_path: Path) -> None:
    job = TrainingProcess(load_graph("mlp"), TrainConfig(dataset="blobs", epochs=2, log_every=5),
                          run_dir=tmp_path / "run")
    job.start()
    events = drain(job)
    job.join(10)
    assert isinstance(job.outcome, Finished) and job.outcome.state == "finished"
    assert [e.epoch for e in events if isinstance(e, EpochMetrics)] == [1, 2]
    assert any(isinstance(e, StepMetrics) for e in events)
    assert (tmp_path / "run" / "best.pt").is_file()


def test_stop_and_kill_from_the_parent(tmp_path: Path) -> None:
    config = TrainConfig(dataset="blobs", epochs=200, log_every=1, batch_size=8)
    job = TrainingProcess(load_graph("mlp"), config, run_dir=tmp_path / "stopped")
    job.start()
    drain(job, until=lambda events: any(isinstance(e, StepMetrics) for e in events))
    job.stop()
    drain(job)
    assert isinstance(job.outcome, Finished) and job.outcome.state == "stopped"
    assert (tmp_path / "stopped" / "last.pt").is_file()

    job = TrainingProcess(load_graph("mlp"), config)
    job.start()
    drain(job, until=lambda events: any(isinstance(e, StepMetrics) for e in events))
    job.kill()
    job.join(10)
    events = drain(job)
    assert isinstance(events[-1], Failed) and events[-1].kind == "crashed" and "SIGKILL" in events[-1].message


def niceness_of_threads(pid: int | None) -> list[int]:
    """The nice value of every thread of a process (Linux's /proc; elsewhere the check is skipped)."""
    tasks = Path(f"/proc/{pid}/task")
    if not sys.platform.startswith("linux") or not tasks.is_dir():
        pytest.skip("thread priorities are read from Linux's /proc")
    # field 19 of stat is the nice value; the command name (field 2) may hold spaces, so split after its ')'
    return [int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]) for task in tasks.iterdir()]


def test_the_training_child_runs_below_the_editors_priority(tmp_path: Path) -> None:
    job = TrainingProcess(load_graph("mlp"), TrainConfig(dataset="blobs", epochs=200, log_every=1, batch_size=8))
    job.start()
    try:
        drain(job, until=lambda events: any(isinstance(e, StepMetrics) for e in events))
        threads = niceness_of_threads(job.pid)
        assert len(threads) >= 2 and set(threads) == {os.nice(0) + TRAINING_NICENESS}
    finally:
        job.kill()
        job.join(10)
