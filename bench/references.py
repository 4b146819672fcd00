"""Hand-written torch modules for the book's networks, the oracles of the compiler's tests and benchmarks.

Each is written from the book's figures with torch's layers and names of its own (torchvision's and nanoGPT's
style), sharing no code with the compiler. Its `key_map()` says where each entry of its state_dict comes from in the
compiled module's state_dict: a key, or `(key, i)` for the i-th third of a packed tensor (nn.MultiheadAttention
packs the query, key and value projections in one `in_proj_weight` and one `in_proj_bias`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Source = str | tuple[str, int]
KeyMap = dict[str, Source]

NORM_ENTRIES = ("weight", "bias")
BATCHNORM_ENTRIES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


# --- moving weights between a compiled module and a reference -------------------------------------------------

def translate(state: Mapping[str, Tensor], key_map: KeyMap) -> dict[str, Tensor]:
    """The reference's entries taken from a compiled state (or from the compiled gradients)."""
    return {ours: _take(state, source) for ours, source in key_map.items()}


def _take(state: Mapping[str, Tensor], source: Source) -> Tensor:
    if isinstance(source, str):
        return state[source]
    key, index = source
    return state[key].chunk(3)[index]


def source_key(source: Source) -> str:
    return source if isinstance(source, str) else source[0]


def load_compiled(reference: nn.Module, compiled: nn.Module, key_map: KeyMap) -> None:
    """Copy every weight and buffer of the compiled module into the reference; each entry of both must be used."""
    state = compiled.state_dict()
    unused = set(state) - {source_key(s) for s in key_map.values()}
    if unused:
        raise KeyError(f"compiled entries the reference does not take: {sorted(unused)}")
    reference.load_state_dict(translate(state, key_map), strict=True)


def same_entries(ours: str, theirs: str, entries: Sequence[str] = NORM_ENTRIES) -> KeyMap:
    """`ours.weight` ← `theirs.weight`, ... for a layer both modules hold as the same torch class."""
    return {f"{ours}.{entry}": f"{theirs}.{entry}" for entry in entries}


def nest(key_map: KeyMap, ours: str, theirs: str) -> KeyMap:
    """A part's key map moved under `ours.` in the reference and `theirs.` in the compiled module."""
    def under(source: Source) -> Source:
        return f"{theirs}.{source}" if isinstance(source, str) else (f"{theirs}.{source[0]}", source[1])
    return {f"{ours}.{key}": under(source) for key, source in key_map.items()}


def copy_name(node: str, index: int, copies: int) -> str:
    """The compiled path of copy `index` of a node repeated `copies` times (`stage1.0`; `stage1` when alone)."""
    return node if copies == 1 else f"{node}.{index}"


# --- Figures 5.1 and 5.2 ---------------------------------------------------------------------------------------

class MLP(nn.Module):
    """Figure 5.1: fully connected layers with relu between them."""

    def __init__(self, sizes: Sequence[int] = (50, 25, 10, 2)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for n_in, n_out in pairwise(sizes):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        self.layers = nn.Sequential(*layers[:-1])

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)

    def key_map(self, names: Sequence[str] = ("fc1", "fc2", "fc3")) -> KeyMap:
        return {k: v for i, name in enumerate(names) for k, v in same_entries(f"layers.{2 * i}", name).items()}


