"""The training loop: learning, run folders, exact resumption, stop and pause, faults named with their cause."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest
import torch

from runtime.compile import build_module
from runtime.training import EpochMetrics, Failed, Finished, Status, StepMetrics, TrainConfig, Trainer
from runtime.training.checkpoint import load_checkpoint
from runtime.training.run_folder import COLUMNS
from runtime.weights import load_weights
from tests.training.toy import PoisonedSplit, classifier, cluster_dataset, clusters

CONFIG = TrainConfig(epochs=3, batch_size=32, lr=0.01, log_every=5)


def train(config: TrainConfig = CONFIG, run_dir: Path | None = None, graph=None, dataset=None, **options):
    events: list = []
    trainer = Trainer(graph or classifier(), config, run_dir=run_dir, dataset=dataset or cluster_dataset(),
                      on_event=events.append, **options)
    return trainer, trainer.run(), events


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.session.model.state_dict().items()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_learns_and_reports_every_log_interval(tmp_path: Path) -> None:
    trainer, outcome, events = train(run_dir=tmp_path / "run")
    assert isinstance(outcome, Finished) and outcome.state == "finished"
    steps = [e for e in events if isinstance(e, StepMetrics)]
    epochs = [e for e in events if isinstance(e, EpochMetrics)]
    # 600 samples in batches of 32: 19 steps an epoch (the last one of 24 samples)
    assert [e.step for e in steps[:5]] == [5, 10, 15, 19, 24]
    assert [e.epoch for e in epochs] == [1, 2, 3] and epochs[-1].step == 57
    assert steps[-1].progress == pytest.approx(1.0)
    assert steps[0].loss > steps[-1].loss
    assert epochs[-1].val_accuracy > 0.95
    # the epoch's validation figures agree with an independent evaluation of the final weights
    model = trainer.session.model.eval()
    val = clusters(200, seed=2)
    with torch.no_grad():
        logits = model(X=val.inputs["X"])
    expected = torch.nn.functional.cross_entropy(logits, val.targets["Y"]).item()
    assert epochs[-1].val_loss == pytest.approx(expected, rel=1e-5)
    assert epochs[-1].val_accuracy == pytest.approx((logits.argmax(1) == val.targets["Y"]).float().mean().item())


def test_run_folder_holds_graph_settings_metrics_summary_and_checkpoints(tmp_path: Path) -> None:
    run = tmp_path / "run"
    trainer, outcome, _ = train(run_dir=run)
    files = sorted(p.name for p in run.iterdir() if "tfevents" not in p.name)  # TensorBoard's, when installed
    assert files == ["best.pt", "graph.layerbook.json", "last.pt", "metrics.csv", "settings.json", "summary.json"]
    with open(run / "metrics.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0].keys()) == COLUMNS
    assert [r["step"] for r in rows if r["phase"] == "val"] == ["19", "38", "57"]
    assert all(float(r["samples_per_s"]) > 0 for r in rows if r["phase"] == "train")
    settings = json.loads((run / "settings.json").read_text())
    assert TrainConfig.from_dict(settings["config"]) == CONFIG
    summary = json.loads((run / "summary.json").read_text())
    assert summary == outcome.summary
    assert summary["steps"] == 57 and summary["parameters"] == 8 * 16 + 16 + 16 * 3 + 3
    assert summary["final"]["val_loss"] == pytest.approx(float(rows[-1]["loss"]), rel=1e-5)
    # a checkpoint is data: it loads with weights_only=True, and as plain weights into a fresh module
    state = torch.load(run / "last.pt", weights_only=True)
    assert state["position"]["epoch"] == 3
    fresh = build_module(classifier())
    load_weights(fresh, run / "best.pt")
    assert_same(fresh.state_dict(), weights(trainer))  # the last epoch was the best one here


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    config = TrainConfig(epochs=1, batch_size=32, lr=0.01)
    graph = classifier(dropout=0.2)
    a, b, c = (train(config.updated(seed=s), graph=graph)[0] for s in (7, 7, 8))
    assert_same(weights(a), weights(b))
    assert not torch.equal(weights(a)["fc1.weight"], weights(c)["fc1.weight"])


def test_resume_after_an_epoch_continues_exactly(tmp_path: Path) -> None:
    graph = classifier(dropout=0.3)  # dropout: the random generators must be restored too
    whole, _, _ = train(CONFIG, graph=graph)
    run = tmp_path / "run"
    train(CONFIG.updated(epochs=1), run_dir=run, graph=graph)
    events: list = []
    resumed = Trainer.resuming(run, {"epochs": 3}, dataset=cluster_dataset(), on_event=events.append)
    outcome = resumed.run()
    assert isinstance(outcome, Finished) and outcome.summary["steps"] == 57
    assert_same(weights(resumed), weights(whole))
    with open(run / "metrics.csv", newline="") as stream:
        steps = [int(r["step"]) for r in csv.DictReader(stream) if r["phase"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 57 and steps[:4] == [5, 10, 15, 19]


def test_stop_mid_epoch_saves_and_resume_finishes_as_if_never_stopped(tmp_path: Path) -> None:
    graph = classifier(dropout=0.3)
    whole, _, _ = train(CONFIG, graph=graph)
    run = tmp_path / "run"
    events: list = []
    trainer = Trainer(graph, CONFIG.updated(log_every=1), run_dir=run, dataset=cluster_dataset(),
                      on_event=events.append)

    def stop_at_step_25(event) -> None:
        events.append(event)
        if isinstance(event, StepMetrics) and event.step == 25:
            trainer.control.request_stop()

    trainer._on_event = stop_at_step_25
    outcome = trainer.run()
    assert isinstance(outcome, Finished) and outcome.state == "stopped"
    assert any(isinstance(e, Status) and e.state == "stopping" for e in events)
    position = load_checkpoint(run / "last.pt")["position"]
    assert (position["epoch"], position["batch"], position["step"]) == (1, 6, 25)
    resumed = Trainer.resuming(run, dataset=cluster_dataset())
    assert resumed.run().state == "finished"
    assert_same(weights(resumed), weights(whole))


def test_pause_waits_and_resume_goes_on() -> None:
    events: list = []
    trainer = Trainer(classifier(), CONFIG.updated(epochs=1, log_every=1), dataset=cluster_dataset())

    def pause_at_step_3(event) -> None:
        events.append(event)
        if isinstance(event, StepMetrics) and event.step == 3:
            trainer.control.pause()
            threading.Timer(0.3, trainer.control.resume).start()

    trainer._on_event = pause_at_step_3
    assert trainer.run().state == "finished"
    states = [e.state for e in events if isinstance(e, Status)]
    assert "paused" in states and states[states.index("paused") + 1] == "running"
    assert [e.step for e in events if isinstance(e, StepMetrics)][-1] == 19


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    data = cluster_dataset()
    data.train = PoisonedSplit(data.train, from_batch=24)  # step 24: the 5th step of epoch 2
    run = tmp_path / "run"
    _, outcome, events = train(run_dir=run, dataset=data)
    assert isinstance(outcome, Failed) and outcome.kind == "nan"
    assert "NaN at step 24 (epoch 2)" in outcome.message and "lower learning rate" in outcome.message
    assert isinstance(events[-1], Failed) and events[-2] == Status("failed", outcome.message)
    state = load_checkpoint(run / "last.pt")
    assert state["position"]["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_out_of_memory_names_the_batch_size_to_try(monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = Trainer(classifier(), CONFIG, dataset=cluster_dataset())
    original = Trainer._prepare

    def prepare_then_break(self) -> None:
        original(self)

        def forward(**inputs):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        self.session.step_model = forward

    monkeypatch.setattr(Trainer, "_prepare", prepare_then_break)
    outcome = trainer.run()
    assert isinstance(outcome, Failed) and outcome.kind == "out-of-memory"
    assert "batch size 32" in outcome.message and "--batch-size 16" in outcome.message


def test_full_disk_during_a_checkpoint_leaves_the_previous_one(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    train(CONFIG.updated(epochs=1), run_dir=run)
    before = (run / "last.pt").read_bytes()
    import runtime.training.checkpoint as checkpoint

    def full_disk(target: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "atomic_write", full_disk)
    resumed = Trainer.resuming(run, {"epochs": 2}, dataset=cluster_dataset())
    outcome = resumed.run()
    assert isinstance(outcome, Failed) and outcome.kind == "disk"
    assert "No space left on device" in outcome.message and "previous checkpoint is intact" in outcome.message
    assert (run / "last.pt").read_bytes() == before


def test_early_stopping_after_patience_epochs_without_improvement(monkeypatch: pytest.MonkeyPatch) -> None:
    losses = iter([1.0, 0.5, 0.7, 0.6, 0.4])
    monkeypatch.setattr(Trainer, "_validate", lambda self: (next(losses), None))
    _, outcome, events = train(CONFIG.updated(epochs=5, patience=2))
    assert outcome.state == "early-stopped"
    assert [e.best for e in events if isinstance(e, EpochMetrics)] == [True, True, False, False]
    assert outcome.summary["best"]["epoch"] == 2 and outcome.summary["best"]["val_loss"] == 0.5


def test_denoising_adds_noise_to_inputs_only_for_reconstruction() -> None:
    trainer, _, _ = train(CONFIG.updated(epochs=1, noise=0.5))
    x = {"X": torch.zeros(4, 8)}
    assert torch.equal(trainer._prepare_inputs(x)["X"], x["X"])  # classification: inputs untouched
    trainer.session.dataset.task = "reconstruction"
    noisy = trainer._prepare_inputs(x)["X"]
    assert 0.3 < noisy.std().item() < 0.7


@pytest.mark.parametrize("optimizer, extra", [("sgd", {"nesterov": True, "momentum": 0.9}),
                                              ("adamw", {"weight_decay": 0.01, "schedule": "cosine",
                                                         "warmup_steps": 5}),
                                              ("adam", {"clip": 0.5, "schedule": "step", "step_epochs": 1})])
def test_every_optimizer_and_schedule_learns(optimizer: str, extra: dict) -> None:
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05 if optimizer == "sgd" else 0.01, optimizer=optimizer,
                         **extra)
    _, outcome, _ = train(config)
    assert outcome.summary["final"]["val_accuracy"] > 0.9


def test_unavailable_device_or_precision_fails_with_the_reason() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    _, outcome, _ = train(CONFIG.updated(device="cuda"))
    assert isinstance(outcome, Failed) and outcome.kind == "config" and "no CUDA GPU" in outcome.message
    _, outcome, _ = train(CONFIG.updated(precision="bf16"))
    assert isinstance(outcome, Failed) and "needs a CUDA GPU" in outcome.message


def test_tensorboard_event_files_when_tensorboard_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    train(CONFIG.updated(epochs=1), run_dir=run)
    events = EventAccumulator(str(run))
    events.Reload()
    assert {"train/loss", "val/loss", "val/accuracy"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("val/loss")] == [19]


def test_events_can_cross_a_process_boundary() -> None:
    import pickle

    _, _, events = train(CONFIG.updated(epochs=1))
    assert pickle.loads(pickle.dumps(events)) == events  # the app receives them through a multiprocessing queue
