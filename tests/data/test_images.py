"""Digits and shapes: values, sizes, determinism, patches, reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from runtime.data import DataMismatch, DataOptions, load_dataset
from runtime.data.geometry import patchify
from runtime.data.images import digit_statistics
from runtime.data.shapes import SHAPE_CLASSES, render_shapes, shape_parameters
from tests.data.helpers import CPU, classifier, everything, first, spec


def test_digits8_equal_scikit_learn_values() -> None:
    from sklearn.datasets import load_digits

    reference = load_digits()
    data = load_dataset("digits8", classifier((1, 8, 8), 10))
    x_train, y_train = everything(data.train)
    x_val, y_val = everything(data.val)
    assert (len(data.train), len(data.val)) == (1437, 360)
    mean, std = digit_statistics()  # classifiers get standardised pixels
    x = (torch.cat([x_train["X"], x_val["X"]]).reshape(-1, 64) * std + mean).numpy()
    y = torch.cat([y_train["Y"], y_val["Y"]]).numpy()
    # Every sample is one of scikit-learn's, scaled from 0..16 to 0..1, with its label.
    mine = {(tuple((row * 16).round().astype(int)), int(label)) for row, label in zip(x, y, strict=True)}
    theirs = {(tuple(row.astype(int)), int(label)) for row, label in zip(reference.data, reference.target,
                                                                          strict=True)}
    assert mine == theirs
    assert x.min() == 0.0 and x.max() == 1.0


def test_digits_rendered_at_28_are_scikit_learn_digits_interpolated() -> None:
    from sklearn.datasets import load_digits

    data = load_dataset("digits", classifier((1, 28, 28), 10))
    x_train, _ = everything(data.train)
    mean, std = digit_statistics()
    assert abs(x_train["X"].mean().item()) < 0.1 and 0.75 < x_train["X"].std().item() < 1.05  # smoother at 28×28
    assert x_train["X"].shape == (1437, 1, 28, 28)
    originals = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 16
    expected = torch.nn.functional.interpolate(originals, size=(28, 28), mode="bilinear", align_corners=False)
    expected = (expected.clamp(0, 1) - mean) / std

    def keys(images: torch.Tensor) -> set[tuple[int, ...]]:
        return {tuple(row) for row in (images.reshape(len(images), -1) * 1000).round().int().tolist()}

    assert keys(x_train["X"]) <= keys(expected)
    # Resampled back to 8×8 the images are still close to the originals (mean error of a smooth resampling).
    down = torch.nn.functional.interpolate(x_train["X"], size=(8, 8), mode="area")
    native, _ = everything(load_dataset("digits8", classifier((1, 8, 8), 10)).train)
    assert (down - native["X"]).abs().mean() * std < 0.1


def test_digits_flat_64_and_validation_independent_of_seed() -> None:
    a = load_dataset("digits8", classifier((64,), 10), seed=0)
    b = load_dataset("digits8", classifier((64,), 10), seed=5)
    assert torch.equal(everything(a.val)[0]["X"], everything(b.val)[0]["X"])
    assert everything(a.val)[0]["X"].shape == (360, 64)
    capped = load_dataset("digits8", classifier((64,), 10), options=DataOptions(size=100, val_size=30))
    assert (len(capped.train), len(capped.val)) == (100, 30)
    assert torch.equal(everything(capped.val)[0]["X"], everything(a.val)[0]["X"][:30])  # a prefix, same order


def test_digits_mismatches_name_dataset_node_and_shapes() -> None:
    with pytest.raises(DataMismatch, match=r"dataset 'digits' gives 1×28×28 images but input 'X' expects 3×224×224"):
        load_dataset("digits", classifier((3, 224, 224), 10))
    with pytest.raises(DataMismatch, match=r"'digits8'.*1×8×8.*'X' expects 1×28×28"):
        load_dataset("digits8", classifier((1, 28, 28), 10))
    with pytest.raises(DataMismatch, match=r"dataset 'digits' has 10 classes but output 'Y' gives 4 scores"):
        load_dataset("digits", classifier((1, 28, 28), 4))


def test_digits_reconstruction_targets_are_the_inputs() -> None:
    data = load_dataset("digits", spec([("X", (1, 28, 28), "float")], [("Y", (1, 28, 28), "mse")]))
    x, y = first(data)
    assert data.task == "reconstruction" and torch.equal(x["X"], y["Y"])


def test_shapes_batches_do_not_depend_on_batch_boundaries() -> None:
    data = load_dataset("shapes", classifier((3, 48, 40), 6), seed=3)
    order = torch.arange(64)
    (whole,) = list(data.train.batches(order, 64, CPU))
    halves = list(data.train.batches(order, 32, CPU))
    assert torch.equal(whole[0]["X"], torch.cat([h[0]["X"] for h in halves]))
    assert torch.equal(whole[1]["Y"], torch.cat([h[1]["Y"] for h in halves]))
    shuffled = next(iter(data.train.batches(torch.tensor([5, 2]), 2, CPU)))
    assert torch.equal(shuffled[0]["X"][0], whole[0]["X"][5])


def test_shapes_seeded_sizes_and_balance() -> None:
    graph = classifier((1, 32, 32), 6)
    a, b = load_dataset("shapes", graph, seed=1), load_dataset("shapes", graph, seed=1)
    other = load_dataset("shapes", graph, seed=2)
    assert (len(a.train), len(a.val)) == (4000, 1000)
    assert torch.equal(first(a)[0]["X"], first(b)[0]["X"])
    assert not torch.equal(first(a)[0]["X"], first(other)[0]["X"])
    assert torch.equal(everything(a.val)[0]["X"][:50], everything(other.val)[0]["X"][:50])
    counts = torch.bincount(everything(a.train)[1]["Y"], minlength=6)
    assert counts.min() >= 600 and counts.max() <= 700
    assert a.classes == SHAPE_CLASSES
    small = load_dataset("shapes", graph, options=DataOptions(size=100, val_size=20))
    assert (len(small.train), len(small.val)) == (100, 20)


def test_shapes_classes_are_visibly_different() -> None:
    # A nearest-mean classifier on the shape masks alone should beat chance by far: the task is learnable.
    p = shape_parameters(600, 0)
    p["fg"], p["bg"] = torch.ones_like(p["fg"]), torch.zeros_like(p["bg"])
    p["centre"] = torch.zeros_like(p["centre"])
    p["size"] = torch.full_like(p["size"], 0.8)
    x = render_shapes(p, 1, 24, 24).flatten(1).round()
    means = torch.stack([x[:300][p["label"][:300] == k].mean(0) for k in range(6)])
    guess = torch.cdist(x[300:], means).argmin(1)
    assert (guess == p["label"][300:]).float().mean() > 0.9


def test_shapes_render_in_range() -> None:
    """How fast is measured by `python -m bench training` (shapes rendering), not here."""
    p = shape_parameters(64, 0)
    images = render_shapes(p, 3, 224, 224)
    assert images.shape == (64, 3, 224, 224) and images.min() >= 0 and images.max() <= 1


def test_patchify_matches_a_reshape_reference() -> None:
    images = torch.randn(2, 3, 32, 32)
    p = 8
    reference = images.reshape(2, 3, 4, p, 4, p).permute(0, 2, 4, 1, 3, 5).reshape(2, 16, 3 * p * p)
    assert torch.equal(patchify(images, p), reference)
    # Patch 1 is the second from the left in the top row, its first values channel 0's first row.
    assert torch.equal(patchify(images, p)[0, 1, :p], images[0, 0, 0, p:2 * p])


def test_vision_transformer_inputs_get_patches_of_the_rendered_image() -> None:
    data = load_dataset("shapes", classifier((16, 192), 10), seed=0)
    plain = load_dataset("shapes", classifier((3, 32, 32), 10), seed=0)
    x, _ = first(data)
    images, _ = first(plain)
    assert x["X"].shape == (8, 16, 192)
    assert torch.equal(x["X"], patchify(images["X"], 8))
    assert data.warnings == ["output 'Y' scores 10 classes but dataset 'shapes' has 6: the 4 extra scores are "
                             "never the answer"]


def test_shapes_with_too_few_scores_and_several_inputs_are_refused() -> None:
    with pytest.raises(DataMismatch, match=r"dataset 'shapes' has 6 classes but output 'Y' gives 4 scores"):
        load_dataset("shapes", classifier((3, 32, 32), 4))
    two = spec([("A", (1, 8, 8), "float"), ("B", (1, 8, 8), "float")], [("Y", (6,), "cross-entropy")])
    with pytest.raises(DataMismatch, match=r"dataset 'shapes' feeds one input.*'A'.*'B'"):
        load_dataset("shapes", two)
    with pytest.raises(DataMismatch, match=r"output 'Y' \(mse, 5\)"):
        load_dataset("shapes", spec([("X", (1, 8, 8), "float")], [("Y", (5,), "mse")]))


def test_shapes_bce_targets_are_one_hot() -> None:
    data = load_dataset("shapes", spec([("X", (1, 16, 16), "float")], [("Y", (6,), "bce")]))
    _, y = first(data)
    assert y["Y"].dtype == torch.float32 and torch.equal(y["Y"].sum(1), torch.ones(8))


def test_unet_reconstructs_grey_shapes() -> None:
    from graph import load_graph
    from runtime.data import GraphSpec

    data = load_dataset("shapes", GraphSpec.of(load_graph("unet")))
    x, y = first(data)
    assert data.task == "reconstruction" and x["X"].shape == (8, 1, 64, 64) and torch.equal(x["X"], y["Y"])
    assert np.isfinite(x["X"].numpy()).all()
