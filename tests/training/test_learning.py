"""Quality of learning on the CPU, with each template's own training defaults and the data that ships with the
program (sizes capped where an epoch would take minutes)."""

from __future__ import annotations

import pytest

from graph import load_graph
from graph.library import template_names
from runtime.data import builtin_datasets
from runtime.training import Finished, TrainConfig, Trainer, template_config


def train_template(name: str, **changes) -> Finished:
    graph = load_graph(name)
    outcome = Trainer(graph, template_config(graph.training).updated(**changes)).run()
    assert isinstance(outcome, Finished), outcome
    return outcome


def test_lenet_on_digits_reaches_97_percent_within_10_epochs() -> None:
    outcome = train_template("lenet")
    assert outcome.summary["epochs"] == 10
    assert outcome.summary["final"]["val_accuracy"] >= 0.97


def test_mlp_on_blobs_reaches_90_percent() -> None:
    outcome = train_template("mlp", epochs=5)
    assert outcome.summary["final"]["val_accuracy"] >= 0.90


def test_gpt_on_pytext_ends_well_below_a_unigram_model() -> None:
    graph = load_graph("gpt")
    events: list = []
    trainer = Trainer(graph, template_config(graph.training).updated(epochs=1, train_size=6400, val_size=320),
                      on_event=events.append)
    outcome = trainer.run()
    unigram = trainer.session.dataset.info["unigram_loss"]  # the entropy of the training text's characters
    assert 3.0 < unigram < 3.4
    assert outcome.summary["final"]["val_loss"] < unigram - 0.5


def test_transformer_on_reverse_reaches_95_percent_token_accuracy() -> None:
    outcome = train_template("transformer", epochs=2, train_size=8000, val_size=1000)
    assert outcome.summary["final"]["val_accuracy"] >= 0.95


TRAINED = [name for name in template_names() if load_graph(name).training]


def test_templates_that_train_name_a_built_in_dataset_and_valid_settings() -> None:
    assert {"lenet", "mlp", "gpt", "transformer", "resnet50", "vit", "lstm", "autoencoder"} <= set(TRAINED)
    for name in TRAINED:
        config = template_config(load_graph(name).training)
        assert config.dataset in builtin_datasets(), name


@pytest.mark.parametrize("name", [n for n in TRAINED if n != "gpt2-small"])
def test_every_template_trains_a_step_on_its_own_dataset(name: str) -> None:
    outcome = train_template(name, epochs=1, batch_size=2, train_size=2, val_size=2)
    assert outcome.summary["steps"] == 1 and outcome.summary["final"]["val_loss"] > 0


def test_gpt2_small_trains_a_step_at_a_short_context() -> None:
    graph = load_graph("gpt2-small")
    # the full 1,024-token context costs half a minute on a CPU for the same path
    graph.set_param("X", "shape", [32])
    graph.set_param("wpe", "max_len", 32)
    config = TrainConfig.from_dict(graph.training).updated(epochs=1, batch_size=2, train_size=2, val_size=2)
    outcome = Trainer(graph, config).run()
    assert isinstance(outcome, Finished) and outcome.summary["parameters"] == 124_439_808 - (1024 - 32) * 768
