"""Structured problems: what validation returns instead of raising for a user's mistake."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph, attached to the node (and port) a person should look at.

    `path` names the nodes inside a block instance, outermost first, when the fault lies inside it.
    """

    code: str
    message: str
    node: str | None = None
    port: str | None = None
    severity: str = ERROR
    path: tuple[str, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"code": self.code, "severity": self.severity, "node": self.node}
        if self.port is not None:
            data["port"] = self.port
        if self.path:
            data["path"] = list(self.path)
        data["message"] = self.message
        return data

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


class ShapeError(Exception):
    """Raised by a shape rule; inference turns it into a Problem on the node. Never reaches a user as a traceback."""

    def __init__(self, message: str, port: str | None = None, code: str = "shape") -> None:
        super().__init__(message)
        self.message = message
        self.port = port
        self.code = code
