"""Structured problems: what validation returns instead of raising for a user's mistake."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

# Every code a problem can carry, with what it means (the editor groups and explains problems by code).
CODES: dict[str, str] = {
    "no-input": "the graph (or block) has no input node",
    "no-output": "the graph (or block) has no output node",
    "unknown-type": "a node's type is neither a layer of the catalogue nor a block",
    "undefined-block": "a node uses a block that is not defined in the file or the library",
    "unknown-port": "an edge enters a port the node's type does not have",
    "unconnected": "a required input port has no edge",
    "arity": "a port receives too many edges, or a sum or concat too few",
    "cycle": "the node lies on a cycle",
    "recursive-block": "a block that contains itself, directly or through other blocks",
    "nesting": "blocks nested deeper than the supported limit",
    "unreachable": "no data reaches the node from any input",
    "dead-end": "the node's result reaches no output (a warning)",
    "unknown-param": "a meta-parameter the node's type does not have",
    "param-type": "a meta-parameter value of the wrong type",
    "param-range": "a meta-parameter value outside its allowed range",
    "expression": "an expression that cannot be evaluated",
    "graph-param": "a graph meta-parameter (template knob) with a bad value",
    "repeat": "a repeat ×N on a node that cannot be replicated in series",
    "shape": "the incoming shapes do not fit the layer",
    "rank": "the incoming tensor has the wrong number of dimensions",
    "dtype": "token ids where float values are needed, or the reverse",
    "tie": "a fully-conn tied to an embedding that is missing or of another size",
    "too-large": "a graph that expands (repeats × blocks) past the number of layers a graph may have",
    # lint warnings (graph/lint.py): legal graphs with a likely mistake
    "bias-before-batchnorm": "a bias right before a batchnorm, which cancels it (a warning)",
    "softmax-before-cross-entropy": "a softmax before a cross-entropy output, which applies log-softmax itself "
                                    "(a warning)",
    "linear-after-linear": "two linear layers with nothing between them collapse into one (a warning)",
    "dropout-before-output": "a dropout right before an output only adds noise to predictions (a warning)",
    "output-padding-not-exportable": "a transposed convolution's output_padding not below its stride, which "
                                     "ONNX cannot express (a warning)",
    "too-many-parameters": "weights (4 bytes each) beyond this machine's memory (a warning)",
    "memory": "a training step beyond this machine's free memory, by the estimate (a warning)",
}


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

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"undocumented problem code '{self.code}'")

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
