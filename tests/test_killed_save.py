"""Saving under SIGKILL: a process killed at random moments while it saves a graph leaves the previous file or the
new one, whole, never a mix or a torn file, and nothing the app would take for a graph; an editor killed after its
autosave offers the latest edits in the next window, an unsaved graph's as much as a file's, and an editor still
running never has its autosaves offered.

save_graph writes a hidden temporary file (".<name>.<random>.tmp") and renames it over the target. A kill before
the rename leaves that temporary file behind: it is not cleaned up later, but it never ends in ".json", so no
listing of graphs (the library, the blocks folder, the autosave folder) picks it up.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app import autosave
from app.document import Document
from app.files import open_path
from app.main_window import MainWindow
from app.recovery import offer_crash_recovery
from graph import Graph, load_graph
from graph.library import SUFFIX
from tests.app.widgets import open_window
from tests.killed_save_worker import CHAIN_LENGTH, EDITED_WIDTH
from tests.processes import CHILD_ENVIRONMENT, wait_until

WORKER = Path(__file__).with_name("killed_save_worker.py")
KILLS = 30


def test_a_save_killed_at_random_moments_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    target, moments = tmp_path / f"net{SUFFIX}", random.Random(20261124)
    server = subprocess.Popen([sys.executable, str(WORKER), "save-server", str(target)], env=CHILD_ENVIRONMENT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = _reader(server)
    try:
        for _ in range(KILLS):
            saved = _kill_a_save_loop(server, lines, moments.uniform(0.0, 0.2))
            # the file on disk: the last version reported saved, or the one after it (renamed, not yet reported)
            assert _version(load_graph(target)) in (saved, saved + 1)
    finally:
        server.kill()
        server.communicate(timeout=30)
    _assert_only_temporary_leftovers(tmp_path, target)


def test_a_save_killed_between_its_write_and_its_rename_leaves_the_old_file(tmp_path: Path) -> None:
    """The narrow moment random kills hit only now and then, hit on purpose: the new version is fully written to
    the temporary file, and the rename over the target has not happened."""
    target = tmp_path / f"net{SUFFIX}"
    server = subprocess.Popen([sys.executable, str(WORKER), "save-server", str(target)], env=CHILD_ENVIRONMENT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = _reader(server)
    try:
        server.stdin.write("stall\n")
        server.stdin.flush()
        pid = int(_line(lines).removeprefix("pid "))
        assert _line(lines) == "1" and _line(lines) == "written 2"
        os.kill(pid, signal.SIGKILL)
        assert _line(lines).startswith("ended ")
    finally:
        server.kill()
        server.communicate(timeout=30)
    assert _version(load_graph(target)) == 1
    leftovers = _assert_only_temporary_leftovers(tmp_path, target)
    assert len(leftovers) == 1 and _version(load_graph(leftovers[0])) == 2  # written whole, never renamed


def _assert_only_temporary_leftovers(folder: Path, target: Path) -> list[Path]:
    assert sorted(folder.glob("*.json")) == [target]  # nothing that passes for a graph but the graph
    leftovers = [p for p in folder.iterdir() if p != target]
    assert all(p.name.startswith(f".{target.name}.") and p.name.endswith(".tmp") for p in leftovers)
    return leftovers


def _kill_a_save_loop(server: subprocess.Popen, lines: queue.Queue[str], delay: float) -> int:
    """Have the server fork a process saving versions of a graph, SIGKILL it `delay` seconds after its first
    save; the last version it reported saved."""
    server.stdin.write("go\n")
    server.stdin.flush()
    pid = int(_line(lines).removeprefix("pid "))
    versions = [_line(lines)]  # the first save is done
    time.sleep(delay)  # a random moment: the point is to land anywhere in a save
    os.kill(pid, signal.SIGKILL)
    while not (line := _line(lines)).startswith("ended"):
        versions.append(line)
    assert os.waitstatus_to_exitcode(int(line.removeprefix("ended "))) == -signal.SIGKILL
    return int(versions[-1])


def _reader(process: subprocess.Popen) -> queue.Queue[str]:
    """The process's lines as they come (a thread reads them: a read with a time limit cannot hang the test)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in process.stdout], daemon=True).start()
    return lines


def _line(lines: queue.Queue[str], timeout: float = 60.0) -> str:
    return lines.get(timeout=timeout)  # queue.Empty: the saving process said nothing in time


def _version(graph: Graph) -> int:
    widths = {node.params["out_features"] for node in graph if node.type == "fully-conn"}
    assert len(widths) == 1 and len(graph) == CHAIN_LENGTH + 2, "a mix of two versions"
    return widths.pop()


