"""The layer catalogue's vocabulary: a frozen spec per layer, with typed meta-parameters and ports.

The palette, the inspector, the file loader, shape inference and the compiler all read these specs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graph.tensor import TensorType

INT = "int"
FLOAT = "float"
BOOL = "bool"
CHOICE = "choice"
SIZE = "size"  # an int, or a list of `arity` ints (kernel_size=3 or kernel_size=[3, 5])
SHAPE = "shape"  # a list of ints, one per dimension (batch excluded)
TEXT = "text"
KINDS = (INT, FLOAT, BOOL, CHOICE, SIZE, SHAPE, TEXT)
LARGEST = 2**31 - 1  # sizes beyond this are no layer anyone can build; a file asking for them is refused


class ParamError(ValueError):
    """A meta-parameter value of the wrong type or out of range; the message completes 'NAME ...'."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    arity: int = 1
    optional: bool = False  # None is a valid value (e.g. a pooling stride that follows the kernel size)
    description: str = ""

    def coerce(self, value: Any) -> Any:
        """Return the value in canonical form (tuples for lists) or raise ParamError saying what is expected."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"must be {self.expected()}")
        checker = _COERCERS[self.kind]
        return checker(self, value)

    def expected(self) -> str:
        """What a valid value looks like, in words (used in every message about this parameter)."""
        return _DESCRIBERS[self.kind](self)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.kind, "default": _jsonable(self.default)}
        if self.minimum is not None:
            data["min"] = self.minimum
        if self.maximum is not None:
            data["max"] = self.maximum
        if self.choices:
            data["choices"] = list(self.choices)
        if self.description:
            data["description"] = self.description
        return data


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _range_words(spec: ParamSpec, noun: str) -> str:
    low, high = spec.minimum, spec.maximum
    if low == 1 and high in (None, LARGEST):
        return f"a positive {noun}"
    if low == 0 and high in (None, LARGEST):
        return f"a non-negative {noun}"
    if low is not None and high is not None:
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} from {_num(low)} to {_num(high)}"
    if low is not None:
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} of at least {_num(low)}"
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _num(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(spec: ParamSpec, value: float) -> bool:
    high = spec.maximum if spec.maximum is not None else (LARGEST if spec.kind != FLOAT else None)
    if spec.minimum is not None and value < spec.minimum:
        return False
    return high is None or value <= high


def _coerce_int(spec: ParamSpec, value: Any) -> int:
    if not _is_int(value) or not _in_range(spec, value):
        raise ParamError(f"must be {spec.expected()}")
    return value


def _coerce_float(spec: ParamSpec, value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
    if not ok or value in (float("inf"), float("-inf")) or not _in_range(spec, value):
        raise ParamError(f"must be {spec.expected()}")
    return float(value)


def _coerce_bool(spec: ParamSpec, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParamError("must be true or false")
    return value


def _coerce_choice(spec: ParamSpec, value: Any) -> str:
    if value not in spec.choices:
        raise ParamError(f"must be {spec.expected()}")
    return value


def _coerce_size(spec: ParamSpec, value: Any) -> int | str | tuple[int, ...]:
    if isinstance(value, str) and value in spec.choices:
        return value
    if _is_int(value) and _in_range(spec, value):
        return value
    sized = isinstance(value, list | tuple) and len(value) == spec.arity and spec.arity > 1
    if sized and all(_is_int(v) and _in_range(spec, v) for v in value):
        return tuple(value)
    raise ParamError(f"must be {spec.expected()}")


def _coerce_shape(spec: ParamSpec, value: Any) -> tuple[int, ...]:
    if isinstance(value, list | tuple) and len(value) <= 8 and all(_is_int(v) and _in_range(spec, v) for v in value):
        return tuple(value)
    raise ParamError(f"must be {spec.expected()}")


def _coerce_text(spec: ParamSpec, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise ParamError("must be a text of at most 200 characters")
    return value


def _describe_size(spec: ParamSpec) -> str:
    one = _range_words(spec, "integer")
    words = one if spec.arity == 1 else f"{one} or a list of {spec.arity} such integers"
    if spec.choices:
        words += " or one of: " + ", ".join(f"'{c}'" for c in spec.choices)
    return words


def _describe_shape(spec: ParamSpec) -> str:
    if spec.minimum == -1:
        return "a list of positive integers (one of them may be -1), batch dimension excluded"
    return "a list of positive integers, batch dimension excluded"


_COERCERS: dict[str, Callable[[ParamSpec, Any], Any]] = {
    INT: _coerce_int,
    FLOAT: _coerce_float,
    BOOL: _coerce_bool,
    CHOICE: _coerce_choice,
    SIZE: _coerce_size,
    SHAPE: _coerce_shape,
    TEXT: _coerce_text,
}
_DESCRIBERS: dict[str, Callable[[ParamSpec], str]] = {
    INT: lambda s: _range_words(s, "integer"),
    FLOAT: lambda s: _range_words(s, "number"),
    BOOL: lambda s: "true or false",
    CHOICE: lambda s: "one of: " + ", ".join(s.choices),
    SIZE: _describe_size,
    SHAPE: _describe_shape,
    TEXT: lambda s: "a text",
}


@dataclass(frozen=True)
class PortSpec:
    """An input port. A variadic port takes several ordered edges (the terms of `+`, the parts of concat)."""

    name: str
    variadic: bool = False
    optional: bool = False
    min_count: int = 1
    description: str = ""


Inputs = Mapping[str, list[TensorType]]
Rule = Callable[[Mapping[str, Any], Inputs], tuple[TensorType, int]]


@dataclass(frozen=True)
class LayerSpec:
    """Everything known about a layer type, as data. `rule` maps resolved meta-parameters and incoming tensor
    types to (output type, number of trainable parameters), or raises ShapeError."""

    type: str
    category: str
    description: str
    rule: Rule
    params: tuple[ParamSpec, ...] = ()
    inputs: tuple[PortSpec, ...] = (PortSpec("x"),)
    outputs: tuple[str, ...] = ("y",)
    trainable: bool = False
    prefix: str = ""
    aliases: tuple[str, ...] = ()
    version: int = 1
    _by_name: dict[str, ParamSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({p.name: p for p in self.params})

    def param(self, name: str) -> ParamSpec | None:
        return self._by_name.get(name)

    def port(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    @property
    def default_port(self) -> str:
        return self.inputs[0].name if self.inputs else "x"

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}
