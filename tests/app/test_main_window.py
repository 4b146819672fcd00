"""The editor as a person uses it: real widgets and events (drops, mouse drags on ports, key presses, the
inspector), checked against the graph; every edit undoes to the byte-identical document."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app import autosave
from app.document import Document
from app.main_window import MainWindow
from app.palette import MIME_TYPE
from graph import Graph, load_graph, save_graph
from graph.fileformat import dumps
from graph.layout import layered_layout
from tests.app.leftovers import left_behind
from tests.app.widgets import open_window


@pytest.fixture(autouse=True)
def discard_on_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing a modified window asks whether to save: the tests' windows answer Discard unless a test says
    otherwise (a modal box would wait for a click that never comes)."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)


@pytest.fixture
def window(qtbot, tmp_path: Path) -> MainWindow:
    return open_window(qtbot, tmp_path, "lenet")


def key(window: MainWindow, which: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()  # shortcuts go to the active window
    QApplication.processEvents()
    window.view.setFocus()
    QTest.keyClick(window.view, which, modifiers)


def drag(window: MainWindow, start: QPointF, end: QPointF) -> None:
    view, viewport = window.view, window.view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(start))
    for point in (start + (end - start) / 3, start + (end - start) * 2 / 3, end):
        QTest.mouseMove(viewport, view.mapFromScene(point))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(end))


def test_the_scene_shows_the_graph_and_the_status_bar_its_count(window: MainWindow) -> None:
    names = {item.name for item in window.scene.node_items()}
    assert names == {node.name for node in window.document.graph}
    assert "105,506 parameters · valid" in window.statusBar().currentMessage()
    assert window.windowTitle().startswith("lenet")


def test_a_layer_dropped_from_the_palette_lands_where_dropped_and_undoes(window: MainWindow) -> None:
    original = dumps(window.document.graph)
    data = window.palette.tree.mimeData([window.palette.item("gelu")])
    assert bytes(data.data(MIME_TYPE).data()) == b"gelu"
    target = window.view.mapFromScene(QPointF(300, -200))
    viewport = window.view.viewport()
    enter = QDragEnterEvent(target, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(target), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)
    (added,) = [n for n in window.document.graph if n.type == "gelu"]
    assert abs(added.position[0] - 300) < 3 and abs(added.position[1] + 200) < 3
    assert window.scene.node_item(added.name) is not None
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(window.document.graph) == original
    assert window.scene.node_item(added.name) is None


def test_a_wire_drawn_from_an_output_port_to_an_input_port_connects_them(window: MainWindow) -> None:
    document = window.document
    document.disconnect("relu3", "fc2")
    original = dumps(document.graph)
    source, target = window.scene.node_item("relu3"), window.scene.node_item("fc2")
    drag(window, source.out_port_pos("y"), target.in_port_pos("x"))
    assert [(e.src, e.dst) for e in document.graph.in_edges("fc2")] == [("relu3", "fc2")]
    assert document.analysis().ok
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(document.graph) == original


def test_a_refused_wire_says_why_in_the_status_bar(window: MainWindow) -> None:
    before = len(window.document.graph.edges)
    drag(window, window.scene.node_item("fc2").out_port_pos("y"), window.scene.node_item("conv1").in_port_pos("x"))
    assert len(window.document.graph.edges) == before
    assert window.statusBar().currentMessage()  # the reason (a cycle, a taken port...) is shown


def test_dragging_a_box_moves_the_node_in_one_undo_step(window: MainWindow) -> None:
    item = window.scene.node_item("relu1")
    start = item.pos()
    drag(window, start, start + QPointF(150, 0))
    assert window.document.graph.node("relu1").position[0] == pytest.approx(start.x() + 150, abs=2)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.node("relu1").position == (start.x(), start.y())


def test_delete_key_removes_the_selection_and_ctrl_z_restores_it(window: MainWindow) -> None:
    original = dumps(window.document.graph)
    window.scene.select_nodes(["relu1", "conv2"])
    key(window, Qt.Key.Key_Delete)
    assert "relu1" not in window.document.graph and "conv2" not in window.document.graph
    assert window.scene.node_item("relu1") is None
    assert not window.document.analysis().ok  # maxpool1 → maxpool2 is now missing a link
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(window.document.graph) == original
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)  # redo
    assert "relu1" not in window.document.graph


def test_tab_opens_quick_add_and_enter_adds_the_layer(window: MainWindow) -> None:
    key(window, Qt.Key.Key_Tab)
    popup = window.view.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.field, "layern")
    assert popup.list.currentItem().text() == "layernorm"
    QTest.keyClick(popup.field, Qt.Key.Key_Return)
    assert not popup.isVisible()
    assert [n.type for n in window.document.graph].count("layernorm") == 1
    assert window.scene.selected_nodes() == [n.name for n in window.document.graph if n.type == "layernorm"]


def test_ctrl_g_groups_into_a_block_keeping_shapes_and_count(window: MainWindow) -> None:
    original = dumps(window.document.graph)
    window.scene.select_nodes(["conv1", "maxpool1", "relu1"])
    key(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    graph = window.document.graph
    assert "conv1" not in graph and len(graph.blocks) == 1
    (instance,) = window.scene.selected_nodes()
    assert graph.node(instance).type in graph.blocks
    analysis = window.document.analysis()
    assert analysis.ok and analysis.parameters == 105_506
    assert str(analysis.nodes[instance].output) == str(load_graph("lenet").analyze().nodes["relu1"].output)
    key(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert "conv1" in graph and window.document.analysis().parameters == 105_506
    for _ in range(2):
        key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(graph) == original


def test_the_inspector_edits_a_meta_parameter_and_the_canvas_follows(window: MainWindow) -> None:
    window.scene.select_nodes(["conv1"])
    QApplication.processEvents()  # the scene announces a new selection from the event loop
    editor = window.inspector.editor("kernel_size")
    editor.setFocus()
    editor.selectAll()
    QTest.keyClicks(editor, "7")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.document.graph.node("conv1").params["kernel_size"] == 7
    assert window.scene.node_item("conv1").output_shape == "32×22×22"
    assert window.document.analysis().ok is False  # 64×2×2 no longer gives the 256 the reshape expects
    assert window.problems.tree.topLevelItemCount() >= 1
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.node("conv1").params["kernel_size"] == 5


def test_a_problem_is_listed_a_click_selects_its_box_and_a_fix_repairs_it(window: MainWindow) -> None:
    window.document.remove_nodes(["reshape1"])
    window.document.connect("relu2", "fc1")
    panel = window.problems
    first = panel.tree.topLevelItem(0)
    assert first is not None and first.text(0) == "fc1"
    rect = panel.tree.visualItemRect(first)
    QTest.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())
    assert window.scene.selected_nodes() == ["fc1"]
    QTest.mouseClick(panel.fix_button(0), Qt.MouseButton.LeftButton)
    assert window.document.analysis().ok and window.document.analysis().parameters == 105_506


def test_double_click_enters_a_block_and_the_breadcrumb_goes_back(window: MainWindow) -> None:
    assert window.open_graph("resnet50")
    item = window.scene.node_item("stage1")
    view = window.view
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      view.mapFromScene(item.pos()))
    assert window.document.scope == ["resblock"]
    assert {i.name for i in window.scene.node_items()} == {n.name for n in window.document.scope_graph}
    assert window.breadcrumb.isVisible()
    QTest.mouseClick(window.breadcrumb.buttons[0], Qt.MouseButton.LeftButton)
    assert window.document.scope == [] and window.scene.node_item("stage1") is not None


def test_l_lays_out_bottom_to_top_and_f_frames_everything(window: MainWindow) -> None:
    for node in window.document.graph:
        window.document.move_nodes({node.name: (node.position[0] + 37 * len(node.name), node.position[1])})
    key(window, Qt.Key.Key_L)
    expected = layered_layout(window.document.graph)
    for node in window.document.graph:
        assert node.position == pytest.approx(expected[node.name])
    window.view.zoom_by(4.0)
    key(window, Qt.Key.Key_F)
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.graph_rect())


def test_copy_in_one_window_paste_in_another(window: MainWindow, qtbot, tmp_path: Path) -> None:
    window.scene.select_nodes(["conv1", "maxpool1"])
    key(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    other = MainWindow(QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(other)
    other.open_graph("mlp")
    other.show()
    before = len(other.document.graph)
    key(other, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    pasted = other.scene.selected_nodes()
    assert len(other.document.graph) == before + 2 and len(pasted) == 2
    assert sorted(other.document.graph.node(n).type for n in pasted) == ["conv-2d", "maxpool"]


def test_modified_marker_save_and_the_prompt_before_losing_changes(window: MainWindow, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    window.document.set_param("fc1", "out_features", 100)
    assert window.isWindowModified() and window.document.title().endswith("*")
    asked: list[str] = []

    def cancel(*args, **kwargs):
        asked.append(args[2])
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", cancel)
    assert not window.open_graph("mlp") or window.document.graph.name == "lenet"
    assert window.document.graph.name == "lenet" and asked  # nothing lost: the user was asked and cancelled
    path = tmp_path / "mine.layerbook.json"
    window.document.save(path)
    assert not window.isWindowModified() and not window.document.title().endswith("*")
    assert load_graph(path).node("fc1").params["out_features"] == 100


def test_a_dropped_graph_file_opens(window: MainWindow, tmp_path: Path) -> None:
    path = save_graph(load_graph("mlp"), tmp_path / "dropped.layerbook.json")
    data = QMimeData()
    data.setUrls([QUrl_from(path)])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.view.viewport(), enter)  # a drag enters before it drops
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(QPoint(50, 50)), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.view.viewport(), drop)
    assert window.document.graph.name == "mlp" and window.document.path == path


def test_autosaved_edits_are_offered_back_when_their_file_is_opened(window: MainWindow, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_graph(load_graph("lenet"), tmp_path / "work.layerbook.json")
    old = time.time() - 60
    os.utime(path, (old, old))  # saved a minute before the edit
    crashed = Document.open(path)
    crashed.set_param("fc1", "out_features", 123)
    gone = left_behind(crashed, autosave.directory())  # the edit of an editor that crashed before saving it
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert window.open_graph(str(path))
    assert window.document.graph.node("fc1").params["out_features"] == 123  # recovered
    assert window.document.is_modified() and window.document.path == path  # recovered, not yet saved
    assert not gone.exists() and window.document.autosave_path().is_file()  # kept by this process from now on


def test_edits_let_go_for_another_graph_leave_no_autosave(window: MainWindow) -> None:
    window.document.set_param("fc1", "out_features", 123)
    window.autosave()
    written = window.document.autosave_path()
    assert written.is_file()
    assert window.open_graph("mlp")  # the question before losing the edits is answered Discard
    assert not written.exists()


def test_dark_theme_from_the_view_menu(window: MainWindow) -> None:
    light = window.scene.backgroundBrush().color().name()
    window.actions.by_name["dark-theme"].trigger()
    assert window.scene.backgroundBrush().color().name() != light
    assert window.settings.value("theme") == "dark"


def test_new_from_template_with_a_knob(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.gallery import TemplateGallery

    def choose(gallery: TemplateGallery) -> int:
        gallery.select("mlp")
        return 1

    monkeypatch.setattr(TemplateGallery, "exec", choose)
    from app import files

    assert files.new_from_template(window)
    assert window.document.graph.name == "mlp" and window.document.template == "mlp"  # its autosave says so
    gallery = TemplateGallery()
    gallery.select("gpt")
    gallery.editors["N"].setValue(2)
    graph = gallery.graph()
    assert graph.param_values == {"N": 2} and graph.analyze().ok
    assert gallery.list.count() == len(__import__("graph.library", fromlist=["x"]).template_names())


def test_screenshot_and_render_commands(tmp_path: Path) -> None:
    import main

    assert main.main(["render", "lenet", "-o", str(tmp_path / "lenet.svg")]) == 0
    svg = (tmp_path / "lenet.svg").read_text()
    assert "conv-2d" in svg and "Feature extractor" in svg
    assert main.main(["screenshot", "resnet50", "-o", str(tmp_path / "shot.png"), "--size", "1000x700"]) == 0
    from PySide6.QtGui import QImage

    image = QImage(str(tmp_path / "shot.png"))
    assert (image.width(), image.height()) == (1000, 700)


def QUrl_from(path: Path):
    from PySide6.QtCore import QUrl

    return QUrl.fromLocalFile(str(path))


def test_an_unreadable_file_is_explained_and_the_open_graph_kept(window: MainWindow, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.layerbook.json"
    broken.write_text('{"format": "layerbook", "version": 1, "nodes": [')
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    assert not window.open_graph(str(broken))
    assert window.document.graph.name == "lenet" and "truncated" in shown[0]
    assert isinstance(window.document.graph, Graph)


def test_train_from_the_window_colours_the_boxes_then_continue_the_run_and_export_it(
        window: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F5 trains the open graph (LeNet on a subset of the digits) in a separate process; the curves receive
    points, the boxes their health; Stop keeps the run; Continue resumes it to the end; ONNX export from it."""
    panel, runs = window.train_panel, window.runs_panel
    window.show_training()
    qtbot.keyClicks(panel.runs_folder.line, str(tmp_path / "runs"))  # the runs folder, typed
    qtbot.keyClick(panel.runs_folder.line, Qt.Key.Key_Return)
    assert panel.runs_root == runs.runs_root == tmp_path / "runs"
    panel.set_overrides(train_size=320, val_size=64, log_every=2, health_every=2)
    panel.settings.epochs.setValue(3)
    window.activateWindow()
    QTest.keyClick(window.view, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: panel.plots.point_count() > 2, timeout=90_000)
    qtbot.waitUntil(lambda: any(i.health for i in window.scene.node_items()), timeout=30_000)
    conv = window.scene.node_item("conv1")
    assert conv.health is not None and "training: " in conv.toolTip()
    QTest.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.controller.running, timeout=60_000)
    (run,) = list((tmp_path / "runs").iterdir())
    assert (run / "last.pt").is_file()
    window.docks["Runs"].show()
    runs.refresh()
    runs.select(run)
    from PySide6.QtWidgets import QInputDialog

    offered = []  # Continue asks for the total epochs: a stopped run is offered its planned 3
    monkeypatch.setattr(QInputDialog, "getInt", lambda parent, title, label, value, *a: offered.append(value)
                        or (value, True))
    QTest.mouseClick(runs.buttons["Continue"], Qt.MouseButton.LeftButton)
    assert offered == [3]
    qtbot.waitUntil(lambda: panel.controller.outcome is not None and not panel.controller.running, timeout=120_000)
    assert panel.controller.outcome.state == "finished"
    from app.training.export import export_onnx

    report = export_onnx(run, tmp_path / "lenet.onnx")
    assert (tmp_path / "lenet.onnx").is_file() and "onnxruntime" in str(report)