class LeNet(nn.Module):
    """Figure 5.2: two convolutions with max pooling and relu, then two fully connected layers."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 5), nn.MaxPool2d(3), nn.ReLU(),
                                      nn.Conv2d(32, 64, 5), nn.MaxPool2d(2), nn.ReLU())
        self.classifier = nn.Sequential(nn.Linear(256, 200), nn.ReLU(), nn.Linear(200, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))

    def key_map(self) -> KeyMap:
        pairs = (("features.0", "conv1"), ("features.3", "conv2"), ("classifier.0", "fc1"), ("classifier.2", "fc2"))
        return {k: v for ours, theirs in pairs for k, v in same_entries(ours, theirs).items()}


# --- Figures 5.3 to 5.5 ------------------------------------------------------------------------------------------

def _conv(n_in: int, n_out: int, kernel: int, stride: int = 1, padding: int = 0) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, kernel, stride=stride, padding=padding, bias=False)


class Bottleneck(nn.Module):
    """Figure 5.3 (`stride` None: C → C, the input added back) or Figure 5.4 (`stride` S: C → 4C/S, the input
    passed through a strided 1×1 convolution and batchnorm): 1×1, 3×3 and 1×1 convolutions, each batch-normed."""

    def __init__(self, channels: int, stride: int | None = None) -> None:
        super().__init__()
        step = stride or 1
        width = channels // 4 if stride is None else channels // step
        out = channels if stride is None else 4 * channels // step
        self.reduce, self.reduce_bn = _conv(channels, width, 1, stride=step), nn.BatchNorm2d(width)
        self.spatial, self.spatial_bn = _conv(width, width, 3, padding=1), nn.BatchNorm2d(width)
        self.expand, self.expand_bn = _conv(width, out, 1), nn.BatchNorm2d(out)
        self.project = None if stride is None else nn.Sequential(_conv(channels, out, 1, stride=step),
                                                                 nn.BatchNorm2d(out))

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.reduce_bn(self.reduce(x)))
        y = F.relu(self.spatial_bn(self.spatial(y)))
        y = self.expand_bn(self.expand(y))
        return F.relu(y + (x if self.project is None else self.project(x)))

    def key_map(self) -> KeyMap:
        """Against the library's resblock and dresblock (resources/blocks/resnet.layerbook.json)."""
        pairs = [("reduce", "conv1"), ("spatial", "conv2"), ("expand", "conv3")]
        if self.project is not None:
            pairs.append(("project.0", "shortcut"))
        key_map = {f"{ours}.weight": f"{theirs}.weight" for ours, theirs in pairs}
        norms = [("reduce_bn", "bn1"), ("spatial_bn", "bn2"), ("expand_bn", "bn3")]
        if self.project is not None:
            norms.append(("project.1", "shortcut_bn"))
        for ours, theirs in norms:
            key_map.update(same_entries(ours, theirs, BATCHNORM_ENTRIES))
        return key_map


class ResNet(nn.Module):
    """Figure 5.5's plan: a stem, then per stage (S, r) a downscaling block and r residual blocks, an average pool
    and a fully connected layer. `large`: ResNet-50's stem (7×7 stride 2 and a max pool); else a 3×3 stem."""

    def __init__(self, stages: Sequence[tuple[int, int]], classes: int, width: int = 64, large: bool = True,
                 pool: int = 7) -> None:
        super().__init__()
        self.stages = tuple(stages)
        stem: list[nn.Module] = [_conv(3, width, 7, 2, 3) if large else _conv(3, width, 3, 1, 1),
                                 nn.BatchNorm2d(width), nn.ReLU()]
        self.stem = nn.Sequential(*stem, *([nn.MaxPool2d(3, 2, 1)] if large else []))
        blocks, channels = [], width
        for stride, repeats in self.stages:
            blocks.append(Bottleneck(channels, stride))
            channels = 4 * channels // stride
            blocks += [Bottleneck(channels) for _ in range(repeats)]
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AvgPool2d(pool)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))

    def key_map(self) -> KeyMap:
        """Against `bench.compile.resnet_graph`: stem, stem_bn, then down1, stage1 (×r), down2, ..., fc."""
        key_map = {"stem.0.weight": "stem.weight", **same_entries("fc", "fc")}
        key_map.update(same_entries("stem.1", "stem_bn", BATCHNORM_ENTRIES))
        index = 0
        for number, (_, repeats) in enumerate(self.stages, start=1):
            parts = [f"down{number}"] + [copy_name(f"stage{number}", j, repeats) for j in range(repeats)]
            for part in parts:
                block = self.blocks[index]
                assert isinstance(block, Bottleneck)
                key_map.update(nest(block.key_map(), f"blocks.{index}", part))
                index += 1
        return key_map


# --- Figures 5.6 to 5.8 ------------------------------------------------------------------------------------------

