"""Saving under SIGKILL: a process killed at random moments while it saves a graph leaves the previous file or the
new one, whole, never a mix or a torn file, and nothing the app would take for a graph; an editor killed after its
autosave offers the latest edits in the next window.

save_graph writes a hidden temporary file (".<name>.<random>.tmp") and renames it over the target. A kill before
the rename leaves that temporary file behind: it is not cleaned up later, but it never ends in ".json", so no
listing of graphs (the library, the blocks folder, the autosave folder) picks it up.
"""

from __future__ import annotations

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
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app import autosave
from app.document import Document
from app.files import open_path
from app.main_window import MainWindow
from graph import Graph, load_graph
from graph.library import SUFFIX
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
    found = list(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    return load_graph(found[0]).node("fc1").params["out_features"] if found else None
