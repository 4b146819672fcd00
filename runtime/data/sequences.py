"""Token sequence tasks: reverse / copy / sort (sequence to sequence) and majority (sequence classification).

Seq2seq graphs have two int inputs: the first (in spec order) is the source X (T,), the second the decoder input
(S,) = the target shifted right after the start token 0. Content tokens are 1..V-1 (0 is reserved as the start).
"""

from __future__ import annotations

import torch

from runtime.data.base import DataMismatch, Dataset, TensorSplit
from runtime.data.fit import shape_text, trained_outputs
from runtime.data.options import SPLIT_SEED, DataOptions, sizes
from runtime.data.spec import GraphSpec, InputSpec, OutputSpec
from runtime.data.splits import generator

TRANSFORMS = {
    "reverse": lambda x: x.flip(1),
    "copy": lambda x: x.clone(),
    "sort": lambda x: x.sort(1).values,
}


def _int_inputs(spec: GraphSpec, name: str, count: int, what: str) -> tuple[InputSpec, ...]:
    if len(spec.inputs) != count or any(i.dtype != "int" or len(i.shape) != 1 for i in spec.inputs):
        raise DataMismatch(f"dataset '{name}' feeds {what}, but the graph has "
                           f"{spec.describe_inputs() or 'no input'}")
    return spec.inputs


def _check_seq2seq(spec: GraphSpec, name: str) -> tuple[InputSpec, InputSpec, OutputSpec, int]:
    """Source X (T,), decoder input (S,) with S = T, output (S, V) cross-entropy; the token count V."""
    src, dec = _int_inputs(spec, name, 2, "two int inputs (the source, then the shifted target)")
    out = trained_outputs(spec, name)[0]
    if src.shape != dec.shape:
        raise DataMismatch(f"dataset '{name}' makes targets as long as the source, but input '{src.name}' is "
                           f"{shape_text(src.shape)} and input '{dec.name}' is {shape_text(dec.shape)}")
    if out.loss != "cross-entropy" or len(out.shape) != 2 or out.shape[0] != src.shape[0]:
        tokens = min((v for v in (src.vocab, dec.vocab) if v is not None), default=None)
        scores = f"{src.shape[0]}×{tokens}" if tokens is not None else f"{src.shape[0]}×(number of token ids)"
        raise DataMismatch(f"dataset '{name}' needs output '{out.name}' to be cross-entropy with shape {scores} "
                           f"(a score per token id at each position), not {out.loss} {shape_text(out.shape)}")
    vocab = min(v for v in (src.vocab, dec.vocab, out.shape[1]) if v is not None)
    if vocab < 3:
        raise DataMismatch(f"dataset '{name}' needs at least 3 token ids (start + 2 symbols); the graph takes {vocab}")
    return src, dec, out, vocab


def seq2seq_samples(name: str, n: int, length: int, vocab: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Source, decoder input and target, each (n, length) int64."""
    source = torch.randint(1, vocab, (n, length), generator=generator(seed))
    target = TRANSFORMS[name](source)
    decoder = torch.cat([torch.zeros(n, 1, dtype=torch.int64), target[:, :-1]], dim=1)
    return source, decoder, target


def build_seq2seq(name: str, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    src, dec, out, vocab = _check_seq2seq(spec, name)
    n_train, n_val = sizes(options, 20_000, 2_000)
    splits = []
    for n, s in ((n_train, seed), (n_val, SPLIT_SEED + 2)):
        source, decoder, target = seq2seq_samples(name, n, src.shape[0], vocab, s)
        splits.append(TensorSplit({src.name: source, dec.name: decoder}, {out.name: target}))
    vocabulary = ["<s>"] + [str(t) for t in range(1, vocab)]
    description = f"{name} sequences of {src.shape[0]} tokens from 1..{vocab - 1}"
    return Dataset(name, description, "seq2seq", splits[0], splits[1], vocabulary=vocabulary,
                   info={"train": n_train, "val": n_val, "tokens": vocab})


def majority_labels(tokens: torch.Tensor, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The class whose tokens (id % C) occur most often, and whether that class is the only one that often."""
    counts = torch.nn.functional.one_hot(tokens % classes, classes).sum(1)
    top = counts.max(1, keepdim=True).values
    return counts.argmax(1), (counts == top).sum(1) == 1


def majority_samples(n: int, length: int, vocab: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` sequences without ties (tied draws are dropped and more drawn), so every label is well defined."""
    g = generator(seed)
    kept_x, kept_y, have = [], [], 0
    while have < n:
        tokens = torch.randint(0, vocab, (2 * (n - have) + 16, length), generator=g)
        labels, clear = majority_labels(tokens, classes)
        kept_x.append(tokens[clear])
        kept_y.append(labels[clear])
        have += int(clear.sum())
    return torch.cat(kept_x)[:n], torch.cat(kept_y)[:n]


def build_majority(spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    (inp,) = _int_inputs(spec, "majority", 1, "one int input of T token ids")
    out = trained_outputs(spec, "majority")[0]
    if out.loss != "cross-entropy" or len(out.shape) != 1 or out.shape[0] < 2:
        raise DataMismatch(f"dataset 'majority' needs output '{out.name}' to score 2 classes or more (cross-entropy "
                           f"with a shape of one number, the classes), not {out.loss} {shape_text(out.shape)}")
    classes = out.shape[0]
    vocab = inp.vocab or classes
    if vocab < classes:
        raise DataMismatch(f"dataset 'majority' needs at least one token per class: input '{inp.name}' takes "
                           f"{vocab} token ids but output '{out.name}' gives {classes} classes")
    n_train, n_val = sizes(options, 10_000, 1_000)
    splits = []
    for n, s in ((n_train, seed), (n_val, SPLIT_SEED + 3)):
        x, y = majority_samples(n, inp.shape[0], vocab, classes, s)
        splits.append(TensorSplit({inp.name: x}, {out.name: y}))
    description = f"majority class (id mod {classes}) of {inp.shape[0]} tokens from 0..{vocab - 1}"
    return Dataset("majority", description, "sequence-classification", splits[0], splits[1],
                   classes=[str(c) for c in range(classes)], vocabulary=[str(t) for t in range(vocab)],
                   info={"train": n_train, "val": n_val})
