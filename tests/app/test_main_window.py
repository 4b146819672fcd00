"""The main window, driven through pytest-qt."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.main_window import MainWindow


def test_opens_the_default_template_and_lists_its_layers(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.open_graph("lenet")
    window.show()
    qtbot.waitExposed(window)
    table = window.table
    assert table.rowCount() == 12
    rows = [[table.item(r, c).text() for c in range(4)] for r in range(table.rowCount())]
    assert rows[1] == ["conv1", "conv-2d", "32×24×24", "832"]
    assert rows[-1][0] == "Y"
    assert "105,506" in window.status.text()
    assert window.windowTitle() == "Layerbook — lenet"


def test_clicking_a_row_selects_that_layer(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.open_graph("mlp")
    window.show()
    qtbot.waitExposed(window)
    rect = window.table.visualItemRect(window.table.item(3, 0))
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.table.currentRow() == 3
    assert window.table.item(3, 0).text() == "fc2"


def test_a_bad_file_is_explained_not_raised(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "bad.layerbook.json"
    path.write_text("{not json", encoding="utf-8")
    window = MainWindow()
    qtbot.addWidget(window)
    assert not window.open_graph(str(path))
    assert "not valid JSON" in window.status.text()
    assert window.table.rowCount() == 0


def test_main_with_no_command_starts_the_app_on_lenet(qtbot, monkeypatch) -> None:
    """`python main.py` with no command: the window opens on the built-in default example."""
    from PySide6.QtWidgets import QApplication

    import main

    shown: list[MainWindow] = []

    def fake_exec() -> int:  # the event loop would block: look at the window instead, then return
        shown.extend(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(fake_exec))
    assert main.main([]) == 0
    assert shown and shown[-1].graph is not None and shown[-1].graph.name == "lenet"
    for window in shown:
        window.close()
