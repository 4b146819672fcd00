"""A run trained again from its bundle: the README's command takes the complete settings.json and gives the same
metrics row for row; the data a run trained on is recorded, and other data is refused by name."""

from __future__ import annotations

import csv
import json
import shlex
import zipfile
from pathlib import Path

import numpy as np
import pytest

import main
import runtime.data.provenance as provenance
from runtime.bundle import write_bundle
from runtime.data.provenance import VERSIONS, data_difference, describe_data
from runtime.data.registry import BUILTINS
from runtime.training.run_folder import METRICS_FILE, SETTINGS_FILE

TIMING = ("samples_per_s", "elapsed")


def train(*args: str) -> int:
    return main.main(["train", *args])


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / METRICS_FILE, newline="", encoding="utf-8") as stream:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(stream)]


def unzip_bundle(run: Path, folder: Path) -> Path:
    write_bundle(run, folder.parent / "bundle.zip")
    with zipfile.ZipFile(folder.parent / "bundle.zip") as archive:
        archive.extractall(folder)
    return folder


def readme_command(folder: Path) -> list[str]:
    """The arguments of the README's "train it again" command (after `python main.py`)."""
    line = next(line for line in (folder / "README.txt").read_text().splitlines() if "python main.py train" in line)
    return shlex.split(line.split("python main.py", 1)[1])


