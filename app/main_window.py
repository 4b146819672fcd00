"""The main window: the canvas in the middle, the palette on the left, the inspector on the right, problems and
the summary below. It wires views to the document: gestures arrive as intents (signals with names), become
document calls (undoable commands), and the graph's events bring every view up to date."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app import autosave
from app.breadcrumb import Breadcrumb
from app.document import Document
from app.inspector import Inspector
from app.memory import settle_memory
from app.menus import build_menus
from app.palette import Palette
from app.places import default_runs_folder
from app.problems_panel import ProblemsPanel
from app.scene import GraphScene
from app.style import theme
from app.summary_panel import SummaryPanel
from app.view import GraphView
from graph import GraphError
from graph.catalog import ParamError
from graph.inference import Analysis
from graph.lint import lint

RUNS_FOLDER_KEY = "training/runs_folder"  # the user's runs folder; unset: beside the graph, or the data folder
TRAINING_SHARE = 0.45  # of the window's height, for the Training dock when it is first shown
HEALTH_EVERY = 50  # steps between reports of each box's health, shown on the canvas
REFUSED = (GraphError, ParamError, ValueError)  # an edit the graph refuses: its message goes to the status bar


def _detect_gpu() -> tuple[str, int] | None:
    """The first CUDA GPU's name and memory in bytes; None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    properties = torch.cuda.get_device_properties(0)
    return properties.name, int(properties.total_memory)


