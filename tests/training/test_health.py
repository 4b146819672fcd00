"""Box health during training: dead relus, vanishing gradients and NaN are reported on the box concerned."""

from __future__ import annotations

import torch

from runtime.training import Started, TrainConfig, Trainer
from runtime.training.events import Health
from tests.training.toy import PoisonedSplit, classifier, cluster_dataset


def run_with_health(dataset=None, before=None) -> list[Health]:
    events: list = []
    trainer = Trainer(classifier(), TrainConfig(epochs=1, batch_size=32, lr=0.01, health_every=5),
                      dataset=dataset or cluster_dataset())

    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, Started) and before is not None:
            before(trainer.session.model)

    trainer._on_event = on_event
    trainer.run()
    return [e for e in events if isinstance(e, Health)]


def test_health_every_n_steps_with_gradient_norms_of_trainable_boxes() -> None:
    reports = run_with_health()
    assert [r.step for r in reports] == [5, 10, 15]
    nodes = reports[0].nodes
    assert {"fc1", "relu", "fc2"} <= set(nodes)
    assert nodes["fc1"].grad_norm > 0 and nodes["fc2"].grad_norm > 0
    assert nodes["relu"].grad_norm is None and 0 < nodes["relu"].dead_fraction < 1
    assert not any(h.nonfinite for h in nodes.values())


def test_a_dead_relu_and_its_vanished_gradient_show_on_their_boxes() -> None:
    def kill(model: torch.nn.Module) -> None:
        with torch.no_grad():
            model.fc1.bias.fill_(-1e4)  # every pre-activation negative: the relu outputs only zeros

    nodes = run_with_health(before=kill)[0].nodes
    assert nodes["relu"].dead_fraction == 1.0
    assert nodes["fc1"].grad_norm == 0.0 and nodes["fc2"].grad_norm > 0  # fc2's bias still learns


def test_nan_is_reported_on_the_first_box_that_outputs_it() -> None:
    data = cluster_dataset()
    data.train = PoisonedSplit(data.train, from_batch=5)
    nodes = run_with_health(dataset=data)[0].nodes
    assert nodes["fc1"].nonfinite and nodes["relu"].nonfinite and nodes["fc2"].nonfinite
