"""The templates too large to export or check at full size in the suite (ten seconds and more each on two cores),
and a reduced copy of each with the same structure (fewer channels, copies and tokens, a smaller image)."""

from __future__ import annotations

from graph import Graph, load_graph
from tests.templates.test_vision_templates import REDUCED as REDUCED_VISION

GIANTS = ("alexnet", "densenet121", "efficientnet-b0", "gpt2-small", "resnet50", "vgg16", "vit-b16")


def small_gpt2(graph: Graph) -> Graph:
    """Same graph, tie included, with a vocabulary of 64, 16 tokens of 48 (12 heads of 4) and two blocks."""
    for node, key, value in (("X", "shape", [16]), ("X", "vocab_size", 64), ("wte", "num_embeddings", 64),
                             ("wte", "embedding_dim", 48), ("wpe", "max_len", 16), ("head", "out_features", 64)):
        graph.set_param(node, key, value)
    graph.set_repeat("blocks", 2)
    return graph


def small_vit_b16(graph: Graph) -> Graph:
    """4 patches of 3·2·2, D=24, one layer of two heads, 10 classes."""
    for knob, value in (("M", 4), ("P", 2), ("D", 24), ("N", 1), ("heads", 2), ("C", 10)):
        graph.set_meta(knob, value)
    return graph


REDUCED = {**REDUCED_VISION, "gpt2-small": small_gpt2, "vit-b16": small_vit_b16}


def suite_size(name: str) -> Graph:
    """The template, reduced when it is a giant."""
    graph = load_graph(name)
    return REDUCED[name](graph) if name in GIANTS else graph
