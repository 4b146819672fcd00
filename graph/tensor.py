"""The type of a tensor flowing along an edge: its shape without the batch dimension, and its dtype."""

from __future__ import annotations

from dataclasses import dataclass

FLOAT = "float"
INT = "int"


@dataclass(frozen=True, slots=True)
class TensorType:
    """Shape excludes the batch dimension, as every shape in the book's figures does."""

    shape: tuple[int, ...]
    dtype: str = FLOAT

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        text = format_shape(self.shape)
        return text if self.dtype == FLOAT else f"{text} token ids"


def format_shape(shape: tuple[int, ...]) -> str:
    """Write a shape with the book's × sign: 32×24×24; a scalar (no dimension) reads 'a scalar'."""
    return "×".join(str(d) for d in shape) if shape else "a scalar"


def numel(shape: tuple[int, ...]) -> int:
    total = 1
    for d in shape:
        total *= d
    return total
