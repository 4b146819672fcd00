"""A user's files: CSV, npz / npy, image folders (in memory and streamed), and the dataset registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from runtime.data import DataError, DataMismatch, DataOptions, GraphSpec, TensorSplit, builtin_datasets, load_dataset
from tests.data.helpers import CPU, classifier, everything, spec


def write_csv(path: Path, rows: list[str]) -> str:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_csv_classification_round_trip(tmp_path: Path) -> None:
    rows = ["a,b,kind"] + [f"{i},{i * 2},{'cat' if i % 3 else 'dog'}" for i in range(50)]
    data = load_dataset(write_csv(tmp_path / "pets.csv", rows), classifier((2,), 3))
    assert data.task == "classification" and data.classes == ["cat", "dog"]
    assert data.warnings == ["output 'Y' scores 3 classes but pets.csv (column 'kind') has 2: the 1 extra score "
                             "is never the answer"]
    assert (len(data.train), len(data.val)) == (40, 10)
    x = torch.cat([everything(data.train)[0]["X"], everything(data.val)[0]["X"]])
    y = torch.cat([everything(data.train)[1]["Y"], everything(data.val)[1]["Y"]])
    for (a, b), label in zip(x.tolist(), y.tolist(), strict=True):
        assert b == 2 * a and label == (0 if int(a) % 3 else 1)
    assert sorted(x[:, 0].tolist()) == list(range(50))


def test_csv_regression_and_chosen_columns(tmp_path: Path) -> None:
    rows = ["x,noise,y"] + [f"{i},7,{i * 0.5}" for i in range(20)]
    graph = spec([("X", (1,), "float")], [("Y", (1,), "mse")])
    data = load_dataset(write_csv(tmp_path / "line.csv", rows), graph,
                        options=DataOptions(features=["x"], label="y"))
    x, y = everything(data.train)
    assert data.task == "regression" and y["Y"].shape == (16, 1)
    assert torch.allclose(y["Y"], x["X"] * 0.5)


def test_csv_errors_name_the_cause(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", ["a,b,c", "1,2,x", "3,oops,y"])
    with pytest.raises(DataError, match=r"'.*bad.csv' row 3, column 'b': 'oops' is not a number"):
        load_dataset(bad, classifier((2,), 2))
    with pytest.raises(DataMismatch, match=r"'bad.csv' gives 2 features but input 'X' expects 5"):
        load_dataset(bad, classifier((5,), 2))
    many = write_csv(tmp_path / "many.csv", ["a,c"] + [f"{i},{i}" for i in range(10)])
    with pytest.raises(DataMismatch, match=r"column 'c' of many.csv has 10 distinct labels but output 'Y' scores 3"):
        load_dataset(many, classifier((1,), 3))
    with pytest.raises(DataError, match=r"no column 'zzz'"):
        load_dataset(many, classifier((1,), 10), options=DataOptions(label="zzz"))


def test_npz_round_trip_by_node_names_and_aliases(tmp_path: Path) -> None:
    x = np.arange(30 * 4, dtype=np.float64).reshape(30, 4)
    y = np.arange(30) % 3
    np.savez(tmp_path / "named.npz", X=x, Y=y)
    np.savez(tmp_path / "alias.npz", x=x, y=y)
    for name in ("named.npz", "alias.npz"):
        data = load_dataset(str(tmp_path / name), classifier((4,), 3))
        inputs, targets = everything(data.train)
        assert inputs["X"].dtype == torch.float32 and targets["Y"].dtype == torch.int64
        rows = (inputs["X"][:, 0] / 4).long()
        assert torch.equal(targets["Y"], rows % 3)
        assert (len(data.train), len(data.val)) == (24, 6)


def test_npz_two_int_inputs(tmp_path: Path) -> None:
    src = np.random.default_rng(0).integers(1, 16, (20, 12))
    np.savez(tmp_path / "s2s.npz", X=src, Y=src, P=src)
    graph = spec([("X", (12,), "int", 16), ("Y", (12,), "int", 16)], [("P", (12, 16), "cross-entropy")])
    data = load_dataset(str(tmp_path / "s2s.npz"), graph)
    assert data.task == "seq2seq"
    with pytest.raises(DataMismatch, match=r"'X' in s2s.npz holds token ids up to 15, but input 'X' takes 8 token "
                                           r"ids \(0..7\): raise its vocabulary to 16"):
        load_dataset(str(tmp_path / "s2s.npz"), spec([("X", (12,), "int", 8), ("Y", (12,), "int", 16)],
                                                     [("P", (12, 16), "cross-entropy")]))


def test_npz_mismatches_and_object_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 3)), y=np.zeros(10, dtype=int))
    with pytest.raises(DataMismatch, match=r"'x' in d.npz gives samples of shape 3, but input 'X' needs 4: save it "
                                           r"as an array of shape \(10, 4\)"):
        load_dataset(str(tmp_path / "d.npz"), classifier((4,), 2))
    np.savez(tmp_path / "nolabel.npz", x=np.zeros((10, 3)))
    with pytest.raises(DataMismatch, match=r"no array 'Y' \(or y\) for output 'Y'"):
        load_dataset(str(tmp_path / "nolabel.npz"), classifier((3,), 2))
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError, match=r"array 'x' of '.*obj.npz' holds Python objects: Layerbook never loads"):
        load_dataset(str(tmp_path / "obj.npz"), classifier((3,), 2))
    np.save(tmp_path / "plain.npy", np.zeros((4, 3)))
    (tmp_path / "plain.npy").rename(tmp_path / "plain.npz")
    with pytest.raises(DataError, match=r"'.*plain.npz' is not an .npz archive"):
        load_dataset(str(tmp_path / "plain.npz"), classifier((3,), 2))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"'.*junk.npz' is neither an .npz archive nor an .npy array"):
        load_dataset(str(tmp_path / "junk.npz"), classifier((3,), 2))


def test_npy_only_for_reconstruction(tmp_path: Path) -> None:
    images = np.random.default_rng(1).random((20, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "faces.npy", images)
    auto = spec([("X", (1, 8, 8), "float")], [("Y", (1, 8, 8), "mse")])
    data = load_dataset(str(tmp_path / "faces.npy"), auto)
    x, y = everything(data.train)
    assert data.task == "reconstruction" and torch.equal(x["X"], y["Y"])
    with pytest.raises(DataMismatch, match=r"'faces.npy' holds inputs only.*output 'Y' is cross-entropy 10.*npz"):
        load_dataset(str(tmp_path / "faces.npy"), classifier((1, 8, 8), 10))


def make_folder(root: Path, per_class: int = 6) -> Path:
    colours = {"blue": (0, 0, 255), "red": (255, 0, 0)}
    for name, colour in colours.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (12 + i, 10), colour).save(root / name / f"{i}.png")
    return root


def test_image_folder_in_memory_and_streamed_agree(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "pics")
    graph = classifier((3, 8, 8), 2)
    held = load_dataset(str(folder), graph)
    assert isinstance(held.train, TensorSplit) and held.classes == ["blue", "red"]
    x, y = everything(held.train)
    assert x["X"].shape == (9, 3, 8, 8)
    assert torch.equal(x["X"][:, 2].mean((1, 2)) == 1.0, y["Y"] == 0)  # blue images are class 0
    streamed = load_dataset(str(folder), graph, options=DataOptions(stream_bytes=100, workers=0))
    assert not isinstance(streamed.train, TensorSplit) and streamed.info["streamed"]
    sx, sy = everything(streamed.train, batch_size=4)
    assert torch.equal(sx["X"], x["X"]) and torch.equal(sy["Y"], y["Y"])
    grey = load_dataset(str(folder), classifier((1, 4, 4), 2))
    assert everything(grey.val)[0]["X"].shape == (3, 1, 4, 4)


def test_streamed_folder_with_workers(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "pics", per_class=4)
    data = load_dataset(str(folder), classifier((3, 8, 8), 2), options=DataOptions(stream_bytes=1, workers=1))
    x, y = everything(data.train, batch_size=3)
    assert x["X"].shape == (6, 3, 8, 8) and len(y["Y"]) == 6  # 8 images, 2 kept for validation


def test_streamed_unreadable_image_names_the_file(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "pics", per_class=5)
    for i in range(5):
        (folder / "red" / f"{i}.png").write_bytes(b"garbage")
    data = load_dataset(str(folder), classifier((3, 8, 8), 2), options=DataOptions(stream_bytes=1, workers=1))
    with pytest.raises(DataError, match=r"cannot read image '.*red.*\.png'"):
        everything(data.train, batch_size=4)


def test_image_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no class sub-folders"):
        load_dataset(str(tmp_path / "empty"), classifier((3, 8, 8), 2))
    folder = make_folder(tmp_path / "pics")
    (folder / "red" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"cannot read image '.*broken.png'"):
        load_dataset(str(folder), classifier((3, 8, 8), 2))


def test_unknown_names_and_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown dataset 'mnist'.*digits.*shapes.*or a path to a .csv"):
        load_dataset("mnist", classifier((1, 28, 28), 10))
    with pytest.raises(DataError, match=r"no such file or folder: '.*nothere.csv'"):
        load_dataset(str(tmp_path / "nothere.csv"), classifier((2,), 2))
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(DataError, match=r"'.*data.json' is not a dataset"):
        load_dataset(str(tmp_path / "data.json"), classifier((2,), 2))


def test_builtin_datasets_listed() -> None:
    names = builtin_datasets()
    assert list(names) == ["digits", "digits8", "shapes", "moons", "spirals", "blobs", "pytext", "reverse", "copy",
                           "sort", "majority"]
    assert all(isinstance(d, str) and d and "\n" not in d for d in names.values())


def test_tensor_split_batches_follow_the_order() -> None:
    split = TensorSplit({"X": torch.arange(10.0)[:, None]}, {"Y": torch.arange(10) * 10})
    batches = list(split.batches(torch.tensor([3, 1, 4, 1, 5]), 2, CPU))
    assert [b[0]["X"][:, 0].tolist() for b in batches] == [[3.0, 1.0], [4.0, 1.0], [5.0]]
    assert [b[1]["Y"].tolist() for b in batches] == [[30, 10], [40, 10], [50]]


def test_every_template_with_its_dataset() -> None:
    from graph import load_graph

    pairs = {"lenet": "digits", "mlp": "blobs", "autoencoder": "digits", "unet": "shapes", "vit": "shapes",
             "gpt": "pytext", "transformer": "copy", "lstm": "majority"}
    for template, source in pairs.items():
        graph = GraphSpec.of(load_graph(template))
        data = load_dataset(source, graph, options=DataOptions(size=16, val_size=8))
        inputs, targets = next(iter(data.train.batches(torch.arange(4), 4, CPU)))
        assert set(inputs) == {i.name for i in graph.inputs}, template
        for out in graph.outputs:
            assert targets[out.name].shape == (4, *out.target_shape), template


def test_preview_shows_images_rows_text_or_the_reason() -> None:
    from graph import load_graph
    from runtime.data import GraphSpec
    from runtime.data.preview import preview

    shown = preview("digits", GraphSpec.of(load_graph("lenet")), count=8)
    assert shown.kind == "images" and len(shown.images) == 8 and shown.images[0].shape == (28, 28, 3)
    assert shown.images[0].dtype == torch.uint8 and int(shown.images[0].max()) == 255
    assert all(label in [str(d) for d in range(10)] for label in shown.labels)
    assert preview("blobs", GraphSpec.of(load_graph("mlp")), count=4).kind == "table"
    text = preview("pytext", GraphSpec.of(load_graph("gpt")), count=8)
    assert text.kind == "text" and len(text.text) == 2 * 64
    wrong = preview("pytext", GraphSpec.of(load_graph("lenet")))
    assert wrong.kind == "error" and "'X' 1×28×28" in wrong.error
