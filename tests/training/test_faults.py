"""Training faults from outside the loop: a process killed mid-epoch and resumed, deaths around the epoch's
checkpoint, a torn metrics row, NaN put into the weights or the data, a full disk under metrics.csv and
summary.json, and data files that vanish while a run trains.

Which data vanishing stops a run: image folders too large for memory are streamed, each image read from disk in
every epoch, so an image deleted or cut short mid-run stops the run with a message naming it. Arrays (.npz,
.npy), CSV files and small image folders are read whole before the first step, so deleting the file afterwards
does not matter: the run finishes.
"""

from __future__ import annotations

import csv
import errno
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import runtime.training.engine as engine
import runtime.training.run_folder as run_folder
from graph import Graph
from runtime.data import load_dataset
from runtime.data.folder import build_folder
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec
from runtime.training import EpochMetrics, Failed, Finished, Started, StepMetrics, TrainConfig, Trainer
from runtime.training.checkpoint import load_checkpoint
from runtime.training.run_folder import BEST, LAST, METRICS_FILE, SUMMARY_FILE, RunFolder
from tests.processes import CHILD_ENVIRONMENT, wait_until
from tests.training.toy import classifier, cluster_dataset

ROOT = Path(__file__).resolve().parents[2]
CONFIG = TrainConfig(epochs=3, batch_size=32, lr=0.01, log_every=1)
TOY_STEPS = 19  # ceil(600 / 32) steps per epoch of cluster_dataset()


class Killed(BaseException):
    """Stands for SIGKILL in-process: nothing in the engine catches it and nothing after it runs."""


# ---- helpers ---------------------------------------------------------------------------------------------------

