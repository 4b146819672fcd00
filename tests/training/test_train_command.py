"""`python main.py train`: template defaults, options, run folders, resume, Ctrl+C, torchrun, clear errors."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import main
from runtime.training.checkpoint import load_checkpoint
from runtime.training.events import EpochMetrics, Finished, Started, StepMetrics
from runtime.training.progress import ProgressPrinter
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args: str) -> int:
    return main.main(["train", *args])


def test_train_a_template_with_options_writes_its_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert run_main("mlp", "--epochs", "2", "--batch-size", "50", "--lr", "0.01", "--optimizer", "sgd",
                    "--seed", "3", "--out", str(out), "--quiet") == 0
    err = capsys.readouterr().err
    assert "training on cpu: 1,557 parameters" in err and "epoch 2/2" in err and "finished: 2 epochs" in err
    settings = json.loads((out / "settings.json").read_text())
    config = settings["config"]
    # given options win; the rest are the template's (mlp names blobs) and the engine's defaults
    assert (config["epochs"], config["batch_size"], config["lr"], config["optimizer"], config["seed"]) == \
        (2, 50, 0.01, "sgd", 3)
    assert config["dataset"] == "blobs" and config["momentum"] == 0.9
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 * 2000 // 50 and summary["final"]["val_accuracy"] > 0.9


def test_resume_continues_a_run_with_more_epochs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert run_main("mlp", "--epochs", "1", "--out", str(out), "--quiet") == 0
    assert run_main("mlp", "--epochs", "1", "--out", str(out)) == 2  # never overwrites a run
    assert "--resume" in capsys.readouterr().err
    assert run_main("--resume", str(out), "--epochs", "2", "--quiet") == 0
    assert load_checkpoint(out / "last.pt")["position"]["epoch"] == 2
    assert json.loads((out / "settings.json").read_text())["config"]["epochs"] == 2


@pytest.mark.parametrize("args, code, message", [
    ((), 2, "name a graph to train"),
    (("nosuch-template",), 2, "nosuch-template"),
    (("lenet", "--data", "nosuch"), 2, "digits"),
    (("lenet", "--data", "pytext"), 2, "'X' 1×28×28"),
    (("lenet", "--epochs", "0"), 2, "epochs must be a whole number from 1 to 100,000, got 0"),
    (("--resume", "/nonexistent/run"), 2, "no last.pt"),
])
def test_mistakes_are_explained_with_an_exit_code(args: tuple[str, ...], code: int, message: str,
                                                  capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_main(*args, "--quiet") == code
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("option", "words"), [
    ("--out", "--out is empty: give the run folder, or leave --out out"),  # trained into runs/
    ("--resume", "--resume is empty: give the run folder to continue, or leave --resume out"),  # a new run
    ("--data", "--data is empty: give a built-in dataset or a path, or leave --data out"),  # "no dataset: 'mlp'..."
    ("--settings", "--settings is empty: give a settings file, or leave --settings out"),  # "'' is not a file"
])
def test_an_empty_name_is_refused_not_taken_for_no_option(option: str, words: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_main("mlp", option, "", "--epochs", "1", "--train-size", "16", "--val-size", "8", "--quiet") == 2
    assert capsys.readouterr().err == words + "\n"
    assert list(tmp_path.iterdir()) == []


def test_a_run_folder_name_too_long_for_the_file_system_is_named(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`--resume <300 characters>` was an OSError traceback (File name too long)."""
    run_dir = tmp_path / ("r" * 300)
    assert run_main("--resume", str(run_dir), "--quiet") == 2
    assert capsys.readouterr().err == f"cannot read the run folder '{run_dir}': File name too long\n"


def test_progress_bar_shows_rate_loss_and_epoch_lines() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    printer(Started("runs/x", "cpu", "toy data", "classification", 1557, 2, 10, 0))
    printer(StepMetrics(10, 1, 0.5, 0.75, 1e-3, 1234.0, 1.0, 0.5, 1.0))
    printer(EpochMetrics(1, 10, 0.6, 0.7, 0.4, 0.8, True, 1.1))
    printer(Finished("finished", {"epochs": 1, "steps": 10, "elapsed_s": 1.2, "samples_per_s": 1234.0,
                                  "best": {"epoch": 1, "val_loss": 0.4, "val_accuracy": 0.8}}))
    text = stream.getvalue()
    assert "10/20" in text and "loss=0.5000" in text and "acc=75.0%" in text and "samples/s=1,234" in text
    assert "epoch 1/2 · train loss 0.6000 · train acc 70.0% · val loss 0.4000 · val acc 80.0% (best)" in text
    assert "best val loss 0.4000, val acc 80.0% at epoch 1" in text


def test_ctrl_c_stops_after_saving_and_the_run_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = [sys.executable, str(ROOT / "main.py"), "train", "gpt", "--epochs", "1", "--train-size", "3200",
               "--val-size", "64", "--log-every", "1", "--out", str(out)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        wait_until(lambda: (out / "metrics.csv").is_file() and len((out / "metrics.csv").read_text().splitlines()) > 3,
                   "the run's first steps reported", process=process)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err[-2000:]
    assert "stopped on request" in err and f"--resume {out}" in err
    position = load_checkpoint(out / "last.pt")["position"]
    assert position["epoch"] == 0 and 3 <= position["batch"] < 100


def test_torchrun_runs_the_same_command_in_two_processes_with_one_run_folder(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
               str(ROOT / "main.py"), "train", "mlp", "--epochs", "1", "--quiet"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1  # rank 0 named it; rank 1 wrote nothing elsewhere
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["final"]["val_accuracy"] > 0.9
    assert result.stderr.count("finished: 1 epochs") == 1  # only rank 0 reports
