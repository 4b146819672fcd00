"""The pytext corpus and a user's text file: vocabulary, window alignment, checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from runtime.data import DataError, DataMismatch, DataOptions, GraphSpec, load_dataset
from tests.data.helpers import CPU, everything, first, spec


def text_spec(length: int = 16, vocab: int = 96, classes: int | None = None) -> GraphSpec:
    return spec([("X", (length,), "int", vocab)], [("Y", (length, classes or vocab), "cross-entropy")])


def test_pytext_vocabulary_and_windows() -> None:
    from graph import load_graph

    data = load_dataset("pytext", GraphSpec.of(load_graph("gpt")))
    vocabulary = data.vocabulary or []
    assert len(vocabulary) == 96 and vocabulary[0] == "\n" and "".join(vocabulary[1:]) == "".join(
        chr(c) for c in range(32, 127))
    assert data.task == "next-token"
    batches = list(data.train.batches(torch.tensor([0, 1, 7]), 2, CPU))
    x = torch.cat([b[0]["X"] for b in batches])
    y = torch.cat([b[1]["Y"] for b in batches])
    assert x.shape == (3, 64) and x.dtype == torch.int64
    assert torch.equal(y[:, :-1], x[:, 1:])  # the target is the input moved by one
    assert torch.equal(x[1, 0], y[0, -1])  # window 1 starts where window 0's target ends (offset i·T)
    text = "".join(vocabulary[i] for i in x[0].tolist())
    assert '"""' in text or text.isprintable() or "\n" in text


def test_pytext_split_by_position_and_unigram_loss() -> None:
    data = load_dataset("pytext", text_spec(128))
    total = int(data.info["characters"])  # type: ignore[call-overload]
    assert total > 3_000_000
    assert len(data.train) == (total - math.ceil(total * 0.1) - 1) // 128
    assert len(data.val) == (math.ceil(total * 0.1) - 1) // 128
    loss = float(data.info["unigram_loss"])  # type: ignore[arg-type]
    assert 2.5 < loss < math.log(96)
    capped = load_dataset("pytext", text_spec(128), options=DataOptions(size=10, val_size=3))
    assert (len(capped.train), len(capped.val)) == (10, 3)


def test_pytext_mismatches() -> None:
    with pytest.raises(DataMismatch, match=r"'pytext' has 96 symbols but input 'X' takes a vocabulary of 50"):
        load_dataset("pytext", text_spec(16, 50))
    with pytest.raises(DataMismatch, match=r"output 'Y' should be cross-entropy with shape 16×96, not mse 16"):
        load_dataset("pytext", spec([("X", (16,), "int", 96)], [("Y", (16,), "mse")]))
    with pytest.raises(DataMismatch, match=r"'pytext' feeds one int input.*'X' 1×28×28 float"):
        load_dataset("pytext", spec([("X", (1, 28, 28), "float")], [("Y", (10,), "cross-entropy")]))


def test_text_file_vocabulary_is_its_sorted_characters(tmp_path: Path) -> None:
    path = tmp_path / "poem.txt"
    path.write_text("the cat sat on the mat.\n" * 40, encoding="utf-8")
    data = load_dataset(str(path), text_spec(8, 12))
    assert data.vocabulary == sorted(set("the cat sat on the mat.\n"))
    x, y = first(data, 2)
    decoded = "".join((data.vocabulary or [])[i] for i in x["X"][0].tolist())
    assert decoded == "the cat "
    assert torch.equal(y["Y"][:, :-1], x["X"][:, 1:])
    inputs, _ = everything(data.val)
    assert len(inputs["X"]) == len(data.val) > 0
    with pytest.raises(DataMismatch, match=r"'poem.txt' has 12 symbols but input 'X' takes a vocabulary of 5"):
        load_dataset(str(path), text_spec(8, 5))


def test_short_or_empty_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_text("abc", encoding="utf-8")
    with pytest.raises(DataError, match="too short"):
        load_dataset(str(path), text_spec(8))
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_dataset(str(path), text_spec(8))
