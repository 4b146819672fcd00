"""Values the generated code writes, and the Python expressions over a block class's constructor parameters that
give them (`C // 4`): how each is written, and the scope that checks an expression before it is used."""

from __future__ import annotations

import ast
import copy
import json
import keyword
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.catalog import BOOL, FLOAT, INT, SHAPE, SIZE, ParamSpec
from graph.expressions import ExpressionError, evaluate, parse
from runtime.codegen.helpers import RESERVED

ALWAYS = object()  # a keyword "default" no value equals: the keyword is always written


@dataclass(frozen=True)
class Arg:
    """A value the code may write: the value itself and, where known, a Python expression over the names a block
    class receives that gives it (`C // 4`)."""

    value: Any
    text: str | None = None


Shape = tuple[Arg, ...]


def literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return tuple_text([literal(v) for v in value])
    return repr(value)


def tuple_text(items: Sequence[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


class _FloorDivision(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.BinOp:
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            node.op = ast.FloorDiv()
        return node


def python_expression(text: str, integer: bool) -> str | None:
    """A meta-parameter expression as Python. Sizes are integers, and `C/4` only ever divides exactly where it
    gives a size, so `/` is written `//` there (and checked like every expression)."""
    try:
        tree = copy.deepcopy(parse(text))
    except ExpressionError:
        return None
    return ast.unparse(_FloorDivision().visit(tree) if integer else tree)


def raw_text(raw: Any, spec: ParamSpec | None) -> str | None:
    """The expression a node's stored value stands for (None for a plain value, which is written literally)."""
    if spec is None or spec.kind not in (INT, FLOAT, BOOL, SIZE, SHAPE) or raw in spec.choices:
        return None
    integer = spec.kind != FLOAT
    if isinstance(raw, str):
        return python_expression(raw, integer)
    if isinstance(raw, list | tuple) and any(isinstance(entry, str) for entry in raw):
        parts = [python_expression(e, integer) if isinstance(e, str) else literal(e) for e in raw]
        return None if None in parts else tuple_text(parts)  # type: ignore[arg-type]
    return None


def _names(text: str) -> set[str]:
    tree = ast.parse(text, mode="eval")
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        both = isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b)
        return both and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def is_default(value: Any, default: Any) -> bool:
    if default is ALWAYS:
        return False
    if isinstance(value, tuple) and not isinstance(default, tuple):  # stride=(1, 1) is stride=1
        return all(same(v, default) for v in value)
    return same(value, default)


def _holds(text: str, value: Any, scope: Mapping[str, Any]) -> bool:
    """Whether `text` gives `value` with the names in `scope` (a tuple display is checked entry by entry)."""
    tree = ast.parse(text, mode="eval").body
    parts, values = (tree.elts, value) if isinstance(tree, ast.Tuple) else ([tree], (value,))
    if not isinstance(values, list | tuple) or len(values) != len(parts):
        return False
    try:
        return all(same(evaluate(ast.unparse(p), scope), v) for p, v in zip(parts, values, strict=True))
    except ExpressionError:
        return False


class Scope:
    """The names a class's constructor receives, with their values for the instance being written. The top level
    has none, so everything there is written as a literal."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values = {k: v for k, v in (values or {}).items() if k not in RESERVED and not keyword.iskeyword(k)}
        self.used: set[str] = set()

    def render(self, arg: Arg) -> tuple[str, bool]:
        """The text of `arg`, and whether it is an expression rather than a literal."""
        if arg.text is not None:
            names = _names(arg.text)
            if names and names <= self.values.keys() and _holds(arg.text, arg.value, self.values):
                self.used |= names
                return arg.text, True
        return literal(arg.value), False

    def call(self, function: str, args: Sequence[Arg], **keywords: tuple[Arg, Any]) -> str:
        """A constructor call: the positional arguments, then each keyword whose value is not torch's default."""
        parts = [self.render(a)[0] for a in args]
        for key, (arg, default) in keywords.items():
            text, symbolic = self.render(arg)
            if symbolic or not is_default(arg.value, default):
                parts.append(f"{key}={text}")
        return f"{function}({', '.join(parts)})"
