"""The gpt2-small template: the published configuration, exact to the parameter, with its tied projection."""

from __future__ import annotations

import torch

from graph import dumps, load_graph
from graph.library import template_path
from runtime import build_module


def test_gpt2_small_matches_the_published_count_and_shapes() -> None:
    graph = load_graph("gpt2-small")
    module = build_module(graph, device="meta")
    # 124,439,808 (Radford et al.): tokens 50,257×768 + positions 1,024×768 + 12 blocks + final layernorm.
    per_block = 2 * 768 + (4 * 768 * 768 + 4 * 768) + 2 * 768 + (768 * 3072 + 3072) + (3072 * 768 + 768)
    by_hand = 50_257 * 768 + 1_024 * 768 + 12 * per_block + 2 * 768
    assert by_hand == 124_439_808
    assert sum(p.numel() for p in module.parameters()) == graph.analyze().parameters == by_hand
    assert module.head.weight is module.wte.weight
    tokens = torch.zeros(2, 1024, dtype=torch.long, device="meta")
    assert module(tokens).shape == (2, 1024, 50_257)


def test_gpt2_small_file_is_canonical() -> None:
    path = template_path("gpt2-small")
    assert path is not None and dumps(load_graph("gpt2-small")) == path.read_text(encoding="utf-8")
