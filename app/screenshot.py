"""`python main.py screenshot [GRAPH] -o window.png`: the main window, off-screen, with GRAPH open, as a picture
(for the docs and the tests). Uses the same window a person sees, at a fixed size. Options pick what it shows: a
selected box (the inspector), a block's inside (the breadcrumb), a dock, the runs compared, training under way, or
a run's Results window instead of the main window."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from graph.outputs import OutputError, check_output, replacing

DEFAULT_SIZE = (1400, 860)
SUFFIXES = (".png", ".jpg", ".jpeg")
RESULTS_TIMEOUT_S = 120.0  # the Results window runs the model on the validation data before it has anything


@dataclass(frozen=True)
class View:
    """What the picture shows beyond the graph (every field off by default)."""

    select: str | None = None  # a box to select: the inspector shows it
    block: str | None = None  # a block, or a box using one, whose inside is shown (the breadcrumb appears)
    dock: str | None = None  # a dock to show and raise: Layers, Inspector, Problems, Summary, Training or Runs
    runs: bool = False  # the Runs panel with the two newest runs of ./runs selected and compared
    results: str | None = None  # a run folder: the picture is its Results window, not the main window


def screenshot_command(source: str, output: str, size: tuple[int, int] = DEFAULT_SIZE, theme: str = "light",
                       train_seconds: float = 0.0, view: View | None = None) -> int:
    """0 when the picture was written; 2 with a message otherwise. `train_seconds`: start training from the Train
    panel with the graph's own settings, wait that long, and take the picture with the curves as they are."""
    view = view or View()
    from graph import GraphFileError, load_graph

    try:
        path = check_output(output, SUFFIXES, source=source)
        load_graph(source)  # read here, before the window: its message box would wait for a click off-screen
    except (OutputError, GraphFileError) as error:
        print(error, file=sys.stderr)
        return 2
    problem = _view_problem(view, train_seconds)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no screen: draw off-screen
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    application = QApplication.instance() or QApplication([])
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Layerbook", "screenshot")
    settings.clear()  # a picture for the docs: the default layout, not the user's
    window = MainWindow(settings)
    window.set_runs_folder(str(Path("runs").resolve()))  # training and --runs use ./runs, as the command line
    if theme != "light":
        window.set_theme(theme)
    if not window.open_graph(source, offer_recovery=False):  # a picture: no question about an autosave
        print(f"cannot open '{source}'", file=sys.stderr)
        return 2
    window.resize(*size)
    window.show()
    for _ in range(3):
        application.processEvents()
    problem = _arrange(window, view)
    if problem:
        print(problem, file=sys.stderr)
        _close(window)
        return 2
    for _ in range(3):
        application.processEvents()  # the docks take their sizes before the graph is framed in what is left
    window.view.frame()
    application.processEvents()
    if train_seconds > 0:
        _train_for(window, train_seconds)
    target = window
    if view.results:
        target = _results_window(window, Path(view.results), size)
        if isinstance(target, str):
            print(target, file=sys.stderr)
            _close(window)
            return 2
    problem = _save(target.grab(), path)
    _close(window)
    if problem:
        print(f"cannot write '{path}': {problem}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _save(picture: object, path: Path) -> str:
    """Save the picture atomically (a temporary file beside it, then renamed), in the format its name says;
    why it could not be, or ''."""
    try:
        with replacing(path) as temporary:
            if not picture.save(str(temporary), "PNG" if path.suffix.lower() == ".png" else "JPG"):
                raise OSError("Qt could not save the picture")
    except OSError as error:
        return error.strerror or str(error)
    return ""


NAMED = {"select": "a box's name", "block": "a block's name", "dock": "a panel's name", "results": "a run folder"}


def _view_problem(view: View, train_seconds: float) -> str | None:
    """What can be refused before the window is drawn: an empty name, which would be ignored, a results folder
    that holds no run, and training for a picture of the Results window, which shows none of it."""
    for option, what in NAMED.items():
        if getattr(view, option) == "":
            return f"--{option} is empty: give {what}, or leave --{option} out"
    if view.results and train_seconds > 0:
        return ("--train-seconds and --results cannot be given together: the picture is then the run's Results "
                "window, which shows no training (and the training would write a run folder for nothing)")
    return _not_a_run(Path(view.results)) if view.results else None


def _not_a_run(run_dir: Path) -> str | None:
    try:
        if (run_dir / "summary.json").is_file():
            return None
    except OSError as error:  # a name too long for the file system
        return f"cannot read '{run_dir}': {error.strerror or error}"
    return f"'{run_dir}' is not a run folder (no summary.json)"


def _arrange(window: object, view: View) -> str | None:
    """Put the window in the state `view` asks for; a message when it cannot."""
    from graph import GraphError

    if view.block:
        try:
            window.document.enter_block(view.block)
        except GraphError as error:  # neither a block nor a box using one
            return f"cannot open block '{view.block}': {error}"
    if view.select:
        if view.select not in window.document.scope_graph:
            return f"no box named '{view.select}' to select"
        window.scene.select_nodes([view.select])
    if view.dock:
        dock = window.docks.get(view.dock.capitalize())
        if dock is None:
            return f"no dock named '{view.dock}' (one of {', '.join(window.docks)})"
        if dock is window.docks["Training"]:
            window.show_training()
        dock.show()
        dock.raise_()
    if view.runs:
        _compare_newest_runs(window)
    return None


def _compare_newest_runs(window: object) -> None:
    from PySide6.QtCore import Qt

    runs = window.docks["Runs"]
    runs.show()
    runs.raise_()
    window.resizeDocks([runs], [round(window.height() * 0.62)], Qt.Orientation.Vertical)  # room for the curves
    panel = window.runs_panel
    panel.refresh()
    newest = sorted(panel.runs, key=lambda info: info.path.stat().st_mtime)[-2:]
    if newest:
        panel.select(*(info.path for info in newest))
        panel.compare()


def _results_window(window: object, run_dir: Path, size: tuple[int, int]) -> object:
    """The run's Results window once its figures are in (for a language model: text generated from its prompt);
    a message when the run cannot be shown."""
    from PySide6.QtWidgets import QApplication

    from app.training.preview_view import ERROR_STYLE
    from app.training.results import ResultsDialog

    dialog = ResultsDialog(run_dir, window)  # a folder that holds no run was refused before the window
    dialog.resize(min(size[0], 1000), min(size[1], 700))
    dialog.show()
    if hasattr(dialog, "generate_button"):
        dialog.generate()
    deadline = time.monotonic() + RESULTS_TIMEOUT_S
    while time.monotonic() < deadline:
        QApplication.processEvents()
        done = dialog.results is not None if hasattr(dialog, "matrix") else dialog.output.toPlainText() != ""
        if done or dialog.busy.styleSheet() == ERROR_STYLE:  # figures in, or why not in red
            break
        time.sleep(0.05)
    QApplication.processEvents()
    if dialog.busy.styleSheet() == ERROR_STYLE:  # a picture of the error would be no picture of the results
        return f"cannot show the results of '{run_dir}': {dialog.busy.text()}"
    return dialog


def _train_for(window: object, seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    window.show_training()
    window.train_panel.train()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _close(window: object) -> None:
    window.document.undo_stack.setClean()
    window.close()  # stops a run in progress, which keeps its run folder
