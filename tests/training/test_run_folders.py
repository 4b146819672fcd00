"""Where `train` writes: a run folder named after the graph that never leaves the runs folder, whatever the name,
and never a folder that holds the user's files or another run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import main
from graph import load_graph
from graph.fileformat import save_graph
from runtime.training.folder_lock import LOCK_FILE, lock_run_folder, unlock_run_folder
from runtime.training.run_folder import LAST, new_run_dir
from tests.processes import CHILD_ENVIRONMENT, wait_until

ROOT = Path(__file__).resolve().parents[2]

QUICK = ("--epochs", "1", "--train-size", "64", "--val-size", "16", "--quiet")
HOSTILE = ["/abs/path/x", "../../etc/x", "..", "a/../../b", "line\nbreak", "..\\..\\x", "x" * 300, "", ".hidden",
           "-rf", "CON", "tab\there", "\u202eexe.txt", "~", "a:b*c?d", "\x00nul"]


def train(*args: str) -> int:
    return main.main(["train", *args])


def graph_file(folder: Path, name: str) -> Path:
    """mlp, with another name written straight into its file (as a shared file could carry it)."""
    path = save_graph(load_graph("mlp"), folder / "shared.layerbook.json")
    doc = json.loads(path.read_text())
    doc["name"] = name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("name", ["/abs/path/x", "../../etc/x", "line\nbreak"])
def test_a_graph_file_cannot_choose_where_train_writes(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """It used to write its run folder at /abs/path/x-<date>, or two folders up; validate called the file valid."""
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    path = graph_file(tmp_path, name)
    assert main.main(["validate", str(path)]) == 2
    assert train(str(path), *QUICK) == 2
    assert "name: must not contain" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["here", "shared.layerbook.json", "work"]


@pytest.mark.parametrize("name", HOSTILE)
def test_new_run_dir_stays_in_the_runs_folder_whatever_name_it_is_given(name: str, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    path = new_run_dir(name, root)
    assert path.is_dir() and path.parent == root and path.resolve().parent == root.resolve()
    assert not path.name.startswith((".", "-")) and len(path.name.encode()) <= 160
    assert all(c.isalnum() or c in "-_." for c in path.name), path.name
    assert sorted(root.iterdir()) == [path]


def test_two_runs_started_in_the_same_second_get_two_folders(tmp_path: Path) -> None:
    first, second = new_run_dir("mlp", tmp_path), new_run_dir("mlp", tmp_path)
    assert first != second and second.name == first.name + "-2"


def test_without_out_the_run_goes_under_runs_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert train("mlp", *QUICK) == 0
    (run,) = (tmp_path / "runs").iterdir()
    err = capsys.readouterr().err
    assert f"run folder {run}" in err and f"run folder: {run} (" in err  # the full path, at start and end


# ---- --out into a folder that is there already -----------------------------------------------------------------

def test_out_into_a_folder_of_the_users_files_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only last.pt was looked for: settings.json, metrics.csv and the rest were overwritten without a word."""
    out = tmp_path / "thesis"
    out.mkdir()
    mine = {"settings.json": "my settings", "metrics.csv": "my figures", "notes.txt": "n", "summary.json": "s",
            "z.txt": "z"}
    for name, text in mine.items():
        (out / name).write_text(text)
    (out / "chapters").mkdir()
    assert train("mlp", *QUICK, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert f"'{out}' is not empty and is not a Layerbook run (it holds chapters/, metrics.csv, notes.txt, " \
           "settings.json and 2 more)" in err
    assert "choose a new or empty folder for --out, or continue a run with --resume" in err
    assert {p.name: p.read_text() for p in out.iterdir() if p.is_file()} == mine
    assert sorted(p.name for p in out.iterdir()) == ["chapters", *sorted(mine)]


def test_out_never_overwrites_a_finished_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert train("mlp", *QUICK, "--out", str(out)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert train("mlp", *QUICK, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert f"'{out}' holds a finished run (1 epochs), which is never overwritten" in err
    assert f"--resume {out} --epochs N (N above 1)" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_out_into_an_unfinished_run_suggests_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert train("mlp", *QUICK, "--out", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**summary, "state": "stopped"}))
    capsys.readouterr()
    assert train("mlp", *QUICK, "--out", str(out)) == 2
    assert f"'{out}' holds a run that did not finish: continue it with --resume {out}" in capsys.readouterr().err


def test_out_into_an_empty_folder_or_a_new_one_trains(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert train("mlp", *QUICK, "--out", str(tmp_path / "empty")) == 0
    assert train("mlp", *QUICK, "--out", str(tmp_path / "new" / "deeper")) == 0
    assert (tmp_path / "empty" / "last.pt").is_file() and (tmp_path / "new" / "deeper" / "last.pt").is_file()


def test_out_naming_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "report.pdf").write_text("mine")
    assert train("mlp", *QUICK, "--out", str(tmp_path / "report.pdf")) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "report.pdf").read_text() == "mine"


def test_a_runs_folder_that_cannot_be_written_is_named_before_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "runs").write_text("a file where the runs folder would be")
    monkeypatch.chdir(tmp_path)
    assert train("mlp", *QUICK) == 2
    err = capsys.readouterr().err
    assert f"cannot write the runs folder '{tmp_path / 'runs'}' (runs/ in the working directory)" in err
    assert "is a file, not a folder" in err


# ---- one process at a time in a run folder ---------------------------------------------------------------------

def test_a_run_folder_another_process_trains_in_is_left_alone(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Resuming a run that is still training (the app's Continue beside the command line) used to interleave the
    two processes' metrics and overwrite each other's checkpoints."""
    out = tmp_path / "run"
    command = [sys.executable, str(ROOT / "main.py"), "train", "mlp", "--epochs", "10", "--train-size", "4000",
               "--batch-size", "20", "--log-every", "1", "--quiet", "--out", str(out)]
    process = subprocess.Popen(command, cwd=tmp_path, env=CHILD_ENVIRONMENT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: (out / LAST).is_file(), "the first epoch's checkpoint", timeout=90, process=process)
        assert train("--resume", str(out), "--epochs", "20", "--quiet") == 1
        assert f"'{out}' is being trained by another process (pid {process.pid})" in capsys.readouterr().err
        assert not (out / "summary.json").exists() and process.poll() is None
    finally:
        process.kill()
        process.wait(timeout=30)
    held = lock_run_folder(out)  # the killed process's lock went with it: the folder can be trained in again
    assert held is not None
    unlock_run_folder(held, out)
    assert not (out / LOCK_FILE).exists()


def test_a_run_that_ends_leaves_no_lock_file(tmp_path: Path) -> None:
    assert train("mlp", *QUICK, "--out", str(tmp_path / "run")) == 0
    assert not (tmp_path / "run" / LOCK_FILE).exists()
