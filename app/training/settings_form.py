"""The training settings a user changes most, as a form; everything else keeps the template's value.

The whole numbers are spin boxes holding the ranges TrainConfig declares (runtime.training.config, plain Python:
no torch), so a value out of range cannot be typed. Learning rate and weight decay are typed as text: '3e-4' is
how people write them, and a spin box would round; TrainConfig refuses one out of range, naming the setting,
before a run starts."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.training.tasks import run_task
from runtime.training.config import DEVICES, OPTIMIZERS, PRECISIONS, SCHEDULES, range_text, setting_range

SPIN_BOX_MAX = 2**31 - 1  # a QSpinBox holds a C int: a wider range (the seed's 32 bits) takes a double's


class SettingsForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base: Any = None  # the TrainConfig the form was filled from: the fields not shown come from it
        self.epochs = _spin("Epochs", "epochs")
        self.batch_size = _spin("Batch size", "batch_size")
        self.optimizer = _combo("Optimizer", OPTIMIZERS)
        self.lr = _line("Learning rate", "lr", "e.g. 1e-3")
        self.schedule = _combo("Schedule", SCHEDULES)
        self.warmup = _spin("Warm-up steps", "warmup_steps")
        self.weight_decay = _line("Weight decay", "weight_decay", "0")
        self.device = _combo("Device", DEVICES)
        self.device_info = QLabel("")
        self.device_info.setAccessibleName("Detected device")
        self.device_info.setStyleSheet("color: #555;")
        self.device_info.setWordWrap(True)
        self.precision = _combo("Precision", PRECISIONS)
        self.seed = _spin("Seed", "seed")
        self._lay_out()
        self._detecting = False

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        two = QHBoxLayout()
        two.addWidget(self.epochs)
        two.addWidget(QLabel("Batch"))
        two.addWidget(self.batch_size)
        form.addRow("Epochs", two)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.lr)
        form.addRow("Schedule", self.schedule)
        form.addRow("Warm-up steps", self.warmup)
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Device", self.device)
        form.addRow("", self.device_info)
        form.addRow("Precision", self.precision)
        form.addRow("Seed", self.seed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)

    def fill(self, config: Any) -> None:
        """Show a TrainConfig's values."""
        self._base = config
        self.epochs.setValue(config.epochs)
        self.batch_size.setValue(config.batch_size)
        self.optimizer.setCurrentText(config.optimizer)
        self.lr.setText(f"{config.lr:g}")
        self.schedule.setCurrentText(config.schedule)
        self.warmup.setValue(config.warmup_steps)
        self.weight_decay.setText(f"{config.weight_decay:g}")
        self.device.setCurrentText(config.device if config.device in DEVICES else "auto")
        self.precision.setCurrentText(config.precision)
        self.seed.setValue(config.seed)

    def config(self, dataset: str | None, **overrides: Any) -> Any:
        """The TrainConfig of the form; ConfigError (with the setting's name) when a value is wrong."""
        from runtime.training.config import TrainConfig

        values = {"epochs": self.epochs.value(), "batch_size": self.batch_size.value(),
                  "optimizer": self.optimizer.currentText(), "lr": _number("learning rate", self.lr.text()),
                  "schedule": self.schedule.currentText(), "warmup_steps": self.warmup.value(),
                  "weight_decay": _number("weight decay", self.weight_decay.text()),
                  "device": self.device.currentText(), "precision": self.precision.currentText(),
                  "seed": int(self.seed.value()), "dataset": dataset, **overrides}
        base = self._base.to_dict() if self._base is not None else {}
        return TrainConfig.from_dict({**base, **values})

    def detect_device(self) -> None:
        """Name the device `auto` would pick, with its memory; in a thread (importing torch takes a second)."""
        if self._detecting or self.device_info.text():
            return
        self._detecting = True
        self.device_info.setText("detecting the device…")
        run_task(_detected, self._show_device, self._show_device, owner=self.device_info)

    def _show_device(self, text: str) -> None:
        self._detecting = False
        self.device_info.setText(f"auto → {text}")


def _detected() -> str:
    from runtime.training.devices import describe, pick_device

    return describe(pick_device("auto"))


def _number(name: str, text: str) -> float:
    from runtime.training.config import ConfigError

    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise ConfigError(f"{name} must be a number (like 1e-3), got '{text}'") from None


def _spin(name: str, setting: str) -> QAbstractSpinBox:
    """A spin box for a whole-number setting, holding its declared range."""
    allowed = setting_range(setting)
    low, high = int(allowed.low) + allowed.above, int(allowed.high) - allowed.below
    box: QSpinBox | QDoubleSpinBox = QSpinBox() if high <= SPIN_BOX_MAX else QDoubleSpinBox()
    if isinstance(box, QDoubleSpinBox):
        box.setDecimals(0)
    box.setRange(low, high)
    box.setAccessibleName(name)
    box.setToolTip(f"{name}: {range_text(setting)}")
    box.setGroupSeparatorShown(True)
    return box


def _combo(name: str, items: tuple[str, ...]) -> QComboBox:
    box = QComboBox()
    box.addItems(list(items))
    box.setAccessibleName(name)
    return box


def _line(name: str, setting: str, placeholder: str) -> QLineEdit:
    line = QLineEdit()
    line.setAccessibleName(name)
    line.setPlaceholderText(placeholder)
    line.setToolTip(f"{name} ({setting}): {range_text(setting)}")
    return line
