"""Random example inputs for a graph: what export, verification and benchmarks feed a compiled module.

Float inputs are standard normal; integer inputs are token ids below the vocabulary size, so that every
embedding lookup stays in range. A seeded generator makes the same call return the same tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from graph import Analysis, Graph

EXAMPLE_BATCH = 2  # the batch of an export's example and of a generated file's `__main__`
CHECK_BATCH = 3  # verifications run at another size than the example, so a fixed batch cannot pass unseen
# ... and on sequences of at most this many tokens where the model allows: attention costs the square of the
# length (gpt2-small's 1,024 took a minute a check), and a longer sequence proves nothing more.
CHECK_TOKENS = 32
FALLBACK_VOCAB = 2  # a graph with int inputs but no embedding: ids 0 and 1 are valid for any consumer


def example_inputs(graph: Graph, batch: int = EXAMPLE_BATCH, seed: int = 0, length: int | None = None
                   ) -> dict[str, torch.Tensor]:
    """One tensor per input node, in the order of the graph's inputs, shaped (batch, *shape).

    `length` replaces the sequence length (first dimension) of integer inputs, to check that a model
    accepts sequences of another length than the one it was drawn with.
    """
    analysis = graph.analyze()
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for node in graph.nodes_of_type("input"):
        values = _values(analysis, node.name, node.params)
        shape = tuple(values.get("shape") or ())
        if values.get("dtype") == "int":
            if length is not None and shape:
                shape = (length, *shape[1:])
            tensors[node.name] = torch.randint(0, token_bound(analysis, node.name, node.params), (batch, *shape),
                                               generator=generator)
        else:
            tensors[node.name] = torch.randn((batch, *shape), generator=generator)
    return tensors


def token_inputs(graph: Graph) -> list[str]:
    """The integer inputs whose first dimension is a sequence long enough to vary (torch.export fixes
    dimensions of size 0 and 1)."""
    analysis = graph.analyze()
    names = []
    for node in graph.nodes_of_type("input"):
        values = _values(analysis, node.name, node.params)
        shape = values.get("shape") or ()
        if values.get("dtype") == "int" and len(shape) >= 1 and shape[0] >= 2:
            names.append(node.name)
    return names


def token_bound(analysis: Analysis, name: str, params: dict[str, Any]) -> int:
    """The ids an integer input may hold are those below this: its declared vocabulary, else the smallest
    embedding table of the graph."""
    return _values(analysis, name, params).get("vocab_size") or smallest_vocabulary(analysis)


def smallest_vocabulary(analysis: Analysis) -> int:
    """The smallest `num_embeddings` of any embedding, inside blocks too: ids below it fit every table."""
    return min(_embedding_sizes(analysis), default=FALLBACK_VOCAB)


def _embedding_sizes(analysis: Analysis) -> Iterator[int]:
    for info in analysis.nodes.values():
        if info.type == "embed":
            yield int(info.values["num_embeddings"])
        for stage in info.stages:  # every copy of a repeated block: each may resolve its own sizes
            if stage.inner is not None:
                yield from _embedding_sizes(stage.inner)


def _values(analysis: Analysis, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Resolved values (defaults filled in); the raw ones when analysis could not resolve the node."""
    info = analysis.nodes.get(name)
    return dict(info.values) if info is not None else dict(params)
