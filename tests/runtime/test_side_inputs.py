"""A repeated block with a side input (a decoder layer ×N reading the encoder's Z): compiled and generated code
chain the first port through the copies and give every copy the same side input."""

from __future__ import annotations

from pathlib import Path

import torch

from graph import Graph
from runtime import build_module
from tests.runtime.generated import load_generated, write_generated


def decoder_stack(copies: int = 3) -> Graph:
    g = Graph("decoder")
    g.add("input", "Y", shape=(5, 16))
    g.add("input", "Z", shape=(7, 12))
    g.add("cross-att", "dec", heads=2, repeat=copies)
    g.add("output", "P", loss="none")
    g.connect("Y", "dec", "x_q")
    g.connect("Z", "dec", "x_kv")
    g.connect("dec", "P")
    return g


def test_compiled_copies_chain_the_queries_and_share_the_memory() -> None:
    module = build_module(decoder_stack()).eval()
    y, z = torch.randn(2, 5, 16), torch.randn(2, 7, 12)
    by_hand = y
    for copy in module.dec:  # each copy on its own: the chain by hand
        by_hand = copy(by_hand, x_kv=z)
    torch.testing.assert_close(module(y, z), by_hand)
    assert len({id(copy.mha1.in_proj_bias) for copy in module.dec}) == 3  # three sets of parameters


def test_generated_source_does_the_same(tmp_path: Path) -> None:
    graph = decoder_stack()
    path = write_generated(graph, tmp_path / "decoder_model.py")
    generated = load_generated(path)
    compiled, model = build_module(graph).eval(), generated.Decoder().eval()
    model.load_state_dict(compiled.state_dict())
    y, z = torch.randn(3, 5, 16), torch.randn(3, 7, 12)
    torch.testing.assert_close(model(y, z), compiled(y, z))