def test_a_bundle_trains_again_to_the_same_metrics_row_for_row(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Its command used to keep six settings: this run's weight decay and step schedule were lost."""
    first = tmp_path / "first"
    assert train("mlp", "--optimizer", "adamw", "--weight-decay", "0.05", "--schedule", "step", "--step-epochs", "1",
                 "--gamma", "0.5", "--epochs", "3", "--train-size", "400", "--val-size", "100", "--batch-size", "50",
                 "--log-every", "2", "--seed", "7", "--out", str(first), "--quiet") == 0
    folder = unzip_bundle(first, tmp_path / "unzipped")
    arguments = readme_command(folder)
    assert arguments == ["train", "graph.layerbook.json", "--settings", "settings.json"]
    monkeypatch.chdir(folder)
    assert main.main([*arguments, "--quiet"]) == 0
    (again,) = (folder / "runs").iterdir()
    assert rows(again) == rows(first) and len(rows(first)) == 3 * (4 + 1)
    learning_rates = [row["lr"] for row in rows(again) if row["phase"] == "train"]
    assert learning_rates == sorted(learning_rates, key=float, reverse=True) and len(set(learning_rates)) >= 3
    settings = json.loads((again / SETTINGS_FILE).read_text())
    assert settings["config"] == json.loads((first / SETTINGS_FILE).read_text())["config"]
    assert settings["data"] == {"kind": "built-in", "name": "blobs", "version": VERSIONS["blobs"]}


def test_another_version_of_a_built_in_dataset_is_refused_naming_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "first"
    assert train("mlp", "--epochs", "1", "--train-size", "64", "--val-size", "16", "--out", str(first),
                 "--quiet") == 0
    folder = unzip_bundle(first, tmp_path / "unzipped")
    monkeypatch.chdir(folder)
    monkeypatch.setitem(VERSIONS, "blobs", VERSIONS["blobs"] + 1)  # its generator changed since
    capsys.readouterr()
    assert main.main([*readme_command(folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the data differs from the data recorded in the settings file 'settings.json'" in err
    assert f"it trained on built-in dataset 'blobs' version {VERSIONS['blobs'] - 1}; this run would use built-in " \
           f"dataset 'blobs' version {VERSIONS['blobs']}" in err and "--allow-other-data" in err
    assert not (folder / "runs").exists()
    assert main.main([*readme_command(folder), "--quiet", "--allow-other-data"]) == 0


def test_a_data_file_with_other_contents_is_refused_and_a_moved_copy_is_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "points.npz"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 50)).astype(np.float32)
    np.savez(data, X=x, y=(x[:, 0] > 0).astype(np.int64))
    first = tmp_path / "first"
    assert train("mlp", "--data", str(data), "--epochs", "1", "--out", str(first), "--quiet") == 0
    recorded = json.loads((first / SETTINGS_FILE).read_text())["data"]
    assert recorded == {"kind": "file", "name": "points.npz", "size": data.stat().st_size,
                        "sha256": describe_data(str(data))["sha256"]}
    folder = unzip_bundle(first, tmp_path / "unzipped")
    assert "It reads the data from" in (folder / "README.txt").read_text()
    monkeypatch.chdir(folder)
    moved = tmp_path / "elsewhere.npz"
    moved.write_bytes(data.read_bytes())
    assert main.main([*readme_command(folder), "--data", str(moved), "--quiet"]) == 0  # the same content
    x[0, 0] += 1
    np.savez(data, X=x, y=(x[:, 0] > 0).astype(np.int64))
    capsys.readouterr()
    assert main.main([*readme_command(folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"it trained on file 'points.npz' ({recorded['size']:,} bytes, sha256 {recorded['sha256'][:12]})" in err
    assert f"this run would use file 'points.npz' ({data.stat().st_size:,} bytes, sha256 " in err


# ---- the records themselves ------------------------------------------------------------------------------------

def test_every_built_in_dataset_has_a_version() -> None:
    assert set(VERSIONS) == set(BUILTINS)
    assert describe_data("moons") == {"kind": "built-in", "name": "moons", "version": VERSIONS["moons"]}
    assert describe_data(None) is None and describe_data("/no/such/file.csv") is None


def test_built_ins_read_from_this_machine_record_a_hash_of_what_they_read() -> None:
    record = describe_data("digits8")
    assert record["version"] == VERSIONS["digits8"] and len(record["sha256"]) == 64
    assert describe_data("digits")["sha256"] == record["sha256"]  # the same file, rendered at two sizes


def image_folder(root: Path) -> Path:
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            (root / label / f"{i}.png").write_bytes(bytes([i]) * (10 + i))
    return root


def test_a_folder_is_hashed_over_its_paths_sizes_and_contents_and_hidden_files_do_not_count(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "images")
    record = describe_data(str(folder))
    assert (record["kind"], record["name"], record["files"], record["size"], record["hashed"]) == \
        ("folder", "images", 6, 2 * (10 + 11 + 12), "contents")
    (folder / ".DS_Store").write_bytes(b"finder")
    (folder / ".thumbnails").mkdir()
    (folder / ".thumbnails" / "x.png").write_bytes(b"x")
    assert describe_data(str(folder)) == record
    (folder / "cat" / "0.png").write_bytes(b"\x09" * 10)  # same size, other contents
    changed = describe_data(str(folder))
    assert changed["sha256"] != record["sha256"]
    assert data_difference(record, changed).startswith("it trained on folder 'images' (6 files, 66 bytes, sha256 ")
    (folder / "cat" / "0.png").rename(folder / "dog" / "9.png")  # a sample moved to another class
    assert describe_data(str(folder))["sha256"] not in (record["sha256"], changed["sha256"])


def test_a_folder_too_large_to_read_twice_is_hashed_over_its_names_and_sizes(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = image_folder(tmp_path / "images")
    monkeypatch.setattr(provenance, "FOLDER_CONTENT_BYTES", 10)
    record = describe_data(str(folder))
    assert record["hashed"] == "names and sizes"
    (folder / "cat" / "0.png").write_bytes(b"\x09" * 10)
    assert describe_data(str(folder))["sha256"] == record["sha256"]  # contents are not read
    (folder / "cat" / "0.png").write_bytes(b"\x09" * 11)
    assert describe_data(str(folder))["sha256"] != record["sha256"]


def test_a_renamed_file_with_the_same_contents_is_the_same_data(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,0\n")
    (tmp_path / "b.csv").write_text("x,y\n1,0\n")
    assert data_difference(describe_data(str(tmp_path / "a.csv")), describe_data(str(tmp_path / "b.csv"))) is None
    assert data_difference({"kind": "built-in", "name": "blobs", "version": 1}, describe_data("blobs")) is None
