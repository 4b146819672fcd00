"""The processes tests/test_killed_save.py kills with SIGKILL (run as scripts, never collected by pytest).

    python tests/killed_save_worker.py save-server TARGET      for each line read: fork a child that saves versions
                                                               1, 2, 3, ... of a large graph to TARGET without end,
                                                               printing "pid N", then each version once it is
                                                               saved; print "ended S" when the child is killed.
                                                               A line "stall" in place of "go": the child saves
                                                               version 1, writes version 2's temporary file, prints
                                                               "written 2" and waits there, before the rename
    python tests/killed_save_worker.py autosave FILE FOLDER    open FILE in a window, edit it, let the autosave timer
                                                               write to FOLDER, then wait to be killed
    python tests/killed_save_worker.py editor TEMPLATE         start the editor as `python main.py TEMPLATE` does,
                                                               add a gelu box through its window, print "edited",
                                                               then run (its timer autosaving, at the interval of
                                                               LAYERBOOK_AUTOSAVE_SECONDS) until killed
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graph import Graph  # noqa: E402  (after the path is set)
from graph.fileformat import save_graph  # noqa: E402

CHAIN_LENGTH = 300  # a file of some 34 kB: a save takes long enough for kills to land in every part of it
EDITED_WIDTH = 301  # the autosave worker's last edit of lenet's fc1.out_features


def chain() -> Graph:
    """A long chain of layers; `save_loop` gives them all the same width, so any mix of two versions would show."""
    graph = Graph("chain")
    previous = graph.add("input", name="X", shape=(8,))
    for index in range(CHAIN_LENGTH):
        node = graph.add("fully-conn", name=f"fc{index}", out_features=1)
        graph.connect(previous, node)
        previous = node
    graph.connect(previous, graph.add("output", name="Y", loss="mse"))
    return graph


def save_loop(target: Path, stall: bool = False) -> None:
    if stall:
        _stall_after_second_write()
    graph = chain()  # built once: the loop's time goes to saving, where the kills should land
    layers = [node for node in graph if node.type == "fully-conn"]
    for version in itertools.count(1):
        for node in layers:
            node.params["out_features"] = version
        save_graph(graph, target)
        say(str(version))


def say(line: str) -> None:
    """One line in one system call: print's two writes (the text, then its newline) let a kill land between them,
    leaving half a line that the server's next line is glued to ("12ended 9")."""
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def _stall_after_second_write() -> None:
    """The second save's data is written and synced, its rename not yet done: the one moment of a save where a
    kill leaves a temporary file. A random kill lands there only sometimes (how often depends on the disk), so the
    test also stops a child there on purpose."""
    real_fsync, calls = os.fsync, itertools.count(1)

    def fsync_then_wait(descriptor: int) -> None:
        real_fsync(descriptor)
        if next(calls) == 2:
            say("written 2")
            while True:
                time.sleep(60)  # until killed

    os.fsync = fsync_then_wait  # graph.fileformat calls os.fsync through the module: this child only


def save_server(target: Path) -> None:
    """Forks the processes to kill: a fork starts in a millisecond where a new interpreter takes most of a second
    to import the graph package, so 30 kills cost seconds, not half a minute."""
    for line in sys.stdin:
        child = os.fork()
        if child == 0:
            try:
                save_loop(target, stall=line.strip() == "stall")
            finally:
                os._exit(1)  # never back into the server's loop
        print(f"pid {child}", flush=True)
        _, status = os.waitpid(child, 0)
        print(f"ended {status}", flush=True)  # after the child's last line: the test reads up to here


def autosave_then_wait(path: Path, folder: Path) -> None:
    """Two edits, the autosave timer firing soon after, the event loop running until the process is killed."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app import autosave
    from app.files import open_path
    from app.main_window import MainWindow

    app = QApplication([])
    autosave.set_directory(folder)
    window = MainWindow(QSettings(str(folder.parent / "worker.ini"), QSettings.Format.IniFormat))
    assert open_path(window, path)
    window.document.set_param("fc1", "out_features", 300)
    window.document.set_param("fc1", "out_features", EDITED_WIDTH)  # the latest edit: the one to recover
    window.autosave_timer.start(50)  # the real timer and slot, sooner than the app's interval
    app.exec()


def edit_then_wait(template: str) -> None:
    """The application's own start (its data folder and settings come from the environment), one box added."""
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from app import start_app

    window = start_app(template)
    window.add_layer("gelu", QPointF(400, 0))  # what the palette and the Tab popup ask of the window
    print("edited", flush=True)
    QApplication.instance().exec()


if __name__ == "__main__":
    if sys.argv[1] == "save-server":
        save_server(Path(sys.argv[2]))
    elif sys.argv[1] == "editor":
        edit_then_wait(sys.argv[2])
    else:
        autosave_then_wait(Path(sys.argv[2]), Path(sys.argv[3]))
