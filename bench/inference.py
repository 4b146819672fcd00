"""Shape inference and validation speed on residual CNN graphs of 100, 1,000 and 5,000 nodes.

Reference: the same network as torch modules, its shapes propagated by a forward pass on the `meta` device
(what a tool without pure shape rules would have to do, after importing torch).
"""

from __future__ import annotations

from bench.timing import Row, sharing_a_reference
from graph import Graph

CHANNELS, SIZE = 16, 32
UNIT = 7  # nodes per residual unit: conv, batchnorm, relu, conv, batchnorm, +, relu


def residual_graph(nodes: int) -> Graph:
    """input → [conv → bn → relu → conv → bn → + skip → relu] × n → global-avgpool → fully-conn → output."""
    g = Graph(f"bench{nodes}")
    previous = g.add("input", shape=(CHANNELS, SIZE, SIZE))
    for _ in range(max(1, (nodes - 4) // UNIT)):
        skip = previous
        for type_name in ("conv-2d", "batchnorm", "relu", "conv-2d", "batchnorm"):
            params = {"out_channels": CHANNELS, "kernel_size": 3, "padding": 1} if type_name == "conv-2d" else {}
            node = g.add(type_name, **params)
            g.connect(previous, node)
            previous = node
        total = g.add("+")
        g.connect(previous, total)
        g.connect(skip, total)
        previous = g.add("relu")
        g.connect(total, previous)
    for type_name, params in (("global-avgpool", {}), ("fully-conn", {"out_features": 10}), ("output", {})):
        node = g.add(type_name, **params)
        g.connect(previous, node)
        previous = node
    return g


def torch_reference(graph: Graph):  # -> callable running the meta-device forward
    import torch
    from torch import nn

    units = (len(graph) - 4) // UNIT
    convs = [nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, device="meta") for _ in range(2 * units)]
    norms = [nn.BatchNorm2d(CHANNELS, device="meta") for _ in range(2 * units)]
    head = nn.Linear(CHANNELS, 10, device="meta")

    def forward() -> tuple[int, ...]:
        x = torch.empty(1, CHANNELS, SIZE, SIZE, device="meta")
        for i in range(units):
            y = torch.relu(norms[2 * i](convs[2 * i](x)))
            x = torch.relu(norms[2 * i + 1](convs[2 * i + 1](y)) + x)
        return tuple(head(x.mean((2, 3))).shape)

    return forward


def _edit_one_node(graph: Graph, name: str):  # -> a setup function changing one node before each timed run
    kernels = iter([1, 3] * 10)
    return lambda: graph.set_param(name, "kernel_size", next(kernels))


def _forget(graph: Graph):  # -> a setup function making the next analysis start from nothing
    def forget() -> None:
        graph.__dict__.pop("_node_memo", None)
        graph.touch()
    return forget


def _drag(graph: Graph, name: str):  # -> a setup function moving one node, as one frame of a drag does
    steps = iter(range(1_000))
    return lambda: graph.move(name, (float(next(steps)), 0.0))


def run() -> list[Row]:
    rows = []
    for nodes in (100, 1_000, 5_000):
        graph = residual_graph(nodes)
        assert graph.analyze().ok, "the benchmark graph must be valid"
        size = f"{len(graph):,} nodes"
        reference = torch_reference(graph)
        middle = graph.nodes[len(graph) // 2 // UNIT * UNIT + 1].name  # a conv in the middle of the chain
        timings = sharing_a_reference(reference, {"cold": (graph.analyze, _forget(graph)),
                                                  "edit": (graph.analyze, _edit_one_node(graph, middle)),
                                                  "drag": (graph.analyze, _drag(graph, middle))})
        cold, edit, drag = timings["cold"], timings["edit"], timings["drag"]
        small = nodes <= 1_000
        rows.append(Row("shape inference + validation, cold", size, cold, "torch meta forward",
                        100.0 if small else None))
        # Two frames at 60 Hz: the shapes shown on the boxes follow a parameter as it is typed.
        rows.append(Row("re-validation after a parameter edit", size, edit, "torch meta forward",
                        33.0 if small else None))
        # Moving a box changes no shape: re-validation during a drag must fit in one frame at any size.
        rows.append(Row("re-validation after a move (drag frame)", size, drag, "torch meta forward", 16.0))
    return rows
