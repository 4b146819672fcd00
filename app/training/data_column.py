"""The Train panel's Data column: the dataset to train on (a built-in, or a file or folder of the user's) and a
glimpse of a few samples as the graph would receive them, made in the worker process."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QGroupBox, QVBoxLayout, QWidget

from app.training.preview_view import DataPreview
from app.training.tasks import run_task

CHOOSE_FILE, CHOOSE_FOLDER = "Choose file…", "Choose folder…"
FILE_FILTER = "Data files (*.csv *.npz *.npy *.txt);;All files (*)"
PREVIEW_COUNT = 16


class DataColumn(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Data", parent)
        self.graph: Any = None  # the graph the preview feeds
        self._preview_generation = 0
        self._source: str | None = None  # the data last chosen (a cancelled file dialog returns to it)
        self.dataset = QComboBox()
        self.dataset.setAccessibleName("Dataset")
        self.dataset.setToolTip("A built-in dataset, or a file or folder of yours (you can also drop one here)")
        self.dataset.addItem(CHOOSE_FILE, CHOOSE_FILE)
        self.dataset.addItem(CHOOSE_FOLDER, CHOOSE_FOLDER)
        self.preview = DataPreview()
        layout = QVBoxLayout(self)
        layout.addWidget(self.dataset)
        layout.addWidget(self.preview, 1)
        self.dataset.activated.connect(self.activated)

    def set_graph(self, graph: Any) -> None:
        """The graph to preview the data for; lists the built-ins on the first call: runtime.data imports torch,
        which the editor must not load until the user turns to training."""
        self.graph = graph
        if self.dataset.findData(CHOOSE_FILE) > 0:
            return
        from runtime.data import builtin_datasets

        for i, (name, description) in enumerate(builtin_datasets().items()):
            self.dataset.insertItem(i, name, name)
            self.dataset.setItemData(i, description, Qt.ItemDataRole.ToolTipRole)
        self.dataset.insertSeparator(self.dataset.count() - 2)

    def source(self) -> str | None:
        """The chosen data: a built-in's name or a path; None when nothing is chosen."""
        data = self.dataset.currentData()
        return None if data in (CHOOSE_FILE, CHOOSE_FOLDER, None) else str(data)

    def set_dataset(self, source: str) -> None:
        """Select a built-in by name or a file/folder path (added to the list if new) and preview it."""
        index = self.dataset.findData(source)
        if index < 0:
            index = self.dataset.findData(CHOOSE_FILE)
            index -= 1 if index > 0 and not self.dataset.itemText(index - 1) else 0  # above the separator
            self.dataset.insertItem(index, Path(source).name or source, source)
            self.dataset.setItemData(index, source, Qt.ItemDataRole.ToolTipRole)
        self.dataset.setCurrentIndex(index)
        self.refresh_preview()

    def activated(self, index: int) -> None:
        """The user picked an entry: a dataset, or a file or folder to choose in a dialog."""
        data = self.dataset.itemData(index)
        if data == CHOOSE_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a data file", "", FILE_FILTER)
        elif data == CHOOSE_FOLDER:
            path = QFileDialog.getExistingDirectory(self, "Choose a folder of images (one subfolder per class)")
        else:
            self.refresh_preview()
            return
        if path:
            self.set_dataset(path)
        else:  # cancelled: back to the data chosen before
            self.dataset.setCurrentIndex(max(0, self.dataset.findData(self._source)))

    def refresh_preview(self) -> None:
        """Load a few samples in the worker; an answer for an older choice is ignored."""
        source = self.source()
        if source is None or self.graph is None:
            return
        self._source = source
        self._preview_generation += 1
        generation = self._preview_generation
        self.preview.show_busy(source)
        from graph.fileformat import dumps

        run_task(partial(preview_of_text, source, dumps(self.graph)),
                 lambda shown: generation == self._preview_generation and self.preview.show_preview(shown),
                 lambda message: generation == self._preview_generation and self.preview.show_error(message),
                 owner=self.preview)


def preview_of_text(source: str, graph_text: str) -> Any:
    """The preview, in the worker process (the graph travels as file text: data, not objects)."""
    from graph.fileformat import loads
    from runtime.data import GraphSpec
    from runtime.data.preview import preview

    return preview(source, GraphSpec.of(loads(graph_text)), PREVIEW_COUNT)
