"""Weight tying: a fully-conn whose weight is an embed node's table (GPT's output projection, `tie="embed"`).

The tied layer owns no weight of its own, so its parameter count is its bias alone; the embedding's table must
have the shape of the weight it replaces (num_embeddings × embedding_dim = out_features × in_features).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from graph.model import Graph
from graph.problems import Problem
from graph.validation import who

if TYPE_CHECKING:
    from graph.inference import NodeInfo


def apply_ties(graph: Graph, infos: dict[str, NodeInfo]) -> list[Problem]:
    """Check every tie of this graph level and discount the shared weights; returns the problems found."""
    problems = []
    for name, info in list(infos.items()):
        target = info.values.get("tie") if info.type == "fully-conn" else None
        if target is None:
            continue
        problem = _check_tie(graph, name, target, info, infos)
        if problem is not None:
            problems.append(problem)
            del infos[name]
            continue
        d_in, d_out = info.input.shape[-1], info.values["out_features"]
        infos[name] = replace(info, parameters=info.parameters - d_in * d_out)
    return problems


def _check_tie(graph: Graph, name: str, target: str, info: NodeInfo, infos: dict[str, NodeInfo]) -> Problem | None:
    node = graph.node(name)
    if target not in graph or graph.node(target).type != "embed":
        return Problem("tie", f"{who(node)} ties its weight to '{target}', which is not an embed node of this "
                       "graph", name)
    if info.copies > 1 or graph.node(target).repeat != 1:
        return Problem("tie", f"{who(node)} ties its weight to '{target}': a repeated layer cannot share one "
                       "weight", name)
    embed = infos.get(target)
    if embed is None:
        return Problem("tie", f"{who(node)} ties its weight to '{target}', whose size is unknown until its own "
                       "problems are fixed", name)
    table = (embed.values["num_embeddings"], embed.values["embedding_dim"])
    weight = (info.values["out_features"], info.input.shape[-1])
    if table != weight:
        return Problem("tie", f"{who(node)} ties its weight to '{target}', a {table[0]}×{table[1]} table, but its "
                       f"own weight is {weight[0]}×{weight[1]} (out_features × input size): make them agree",
                       name)
    return None