_windows: set[MainWindow] = set()  # the windows opened beside the first (recovered graphs): kept alive while open


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("Layerbook", "Layerbook")
        self.document = Document()
        self.theme_name = str(self.settings.value("theme", "light"))
        self.scene = GraphScene(theme(self.theme_name))
        self.view = GraphView()
        self.view.setScene(self.scene)
        self.breadcrumb = Breadcrumb()
        self._build_central()
        self._build_docks()
        self.actions = build_menus(self)
        self._connect_views()
        self.setAcceptDrops(True)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(autosave.interval_ms())
        self.resize(1400, 860)
        self._restore_layout()
        self.set_document(self.document)

    # ---- construction ----------------------------------------------------------------------------------------

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.breadcrumb)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.palette = Palette()
        self.inspector = Inspector()
        self.problems = ProblemsPanel()
        self.summary = SummaryPanel()
        self.docks = {}
        for title, widget, area in (("Layers", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Problems", self.problems, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Summary", self.summary, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")  # saveState needs names
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[title] = dock
        # the canvas keeps the whole height: the inspector above, problems and summary (tabs) below it
        self.splitDockWidget(self.docks["Inspector"], self.docks["Problems"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.docks["Problems"], self.docks["Summary"])
        self.docks["Problems"].raise_()
        self._dock_sizes_set = False
        self._build_training_docks()

    def _build_training_docks(self) -> None:
        """Training and its runs, below the canvas; hidden until asked for (they load torch when first shown)."""
        from app.training.panel import TrainPanel
        from app.training.runs_panel import RunsPanel

        self.train_panel = TrainPanel(default_runs_folder(None))
        self.train_panel.runs_root = str(self.settings.value(RUNS_FOLDER_KEY, "") or "")
        self.runs_panel = RunsPanel(self.train_panel.runs_root)  # bundles get the figure from app.render
        self._training_ready = False
        for title, widget in (("Training", self.train_panel), ("Runs", self.runs_panel)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")
            dock.setWidget(widget)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            dock.hide()
            self.docks[title] = dock
        self.tabifyDockWidget(self.docks["Training"], self.docks["Runs"])
        self.docks["Training"].visibilityChanged.connect(self._training_shown)
        self.docks["Runs"].visibilityChanged.connect(lambda shown: shown and self.runs_panel.refresh())
        self._gpu_checked = False
        self.docks["Summary"].visibilityChanged.connect(self._summary_shown)

    def _summary_shown(self, shown: bool) -> None:
        """The memory figures compare with the GPU's when there is one (found in a thread: importing torch takes a
        second, which the editor's start does not pay)."""
        if shown and not self._gpu_checked:
            from app.training.tasks import run_task

            self._gpu_checked = True
            run_task(_detect_gpu, lambda gpu: gpu and self.summary.set_gpu(*gpu), owner=self.summary)

    def show_training(self) -> None:
        self.docks["Training"].show()
        self.docks["Training"].raise_()
        self._training_shown(True)  # ready even before the window is on screen (no visibility signal yet)
        # under half the height: the canvas keeps room; the settings scroll when the dock is lower than they are
        self.resizeDocks([self.docks["Training"]], [max(330, round(self.height() * TRAINING_SHARE))],
                         Qt.Orientation.Vertical)

    def continue_run(self, run_dir: str) -> None:
        """Continue a run from the Runs panel, to a number of epochs the user chooses (more, for a finished run)."""
        self.show_training()
        epochs = self.train_panel.ask_continue_epochs(run_dir)
        if epochs is not None:
            self.train_panel.continue_run(run_dir, epochs)

    def _training_shown(self, shown: bool) -> None:
        if shown and not self._training_ready:
            self._training_ready = True
            self.train_panel.set_overrides(health_every=HEALTH_EVERY)
            self.train_panel.set_graph(self.document.graph)

    def _show_health(self, event: object) -> None:
        if not self.document.scope:  # the report is about the top-level boxes
            self.scene.set_health(event.nodes)


    def _connect_views(self) -> None:
        self.scene.nodes_moved.connect(lambda moves: self.attempt(self.document.move_nodes, moves))
        self.scene.connect_requested.connect(
            lambda src, dst, port, src_port: self.attempt(self.document.connect, src, dst, port, src_port))
        self.scene.node_activated.connect(self.open_block)
        self.scene.message.connect(self.show_message)
        self.scene.selectionChanged.connect(self.refresh_inspector)
        self.view.layer_dropped.connect(self.add_layer)
        self.view.file_dropped.connect(self.open_file)
        self.palette.layer_activated.connect(lambda t: self.add_layer(t, self.view.mapToScene(
            self.view.viewport().rect().center())))
        self.inspector.param_edited.connect(lambda n, k, v: self.attempt(self.document.set_param, n, k, v))
        self.inspector.rename_requested.connect(lambda old, new: self.attempt(self.document.rename, old, new))
        self.inspector.repeat_edited.connect(lambda n, v: self.attempt(self.document.set_repeat, n, v))
        self.problems.node_selected.connect(self.reveal_node)
        self.problems.fix_requested.connect(lambda fix: self.attempt(self.document.edit, fix.label, fix.apply))
        self.breadcrumb.scope_chosen.connect(lambda scope: self.document.set_scope(scope))
        self.train_panel.health.connect(self._show_health)
        self.train_panel.state_changed.connect(lambda state: self.show_message(f"training: {state}"))
        self.train_panel.run_started.connect(lambda _run: self.scene.set_health(None))
        self.train_panel.run_finished.connect(lambda _outcome: self.runs_panel.refresh())
        self.train_panel.runs_folder_chosen.connect(self.set_runs_folder)
        self.runs_panel.open_graph_requested.connect(self.open_file)
        self.runs_panel.continue_requested.connect(self.continue_run)

    # ---- the document ----------------------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show `document` (a new, opened or template graph). The one it replaces was saved or its edits let go
        (`confirm_discard`): its autosave goes too."""
        if document is not self.document:
            autosave.discard(self.document)
            self.document.deleteLater()
        self.document = document
        document.analysis_changed.connect(self.refresh_analysis)
        document.scope_changed.connect(self.refresh_scope)
        document.modified_changed.connect(self.refresh_title)
        document.path_changed.connect(self.refresh_title)
        document.path_changed.connect(self._follow_runs_folder)
        self._follow_runs_folder()
        self.actions.bind_undo_stack(document.undo_stack)
        if self._training_ready:
            self.train_panel.set_graph(document.graph)
        self.scene.set_health(None)
        self.refresh_scope()
        self.refresh_title()
        settle_memory()
        QTimer.singleShot(0, self.view.frame)

    def _follow_runs_folder(self, *_: object) -> None:
        """The default runs folder is the document's (beside its file); the Runs panel lists the folder in use."""
        self.train_panel.set_default_runs_root(default_runs_folder(self.document.path))
        self.runs_panel.set_runs_root(self.train_panel.runs_root)

    def set_runs_folder(self, folder: str) -> None:
        """The user's runs folder, remembered; "" for the default (beside the graph, or the data folder)."""
        self.train_panel.runs_root = folder
        if folder:
            self.settings.setValue(RUNS_FOLDER_KEY, str(self.train_panel.runs_root))  # absolute
        else:
            self.settings.remove(RUNS_FOLDER_KEY)
        self._follow_runs_folder()

    def refresh_scope(self, *_: object) -> None:
        self.scene.set_graph(self.document.scope_graph)
        self.breadcrumb.show_scope(self.document.graph.name, self.document.scope)
        self.palette.set_blocks(sorted(self.document.graph.blocks))
        self.refresh_analysis()
        self.view.frame()

    def refresh_analysis(self, *_: object) -> None:
        analysis = self.document.scope_analysis()
        problems = [*analysis.problems, *lint(self.document.scope_graph, analysis)]
        shown = Analysis(problems, analysis.nodes)
        self.scene.set_analysis(shown)
        self.problems.set_problems(self.document.scope_graph, problems)
        self.summary.set_analysis(self.document.scope_graph, analysis)
        self.refresh_inspector()
        self._status_summary(analysis, problems)

    def refresh_inspector(self) -> None:
        selected = self.scene.selected_nodes()
        name = selected[0] if len(selected) == 1 else None
        self.inspector.show_node(self.document.scope_graph, name, self.document.scope_analysis(),
                                 in_block=bool(self.document.scope))

    def refresh_title(self, *_: object) -> None:
        self.setWindowTitle(f"{self.document.title().rstrip('*')}[*] — Layerbook")  # Qt draws the * when modified
        self.setWindowModified(self.document.is_modified())

    def _status_summary(self, analysis: Analysis, problems: list) -> None:
        errors = sum(1 for p in problems if p.is_error)
        warnings = len(problems) - errors
        state = "valid" if not errors else f"{errors} error{'s' * (errors != 1)}"
        extra = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
        self.statusBar().showMessage(f"{len(self.document.scope_graph)} nodes · {analysis.parameters:,} parameters "
                                     f"· {state}{extra}")

    # ---- intents from the views ------------------------------------------------------------------------------

    def attempt(self, action, *args: object) -> object:
        """Run a document intent; a refused edit is explained in the status bar and changes nothing."""
        try:
            return action(*args)
        except REFUSED as error:
            self.show_message(str(error))
            return None

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def add_layer(self, type_name: str, at: QPointF) -> None:
        name = self.attempt(self.document.add_node, type_name, (round(at.x()), round(at.y())))
        if name:
            self.scene.select_nodes([name])

    def open_block(self, name: str) -> None:
        """A double-click on a block instance edits the block's inside (a plain layer: nothing to open)."""
        from graph.registry import layer_spec

        if name in self.document.scope_graph and layer_spec(self.document.scope_graph.node(name).type) is None:
            self.attempt(self.document.enter_block, name)

    def reveal_node(self, name: str) -> None:
        item = self.scene.node_item(name)
        if item is not None:
            self.scene.select_nodes([name])
            self.view.centerOn(item)

    def selected(self) -> list[str]:
        return self.scene.selected_nodes()

    # ---- files -----------------------------------------------------------------------------------------------

    def open_graph(self, source: str, offer_recovery: bool = True) -> bool:
        """Open a file or a template by name (the command line's GRAPH). `offer_recovery=False` at start-up, where
        every autosave left behind is offered at once."""
        from app.files import open_source

        return open_source(self, source, offer_recovery)

    def new_window(self) -> MainWindow:
        """Another window of this process, with the same settings (a recovered graph beside the one open)."""
        window = MainWindow(self.settings)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        _windows.add(window)
        window.destroyed.connect(lambda: _windows.discard(window))
        window.show()
        return window

    def open_file(self, path: str) -> bool:
        from app.files import open_path

        return open_path(self, Path(path))

    def autosave(self) -> bool:
        """Write the document's autosave if it has edits not saved; False when the write failed."""
        if not self.document.is_modified():
            return True
        try:
            autosave.write_autosave(self.document)
        except OSError as error:  # a full disk, a data folder that cannot be written: the edits are still open
            self.show_message(f"autosave failed: {error.strerror or error} ({autosave.directory()}); "
                              "save your edits with Ctrl+S")
            return False
        return True

    def confirm_discard(self) -> bool:
        """Before losing changes: save, discard or cancel. True when it is fine to go on."""
        if not self.document.is_modified():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.document.title().rstrip('*')}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            from app.files import save

            return save(self)
        return answer == QMessageBox.StandardButton.Discard

    # ---- window ----------------------------------------------------------------------------------------------

    def set_theme(self, name: str) -> None:
        self.theme_name = name
        self.scene.set_theme(theme(name))
        self.view.setBackgroundBrush(self.scene.backgroundBrush())
        self.settings.setValue("theme", name)

    def _restore_layout(self) -> None:
        geometry, state = self.settings.value("geometry"), self.settings.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._dock_sizes_set and self.settings.value("state") is None:
            # sizes apply once the window has its own: the first showing, unless a saved layout was restored
            self._dock_sizes_set = True
            self.resizeDocks([self.docks["Layers"], self.docks["Inspector"]], [200, 360], Qt.Orientation.Horizontal)
            self.resizeDocks([self.docks["Inspector"], self.docks["Problems"]], [420, 380], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.train_panel.shutdown()  # a run in progress stops and saves what it learned
        autosave.discard(self.document)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_file(url.toLocalFile())
                event.acceptProposedAction()
                return
