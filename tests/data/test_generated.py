"""Moons, spirals, blobs and the token sequence tasks."""

from __future__ import annotations

import pytest
import torch

from runtime.data import DataMismatch, DataOptions, GraphSpec, load_dataset
from tests.data.helpers import classifier, everything, first, spec


def seq2seq_spec(length: int = 12, out_length: int = 12, vocab: int = 16) -> GraphSpec:
    return spec([("X", (length,), "int", vocab), ("Y", (out_length,), "int", vocab)],
                [("P", (out_length, vocab), "cross-entropy")])


@pytest.mark.parametrize("name", ["moons", "spirals", "blobs"])
def test_points_sizes_and_seeds(name: str) -> None:
    graph = classifier((2,), 3 if name != "moons" else 2)
    a, b = load_dataset(name, graph, seed=4), load_dataset(name, graph, seed=4)
    other = load_dataset(name, graph, seed=5)
    assert (len(a.train), len(a.val)) == (2000, 500)
    xa, ya = everything(a.train)
    assert torch.equal(xa["X"], everything(b.train)[0]["X"]) and torch.equal(ya["Y"], everything(b.train)[1]["Y"])
    assert not torch.equal(xa["X"], everything(other.train)[0]["X"])
    assert torch.equal(everything(a.val)[0]["X"], everything(other.val)[0]["X"])  # validation fixed
    assert xa["X"].dtype == torch.float32 and ya["Y"].dtype == torch.int64
    assert set(ya["Y"].tolist()) == set(range(len(a.classes or [])))


def test_spirals_have_one_arm_per_class() -> None:
    data = load_dataset("spirals", classifier((2,), 5), options=DataOptions(size=300, val_size=50))
    assert data.classes == ["0", "1", "2", "3", "4"] and len(data.train) == 300
    with pytest.raises(DataMismatch, match=r"'spirals' needs at least 2 classes but output 'Y' gives 1"):
        load_dataset("spirals", classifier((2,), 1))


def test_blobs_fit_the_mlp_template_and_are_separable() -> None:
    from graph import load_graph

    data = load_dataset("blobs", GraphSpec.of(load_graph("mlp")))
    x, y = everything(data.train)
    vx, vy = everything(data.val)
    assert x["X"].shape == (2000, 50)
    means = torch.stack([x["X"][y["Y"] == k].mean(0) for k in range(2)])
    accuracy = (torch.cdist(vx["X"], means).argmin(1) == vy["Y"]).float().mean()
    assert accuracy >= 0.95  # a linear rule suffices, so an MLP reaches 90%


def test_points_mismatch_messages() -> None:
    with pytest.raises(DataMismatch, match=r"dataset 'moons' gives 2 features but input 'X' expects 1×28×28"):
        load_dataset("moons", classifier((1, 28, 28), 2))
    with pytest.raises(DataMismatch, match=r"dataset 'moons' has 2 classes but output 'Y' gives 1 scores"):
        load_dataset("moons", classifier((2,), 1))
    with pytest.raises(DataMismatch, match=r"dataset 'blobs' gives float values but input 'X' 8 takes int"):
        load_dataset("blobs", spec([("X", (8,), "int", 10)], [("Y", (2,), "cross-entropy")]))


@pytest.mark.parametrize("name", ["reverse", "copy", "sort"])
def test_seq2seq_targets_and_shifted_decoder_input(name: str) -> None:
    data = load_dataset(name, seq2seq_spec(), seed=1, options=DataOptions(size=500, val_size=50))
    x, y = everything(data.train)
    source, decoder, target = x["X"], x["Y"], y["P"]
    expected = {"reverse": source.flip(1), "copy": source, "sort": source.sort(1).values}[name]
    assert data.task == "seq2seq" and torch.equal(target, expected)
    assert (decoder[:, 0] == 0).all() and torch.equal(decoder[:, 1:], target[:, :-1])
    assert source.min() >= 1 and source.max() <= 15
    again = load_dataset(name, seq2seq_spec(), seed=2, options=DataOptions(size=500, val_size=50))
    assert not torch.equal(source, everything(again.train)[0]["X"])


def test_seq2seq_defaults_and_template() -> None:
    from graph import load_graph

    data = load_dataset("reverse", GraphSpec.of(load_graph("transformer")))
    assert (len(data.train), len(data.val)) == (20_000, 2_000)
    assert first(data)[1]["P"].shape == (8, 12)


def test_seq2seq_mismatches() -> None:
    with pytest.raises(DataMismatch, match=r"'reverse'.*input 'X' is 12 and input 'Y' is 10"):
        load_dataset("reverse", seq2seq_spec(12, 10))
    with pytest.raises(DataMismatch, match=r"dataset 'copy' feeds two int inputs.*'X' 12 int"):
        load_dataset("copy", spec([("X", (12,), "int", 16)], [("P", (12, 16), "cross-entropy")]))


def test_majority_labels_recomputed_by_a_loop() -> None:
    graph = spec([("X", (32,), "int", 32)], [("Y", (4,), "cross-entropy")])
    data = load_dataset("majority", graph, seed=0)
    assert (len(data.train), len(data.val)) == (10_000, 1_000) and data.task == "sequence-classification"
    x, y = everything(data.val)
    for tokens, label in zip(x["X"][:300].tolist(), y["Y"][:300].tolist(), strict=True):
        counts = [0] * 4
        for t in tokens:
            counts[t % 4] += 1
        assert counts[label] == max(counts) and counts.count(max(counts)) == 1
    assert torch.bincount(y["Y"], minlength=4).min() > 150  # every class occurs
    with pytest.raises(DataMismatch, match=r"'majority'.*input 'X' takes 3 token ids but output 'Y' gives 4"):
        load_dataset("majority", spec([("X", (32,), "int", 3)], [("Y", (4,), "cross-entropy")]))
