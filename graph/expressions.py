"""Arithmetic over meta-parameters and shape symbols (`C/4`, `4*C/S`), by a small safe evaluator.

Python's `ast` module parses the text; this module walks the tree itself and accepts only numbers, names,
arithmetic, comparisons, `and`/`or`/`not`, `a if c else b`, and the functions `min`, `max`, `abs`. Nothing is
ever passed to `eval`, and nothing else can run.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache

Number = int | float | bool
MAX_LENGTH = 200
MAX_MAGNITUDE = 10**15  # far above any layer size; keeps `10**10**10` from eating the machine


class ExpressionError(ValueError):
    """A user's expression that cannot be evaluated; the message says why in words."""


def _divide(a: Number, b: Number) -> Number:
    # C/4 must stay an integer when it divides exactly, so channel counts remain ints.
    if b == 0:
        raise ExpressionError("division by zero")
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def _floordiv(a: Number, b: Number) -> Number:
    if b == 0:
        raise ExpressionError("division by zero")
    return a // b


def _modulo(a: Number, b: Number) -> Number:
    if b == 0:
        raise ExpressionError("modulo by zero")
    return a % b


def _power(a: Number, b: Number) -> Number:
    if abs(b) > 64 or (abs(a) > 1 and abs(b) * math.log2(abs(a)) > 60):
        raise ExpressionError(f"{a}**{b} is too large")
    if a == 0 and b < 0:
        raise ExpressionError(f"{a}**{b} divides by zero")
    if a < 0 and not float(b).is_integer():
        raise ExpressionError(f"({a})**{b} is not a real number")
    return a**b


_BINARY: dict[type, Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _divide,
    ast.FloorDiv: _floordiv,
    ast.Mod: _modulo,
    ast.Pow: _power,
}
_COMPARE: dict[type, Callable[[Number, Number], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCTIONS: dict[str, Callable[..., Number]] = {"min": min, "max": max, "abs": abs}


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.expr:
    """Parse once and keep the tree: the same expressions are evaluated on every validation."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot read '{text}' as arithmetic") from exc
    _check(tree.body, text)
    return tree.body


def _check(node: ast.AST, text: str) -> None:
    allowed = (
        ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Constant, ast.Name, ast.Call,
        ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.Load,
    )
    for child in ast.walk(node):
        if not isinstance(child, allowed):
            raise ExpressionError(f"'{text}' uses something other than arithmetic")
        if isinstance(child, ast.Constant) and not isinstance(child.value, int | float):
            raise ExpressionError(f"'{text}' contains {child.value!r}, which is not a number")
        allowed_call = isinstance(child, ast.Call) and isinstance(child.func, ast.Name) \
            and child.func.id in _FUNCTIONS and not child.keywords
        if isinstance(child, ast.Call) and not allowed_call:
            raise ExpressionError(f"'{text}' calls a function other than min, max or abs")
        if isinstance(child, ast.BinOp) and type(child.op) not in _BINARY:
            raise ExpressionError(f"'{text}' uses an operator other than + - * / // % **")
        if isinstance(child, ast.UnaryOp) and not isinstance(child.op, ast.USub | ast.UAdd | ast.Not):
            raise ExpressionError(f"'{text}' uses an operator other than - + not")
        if isinstance(child, ast.Compare) and any(type(op) not in _COMPARE for op in child.ops):
            raise ExpressionError(f"'{text}' compares with something other than == != < <= > >=")


def names(text: str) -> set[str]:
    """The free names an expression refers to (for dependency display and error messages)."""
    tree = parse(text)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def evaluate(text: str, scope: Mapping[str, Number]) -> Number:
    """Evaluate `text` with the values in `scope`; raises ExpressionError with a readable reason."""
    try:
        value = _eval(parse(text), scope)
    except RecursionError as exc:
        raise ExpressionError(f"'{text}' is nested too deeply") from exc
    except (OverflowError, TypeError) as exc:
        raise ExpressionError(f"cannot evaluate '{text}': {exc}") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"'{text}' is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ExpressionError(f"'{text}' = {value} is too large")
    return value


def _number(name: str, value: object) -> Number:
    # A meta-parameter may hold a list or a text (kernel_size=[3, 5], mode='max'): arithmetic on it would
    # repeat sequences (`k*10**9` allocates without end), so only numbers enter an expression.
    if not isinstance(value, int | float):
        raise ExpressionError(f"'{name}' is {value!r}, not a number")
    return value


def _boolean(is_and: bool, values: list[ast.expr], scope: Mapping[str, Number]) -> Number:
    """`and`/`or` as in Python: the first operand that decides, so `hidden or 4*D` gives a number."""
    for node in values[:-1]:
        value = _eval(node, scope)
        if bool(value) != is_and:
            return value
    return _eval(values[-1], scope)


def _eval(node: ast.expr, scope: Mapping[str, Number]) -> Number:
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            if name not in scope:
                known = ", ".join(sorted(scope)) or "none"
                raise ExpressionError(f"unknown name '{name}' (known here: {known})")
            return _number(name, scope[name])
        case ast.BinOp(left=left, op=op, right=right):
            return _BINARY[type(op)](_eval(left, scope), _eval(right, scope))
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_eval(operand, scope)
        case ast.UnaryOp(op=ast.UAdd(), operand=operand):
            return +_eval(operand, scope)
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _eval(operand, scope)
        case ast.BoolOp(op=op, values=values):
            return _boolean(isinstance(op, ast.And), values, scope)
        case ast.Compare(left=left, ops=ops, comparators=rights):
            current = _eval(left, scope)
            for op, right in zip(ops, rights, strict=True):
                value = _eval(right, scope)
                if not _COMPARE[type(op)](current, value):
                    return False
                current = value
            return True
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return _eval(body, scope) if _eval(test, scope) else _eval(orelse, scope)
        case ast.Call(func=ast.Name(id=fname), args=args):
            return _FUNCTIONS[fname](*(_eval(a, scope) for a in args))
    raise ExpressionError("unsupported expression")