def _a_run(folder: Path, graph: str = "mlp") -> Path:
    """A run folder as the Runs panel lists it (its graph and settings; no training needed to list it)."""
    folder.mkdir(parents=True)
    save_graph(load_graph(graph), folder / "graph.layerbook.json")
    (folder / "settings.json").write_text(f'{{"graph": "{graph}", "dataset": "blobs", "config": {{}}}}')
    return folder


def test_the_runs_folder_follows_the_document_and_lists_its_runs(window: MainWindow, tmp_path: Path) -> None:
    """Never the working directory: the data folder's for a template, beside the file once saved, the runs folder
    of a run whose graph is opened; the Runs panel lists the same folder."""
    from app.places import data_folder

    panel, runs, field = window.train_panel, window.runs_panel, window.train_panel.runs_folder
    window.docks["Runs"].show()
    assert panel.runs_root == data_folder() / "runs" == runs.runs_root
    assert tmp_path.parent in data_folder().parents  # (the tests' data folder, not the user's)
    assert field.effective.text().endswith("/runs (default)") and field.line.text() == ""
    project = tmp_path / "project"
    _a_run(project / "runs" / "mlp-1")
    window.document.save(project / "net.layerbook.json")  # as Save As does: the default moves beside the file
    assert panel.runs_root == project / "runs" == runs.runs_root
    assert field.effective.text() == f"→ {project / 'runs'} (default)"
    assert [info.name for info in runs.runs] == ["mlp-1"] and runs.folder.text() == f"in {project / 'runs'}"
    assert window.open_file(str(project / "runs" / "mlp-1" / "graph.layerbook.json"))
    assert panel.runs_root == project / "runs"  # not project/runs/mlp-1/runs
    assert window.open_graph("lenet")
    assert panel.runs_root == data_folder() / "runs" and runs.runs == []


