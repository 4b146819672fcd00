"""The graphics items of the canvas: node boxes (with their ports), edges, repeat frames and brackets."""

from app.items.edge import EdgeItem
from app.items.frame import BracketItem, RepeatFrame
from app.items.node import NodeItem

__all__ = ["BracketItem", "EdgeItem", "NodeItem", "RepeatFrame"]
