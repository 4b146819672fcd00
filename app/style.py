"""Colours and metrics of the book's drawing convention (section 4.1), shared by the canvas and the renderer."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QFont

BOX_WIDTH = 120
BOX_HEIGHT = 22
BLOCK_HEIGHT = 40  # "layers with a complex inner structure are drawn taller"
LAYER_GAP = 40  # vertical space between two consecutive boxes of the layout
PORT_RADIUS = 3.5
FONT_FAMILY = "DejaVu Sans"
FONT_SIZE = 9


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    box_fill: str  # parameter-free operators (relu, maxpool, reshape, +)
    box_fill_trainable: str  # boxes holding trainable parameters: darker
    box_border: str
    text: str
    param_text: str  # non-default meta-parameters, in blue
    shape_text: str
    edge: str
    port: str
    selection: str
    error: str
    warning: str
    bracket: str
    repeat_frame: str
    valid_target: str = "#2e9d43"


LIGHT = Theme(
    name="light", background="#ffffff", box_fill="#eef2f6", box_fill_trainable="#b8c6d8", box_border="#4d5966",
    text="#111111", param_text="#1f5fbf", shape_text="#111111", edge="#222222", port="#7a8696",
    selection="#2a82da", error="#d62728", warning="#f28e0c", bracket="#555555", repeat_frame="#555555",
)

DARK = Theme(
    name="dark", background="#1e2227", box_fill="#3a414a", box_fill_trainable="#56708f", box_border="#a9b4c0",
    text="#eeeeee", param_text="#6fa8ff", shape_text="#dddddd", edge="#d0d0d0", port="#9aa6b4",
    selection="#4ea1ff", error="#ff5555", warning="#ffa53a", bracket="#aaaaaa", repeat_frame="#aaaaaa",
    valid_target="#4cd36a",
)

THEMES = {"light": LIGHT, "dark": DARK}


def theme(name: str) -> Theme:
    """The theme called `name` ("light" or "dark"); ValueError names the known ones."""
    try:
        return THEMES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown theme '{name}' (themes: {', '.join(THEMES)})") from None


def font(size: float = FONT_SIZE) -> QFont:
    result = QFont(FONT_FAMILY)
    result.setPointSizeF(size)
    return result
