"""What a trained model does on its validation data: a confusion matrix, every sample's prediction with its loss
(worst mistakes first, for a gallery), and text sampled from a language model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from graph import load_graph
from runtime.compile import build_module
from runtime.data import Dataset, GraphSpec, load_dataset
from runtime.training.config import TrainConfig
from runtime.training.run_folder import BEST, GRAPH_FILE, LAST, SETTINGS_FILE, read_json
from runtime.training.session import data_options
from runtime.weights import load_weights


@dataclass
class Prediction:
    index: int  # in the validation split
    target: int
    predicted: int
    confidence: float  # the probability given to `predicted`
    loss: float


@dataclass
class Results:
    classes: list[str]
    confusion: torch.Tensor  # (true class, predicted class) counts
    predictions: list[Prediction]  # worst (highest loss) first
    inputs: dict[str, torch.Tensor]  # the validation inputs, to draw the samples

    @property
    def accuracy(self) -> float:
        return float(self.confusion.diag().sum() / self.confusion.sum()) if self.confusion.sum() else 0.0

    def mistakes(self) -> list[Prediction]:
        return [p for p in self.predictions if p.predicted != p.target]


def load_run_model(run_dir: Path, checkpoint: str = BEST) -> tuple[torch.nn.Module, Dataset, TrainConfig]:
    """The model of a run with its best (or last) weights, and its validation data."""
    graph = load_graph(run_dir / GRAPH_FILE)
    config = TrainConfig.from_dict(read_json(run_dir / SETTINGS_FILE)["config"])
    model = build_module(graph)
    weights = run_dir / checkpoint if (run_dir / checkpoint).is_file() else run_dir / LAST
    load_weights(model, weights)
    options = data_options(config)
    dataset = load_dataset(config.dataset or "", GraphSpec.of(graph), seed=config.seed, options=options)
    return model.eval(), dataset, config


@torch.no_grad()
def classification_results(run_dir: Path, limit: int = 2000, batch: int = 256) -> Results:
    """Confusion matrix and per-sample predictions of a classifier (its first output) on validation samples."""
    model, dataset, _ = load_run_model(run_dir)
    order = torch.arange(min(limit, len(dataset.val)))
    inputs_seen: dict[str, list[torch.Tensor]] = {}
    scores, targets = [], []
    output = model.output_names[0]
    for inputs, target in dataset.val.batches(order, batch, torch.device("cpu")):
        result = model(**inputs)
        scores.append(result[0] if isinstance(result, tuple) else result)
        targets.append(target[output])
        for k, v in inputs.items():
            inputs_seen.setdefault(k, []).append(v)
    logits, labels = torch.cat(scores), torch.cat(targets)
    if logits.dim() != 2:
        raise ValueError("a confusion matrix needs a classifier: one class score vector per sample")
    classes = dataset.classes or [str(c) for c in range(logits.shape[1])]
    count = max(len(classes), logits.shape[1])
    confusion = torch.zeros(count, count, dtype=torch.int64)
    predicted = logits.argmax(1)
    confusion.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    losses = F.cross_entropy(logits, labels, reduction="none")
    probabilities = logits.softmax(1).gather(1, predicted[:, None])[:, 0]
    predictions = [Prediction(i, int(labels[i]), int(predicted[i]), float(probabilities[i]), float(losses[i]))
                   for i in range(len(labels))]
    predictions.sort(key=lambda p: p.loss, reverse=True)
    return Results(classes, confusion[:len(classes), :len(classes)] if len(classes) <= count else confusion,
                   predictions, {k: torch.cat(v) for k, v in inputs_seen.items()})


@torch.no_grad()
def generate_text(run_dir: Path, prompt: str = "\n", length: int = 200, temperature: float = 0.8,
                  seed: int = 0) -> str:
    """Sample `length` characters from a trained character-level language model, continuing `prompt`."""
    model, dataset, _ = load_run_model(run_dir)
    vocabulary = dataset.vocabulary
    if not vocabulary:
        raise ValueError("this run's dataset has no vocabulary: text generation needs a language model")
    index = {ch: i for i, ch in enumerate(vocabulary)}
    context = next(iter(dataset.train.batches(torch.arange(1), 1, torch.device("cpu"))))[0]
    (name, sample), = context.items()
    window = sample.shape[1]
    tokens = [index.get(ch, 0) for ch in prompt] or [0]
    generator = torch.Generator().manual_seed(seed)
    for _ in range(length):
        ids = torch.tensor(tokens[-window:])
        padded = torch.cat([torch.zeros(window - len(ids), dtype=torch.int64), ids])[None]  # left-pad to T
        scores = model(**{name: padded})[0, -1] / max(temperature, 1e-4)
        tokens.append(int(torch.multinomial(scores.softmax(-1), 1, generator=generator)))
    return "".join(vocabulary[t] for t in tokens[len(prompt) or 1:])
