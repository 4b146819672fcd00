"""Weight tying: a fully-conn sharing an embedding's table (GPT's output projection)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graph import Graph, dumps, loads
from runtime import build_module
from tests.runtime.generated import load_generated, write_generated


def tied_lm(vocab: int = 20, dim: int = 6, length: int = 8, tie: str | None = "wte", out: int | None = None,
            bias: bool = False) -> Graph:
    g = Graph("tied")
    x = g.add("input", "X", shape=[length], dtype="int")
    g.add("embed", "wte", num_embeddings=vocab, embedding_dim=dim)
    g.connect(x, "wte")
    g.add("layernorm", "ln")
    g.connect("wte", "ln")
    g.add("fully-conn", "head", out_features=out or vocab, bias=bias, tie=tie)
    g.connect("ln", "head")
    g.add("output", "Y")
    g.connect("head", "Y")
    return g


def test_tied_projection_counts_only_its_bias() -> None:
    vocab, dim = 20, 6
    untied = tied_lm(tie=None).analyze()
    tied = tied_lm().analyze()
    assert untied.ok and tied.ok
    assert untied.parameters - tied.parameters == vocab * dim
    assert tied_lm(bias=True).analyze().nodes["head"].parameters == vocab


@pytest.mark.parametrize(("tie", "out", "words"), [
    ("ln", None, "not an embed node"),
    ("nowhere", None, "not an embed node"),
    ("wte", 21, "a 20×6 table, but its own weight is 21×6"),
])
def test_a_bad_tie_is_a_problem_on_the_layer(tie: str, out: int | None, words: str) -> None:
    problems = tied_lm(tie=tie, out=out).validate()
    assert [(p.code, p.node) for p in problems] == [("tie", "head")]
    assert words in problems[0].message


def test_compiled_module_shares_one_parameter() -> None:
    module = build_module(tied_lm())
    assert module.head.weight is module.wte.weight
    assert sum(p.numel() for p in module.parameters()) == tied_lm().analyze().parameters
    module(torch.randint(0, 20, (2, 8))).sum().backward()
    assert module.wte.weight.grad is not None  # both uses feed the one gradient


def test_generated_source_ties_too(tmp_path: Path) -> None:
    graph = tied_lm()
    path = write_generated(graph, tmp_path / "tied_model.py")
    assert "self.head.weight = self.wte.weight" in path.read_text(encoding="utf-8")
    generated = load_generated(path)
    model, compiled = generated.Tied().eval(), build_module(graph).eval()
    model.load_state_dict(compiled.state_dict())
    assert model.head.weight is model.wte.weight
    tokens = torch.randint(0, 20, (3, 8))
    torch.testing.assert_close(model(tokens), compiled(tokens))


def test_tie_survives_the_file_round_trip() -> None:
    text = dumps(tied_lm())
    assert '"tie": "wte"' in text and dumps(loads(text)) == text


def test_gpt2_small_has_its_published_count() -> None:
    """GPT-2 small: V=50,257, T=1,024, D=768, 12 blocks of 12 heads, tied output: 124,439,808 parameters."""
    g = Graph("gpt2small")
    g.add("input", "X", shape=[1024], dtype="int")
    g.add("embed", "wte", num_embeddings=50257, embedding_dim=768)
    g.add("pos-enc", "wpe", kind="learned", max_len=1024)
    g.add("+", "add")
    for a, b in (("X", "wte"), ("wte", "wpe"), ("wte", "add"), ("wpe", "add")):
        g.connect(a, b)
    g.blocks["gpt-block"] = block = Graph("gpt-block", blocks=g.blocks)
    block.add("input", "x", shape=["T", "D"])
    block.add("self-att", "att", heads=12, causal=True)
    block.add("ffw", "ffw")
    block.add("output", "y", loss="none")
    for a, b in (("x", "att"), ("att", "ffw"), ("ffw", "y")):
        block.connect(a, b)
    g.add("gpt-block", "blocks", repeat=12)
    g.add("layernorm", "ln")
    g.add("fully-conn", "head", out_features=50257, bias=False, tie="wte")
    g.add("output", "Y")
    for a, b in (("add", "blocks"), ("blocks", "ln"), ("ln", "head"), ("head", "Y")):
        g.connect(a, b)
    module = build_module(g, device="meta")
    assert sum(p.numel() for p in module.parameters()) == g.analyze().parameters == 124_439_808
