"""Resolving meta-parameter values: defaults, expressions over the enclosing scope, type and range checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from graph.catalog import CHOICE, FLOAT, INT, SHAPE, SIZE, TEXT, ParamError, ParamSpec
from graph.expressions import ExpressionError, evaluate
from graph.problems import Problem
from graph.registry import suggest


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _evaluate_entry(raw: Any, scope: Mapping[str, Any]) -> Any:
    return evaluate(raw, scope) if isinstance(raw, str) else raw


def evaluate_value(spec: ParamSpec, raw: Any, scope: Mapping[str, Any]) -> Any:
    """Turn a stored value into a concrete one: strings are expressions for numbers, names for choices."""
    if isinstance(raw, str):
        if spec.kind in (CHOICE, TEXT) or raw in spec.choices:
            if spec.kind == CHOICE and raw not in spec.choices and raw in scope:
                return scope[raw]
            return raw
        return evaluate(raw, scope)
    if isinstance(raw, list | tuple) and spec.kind in (SIZE, SHAPE):
        return [_evaluate_entry(v, scope) for v in raw]
    return raw


def wrong_type(spec: ParamSpec, value: Any) -> bool:
    """True when the value is not even of the parameter's type (as opposed to out of its range)."""
    if spec.kind == INT:
        return not _is_int(value)
    if spec.kind == FLOAT:
        return not (_is_int(value) or isinstance(value, float))
    if spec.kind in (SIZE, SHAPE):
        entries = value if isinstance(value, list | tuple) else [value]
        return not all(_is_int(v) for v in entries) and not (isinstance(value, str) and value in spec.choices)
    if spec.kind == CHOICE:
        return not isinstance(value, str)
    return not isinstance(value, type(spec.default)) if spec.default is not None else False


def describe(value: Any, depth: int = 0) -> str:
    """A value as a message shows it, JSON-like and kept short whatever its size."""
    if isinstance(value, list | tuple) and depth > 2:
        return "[…]"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:40]}…' ({len(value):,} characters)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        more = ", …" if len(value) > 8 else ""
        return "[" + ", ".join(describe(v, depth + 1) for v in value[:8]) + more + "]"
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and value.bit_length() > 100:
        return f"an integer of about {int(value.bit_length() * math.log10(2)):,} digits"
    return str(value)


def resolve_values(specs: Mapping[str, ParamSpec], given: Mapping[str, Any], scope: Mapping[str, Any],
                   who: str, node: str | None) -> tuple[dict[str, Any], list[Problem]]:
    """Resolve every declared parameter of a node; `who` names it in messages ("conv-2d 'conv1'")."""
    problems = [
        Problem("unknown-param", f"{who} has no meta-parameter '{key}'{suggest(key, list(specs))}", node)
        for key in given if key not in specs
    ]
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        raw = given.get(name, spec.default)
        try:
            value = evaluate_value(spec, raw, scope)
        except ExpressionError as exc:
            problems.append(Problem("expression", f"{who}: {name} = {describe(raw)}: {exc}", node))
            continue
        try:
            values[name] = spec.coerce(value)
        except ParamError as exc:
            shown = describe(raw) if value == raw else f"{describe(raw)} = {describe(value)}"
            code = "param-type" if wrong_type(spec, value) else "param-range"
            problems.append(Problem(code, f"{who}: {name} {exc} (got {shown})", node))
    return values, problems