class Attention(nn.Module):
    """Multi-head attention written out: per head softmax(QKᵀ/√d)·V over the keys a query may see, the heads
    concatenated and projected. Keys and values come from `context` (the queries' own sequence when absent)."""

    def __init__(self, dim: int, heads: int, context_dim: int | None = None, causal: bool = False) -> None:
        super().__init__()
        kv_dim = context_dim or dim
        self.heads, self.causal, self.packed = heads, causal, kv_dim == dim
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(kv_dim, dim), nn.Linear(kv_dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        context = x if context is None else context
        q, k, v = (self._split(f(s)) for f, s in ((self.query, x), (self.key, context), (self.value, context)))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        if self.causal:  # position t sees positions 0..t only
            t, s = scores.shape[-2:]
            scores = scores.masked_fill(torch.ones(t, s, dtype=torch.bool, device=x.device).triu(1), -math.inf)
        mixed = scores.softmax(-1) @ v
        return self.out(mixed.transpose(1, 2).flatten(2))

    def _split(self, x: Tensor) -> Tensor:
        """N×T×D → N×heads×T×(D/heads)."""
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def key_map(self) -> KeyMap:
        """Against nn.MultiheadAttention: packed projections when keys have the queries' size, else three."""
        names = ("query", "key", "value")
        if self.packed:
            key_map: KeyMap = {f"{n}.weight": ("in_proj_weight", i) for i, n in enumerate(names)}
        else:
            key_map = {f"{n}.weight": f"{p}_proj_weight" for n, p in zip(names, "qkv", strict=True)}
        key_map.update({f"{n}.bias": ("in_proj_bias", i) for i, n in enumerate(names)})
        key_map.update(same_entries("out", "out_proj"))
        return key_map


class TorchAttention(nn.Module):
    """Self-attention through torch's own nn.MultiheadAttention and its fused kernels: the reference the
    benchmarks time (the written-out Attention would measure a different algorithm, not the compiler)."""

    def __init__(self, dim: int, heads: int, causal: bool = False) -> None:
        super().__init__()
        self.causal = causal
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        t = x.size(1)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1) if self.causal else None
        return self.attention(x, x, x, attn_mask=mask, need_weights=False)[0]

    def key_map(self) -> KeyMap:
        entries = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")
        return {f"attention.{entry}": entry for entry in entries}


class SelfAttention(nn.Module):
    """Figure 5.6's self-att: x + attention(layernorm(x))."""

    def __init__(self, dim: int, heads: int, causal: bool = False, fused: bool = False) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attention = TorchAttention(dim, heads, causal) if fused else Attention(dim, heads, causal=causal)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.attention(self.norm(x))

    def key_map(self) -> KeyMap:
        """Against the library's self-att (resources/blocks/transformer.layerbook.json)."""
        return {**same_entries("norm", "ln1"), **nest(self.attention.key_map(), "attention", "mha1")}


class CrossAttention(nn.Module):
    """Figure 5.6's cross-att: x + attention(layernorm(x), keys and values from the context)."""

    def __init__(self, dim: int, context_dim: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attention = Attention(dim, heads, context_dim)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        return x + self.attention(self.norm(x), context)

    def key_map(self) -> KeyMap:
        return {**same_entries("norm", "ln1"), **nest(self.attention.key_map(), "attention", "mha1")}


class FeedForward(nn.Module):
    """Figure 5.6's ffw: x + dropout(W₂·gelu(W₁·layernorm(x)))."""

    def __init__(self, dim: int, hidden: int = 0, p: float = 0.0) -> None:
        super().__init__()
        hidden = hidden or 4 * dim
        self.norm = nn.LayerNorm(dim)
        self.expand, self.contract = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(p)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.dropout(self.contract(F.gelu(self.expand(self.norm(x)))))

    def key_map(self) -> KeyMap:
        return {**same_entries("norm", "ln1"), **same_entries("expand", "fc1"), **same_entries("contract", "fc2")}


class GPT(nn.Module):
    """Figure 5.8: token and learned position embeddings, N blocks of causal self-attention then feed-forward,
    a final layernorm and an untied projection to the vocabulary."""

    def __init__(self, vocab: int, length: int, dim: int, depth: int, heads: int, p: float = 0.0,
                 fused: bool = False) -> None:
        super().__init__()
        self.token, self.position = nn.Embedding(vocab, dim), nn.Embedding(length, dim)
        self.blocks = nn.ModuleList(
            nn.Sequential(SelfAttention(dim, heads, causal=True, fused=fused), FeedForward(dim, p=p))
            for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, ids: Tensor) -> Tensor:
        x = self.token(ids) + self.position(torch.arange(ids.size(1), device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    def key_map(self) -> KeyMap:
        """Against `bench.compile.gpt_graph`: embed, pos, blocks (a block of `att` and `ff`), ln, head."""
        key_map: KeyMap = {"token.weight": "embed.weight", "position.weight": "pos.encoding",
                           "head.weight": "head.weight", **same_entries("norm", "ln")}
        for i, block in enumerate(self.blocks):
            theirs = copy_name("blocks", i, len(self.blocks))
            key_map.update(nest(block[0].key_map(), f"blocks.{i}.0", f"{theirs}.att"))
            key_map.update(nest(block[1].key_map(), f"blocks.{i}.1", f"{theirs}.ff"))
        return key_map
