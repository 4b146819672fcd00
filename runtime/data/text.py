"""Character-level text for next-token prediction: the Python standard library's source (`pytext`) or a user's
plain-text file. The corpus is one int tensor; a sample is a window of T+1 characters (input the first T,
target the next T), windows do not overlap, the last 10% of the text is the validation part.
"""

from __future__ import annotations

import math
import sysconfig
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from runtime.data.base import Batch, DataError, DataMismatch, Dataset
from runtime.data.fit import shape_text, trained_outputs
from runtime.data.options import DataOptions
from runtime.data.spec import GraphSpec, InputSpec, OutputSpec

CORPUS_BYTES = 4 * 1024 * 1024
# "\n" then the 95 printable ASCII characters: sorted, like a text file's own vocabulary.
PRINTABLE = ["\n"] + [chr(c) for c in range(32, 127)]
VAL_SHARE = 0.1


@lru_cache(maxsize=1)
def python_corpus() -> torch.Tensor:
    """The standard library's top-level *.py files (sorted, capped at 4 MB) as ids into PRINTABLE."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        total += len(text)
        if total >= CORPUS_BYTES:
            break
    if not parts:
        raise DataError(f"no Python source found in {stdlib} for 'pytext'")
    raw = np.frombuffer(_ascii("".join(parts))[:CORPUS_BYTES], dtype=np.uint8)
    # Byte → id: "\n" is 0, " ".."~" are 1..95; everything else has been made "?" already.
    ids = np.where(raw == 10, 0, raw.astype(np.int64) - 31)
    return torch.from_numpy(ids)


def _ascii(text: str) -> bytes:
    """Tabs as 4 spaces, CRLF as LF, anything but printable ASCII and newlines as '?'."""
    data = bytearray(text.replace("\r\n", "\n").replace("\t", "    ").encode("ascii", errors="replace"))
    table = bytes(c if c == 10 or 32 <= c < 127 else ord("?") for c in range(256))
    return bytes(data.translate(table))


class WindowSplit:
    """Non-overlapping windows of a corpus: sample i starts at offset i·T."""

    def __init__(self, corpus: torch.Tensor, length: int, count: int, names: tuple[str, str]) -> None:
        self.corpus, self.length, self.count = corpus, length, count
        self.input_name, self.output_name = names
        self._placed: tuple[str, torch.Tensor] | None = None

    def __len__(self) -> int:
        return self.count

    def batches(self, order: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[Batch]:
        corpus = self._on(device)
        steps = torch.arange(self.length + 1, device=device)
        order = order.to(device)
        for start in range(0, len(order), batch_size):
            offsets = order[start:start + batch_size] * self.length
            windows = corpus[offsets[:, None] + steps]  # gathered in one go
            yield {self.input_name: windows[:, :-1]}, {self.output_name: windows[:, 1:]}

    def _on(self, device: torch.device) -> torch.Tensor:
        if self._placed is None or self._placed[0] != str(device):
            self._placed = (str(device), self.corpus.to(device))
        return self._placed[1]


def check_text(spec: GraphSpec, name: str, symbols: int) -> tuple[InputSpec, OutputSpec]:
    """One int input (T,) whose vocabulary holds the symbols, one cross-entropy output (T, V)."""
    if len(spec.inputs) != 1 or spec.inputs[0].dtype != "int" or len(spec.inputs[0].shape) != 1:
        raise DataMismatch(f"dataset '{name}' feeds one int input holding a sequence of token ids, but the graph "
                           f"has {spec.describe_inputs() or 'no input'}")
    inp = spec.inputs[0]
    if inp.vocab is not None and inp.vocab < symbols:
        raise DataMismatch(f"dataset '{name}' has {symbols} symbols but input '{inp.name}' takes a vocabulary of "
                           f"{inp.vocab}")
    out = trained_outputs(spec, name)[0]
    (t,) = inp.shape
    if out.loss != "cross-entropy" or len(out.shape) != 2 or out.shape[0] != t or out.shape[1] < symbols:
        raise DataMismatch(f"dataset '{name}' predicts the next of {symbols} symbols at each of {t} positions, so "
                           f"output '{out.name}' should be cross-entropy with shape {t}×{max(symbols, inp.vocab or 0)}"
                           f", not {out.loss} {shape_text(out.shape)}")
    return inp, out


def unigram_entropy(ids: torch.Tensor, symbols: int) -> float:
    """Entropy (nats) of the symbol frequencies: the loss of a model that ignores context."""
    p = torch.bincount(ids, minlength=symbols).double() / len(ids)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def text_dataset(name: str, corpus: torch.Tensor, vocabulary: list[str], spec: GraphSpec, options: DataOptions,
                 source: str) -> Dataset:
    inp, out = check_text(spec, name, len(vocabulary))
    (t,) = inp.shape
    cut = len(corpus) - math.ceil(len(corpus) * VAL_SHARE)
    train, val = corpus[:cut], corpus[cut:]
    n_train, n_val = (len(train) - 1) // t, (len(val) - 1) // t
    if options.size is not None:
        n_train = min(n_train, options.size)
    if options.val_size is not None:
        n_val = min(n_val, options.val_size)
    if n_train < 1 or n_val < 1:
        raise DataError(f"'{name}' has {len(corpus):,} characters: too short for windows of {t + 1} in both "
                        f"the training (90%) and validation (10%) parts")
    names = (inp.name, out.name)
    info: dict[str, object] = {"source": source, "characters": len(corpus), "train": n_train, "val": n_val,
                               "unigram_loss": unigram_entropy(train, len(vocabulary))}
    description = f"{len(corpus):,} characters, {len(vocabulary)} symbols, windows of {t}"
    return Dataset(name, description, "next-token", WindowSplit(train, t, n_train, names),
                   WindowSplit(val, t, n_val, names), vocabulary=list(vocabulary), info=info)


def build_pytext(spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """`pytext`: fixed text, so `seed` plays no part."""
    return text_dataset("pytext", python_corpus(), PRINTABLE, spec, options, "Python standard library source")


def read_text(path: Path) -> str:
    """The text of a UTF-8 file (a byte-order mark dropped; UTF-16 with its mark, as Windows writes it, read as
    such), newlines as "\\n". A binary file is refused: its bytes would make a vocabulary of noise."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read '{path}': {exc.strerror or exc}") from None
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        text = raw.decode(encoding).replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise DataError(f"'{path}' is not {exc.encoding.upper()} text (byte 0x{raw[exc.start]:02x} at offset "
                        f"{exc.start} cannot be decoded): save it as UTF-8 text") from None
    if not text:
        raise DataError(f"'{path}' is empty")
    if "\x00" in text:
        raise DataError(f"'{path}' holds NUL characters (at offset {text.index(chr(0))}): a binary file, not text")
    return text


def build_text_file(path: Path, spec: GraphSpec, seed: int, options: DataOptions) -> Dataset:
    """A user's text file; its vocabulary is its sorted distinct characters."""
    text = read_text(path)
    # Code points sorted by np.unique: the ids follow the sorted distinct characters, no Python loop per char.
    points, ids = np.unique(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), return_inverse=True)
    vocabulary = [chr(p) for p in points]
    corpus = torch.from_numpy(ids.astype(np.int64).reshape(-1))
    return text_dataset(path.name, corpus, vocabulary, spec, options, str(path))
