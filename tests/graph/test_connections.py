"""check_connect explains why a wire is refused; can_connect agrees with it."""

from __future__ import annotations

import pytest

from graph import Graph
from graph.connections import can_connect, check_connect


@pytest.fixture
def chain() -> Graph:
    g = Graph()
    g.add("input", shape=(8,))
    g.add("fully-conn", out_features=4)
    g.add("relu")
    g.add("output")
    g.connect("X", "fc1")
    g.connect("fc1", "relu1")
    g.add("+")
    g.add("mha")
    return g


def test_free_port_may_be_wired(chain: Graph) -> None:
    assert check_connect(chain, "relu1", "Y") is None and can_connect(chain, "relu1", "Y")


@pytest.mark.parametrize(("src", "dst", "port", "reason"), [
    ("relu1", "relu1", None, "cannot feed itself"),
    ("relu1", "fc1", None, "already connected"),
    ("relu1", "X", None, "is an input"),
    ("Y", "relu1", None, "is an output"),
    ("relu1", "mha1", "z", "has no input port 'z' (ports: q, k, v)"),
    ("relu1", "nowhere", None, "no node named 'nowhere'"),
])
def test_refusals_say_why(chain: Graph, src: str, dst: str, port: str | None, reason: str) -> None:
    message = check_connect(chain, src, dst, port)
    assert message is not None and reason in message
    assert not can_connect(chain, src, dst, port)


def test_cycle_is_refused_naming_both_ends() -> None:
    g = Graph()
    a, b, c = g.add("relu"), g.add("relu"), g.add("relu")
    g.connect(a, b)
    g.connect(b, c)
    message = check_connect(g, c, a)
    assert message is not None and "cycle" in message and f"'{a}'" in message and f"'{c}'" in message


def test_variadic_port_takes_several_wires(chain: Graph) -> None:
    chain.connect("fc1", "add1")
    assert can_connect(chain, "relu1", "add1")
    chain.connect("relu1", "add1")
    # A third term of another width is wired all the same: shapes are judged by validation, on the node.
    chain.connect("X", "add1")
    problems = chain.validate()
    assert any(p.node == "add1" and p.code == "shape" and "8" in p.message for p in problems)
