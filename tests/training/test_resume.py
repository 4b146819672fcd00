"""`train --resume`: what cannot be resumed is refused with a message before anything runs (a checkpoint of another
graph, a malicious checkpoint, no epoch left, a setting the checkpoint fixes, another graph, other data), and a
finished run trains further with more epochs."""

from __future__ import annotations

import csv
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import main
from runtime.training.checkpoint import load_checkpoint
from runtime.training.run_folder import LAST, METRICS_FILE, SUMMARY_FILE

SMALL = ("--train-size", "64", "--val-size", "16", "--quiet")


def train(*args: str) -> int:
    return main.main(["train", *args])


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """An mlp run that finished its 2 epochs."""
    out = tmp_path / "run"
    assert train("mlp", "--epochs", "2", "--out", str(out), *SMALL) == 0
    return out


def snapshot(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run.iterdir()}


def test_a_checkpoint_of_another_graph_is_named_not_a_traceback(finished: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    assert train("autoencoder", "--epochs", "1", "--out", str(other), *SMALL) == 0
    shutil.copyfile(other / LAST, finished / LAST)
    before = snapshot(finished)
    capsys.readouterr()
    assert train("--resume", str(finished), "--epochs", "3", "--quiet") == 2
    err = capsys.readouterr().err
    assert f"'{finished / LAST}' is not a checkpoint of the graph of '{finished}' (graph.layerbook.json): " \
           "missing keys: fc1.weight, fc1.bias" in err and "unexpected keys: " in err
    assert "Traceback" not in err and "state_dict" not in err
    assert snapshot(finished) == before


def test_fewer_epochs_than_done_are_refused(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--resume RUN --epochs 1` on a run at 2 epochs was silently ignored (the guide says it is refused)."""
    before = snapshot(finished)
    assert train("--resume", str(finished), "--epochs", "1", "--quiet") == 2
    assert f"'{finished}' has already trained 2 epochs: --epochs 1 would be fewer" in capsys.readouterr().err
    assert train("--resume", str(finished), "--quiet") == 2
    assert f"'{finished}' has trained all its 2 epochs: to train it further, pass --epochs N with N above 2" in \
        capsys.readouterr().err
    assert snapshot(finished) == before


def test_a_finished_run_trains_further_with_more_epochs(finished: Path) -> None:
    assert train("--resume", str(finished), "--epochs", "3", "--quiet") == 0
    summary = json.loads((finished / SUMMARY_FILE).read_text())
    assert summary["state"] == "finished" and summary["epochs"] == 3
    with open(finished / METRICS_FILE, newline="") as stream:
        assert [r["epoch"] for r in csv.DictReader(stream) if r["phase"] == "val"] == ["1", "2", "3"]


def test_another_graph_given_with_resume_is_refused_and_the_runs_own_is_accepted(
        finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A GRAPH given with --resume used to be silently ignored."""
    assert train("lenet", "--resume", str(finished), "--epochs", "3", "--quiet") == 2
    assert f"'lenet' is not the graph the run in '{finished}' trained" in capsys.readouterr().err
    assert load_checkpoint(finished / LAST)["position"]["epoch"] == 2
    assert train("mlp", "--resume", str(finished), "--epochs", "3", "--quiet") == 0  # the same command plus --resume
    assert train(str(finished / "graph.layerbook.json"), "--resume", str(finished), "--epochs", "4", "--quiet") == 0


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--lr", "0.1", "lr cannot change when resuming"),
    ("--batch-size", "8", "batch_size cannot change when resuming"),
    ("--optimizer", "sgd", "optimizer cannot change when resuming"),
    ("--seed", "5", "seed cannot change when resuming"),
    ("--settings", "settings.json", "--settings starts a new run from a run's settings, and --resume continues"),
    ("--out", "elsewhere", "--out cannot be given with --resume: the run continues in its own folder"),
])
def test_what_a_resumed_run_cannot_change_is_refused(finished: Path, option: str, value: str, words: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The checkpoint's optimizer state used to replace a new --lr or --weight-decay without a word."""
    assert train("--resume", str(finished), "--epochs", "3", option, value, "--quiet") == 2
    err = capsys.readouterr().err
    assert words in err
    if "cannot change" in words:
        assert f"--settings {finished / 'settings.json'}" in err  # how to start a new run with it instead
    assert load_checkpoint(finished / LAST)["position"]["epoch"] == 2


def test_the_same_value_of_a_fixed_setting_is_accepted(finished: Path) -> None:
    assert train("--resume", str(finished), "--epochs", "3", "--lr", "0.001", "--batch-size", "64", "--quiet") == 0


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return Path.touch, (self.marker,)


@pytest.mark.parametrize("form", ["torch.save", "pickle"])
def test_a_malicious_checkpoint_is_named_as_code_and_never_run(finished: Path, tmp_path: Path, form: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "code-ran"
    if form == "torch.save":
        torch.save({"format": "layerbook-checkpoint", "model": Payload(marker)}, finished / LAST)
    else:
        (finished / LAST).write_bytes(pickle.dumps(Payload(marker)))
    assert train("--resume", str(finished), "--epochs", "3", "--quiet") == 2
    err = capsys.readouterr().err
    assert f"'{finished / LAST}' holds code or Python objects" in err and "that Layerbook will not load" in err
    assert "truncated" not in err and "weights_only" not in err
    assert not marker.exists()


def test_resuming_on_a_data_file_with_other_contents_is_refused(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "points.npz", tmp_path / "run"
    for seed in (0, 1):  # the file, then other contents under the same name
        x = np.random.default_rng(seed).normal(size=(60, 50)).astype(np.float32)
        np.savez(data, X=x, y=(x[:, 0] > 0).astype(np.int64))
        if seed == 0:
            assert train("mlp", "--data", str(data), "--epochs", "1", "--out", str(out), "--quiet") == 0
    capsys.readouterr()
    assert train("--resume", str(out), "--epochs", "2", "--quiet") == 2
    assert f"the data differs from the data recorded in the run '{out}': it trained on file 'points.npz'" in \
        capsys.readouterr().err
    assert train("--resume", str(out), "--epochs", "2", "--quiet", "--allow-other-data") == 0
