"""Hostile but realistic data through `train`: options that would be ignored, labels that cannot teach the output,
arrays that are not numbers, messages that print a symbol for a value. Each refusal exits 2 before any run folder
is made and names the file, the array or column, and the cause."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import main
from graph import load_graph
from runtime.data import DataError, DataOptions, GraphSpec, load_dataset
from runtime.data.folder import decode
from runtime.data.preview import preview
from tests.data.helpers import classifier, everything, spec, write_classifier

ROWS = 60


def train(capsys: pytest.CaptureFixture[str], out: Path, *args: str) -> tuple[int, str]:
    status = main.main(["train", *args, "--epochs", "1", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


def refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> str:
    """The message of a `train` refused as unusable (exit 2) before its run folder was made."""
    out = tmp_path / "run"
    status, err = train(capsys, out, *args)
    assert status == 2, err
    assert not out.exists()
    return err


@pytest.fixture
def net(tmp_path: Path) -> str:
    """2 features → 3 classes."""
    return write_classifier(tmp_path / "net.layerbook.json", 2, 3)


def points(labels: np.ndarray) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(len(labels), 2)).astype(np.float32)


# ---- 1. --label and --features: chosen where they mean something, refused where they would be ignored ----------

def _sources(tmp_path: Path) -> dict[str, str]:
    np.save(tmp_path / "inputs.npy", np.zeros((ROWS, 2), dtype=np.float32))
    (tmp_path / "pics" / "cat").mkdir(parents=True)
    (tmp_path / "book.txt").write_text("some text " * 50, encoding="utf-8")
    return {"built-in": "blobs", "npy": str(tmp_path / "inputs.npy"), "folder": str(tmp_path / "pics"),
            "text": str(tmp_path / "book.txt")}


@pytest.mark.parametrize("kind, what", [("built-in", "is a built-in dataset"), ("npy", "is a single array"),
                                        ("folder", "is an image folder"), ("text", "is a text file")])
@pytest.mark.parametrize("option", [("--label", "kind"), ("--features", "a,b")])
def test_column_options_without_columns_are_refused(kind: str, what: str, option: tuple[str, str], net: str,
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _sources(tmp_path)[kind]
    err = refused(capsys, tmp_path, net, "--data", source, *option)
    assert f"{' '.join(option)}: these choose the columns of a CSV file or the arrays of an .npz file" in err
    assert f"'{source}' {what}" in err


def test_npz_label_and_features_choose_the_arrays(net: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    labels = np.arange(ROWS) % 3
    np.savez(tmp_path / "d.npz", images=points(labels), labels=labels, y=np.zeros(ROWS, dtype=int))
    data = str(tmp_path / "d.npz")
    err = refused(capsys, tmp_path, net, "--data", data)  # no x: the input's array must be named
    assert "'d.npz' has no array 'X' (or x) for input 'X' of shape 2; its arrays: images, labels, y (--features and --label" in err
    status, err = train(capsys, tmp_path / "chosen", net, "--data", data, "--features", "images", "--label", "labels")
    assert status == 0 and "warning" not in err  # 'labels', not the alias 'y' (one class) that would warn
    status, err = train(capsys, tmp_path / "alias", net, "--data", data, "--features", "images")
    assert status == 0 and "warning: every label in d.npz (array 'y') is class 0" in err
    err = refused(capsys, tmp_path, net, "--data", data, "--features", "images", "--label", "nosuch")
    assert "'d.npz' has no array 'nosuch' (--label); its arrays: images, labels, y" in err
    err = refused(capsys, tmp_path, net, "--data", data, "--features", "images,labels")
    assert "--features names one array of 'd.npz' (the input's), not 2: images, labels" in err


# ---- 2. labels that cannot teach the output: warned, or refused when outside its classes ------------------------

def test_one_class_trains_with_a_warning_shown_and_recorded(net: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    labels = np.zeros(ROWS, dtype=int)
    np.savez(tmp_path / "one.npz", x=points(labels), y=labels)
    out = tmp_path / "run"
    status, err = train(capsys, out, net, "--data", str(tmp_path / "one.npz"))
    warning = ("every label in one.npz (array 'y') is class 0: output 'Y' scores 3 classes, and a model trained on "
               "one class learns to give that answer whatever the input")
    assert status == 0 and f"warning: {warning}\n" in err
    assert json.loads((out / "settings.json").read_text())["data_warnings"] == [warning]
    shown = preview(str(tmp_path / "one.npz"), load_spec(net))
    assert shown.kind != "error" and shown.warnings == [warning]  # the Train panel's preview has it before a run


def load_spec(graph_file: str) -> GraphSpec:
    return GraphSpec.of(load_graph(graph_file))


def test_labels_covering_few_classes_are_warned(tmp_path: Path) -> None:
    labels = np.arange(ROWS) % 2  # 0 and 1 of 0..2
    np.savez(tmp_path / "two.npz", x=points(labels), y=labels)
    data = load_dataset(str(tmp_path / "two.npz"), classifier((2,), 3))
    assert data.warnings == ["two.npz (array 'y') has no sample of class 2 (of the 3 classes of output 'Y'): the "
                             "model never learns to give that answer"]
    (tmp_path / "one.csv").write_text("a,b,kind\n" + "1,2,cat\n" * 10, encoding="utf-8")
    assert load_dataset(str(tmp_path / "one.csv"), classifier((2,), 3)).warnings == [
        "every label in one.csv (column 'kind') is class 'cat': output 'Y' scores 3 classes, and a model trained "
        "on one class learns to give that answer whatever the input"]


def test_labels_outside_the_output_are_refused_naming_the_largest(net: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    labels = np.arange(ROWS) % 7
    np.savez(tmp_path / "big.npz", x=points(labels), y=labels)
    err = refused(capsys, tmp_path, net, "--data", str(tmp_path / "big.npz"))
    assert "'y' in big.npz holds class ids up to 6, but output 'Y' scores 3 classes (ids 0..2): give the output 7 " \
           "classes" in err


def test_csv_whole_number_labels_are_the_class_ids(tmp_path: Path) -> None:
    """Labels 0 and 2 stay classes 0 and 2 (they were renumbered 0 and 1, so an exported model answered 1 for 2)."""
    (tmp_path / "gap.csv").write_text("a,b,kind\n" + "".join(f"{i},{i},{2 * (i % 2)}\n" for i in range(10)))
    data = load_dataset(str(tmp_path / "gap.csv"), classifier((2,), 3))
    _, y = everything(data.train)
    assert sorted(set(y["Y"].tolist())) == [0, 2] and data.classes == ["0", "1", "2"]
    assert data.warnings == ["gap.csv (column 'kind') has no sample of class 1 (of the 3 classes of output 'Y'): "
                             "the model never learns to give that answer"]
    (tmp_path / "wine.csv").write_text("a,b,kind\n" + "".join(f"{i},{i},{1 + i % 3}\n" for i in range(12)))
    wine = load_dataset(str(tmp_path / "wine.csv"), classifier((2,), 3))
    assert wine.classes == ["1", "2", "3"] and "(label → class id: 1 → 0, 2 → 1, 3 → 2)" in wine.warnings[0]


# ---- 3. arrays that are not usable numbers ----------------------------------------------------------------------

GOOD_X = np.ones((30, 2), dtype=np.float32)
GOOD_Y = np.arange(30) % 3


def _with_x(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"x": x, "y": GOOD_Y[:len(x)] if x.ndim else GOOD_Y}


def _with_y(y: np.ndarray) -> dict[str, np.ndarray]:
    return {"x": GOOD_X, "y": y}


NAN_AT_4 = np.where(np.arange(60).reshape(30, 2) == 9, np.nan, 1.0)
REFUSED_ARRAYS = [
    (_with_x(GOOD_X + 1j), r"'x' in d.npz holds complex numbers \(1\+1j, \.\.\.\); Layerbook needs numbers: "
                            r"save the real"),
    (_with_x(np.array([{"a": 1}] * 30, dtype=object)), r"array 'x' of '.*d.npz' holds Python objects: Layerbook "
                                                        r"never loads pickled"),
    (_with_x(np.zeros(30, dtype=[("a", "f4"), ("b", "f4")])), r"'x' in d.npz holds records with fields a, b"),
    (_with_x(np.float32(3)), r"'x' in d.npz is a single value \(3\), not one row per sample"),
    (_with_x(np.zeros((0, 2))), r"'d.npz' has 0 samples"),
    (_with_x(NAN_AT_4), r"'x' in d.npz holds NaN in 1 of its 30 samples \(the first at index 4\)"),
    (_with_x(GOOD_X * np.inf), r"'x' in d.npz holds infinite values in 30 of its 30 samples"),
    (_with_x(GOOD_X.astype(np.float64) * 1e300), r"'x' in d.npz holds values too large for 32-bit floats"),
    (_with_x(np.zeros((30, 2), dtype="datetime64[s]")), r"'x' in d.npz holds datetime64 dates \(1970-01-01T00:00"),
    (_with_x(np.array([["cat", "dog"]] * 30)), r"'x' in d.npz holds text \('cat', 'dog', \.\.\.\); Layerbook needs "
                                                r"numbers"),
    (_with_y(np.full(30, 2**62)), r"'y' in d.npz holds class ids up to 4611686018427387904, but output 'Y' scores 3 "
                                  r"classes \(ids 0..2\): these look like other values than ids"),
    (_with_y(np.full(30, 2**63 + 5, dtype=np.uint64)), r"holds class ids up to 9223372036854775813"),
    (_with_y(GOOD_Y - 1), r"'y' in d.npz holds the class id -1, but output 'Y' scores 3 classes"),
    (_with_y(GOOD_Y + 0.5), r"'y' in d.npz holds 0.5 at index 0 where whole numbers are needed: output 'Y' scores 3 "
                            r"classes \(ids 0..2\); for values to predict, use an mse or l1 output"),
    (_with_y(np.where(GOOD_Y == 2, np.nan, 1.0)), r"'y' in d.npz holds nan at index 2 where whole numbers"),
    (_with_y(np.full(30, 1e30)), r"'y' in d.npz holds class ids up to 1e\+30"),
    (_with_y(np.eye(3)[GOOD_Y]), r"'y' in d.npz gives samples of shape 3, but output 'Y' \(cross-entropy, 3\) needs "
                                 r"one class id per sample \(for one-hot rows, save y.argmax\(axis=1\)\)"),
]


@pytest.mark.parametrize("arrays, message", REFUSED_ARRAYS)
def test_unusable_arrays_are_refused_by_file_and_array(arrays: dict[str, np.ndarray], message: str,
                                                       tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning and overflow warnings were all a user saw
        with pytest.raises(DataError, match=message):
            load_dataset(str(tmp_path / "d.npz"), classifier((2,), 3))


def test_images_without_a_channel_axis_or_channels_last(tmp_path: Path) -> None:
    images = np.random.default_rng(0).random((10, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "grey.npz", x=images, y=np.arange(10) % 3)
    x, _ = everything(load_dataset(str(tmp_path / "grey.npz"), classifier((1, 8, 8), 3)).train)
    assert x["X"].shape == (8, 1, 8, 8)
    np.savez(tmp_path / "hwc.npz", x=np.zeros((10, 8, 8, 3)), y=np.arange(10) % 3)
    with pytest.raises(DataError, match=re.escape("'x' in hwc.npz gives samples of shape 8×8×3, but input 'X' "
                                                  "needs 3×8×8 (channels first; these look channels-last: save "
                                                  "x.transpose(0, 3, 1, 2))")):
        load_dataset(str(tmp_path / "hwc.npz"), classifier((3, 8, 8), 3))


def test_complex_arrays_are_refused_by_the_command(net: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "c.npz", x=GOOD_X + 1j, y=GOOD_Y)
    err = refused(capsys, tmp_path, net, "--data", str(tmp_path / "c.npz"))
    assert "'x' in c.npz holds complex numbers" in err and "(np.abs), rather than lose the imaginary part" in err


@pytest.mark.parametrize("arrays, labels", [
    (_with_x(GOOD_X > 0), GOOD_Y),  # bool features: 0 and 1
    (_with_y(GOOD_Y.astype(np.float64)), GOOD_Y),  # whole floats, as np.loadtxt gives them
    (_with_y(GOOD_Y == 1), (GOOD_Y == 1).astype(int)),  # bool labels: classes 0 and 1
    (_with_y(GOOD_Y[:, None]), GOOD_Y),  # a column of labels, as Keras users save them
    (_with_y(np.array(["cat", "dog", "eel"])[GOOD_Y]), GOOD_Y),  # class names, numbered in sorted order
    (_with_y(np.array([b"cat", b"dog", b"eel"])[GOOD_Y]), GOOD_Y),
])
def test_usable_arrays_of_other_kinds_load(arrays: dict[str, np.ndarray], labels: np.ndarray, tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", **arrays, notes=np.array([{"unused": True}], dtype=object))  # never read
    data = load_dataset(str(tmp_path / "d.npz"), classifier((2,), 3))
    y = np.concatenate([everything(data.train)[1]["Y"].numpy(), everything(data.val)[1]["Y"].numpy()])
    assert sorted(y.tolist()) == sorted(labels.tolist())
    if arrays["y"].dtype.kind in "US":
        assert data.classes == ["cat", "dog", "eel"]


# ---- 4. messages print values, not symbols ---------------------------------------------------------------------

def test_blobs_on_an_image_input_names_what_it_gives(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = refused(capsys, tmp_path, "lenet", "--data", "blobs")
    assert "dataset 'blobs' gives a vector of features (as many as the input has) but input 'X' expects 1×28×28" \
        in err


LONE_SYMBOL = re.compile(r"(?<!['\w])[A-Z](?![\w'])")  # F, C, V, T...: a letter standing for a number


@pytest.mark.parametrize("source, graph", [
    ("blobs", classifier((1, 8, 8), 3)),
    ("blobs", spec([("X", (4,), "float")], [("Y", (3,), "mse")])),
    ("digits", spec([("X", (1, 8, 8), "float")], [("Y", (5,), "mse")])),
    ("spirals", spec([("X", (2,), "float")], [("Y", (2,), "mse")])),
    ("reverse", spec([("S", (6,), "int", 8), ("T", (6,), "int", 8)], [("P", (6,), "mse")])),
    ("majority", spec([("S", (6,), "int", 8)], [("P", (6, 2), "mse")])),
    ("pytext", classifier((6,), 3)),
])
def test_mismatch_messages_print_values_not_symbols(source: str, graph: GraphSpec) -> None:
    with pytest.raises(DataError) as refusal:
        load_dataset(source, graph)
    message = str(refusal.value).replace("'X'", "").replace("'Y'", "")
    assert not LONE_SYMBOL.search(message), message


# ---- 5. text where numbers are needed ---------------------------------------------------------------------------

def test_text_arrays_and_cells_are_named(net: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "data.npz", x=np.array([["cat", "dog"]] * ROWS), y=np.arange(ROWS) % 3)
    err = refused(capsys, tmp_path, net, "--data", str(tmp_path / "data.npz"))
    assert "'x' in data.npz holds text ('cat', 'dog', ...); Layerbook needs numbers: convert the text" in err
    (tmp_path / "t.csv").write_text("a,b,kind\n" + "".join(f"{i},x{i},cat\n" for i in range(ROWS)))
    err = refused(capsys, tmp_path, net, "--data", str(tmp_path / "t.csv"))
    assert "'" + str(tmp_path / "t.csv") + "' row 2, column 'b': 'x0' is not a number (features are numbers; to " \
           "leave this column out, pass --features a)" in err


# ---- hostile files of other kinds -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, options, message", [
    ("1,2,0\n3,4,1\n", None, r"starts with a row of numbers \(1, 2, 0\) where the column names belong"),
    ("a,b,kind\n1,,0\n3,4,1\n", None, r"row 2, column 'b': the cell is empty"),
    ("a,b,kind\n1,nan,0\n3,4,1\n", None, r"row 2, column 'b': 'nan' is not a finite number"),
    ("a,b,kind\n1,1e39,0\n3,4,1\n", None, r"row 2, column 'b': '1e39' is not a finite number \(NaN, infinite"),
    ("a,b,kind\n1,2,\n3,4,1\n", None, r"row 2, column 'kind': the label is empty"),
    ('a,b,kind\n1,2,"0\n3,4,1\n', None, r"cannot read '.*bad.csv' as CSV \(line 3\): unexpected end of data"),
    ("a,a,kind\n1,2,0\n3,4,1\n", DataOptions(features=["a", "kind"]), r"has 2 columns named 'a' \(--features\)"),
    ("a,b,kind\n1,2,0\n3,4,1\n", DataOptions(features=["a", "kind"]), r"column 'kind' of '.*bad.csv' is the label"),
])
def test_csv_cells_that_are_not_numbers_name_row_and_column(text: str, options: DataOptions | None, message: str,
                                                            tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_dataset(str(tmp_path / "bad.csv"), classifier((2,), 3), options=options)


def test_csv_as_spreadsheets_and_pandas_write_them(tmp_path: Path) -> None:
    (tmp_path / "semi.csv").write_text("a;b;kind\n" + "".join(f"{i};{i};{i % 3}\n" for i in range(10)))
    assert len(load_dataset(str(tmp_path / "semi.csv"), classifier((2,), 3)).train) == 8
    (tmp_path / "trailing.csv").write_text("a,b,kind,\n" + "".join(f"{i},{i},{i % 3},\n" for i in range(10)))
    assert load_dataset(str(tmp_path / "trailing.csv"), classifier((2,), 3)).info["label"] == "kind"
    (tmp_path / "index.csv").write_text(",a,kind\n" + "".join(f"{i},{i},{i % 3}\n" for i in range(10)))
    saved_index = "column 1 has no name (a saved row index?) and is taken as a feature: leave it out with --features a"
    assert load_dataset(str(tmp_path / "index.csv"), classifier((2,), 3)).warnings == [f"index.csv: {saved_index}"]
    with pytest.raises(DataError, match=re.escape(f"'index.csv' gives 2 features but input 'X' expects 1; "
                                                  f"{saved_index}")):
        load_dataset(str(tmp_path / "index.csv"), classifier((1,), 3))


def test_binary_and_utf16_text_files(tmp_path: Path) -> None:
    graph = spec([("X", (8,), "int", 200)], [("Y", (8, 200), "cross-entropy")])
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"'.*blob.txt' is not UTF-8 text \(byte 0x80 at offset 128"):
        load_dataset(str(tmp_path / "blob.txt"), graph)
    (tmp_path / "nul.txt").write_bytes(b"text\x00" * 40)
    with pytest.raises(DataError, match=r"'.*nul.txt' holds NUL characters \(at offset 4\): a binary file"):
        load_dataset(str(tmp_path / "nul.txt"), graph)
    (tmp_path / "notepad.txt").write_text("ab\n" * 100, encoding="utf-16")  # with its byte-order mark
    assert load_dataset(str(tmp_path / "notepad.txt"), graph).vocabulary == ["\n", "a", "b"]


def _image_folder(root: Path) -> Path:
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    Image.new("RGBA", (5, 50), (255, 0, 0, 10)).save(root / "cat" / "wide.png")
    Image.new("P", (16, 16)).save(root / "cat" / "palette.gif")
    Image.new("CMYK", (9, 9)).save(root / "cat" / "print.jpg")
    Image.new("1", (16, 16), 1).save(root / "dog" / "bits.bmp")
    gradient = (np.arange(16 * 16).reshape(16, 16) * 256).astype(np.uint16)  # 0..65280: 16-bit grey
    Image.fromarray(gradient).save(root / "dog" / "deep.png")
    (root / "cat" / "._wide.png").write_bytes(b"\x00\x05\x16\x07 macOS AppleDouble")  # not an image: ignored
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


def test_images_of_mixed_sizes_and_modes(tmp_path: Path) -> None:
    folder = _image_folder(tmp_path / "pics")
    data = load_dataset(str(folder), classifier((1, 4, 4), 2))
    x = np.concatenate([everything(data.train)[0]["X"].numpy(), everything(data.val)[0]["X"].numpy()])
    assert x.shape == (5, 1, 4, 4) and x.min() >= 0 and x.max() <= 1
    assert Image.open(folder / "dog" / "deep.png").mode.startswith("I")
    # the 16-bit gradient keeps its range (PIL's convert("L") clips it at 255: nearly all white, a mean near 1)
    deep = decode(folder / "dog" / "deep.png", 3, 16, 16)
    assert 0.45 < float(deep.mean()) < 0.55 and float(deep.max()) > 0.99
    assert torch.equal(deep[0], deep[2])


def test_image_folder_hazards(tmp_path: Path) -> None:
    folder = _image_folder(tmp_path / "pics")
    (folder / "dog" / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"cannot read image '.*empty.png': the file is empty \(0 bytes\)"):
        load_dataset(str(folder), classifier((3, 8, 8), 2))
    (folder / "dog" / "empty.png").unlink()
    (folder / "dog" / "loop.png").symlink_to(folder / "dog" / "loop.png")
    with pytest.raises(DataError, match=r"cannot read image '.*loop.png'"):
        load_dataset(str(folder), classifier((3, 8, 8), 2))
    (folder / "dog" / "loop.png").unlink()
    (folder / "back").symlink_to(folder)  # a class folder that loops to its parent: no images, no hang
    data = load_dataset(str(folder), classifier((3, 8, 8), 3))
    assert data.classes == ["back", "cat", "dog"]
    assert data.warnings == [f"folder '{folder}' has no sample of class 'back' (of the 3 classes of output 'Y'): "
                             "the model never learns to give that answer"]
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"'.*gone' is a symbolic link to nothing"):
        load_dataset(str(tmp_path / "gone"), classifier((3, 8, 8), 2))


def test_a_data_path_too_long_for_the_file_system_is_named(tmp_path: Path) -> None:
    """`train --data <300 characters>.csv` was an OSError traceback (File name too long)."""
    source = str(tmp_path / ("a" * 300 + ".csv"))
    with pytest.raises(DataError, match=r"^cannot read '.*a\.csv': File name too long$"):
        load_dataset(source, classifier((3, 8, 8), 2))


def test_a_folder_of_one_class_is_warned(tmp_path: Path) -> None:
    folder = _image_folder(tmp_path / "pics")
    for image in (folder / "dog").iterdir():
        image.unlink()
    (folder / "dog").rmdir()
    data = load_dataset(str(folder), classifier((3, 8, 8), 3))
    assert data.warnings == [f"every label in folder '{folder}' is class 'cat': output 'Y' scores 3 classes, and a "
                             "model trained on one class learns to give that answer whatever the input"]
