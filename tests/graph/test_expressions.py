"""The safe evaluator of meta-parameter expressions (`C/4`, `4*C/S`): arithmetic as a person expects it, and
nothing else: no attribute, no call other than min/max/abs, nothing ever executed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import Graph, loads
from graph.expressions import MAX_LENGTH, ExpressionError, evaluate, names, parse


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("2 ** 3 ** 2", 512),  # right-associative, as in Python and in mathematics
    ("-2 ** 2", -4),  # the power binds tighter than the sign
    ("10 - 4 - 3", 3),  # left-associative
    ("100 / 10 / 5", 2),
    ("7 // 2", 3),
    ("-7 // 2", -4),
    ("7 % 3", 1),
    ("+5", 5),
    ("2.5 * 4", 10.0),
    ("1e3", 1000.0),
])
def test_arithmetic_and_precedence(text: str, expected: float) -> None:
    assert evaluate(text, {}) == expected


def test_division_that_is_exact_stays_an_integer() -> None:
    """Channel counts such as C/4 must remain ints when they divide exactly."""
    for c in (4, 8, 64, 256, 2048):
        value = evaluate("C/4", {"C": c})
        assert value == c // 4 and type(value) is int
    value = evaluate("4*C/S", {"C": 64, "S": 2})
    assert value == 128 and type(value) is int


def test_division_that_is_not_exact_gives_the_true_quotient() -> None:
    value = evaluate("C/4", {"C": 6})
    assert value == 1.5 and type(value) is float


@pytest.mark.parametrize(("text", "expected"), [
    ("min(C, 100)", 64), ("min(3, 1, 2)", 1), ("max(C, 100)", 100), ("abs(1 - C)", 63), ("max(min(C, 8), 2)", 8),
])
def test_min_max_abs(text: str, expected: int) -> None:
    assert evaluate(text, {"C": 64}) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("C > 32", True), ("C < 32", False), ("C == 64", True), ("C != 64", False), ("C >= 64", True),
    ("C <= 63", False), ("1 < C < 100", True), ("1 < C < 10", False), ("not C", False),
    ("C > 1 and C < 100", True), ("C > 100 or C < 1", False),
])
def test_comparisons_and_logic(text: str, expected: bool) -> None:
    assert evaluate(text, {"C": 64}) == expected


def test_conditionals_choose_a_branch() -> None:
    text = "hidden if hidden > 0 else 4*D"
    assert evaluate(text, {"hidden": 0, "D": 16}) == 64
    assert evaluate(text, {"hidden": 100, "D": 16}) == 100


def test_the_branch_not_taken_is_not_evaluated() -> None:
    assert evaluate("1 if S == 0 else C / S", {"S": 0, "C": 8}) == 1
    assert evaluate("S == 0 or C / S", {"S": 0, "C": 8}) is True


@pytest.mark.parametrize(("text", "expected"), [
    ("hidden or 4*D", 64), ("width or 4*D", 100), ("width and D", 16), ("hidden and 1/0", 0), ("0 or 0 or 7", 7),
])
def test_and_or_give_the_deciding_operand_as_in_python(text: str, expected: int) -> None:
    assert evaluate(text, {"hidden": 0, "width": 100, "D": 16}) == expected


def test_names_lists_the_free_names_not_the_functions() -> None:
    assert names("min(C, S) + 4*D if T else H") == {"C", "S", "D", "T", "H"}
    assert names("3 * 4") == set()


def test_an_unknown_name_is_named_with_the_names_known_there() -> None:
    with pytest.raises(ExpressionError) as raised:
        evaluate("C / K", {"C": 64, "S": 2, "H": 8})
    message = str(raised.value)
    assert "unknown name 'K'" in message and "H, S" in message and "C" in message


def test_a_scope_without_names_says_none_are_known() -> None:
    with pytest.raises(ExpressionError, match=r"unknown name 'N' \(known here: none\)"):
        evaluate("N", {})


@pytest.mark.parametrize(("text", "words"), [
    ("C / 0", "division by zero"),
    ("C // (S - 2)", "division by zero"),
    ("C % 0", "modulo by zero"),
    ("0 ** -1", "divides by zero"),
    ("(-8) ** 0.5", "not a real number"),
    ("min()", "cannot evaluate"),
    ("abs(1, 2)", "cannot evaluate"),
    ("1e308 * 10", "not a finite number"),
    ("10 ** 16", "too large"),
])
def test_arithmetic_errors_are_expression_errors(text: str, words: str) -> None:
    with pytest.raises(ExpressionError, match=words.replace("(", r"\(")):
        evaluate(text, {"C": 64, "S": 2})


@pytest.mark.parametrize("text", [
    "C.real",  # attribute access
    "(1).__class__",
    "C[0]",  # subscript
    "lambda: 1",
    "[c for c in (1, 2)]",  # comprehensions
    "{c for c in (1, 2)}",
    "sum(c for c in (1, 2))",
    "'abc'",  # strings
    "f'{C}'",
    "b'x'",
    "print(1)",  # calls to other functions
    "int(3.5)",
    "C(1)",
    "min(1, key=abs)",
    "__import__('os')",
    "__import__('os').system('true')",
    "eval('1')",
    "[1, 2]",  # containers
    "(1, 2)",
    "{'a': 1}",
    "None",
    "...",
    "x := 1",
    "1 << 40",  # operators outside arithmetic
    "1 @ 2",
    "1 | 2",
    "~C",
    "C is C",
    "1 in (1, 2)",
    "",
    "   ",
    "1 +",
    "import os",
])
def test_anything_but_arithmetic_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text, {"C": 64})


@pytest.mark.parametrize("text", ["2 ** 1000", "10 ** 10 ** 10", "9 ** 9 ** 9 ** 9", "(2 ** 60) ** 64"])
def test_huge_powers_are_refused_before_they_are_computed(text: str) -> None:
    with pytest.raises(ExpressionError, match="too large"):
        evaluate(text, {})


def test_over_long_text_is_refused() -> None:
    text = "+".join(["1"] * (MAX_LENGTH // 2 + 1))
    assert len(text) > MAX_LENGTH
    with pytest.raises(ExpressionError, match=f"longer than {MAX_LENGTH} characters"):
        evaluate(text, {})


def test_deep_nesting_within_the_length_limit_evaluates() -> None:
    assert evaluate("(" * 99 + "1" + ")" * 99, {}) == 1
    assert evaluate("-" * 199 + "1", {}) == -1  # an odd number of signs
    assert evaluate("not " * 49 + "1", {}) is False


def test_only_numbers_from_the_scope_enter_arithmetic() -> None:
    """A list-valued or text-valued meta-parameter must not be repeated by `*` (k*10**9 would never end)."""
    for value in ((3, 3), [3, 3], "max"):
        with pytest.raises(ExpressionError, match="not a number"):
            evaluate("k * 10 ** 9", {"k": value})


def test_parsing_is_cached_and_refusals_are_consistent() -> None:
    assert parse("C/4") is parse("C/4")
    for _ in range(2):
        with pytest.raises(ExpressionError):
            parse("C.real")


# --- nothing is ever executed -----------------------------------------------------------------------------

def payloads(marker: Path) -> list[str]:
    return [
        f"open({str(marker)!r}, 'w')",
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"[open({str(marker)!r}, 'w') for _ in (1,)]",
        f"(lambda: open({str(marker)!r}, 'w'))()",
        f"1 if open({str(marker)!r}, 'w') else 2",
        f"min(open({str(marker)!r}, 'w'), 1)",
    ]


def test_an_expression_that_would_create_a_file_does_not(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for text in payloads(marker):
        with pytest.raises(ExpressionError):
            evaluate(text, {})
    assert not marker.exists()


def test_a_graph_or_a_file_carrying_such_expressions_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for text in payloads(marker):
        g = Graph()
        x = g.add("input", shape=(8,))
        fc = g.add("fully-conn", out_features=text, repeat=text)
        g.connect(x, fc)
        g.connect(fc, g.add("output"))
        problems = g.validate()
        assert [p.code for p in problems] == ["expression"] and problems[0].node == fc
        block = {"nodes": [{"name": "x", "type": "input", "params": {"shape": ["D"]}},
                           {"name": "fc", "type": "fully-conn", "params": {"out_features": text}}], "edges": []}
        doc = {"format": "layerbook", "version": 1, "blocks": {"b": block}, "nodes": []}
        loads(json.dumps(doc), strict=False).validate()
    assert not marker.exists()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_evaluates_to_a_number_or_raises_expression_error(text: str) -> None:
    try:
        value = evaluate(text, {"C": 64, "S": 2, "x": 1.5})
    except ExpressionError:
        return
    assert isinstance(value, int | float)


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.one_of(st.integers(-10**6, 10**6).map(str), st.sampled_from(["C", "S", "0", "0.5", "-1"])),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "==", " and ", " or "]), inner)
        .map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(st.sampled_from(["min", "max", "abs", "-", "not "]), inner).map(
            lambda t: f"{t[0]}({t[1]})"),
    ),
    max_leaves=12,
))
def test_random_arithmetic_never_escapes_as_another_exception(text: str) -> None:
    """Whatever the operands (zero, negative, fractional), the only failure is an ExpressionError."""
    try:
        value = evaluate(text, {"C": 64, "S": 2})
    except ExpressionError:
        return
    assert isinstance(value, int | float)
    if len(text) <= MAX_LENGTH and "**" not in text and "/" not in text and "%" not in text:
        assert value == eval(text, {"__builtins__": {}}, {"C": 64, "S": 2, "min": min, "max": max, "abs": abs})
