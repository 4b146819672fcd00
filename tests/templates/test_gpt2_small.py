"""The gpt2-small template: the published configuration, exact to the parameter, with its tied projection."""

from __future__ import annotations

import torch

from graph import load_graph
from runtime import build_module
from tests.templates.canonical import load_canonical


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
    assert load_canonical("gpt2-small").analyze().ok


def test_vit_b16_exports_at_reduced_width(tmp_path) -> None:
    """The giant's structure, at a width that exports in seconds: 4 patches of 3·2·2, D=24, one layer."""
    from runtime.export import export_onnx

    graph = load_graph("vit-b16")
    for knob, value in (("M", 4), ("P", 2), ("D", 24), ("N", 1), ("heads", 2), ("C", 10)):
        graph.set_meta(knob, value)
    assert graph.analyze().ok
    report = export_onnx(graph, tmp_path / "vit.onnx")
    assert report.max_abs_diff < 1e-4 and next(iter(report.outputs.values()))[-1] == 10


def test_gpt2_small_exports_at_reduced_width(tmp_path) -> None:
    """Same graph, tie included, with V=64, T=16, D=48 (12 heads of 4): the tied projection exports too."""
    from runtime.export import export_onnx

    graph = load_graph("gpt2-small")
    for node, key, value in (("X", "shape", [16]), ("X", "vocab_size", 64), ("wte", "num_embeddings", 64),
                             ("wte", "embedding_dim", 48), ("wpe", "max_len", 16), ("head", "out_features", 64),
                             ("blocks", "repeat", None)):
        if key == "repeat":
            graph.set_repeat(node, 2)
        else:
            graph.set_param(node, key, value)
    assert graph.analyze().ok
    report = export_onnx(graph, tmp_path / "gpt2.onnx")
    assert report.max_abs_diff < 1e-4 and next(iter(report.outputs.values()))[-1] == 64