def test_a_runs_folder_chosen_in_the_panel_is_used_remembered_and_forgotten(
        window: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from app.main_window import RUNS_FOLDER_KEY
    from app.places import data_folder

    panel, runs, field = window.train_panel, window.runs_panel, window.train_panel.runs_folder
    window.docks["Runs"].show()  # (the Training dock stays hidden: showing it loads torch, which costs seconds)
    chosen = tmp_path / "experiments"
    _a_run(chosen / "mlp-7")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(chosen))
    qtbot.mouseClick(field.browse, Qt.MouseButton.LeftButton)
    assert panel.runs_root == chosen == runs.runs_root and field.line.text() == str(chosen)
    assert window.settings.value(RUNS_FOLDER_KEY) == str(chosen) and field.effective.text() == f"→ {chosen}"
    assert [info.name for info in runs.runs] == ["mlp-7"]
    assert window.open_graph("mlp") and panel.runs_root == chosen  # the user's folder, whatever the graph

    typed = tmp_path / "typed"
    field.line.clear()
    qtbot.keyClicks(field.line, str(typed))
    qtbot.keyClick(field.line, Qt.Key.Key_Return)
    assert panel.runs_root == typed == runs.runs_root and window.settings.value(RUNS_FOLDER_KEY) == str(typed)
    later = MainWindow(window.settings)  # the next session
    qtbot.addWidget(later)
    assert later.train_panel.runs_root == typed and later.train_panel.runs_folder.line.text() == str(typed)

    field.line.clear()
    qtbot.keyClick(field.line, Qt.Key.Key_Return)
    assert panel.runs_root == data_folder() / "runs" == runs.runs_root
    assert window.settings.value(RUNS_FOLDER_KEY) is None and field.effective.text().endswith("(default)")