def test_an_editor_killed_after_its_autosave_offers_the_latest_edits(tmp_path: Path, qtbot,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = Document.from_template("lenet").save(tmp_path / f"net{SUFFIX}")
    old = time.time() - 60
    os.utime(path, (old, old))  # saved a minute ago: the autosave is the newer
    original, folder = path.read_bytes(), tmp_path / "autosave"
    with open(tmp_path / "worker.log", "w") as log:
        process = subprocess.Popen([sys.executable, str(WORKER), "autosave", str(path), str(folder)],
                                   env=CHILD_ENVIRONMENT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _autosaved_width(folder) == EDITED_WIDTH, "the editor's autosave of its last edit",
                       process=process)
            process.kill()
            process.wait(timeout=30)
        finally:
            process.kill()
    assert path.read_bytes() == original  # an autosave never touches the user's file

    monkeypatch.setattr(autosave, "_directory", folder)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.StandardButton.Yes)
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert open_path(window, path)
    assert len(asked) == 1 and "never saved" in asked[0]
    assert window.document.graph.node("fc1").params["out_features"] == EDITED_WIDTH
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)  # on close


def _autosaved_width(folder: Path) -> int | None:
    found = list(folder.glob(f"*/*{SUFFIX}"))  # in the session folder of the editor's process
    return load_graph(found[0]).node("fc1").params["out_features"] if found else None


def test_editors_killed_with_unsaved_graphs_offer_them_at_the_next_start(tmp_path: Path, qtbot,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two editors started as `python main.py TEMPLATE` starts one (their data folder and settings in tmp_path),
    each adding a gelu to its template: both autosave as untitled-2 in a session of their own. While they run,
    nothing of theirs is offered; once each is killed with SIGKILL, its graph is, and recovered."""
    environment = {**CHILD_ENVIRONMENT, "XDG_DATA_HOME": str(tmp_path / "data"),
                   "XDG_CONFIG_HOME": str(tmp_path / "config"), autosave.INTERVAL_VARIABLE: "0.1"}
    folder = tmp_path / "data" / "Layerbook" / "autosave"
    with open(tmp_path / "editors.log", "w") as log:
        editors = {template: subprocess.Popen([sys.executable, str(WORKER), "editor", template], env=environment,
                                              stdout=log, stderr=subprocess.STDOUT) for template in ("lenet", "mlp")}
        try:
            for template, editor in editors.items():
                wait_until(lambda t=template: t in _autosaved_templates(folder), f"{template}'s autosave",
                           process=editor)
            assert _offered(folder) == []  # both editors are running
            for template, editor in editors.items():
                editor.kill()
                editor.wait(timeout=30)
                assert template in _offered(folder)
        finally:
            for editor in editors.values():
                editor.kill()
    autosaves = sorted(folder.glob(f"*/*{SUFFIX}"))
    assert [path.name for path in autosaves] == ["untitled-2.layerbook.json"] * 2  # one number, two sessions

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)  # on close
    window = open_window(qtbot, tmp_path, "lenet")
    monkeypatch.setattr(autosave, "_directory", folder)  # where the editors' data folder put them
    dialog = offer_crash_recovery(window)
    listed = {dialog.tree.topLevelItem(i).text(0) for i in range(dialog.tree.topLevelItemCount())}
    assert listed == {"unsaved graph from template lenet", "unsaved graph from template mlp"}
    qtbot.mouseClick(dialog.buttons["Recover"], Qt.MouseButton.LeftButton)  # both: all are selected at first
    recovered = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    for other in recovered:
        qtbot.addWidget(other)
    documents = {w.document.template: w.document for w in recovered}
    assert set(documents) == {"lenet", "mlp"}  # one in place of the start document, one in a window of its own
    for template, document in documents.items():
        assert [node.type for node in document.graph].count("gelu") == 1, template
        assert document.is_modified() and document.path is None


def _autosaved_templates(folder: Path) -> set[str]:
    """The templates whose autosave is complete: the graph beside its note (the note is written first, so a kill
    right after it would leave nothing to offer yet)."""
    graphs = [path for path in folder.glob(f"*/*{SUFFIX}") if autosave.about_path(path).is_file()]
    return {json.loads(autosave.about_path(path).read_text())["template"] for path in graphs}


def _offered(folder: Path) -> list[str]:
    with autosave.Leftovers(folder) as leftovers:
        return [entry.template for entry in leftovers.entries]
