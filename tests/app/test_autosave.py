"""Autosave sessions: each process writes its autosaves in a session folder it holds locked; only the autosaves of
processes that are gone are offered, never those of a file saved since; a clean exit leaves nothing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from app import autosave
from app.autosave import Leftovers
from app.document import Document
from graph import load_graph
from tests.app.leftovers import left_behind


@pytest.fixture(autouse=True)
def folder(tmp_path: Path) -> Path:
    """The autosave folder of the test (Document.save discards the autosave in the folder set here)."""
    autosave.set_directory(tmp_path / "autosave")
    yield tmp_path / "autosave"
    autosave.set_directory(None)


def test_an_autosave_goes_to_the_session_of_its_process_and_says_what_it_belongs_to(tmp_path: Path, folder: Path,
                                                                                    qtbot) -> None:
    document = Document.from_template("lenet")
    document.set_param("fc1", "out_features", 300)
    written = document.write_autosave()
    assert written == document.autosave_path(folder) and written.name.startswith("untitled-")
    assert written.parent == folder / autosave.session_name() and str(os.getpid()) in written.parent.name
    assert (written.parent / autosave.LOCK).is_file()
    assert json.loads(autosave.about_path(written).read_text()) == {"belongs_to": None, "template": "lenet",
                                                                     "graph": "lenet"}
    assert load_graph(written).node("fc1").params["out_features"] == 300
    saved = document.save(tmp_path / "net.layerbook.json")
    assert not written.exists() and not autosave.about_path(written).exists()  # the file holds the edits now
    document.set_param("fc1", "out_features", 301)
    about = json.loads(autosave.about_path(document.write_autosave()).read_text())
    assert about["belongs_to"] == str(saved.resolve())


def test_only_the_autosaves_of_a_process_that_is_gone_are_offered(folder: Path, qtbot) -> None:
    mine = Document.from_template("mlp")
    mine.write_autosave()
    with Leftovers() as leftovers:
        assert leftovers.entries == []  # this process is running: its autosaves are not left behind
    gone = left_behind(Document.from_template("lenet"), folder)
    with Leftovers() as leftovers:
        (entry,) = leftovers.entries
        assert entry.path == gone and entry.template == "lenet" and entry.graph == "lenet"
        assert entry.describe() == "unsaved graph from template lenet"
        assert entry.written == gone.stat().st_mtime
        with Leftovers() as meanwhile:
            assert meanwhile.entries == []  # held while offered: another editor starting now does not offer it too
    with Leftovers() as later:
        assert [entry.path for entry in later.entries] == [gone]  # kept for later: offered again


def test_an_autosave_of_a_file_saved_since_is_not_offered(tmp_path: Path, folder: Path, qtbot) -> None:
    document = Document.open(Document.from_template("lenet").save(tmp_path / "net.layerbook.json"))
    document.set_param("fc1", "out_features", 300)
    gone = left_behind(document, folder)
    old = time.time() - 60
    os.utime(document.path, (old, old))  # the file was saved before the autosave: its last edits are only there
    assert document.recoverable(document.path) == gone
    assert Document.recoverable(tmp_path / "elsewhere.layerbook.json") is None
    os.utime(document.path)  # saved since
    assert Document.recoverable(document.path) is None
    assert not gone.exists() and not gone.parent.exists()  # nothing left of it to offer, ever


def test_an_autosave_of_a_file_gone_since_is_offered(tmp_path: Path, folder: Path, qtbot) -> None:
    document = Document.open(Document.from_template("lenet").save(tmp_path / "net.layerbook.json"))
    gone = left_behind(document, folder)
    document.path.unlink()
    with Leftovers() as leftovers:
        assert [(e.path, e.belongs_to) for e in leftovers.entries] == [(gone, (tmp_path / "net.layerbook.json"))]


def test_autosave_names_are_stable_per_path_and_untitled_ones_numbered(tmp_path: Path, qtbot) -> None:
    a = Document(load_graph("lenet"), tmp_path / "x.layerbook.json")
    b = Document(load_graph("lenet"), tmp_path / "x.layerbook.json")
    assert a.autosave_path(tmp_path) == b.autosave_path(tmp_path)
    assert Document.new().autosave_path(tmp_path) != Document.new().autosave_path(tmp_path)


def test_a_clean_exit_removes_the_session(qtbot) -> None:
    document = Document.from_template("lenet")
    session = document.write_autosave().parent
    autosave.end_session()
    assert not session.exists()
    with Leftovers() as leftovers:
        assert leftovers.entries == []


def test_a_session_left_empty_is_removed_once_looked_at(folder: Path, qtbot) -> None:
    gone = left_behind(Document.from_template("lenet"), folder)
    (gone.parent / f".{gone.name}.x1y2.tmp").write_text("a write killed before its rename")
    with Leftovers() as leftovers:
        leftovers.discard(leftovers.entries[0])
    assert not gone.parent.exists()


@pytest.mark.parametrize(("value", "expected", "warned"), [
    (None, 30_000, False), ("0.25", 250, False), ("fast", 30_000, True), ("0", 30_000, True),
    ("nan", 30_000, True), ("1e9", 30_000, True)])
def test_the_interval_comes_from_the_environment(value: str | None, expected: int, warned: bool,
                                                 monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    if value is None:
        monkeypatch.delenv(autosave.INTERVAL_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(autosave.INTERVAL_VARIABLE, value)
    assert autosave.interval_ms() == expected
    message = capsys.readouterr().err
    assert (f"{autosave.INTERVAL_VARIABLE} must be a number of seconds" in message) == warned
    assert message.count("\n") == int(warned)  # one line
