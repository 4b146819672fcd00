"""Real signals sent to a real `train` process: SIGTERM and SIGHUP stop it like the first Ctrl+C (the current step
ends, last.pt and summary.json are written, the way to resume is printed); a second signal quits at once in one
line; a signal the process was started to ignore (nohup) stays ignored; under torchrun every rank stops at the same
step."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.training.checkpoint import load_checkpoint
from runtime.training.run_folder import BEST, LAST, METRICS_FILE, SUMMARY_FILE
from tests.processes import CHILD_ENVIRONMENT, wait_until

ROOT = Path(__file__).resolve().parents[2]
# 4,000 samples in batches of 20: 200 steps an epoch, about 0.3 s each here; 10 epochs leave seconds to signal in
TRAIN = [sys.executable, str(ROOT / "main.py"), "train", "mlp", "--epochs", "10", "--train-size", "4000",
         "--batch-size", "20", "--log-every", "1", "--quiet"]


def start(out: Path, log: Path, **popen: object) -> subprocess.Popen:
    with open(log, "w") as stream:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([*TRAIN, "--out", str(out)], cwd=out.parent, env=CHILD_ENVIRONMENT, stdout=stream,
                                stderr=subprocess.STDOUT, **popen)


def logged_steps(out: Path) -> int:
    path = out / METRICS_FILE
    return len(path.read_text().splitlines()) - 1 if path.is_file() else 0


def mid_epoch_after_a_checkpoint(out: Path) -> bool:
    return (out / BEST).is_file() and logged_steps(out) > 200 + 1 + 5


def finish(process: subprocess.Popen, timeout: float = 60) -> int:
    try:
        return process.wait(timeout=timeout)
    finally:
        process.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_after_the_step_save_and_say_how_to_resume(tmp_path: Path, signum: int) -> None:
    """They used to kill the run at once (exit 143): the epoch under way lost, no summary.json."""
    out, log = tmp_path / "run", tmp_path / "train.log"
    process = start(out, log)
    wait_until(lambda: logged_steps(out) > 5, "the run's first steps", timeout=90, process=process)
    process.send_signal(signum)
    assert finish(process) == 0
    text = log.read_text()
    assert "stopped on request" in text and f"continue with: python main.py train --resume {out}" in text
    assert "Traceback" not in text
    summary = json.loads((out / SUMMARY_FILE).read_text())
    position = load_checkpoint(out / LAST)["position"]
    assert summary["state"] == "stopped" and summary["steps"] == position["step"] > 5
    last_row = (out / METRICS_FILE).read_text().splitlines()[-1]
    assert int(last_row.split(",")[0]) == position["step"]  # saved after the step it logged last


def test_a_second_signal_quits_at_once_in_one_line(tmp_path: Path) -> None:
    out, log = tmp_path / "run", tmp_path / "train.log"
    process = start(out, log)
    wait_until(lambda: mid_epoch_after_a_checkpoint(out), "the run mid-epoch after a checkpoint", timeout=90,
               process=process)
    last = (out / LAST).read_bytes()
    # both arrive together: the frozen process gets them when it continues, SIGINT (the first) before SIGTERM
    process.send_signal(signal.SIGSTOP)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)
    assert finish(process) == 128 + signal.SIGTERM
    lines = log.read_text().splitlines()
    assert lines[-1] == (f"SIGTERM again: quit at once, without saving the current epoch; {out / LAST} holds the "
                         f"last checkpoint: continue with python main.py train --resume {out}")
    assert not any("Traceback" in line for line in lines)
    assert (out / LAST).read_bytes() == last and not (out / SUMMARY_FILE).exists()
    assert not list(out.glob(".*"))  # no temporary file, and the folder is free (no lock left)


def test_a_sighup_ignored_by_nohup_stays_ignored(tmp_path: Path) -> None:
    out, log = tmp_path / "run", tmp_path / "train.log"
    process = start(out, log, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        wait_until(lambda: logged_steps(out) > 5, "the run's first steps", timeout=90, process=process)
        process.send_signal(signal.SIGHUP)  # the terminal closed: nohup asked for the run to go on
        wait_until(lambda: logged_steps(out) > 400, "the run going on after SIGHUP", timeout=90, process=process)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert not (out / SUMMARY_FILE).exists()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds torchrun's workers in /proc")
def test_under_torchrun_a_signal_to_one_rank_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    """torchrun passes a signal on to each rank, which gets it at a step of its own; the extreme case is one rank
    only. A rank that stopped alone would leave the other waiting in DistributedDataParallel's all-reduce."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out, log = tmp_path / "run", tmp_path / "train.log"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
               *TRAIN[1:], "--out", str(out)]
    environment = {**CHILD_ENVIRONMENT, "PYTHONPATH": str(ROOT)}
    with open(log, "w") as stream:
        process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=stream, stderr=subprocess.STDOUT)
    workers: list[int] = []
    try:
        wait_until(lambda: logged_steps(out) > 5, "the run's first steps", timeout=120, process=process)
        workers = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        assert len(workers) == 2
        os.kill(workers[-1], signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        for pid in [process.pid, *workers]:  # the workers run in sessions of their own: killing torchrun leaves them
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    assert text.count("stopped on request") == 1 and "--nproc_per_node=2 main.py train --resume" in text
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["state"] == "stopped" and summary["world_size"] == 2
    assert summary["steps"] == load_checkpoint(out / LAST)["position"]["step"]