def metrics(run: Path) -> list[dict[str, str]]:
    with open(run / METRICS_FILE, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def keys(rows: list[dict[str, str]]) -> list[tuple[int, int, str]]:
    return [(int(r["step"]), int(r["epoch"]), r["phase"]) for r in rows]


def expected_keys(epochs: int, steps_per_epoch: int) -> list[tuple[int, int, str]]:
    """A row per step (log_every=1) and a validation row per epoch, each step once, in order."""
    rows = []
    for epoch in range(1, epochs + 1):
        first = (epoch - 1) * steps_per_epoch + 1
        rows += [(step, epoch, "train") for step in range(first, first + steps_per_epoch)]
        rows.append((epoch * steps_per_epoch, epoch, "val"))
    return rows


def toy_run(run: Path, config: TrainConfig = CONFIG, on_event: Callable | None = None,
            **options) -> tuple[Trainer, Finished | Failed]:
    trainer = Trainer(options.pop("graph", None) or classifier(), config, run_dir=run,
                      dataset=options.pop("dataset", None) or cluster_dataset(), **options)
    trainer._on_event = on_event and (lambda event: on_event(trainer, event))
    return trainer, trainer.run()


def full_disk(*args, **kwargs) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# ---- a real SIGKILL mid-epoch, then --resume -------------------------------------------------------------------

def test_sigkill_mid_epoch_then_resume_continues_the_metrics_and_keeps_the_best(tmp_path: Path) -> None:
    # 4,000 samples in batches of 20; an epoch takes about 0.3 s here, and the kill may land in any epoch after
    # the first, so 10 epochs leave the polling below seconds, not a fraction of one, to catch the run mid-epoch
    out, epochs, steps = tmp_path / "run", 10, 200
    train = [sys.executable, str(ROOT / "main.py"), "train", "--log-every", "1", "--quiet"]
    with open(tmp_path / "first.log", "w") as log:
        process = subprocess.Popen([*train, "mlp", "--epochs", str(epochs), "--train-size", "4000",
                                    "--batch-size", "20", "--out", str(out)],
                                   cwd=tmp_path, env=CHILD_ENVIRONMENT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _mid_epoch_after_a_checkpoint(out), "the run mid-epoch after a checkpoint",
                       timeout=90.0, process=process)
            # frozen first, so that what is inspected below is exactly what the kill leaves
            process.send_signal(signal.SIGSTOP)
            before = (out / METRICS_FILE).read_text()
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    last, best = load_checkpoint(out / LAST)["position"], load_checkpoint(out / BEST)["position"]  # weights_only
    best_bytes = (out / BEST).read_bytes()
    lines = before.splitlines()
    kept = [line for line in lines[1:] if int(line.split(",")[0]) <= last["step"]]
    assert len(kept) < len(lines) - 1, "the kill should land after rows the checkpoint does not cover"
    assert last["epoch"] >= 1 and last["batch"] == 0 and best["best_loss"] is not None

    resumed = subprocess.run([*train, "--resume", str(out)], cwd=tmp_path, env=CHILD_ENVIRONMENT, capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = metrics(out)
    assert keys(rows) == expected_keys(epochs, steps)  # no step twice, none missing
    after = (out / METRICS_FILE).read_text().splitlines()
    assert after[:len(kept) + 1] == [lines[0], *kept]  # what the checkpoint covers is kept as it was
    assert load_checkpoint(out / LAST)["position"]["epoch"] == epochs
    _assert_best_is_the_lowest_validation_loss(out, rows, best, best_bytes)


def _mid_epoch_after_a_checkpoint(out: Path) -> bool:
    """An epoch checkpointed and a few steps of the next one logged."""
    if not (out / BEST).is_file() or not (out / METRICS_FILE).is_file():
        return False
    lines = (out / METRICS_FILE).read_text().splitlines()
    done = sum(",val," in line for line in lines)
    return done >= 1 and sum(f",{done + 1},train," in line for line in lines) >= 5


def _assert_best_is_the_lowest_validation_loss(out: Path, rows: list[dict[str, str]], best_before: dict,
                                               best_bytes: bytes) -> None:
    validation = [(float(r["loss"]), int(r["epoch"])) for r in rows if r["phase"] == "val"]
    lowest, epoch = min(validation)
    best = load_checkpoint(out / BEST)["position"]
    assert best["best_epoch"] == epoch and math.isclose(best["best_loss"], lowest, rel_tol=1e-5)
    if epoch <= best_before["best_epoch"]:
        assert (out / BEST).read_bytes() == best_bytes  # never replaced by a worse one
    else:
        assert best["best_loss"] < best_before["best_loss"]


# ---- deaths around the epoch's checkpoint, a torn row ----------------------------------------------------------

@pytest.mark.parametrize("moment", ["before", "after"])
def test_killed_around_the_epoch_checkpoint_resumes_with_each_row_once(tmp_path: Path, moment: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed just before or just after last.pt of epoch 2 is written: the validation row of epoch 2 must
    appear exactly once after resuming (it used to be lost when the kill came after the checkpoint)."""
    run, real_save = tmp_path / "run", engine.save_checkpoint

    def save(path: Path, *args) -> None:
        dying = path.name == LAST and args[4].epoch == 2
        if dying and moment == "before":
            raise Killed
        real_save(path, *args)
        if dying and moment == "after":
            raise Killed

    monkeypatch.setattr(engine, "save_checkpoint", save)
    with pytest.raises(Killed):
        toy_run(run)
    monkeypatch.setattr(engine, "save_checkpoint", real_save)
    assert load_checkpoint(run / LAST)["position"]["epoch"] == (1 if moment == "before" else 2)
    outcome = Trainer.resuming(run, dataset=cluster_dataset()).run()
    assert isinstance(outcome, Finished) and outcome.state == "finished"
    assert keys(metrics(run)) == expected_keys(3, TOY_STEPS)


@pytest.mark.parametrize("torn", ["3", "3,1,tr", "23,2,train,0.5", "x,1,train,1,1,1,1,1"])
def test_a_torn_metrics_row_is_dropped_on_resume(tmp_path: Path, torn: str) -> None:
    """A row cut short by a power cut must not pass for an earlier step ("3" of "30")."""
    run = tmp_path / "run"
    toy_run(run, CONFIG.updated(epochs=1))
    with open(run / METRICS_FILE, "a", encoding="utf-8") as stream:
        stream.write(torn)  # no newline: the write stopped mid-row
    outcome = Trainer.resuming(run, {"epochs": 2}, dataset=cluster_dataset()).run()
    assert isinstance(outcome, Finished)
    assert keys(metrics(run)) == expected_keys(2, TOY_STEPS)


# ---- NaN from outside the loss ---------------------------------------------------------------------------------

def test_nan_weights_mid_run_fail_naming_the_step_and_keep_the_last_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"

    def poison_at_step_25(trainer: Trainer, event: object) -> None:
        if isinstance(event, StepMetrics) and event.step == 25:  # a hook (or a bad custom layer) breaks the weights
            with torch.no_grad():
                trainer.session.model.state_dict()["fc1.weight"].fill_(float("nan"))

    _, outcome = toy_run(run, on_event=poison_at_step_25)
    assert isinstance(outcome, Failed) and outcome.kind == "nan"
    assert "NaN at step 26 (epoch 2)" in outcome.message and "last good checkpoint is kept" in outcome.message
    state = load_checkpoint(run / LAST)
    assert state["position"]["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values())
    assert load_checkpoint(run / BEST)["position"]["best_epoch"] == 1


@pytest.mark.parametrize("split", ["training", "validation"])
def test_a_nan_sample_in_the_data_is_named_as_the_cause(tmp_path: Path, split: str) -> None:
    """Not "lower the learning rate": no learning rate cures a NaN in the data. Data handed to the trainer is
    diagnosed when the loss turns NaN; a file is refused as it loads, naming the sample, before any run folder."""
    x, y = _cluster_arrays(200)
    np.savez(tmp_path / "clean.npz", X=x, y=y)
    dataset = load_dataset(str(tmp_path / "clean.npz"), GraphSpec.of(classifier()))
    (dataset.train if split == "training" else dataset.val).inputs["X"][0, 3] = float("nan")
    outcome = Trainer(classifier(), CONFIG.updated(epochs=1), run_dir=tmp_path / "run", dataset=dataset).run()
    assert isinstance(outcome, Failed) and outcome.kind == "nan"
    assert "at step" in outcome.message and "because the data holds NaN or Inf values" in outcome.message
    assert f"1 of the {160 if split == 'training' else 40} {split} samples of 'X'" in outcome.message
    assert "lower learning rate" not in outcome.message
    x[7, 3] = np.nan
    np.savez(tmp_path / "data.npz", X=x, y=y)
    config = CONFIG.updated(epochs=1, dataset=str(tmp_path / "data.npz"))
    outcome = Trainer(classifier(), config, run_dir=tmp_path / "file-run").run()
    assert isinstance(outcome, Failed) and outcome.kind == "data" and not (tmp_path / "file-run").exists()
    assert "'X' in data.npz holds NaN in 1 of its 200 samples (the first at index 7)" in outcome.message


def _cluster_arrays(samples: int) -> tuple[np.ndarray, np.ndarray]:
    split = cluster_dataset(train=samples, val=1).train
    return split.inputs["X"].numpy().copy(), split.targets["Y"].numpy().copy()


# ---- a full disk under metrics.csv and summary.json ------------------------------------------------------------

def test_full_disk_while_logging_metrics_stops_naming_metrics_csv(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    run, real_log = tmp_path / "run", RunFolder.log

    def log(self: RunFolder, row: dict) -> None:
        if row["step"] > 25:
            full_disk()
        real_log(self, row)

    monkeypatch.setattr(RunFolder, "log", log)
    _, outcome = toy_run(run)
    assert isinstance(outcome, Failed) and outcome.kind == "disk"
    assert f"could not write '{run / METRICS_FILE}': No space left on device" in outcome.message
    assert "checkpoints included, are intact" in outcome.message
    assert keys(metrics(run)) == [k for k in expected_keys(3, TOY_STEPS) if k[0] <= 25]
    assert load_checkpoint(run / LAST)["position"]["epoch"] == 1


def test_full_disk_while_writing_the_summary_keeps_the_previous_one(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    toy_run(run, CONFIG.updated(epochs=1))
    summary = (run / SUMMARY_FILE).read_bytes()
    real_write = run_folder.atomic_write
    monkeypatch.setattr(run_folder, "atomic_write",
                        lambda target, data: (full_disk if target.name == SUMMARY_FILE else real_write)(target, data))
    outcome = Trainer.resuming(run, {"epochs": 2}, dataset=cluster_dataset()).run()
    assert isinstance(outcome, Failed) and outcome.kind == "disk"
    assert f"could not write '{run / SUMMARY_FILE}': No space left on device" in outcome.message
    assert (run / SUMMARY_FILE).read_bytes() == summary
    assert load_checkpoint(run / LAST)["position"]["epoch"] == 2  # what was learned is saved
    assert not list(run.glob(".*.tmp"))


# ---- data that vanishes mid-run --------------------------------------------------------------------------------

def image_graph() -> Graph:
    g = Graph("images")
    x = g.add("input", name="X", shape=(1, 8, 8))
    flat = g.add("flatten", name="flat")
    fc = g.add("fully-conn", name="fc", out_features=2)
    y = g.add("output", name="Y", loss="cross-entropy")
    for a, b in ((x, flat), (flat, fc), (fc, y)):
        g.connect(a, b)
    return g


def image_folder(root: Path) -> Path:
    for label, shade in (("dark", 30), ("light", 220)):
        (root / label).mkdir(parents=True)
        for i in range(12):
            pixels = np.full((8, 8), shade, np.uint8) + np.uint8(i)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


@pytest.mark.parametrize("damage, workers", [("deleted", 1), ("truncated", 0)])
def test_a_streamed_image_that_vanishes_mid_run_stops_naming_it(tmp_path: Path, damage: str, workers: int) -> None:
    """With DataLoader workers the error used to arrive wrapped in the worker's traceback."""
    dataset = build_folder(image_folder(tmp_path / "images"), GraphSpec.of(image_graph()), 0,
                           DataOptions(stream_bytes=0, workers=workers))
    assert dataset.info["streamed"]
    victim: Path = dataset.train.data.files[0]

    def damage_after_epoch_1(trainer: Trainer, event: object) -> None:
        if isinstance(event, EpochMetrics) and event.epoch == 1:
            if damage == "deleted":
                victim.unlink()
            else:
                victim.write_bytes(victim.read_bytes()[:20])

    run = tmp_path / "run"
    _, outcome = toy_run(run, TrainConfig(epochs=3, batch_size=8), damage_after_epoch_1, graph=image_graph(),
                         dataset=dataset)
    assert isinstance(outcome, Failed) and outcome.kind == "data"
    assert outcome.message.startswith(f"cannot read image '{victim}': ")
    assert "Traceback" not in outcome.message and "\n" not in outcome.message
    assert load_checkpoint(run / LAST)["position"]["epoch"] == 1 and load_checkpoint(run / BEST)


def autoencoder() -> Graph:
    g = Graph("autoencoder")
    x = g.add("input", name="X", shape=(8,))
    fc = g.add("fully-conn", name="fc", out_features=8)
    y = g.add("output", name="Y", loss="mse")
    g.connect(x, fc)
    g.connect(fc, y)
    return g


def _write_data(kind: str, folder: Path) -> tuple[Path, Graph]:
    x, y = _cluster_arrays(120)
    if kind == "npz":
        np.savez(folder / "data.npz", X=x, y=y)
        return folder / "data.npz", classifier()
    if kind == "npy":
        np.save(folder / "data.npy", x)
        return folder / "data.npy", autoencoder()
    if kind == "csv":
        rows = [",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(x, y, strict=True)]
        lines = ["a,b,c,d,e,f,g,h,label", *rows]
        (folder / "data.csv").write_text("\n".join(lines) + "\n")
        return folder / "data.csv", classifier()
    return image_folder(folder / "images"), image_graph()


@pytest.mark.parametrize("kind", ["npz", "npy", "csv", "image folder"])
def test_data_read_whole_before_training_may_vanish_and_the_run_finishes(tmp_path: Path, kind: str) -> None:
    source, graph = _write_data(kind, tmp_path)

    def remove_on_start(trainer: Trainer, event: object) -> None:
        if isinstance(event, Started):
            for path in sorted(source.rglob("*"), reverse=True) if source.is_dir() else []:
                path.unlink() if path.is_file() else path.rmdir()
            source.rmdir() if source.is_dir() else source.unlink()

    run = tmp_path / "run"
    trainer = Trainer(graph, TrainConfig(dataset=str(source), epochs=2, batch_size=16), run_dir=run)
    trainer._on_event = lambda event: remove_on_start(trainer, event)
    outcome = trainer.run()
    assert not source.exists()
    assert isinstance(outcome, Finished) and outcome.state == "finished", outcome
    assert load_checkpoint(run / LAST)["position"]["epoch"] == 2
