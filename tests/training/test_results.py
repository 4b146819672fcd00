"""After a run: the runs list, results (confusion matrix, worst mistakes, generated text), the bundle."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import torch

from graph import load_graph
from runtime.bundle import write_bundle
from runtime.results import classification_results, generate_text, load_run_model
from runtime.training import TrainConfig, Trainer
from runtime.training.runs import compare_settings, delete_run, list_runs, read_metrics


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    graph = load_graph("lenet")
    config = TrainConfig(dataset="digits", epochs=2, batch_size=32, lr=0.003, train_size=600, val_size=200)
    assert Trainer(graph, config, run_dir=root / "lenet-a").run().state == "finished"
    return root / "lenet-a"


def test_confusion_matrix_and_worst_mistakes_agree_with_the_model(lenet_run: Path) -> None:
    results = classification_results(lenet_run)
    assert results.confusion.shape == (10, 10) and int(results.confusion.sum()) == 200
    model, dataset, _ = load_run_model(lenet_run)
    inputs, targets = next(iter(dataset.val.batches(torch.arange(200), 200, torch.device("cpu"))))
    with torch.no_grad():
        predicted = model(**inputs).argmax(1)
    assert results.accuracy == pytest.approx((predicted == targets["Y"]).float().mean().item())
    losses = [p.loss for p in results.predictions]
    assert losses == sorted(losses, reverse=True)
    worst = results.mistakes()[0]
    assert worst.predicted == int(predicted[worst.index]) and worst.target == int(targets["Y"][worst.index])
    assert results.classes == [str(d) for d in range(10)]


def test_runs_are_listed_compared_and_deleted_safely(lenet_run: Path, tmp_path: Path) -> None:
    (runs,) = [list_runs(lenet_run.parent)]
    assert [r.name for r in runs] == ["lenet-a"] and runs[0].state == "finished"
    assert runs[0].best_accuracy == runs[0].summary["best"]["val_accuracy"]
    metrics = read_metrics(lenet_run)
    assert metrics["val"]["epoch"] == [1.0, 2.0] and len(metrics["train"]["loss"]) == len(metrics["train"]["step"])
    other = type(runs[0])(runs[0].path, "lenet", "digits", "finished",
                          {"config": {**runs[0].settings["config"], "lr": 0.01}})
    assert compare_settings(runs[0], other) == {"lr": (0.003, 0.01)}
    stray = tmp_path / "not-a-run"
    stray.mkdir()
    (stray / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a run folder"):
        delete_run(stray)
    assert (stray / "precious.txt").exists()


def test_bundle_holds_what_reproduces_the_run(lenet_run: Path, tmp_path: Path) -> None:
    path = write_bundle(lenet_run, tmp_path / "lenet.zip", figure=b"<svg/>")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {"graph.layerbook.json", "model.py", "weights.pt", "settings.json", "metrics.csv", "summary.json",
                "figure.svg", "README.txt"} <= names
        weights = torch.load(io.BytesIO(archive.read("weights.pt")), weights_only=True)
        namespace: dict = {}
        exec(compile(archive.read("model.py"), "model.py", "exec"), namespace)  # the generated source, in a test
        model = namespace["Lenet"]()
        model.load_state_dict(weights)
        readme = archive.read("README.txt").decode()
        assert "python main.py train graph.layerbook.json --settings settings.json" in readme
        assert "built-in dataset 'digits' version 1" in readme
        assert json.loads(archive.read("settings.json"))["config"]["lr"] == 0.003


def test_generate_text_from_a_trained_language_model(tmp_path: Path) -> None:
    graph = load_graph("gpt")
    for knob, value in (("D", 32), ("N", 1), ("T", 32)):
        graph.set_meta(knob, value)
    config = TrainConfig(dataset="pytext", epochs=1, batch_size=32, lr=0.003, train_size=640, val_size=32)
    assert Trainer(graph, config, run_dir=tmp_path / "gpt").run().state == "finished"
    text = generate_text(tmp_path / "gpt", prompt="def ", length=80)
    assert len(text) == 80 and set(text) <= set(load_run_model(tmp_path / "gpt")[1].vocabulary)
    assert text == generate_text(tmp_path / "gpt", prompt="def ", length=80)  # seeded: reproducible
    with pytest.raises(ValueError, match="language model"):
        generate_text(_classifier_run(tmp_path))


def _classifier_run(tmp_path: Path) -> Path:
    config = TrainConfig(dataset="blobs", epochs=1, train_size=64, val_size=16)
    Trainer(load_graph("mlp"), config, run_dir=tmp_path / "mlp").run()
    return tmp_path / "mlp"
