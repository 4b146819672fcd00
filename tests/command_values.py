"""Values for the command-line fuzz test (tests/test_command_fuzz.py): for each kind of option, values out of its
range or nonsensical, and valid ones to go with them; and the folder of hostile files each case runs in, which
the values name by relative paths (a case runs with that folder as its working directory).

Digits of other scripts (`--epochs ٣`) are numbers to Python and to argparse, and are taken as such; spelled out
of range (`٠`) they are refused like any other number."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import pickle
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from hypothesis import strategies as st

import main
from graph import dumps, load_graph
from runtime.export import supported_opsets
from runtime.training.config import Range, TrainConfig, setting_range
from tests.runtime.test_weights import Payload
from tests.test_cli import broken_graph

SUFFIX = {"export": ".onnx", "code": ".py", "render": ".svg", "screenshot": ".png"}
MARKER = "code-ran"  # what unpickling one of the malicious files would create, in the working folder
LONG = "a" * 5000
ERRORS = "errors.layerbook.json"  # valid JSON whose shapes do not fit: refused by what needs a working graph
ERRORS_NAMED = ("broken", "fc1")  # its graph's name and the box at fault, which messages about its shapes name
SHAPES_CHECKED = ("validate", "export", "code", "train")  # info, render and screenshot show such a graph


# ---- the folder each case runs in --------------------------------------------------------------------------------

def _graph_text(name: str | None = None) -> str:
    document = json.loads(dumps(load_graph("mlp")))
    if name is not None:
        document["name"] = name
    return json.dumps(document)


def _errors_text() -> str:
    with tempfile.TemporaryDirectory() as folder:
        return broken_graph(Path(folder)).read_text(encoding="utf-8")


def _saved(save: Callable[[io.BytesIO], None]) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()


_EVIL = Payload(Path(MARKER))
EVIL = {"evil.pt": _saved(lambda b: torch.save({"model": _EVIL}, b)), "evil.pkl": pickle.dumps(_EVIL),
        "evil.npy": _saved(lambda b: np.save(b, np.array([_EVIL], dtype=object), allow_pickle=True))}
RANDOM = random.Random(13).randbytes(4096)


def _table_text() -> str:
    """A CSV that mlp trains on: 50 feature columns f0..f49 and a label column y."""
    numbers = random.Random(13)
    rows = [",".join([*(f"f{i}" for i in range(50)), "y"])]
    rows += [",".join([*(f"{numbers.random():.3f}" for _ in range(50)), str(row % 2)]) for row in range(40)]
    return "\n".join(rows) + "\n"


FILES = {"mlp.layerbook.json": _graph_text(), "escape.layerbook.json": _graph_text("../../escape"),
         "newline.layerbook.json": _graph_text("two\nlines"), "broken.layerbook.json": _graph_text()[:100],
         ERRORS: _errors_text(), "settings.json": json.dumps({"lr": 0.01}), "table.csv": _table_text(),
         "note.txt": "a note\n",
         "folder/note.txt": "a note\n",
         # a run folder whose files are damaged, and one whose checkpoint would run code
         "fake-run/graph.layerbook.json": "{", "fake-run/settings.json": "[1]", "fake-run/summary.json": "null",
         "evil-run/graph.layerbook.json": _graph_text(), "evil-run/summary.json": '{"state": "stopped"}',
         "evil-run/settings.json": json.dumps({"config": TrainConfig(dataset="blobs", epochs=2).to_dict()}),
         **{f"self{suffix}": _graph_text() for suffix in SUFFIX.values()}}  # graphs named like a writer's output
BINARY = {**EVIL, "fake-run/last.pt": EVIL["evil.pt"], "evil-run/last.pt": EVIL["evil.pt"],
          **{f"random{suffix}": RANDOM for suffix in (".bin", ".csv", ".npz", ".pt")}}
PIPES = ("fifo", "pipe.csv", "pipe.layerbook.json")  # nobody writes into them: reading one waits for ever


def make_case_folder(folder: Path) -> None:
    for name, text in FILES.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    for name, content in BINARY.items():
        (folder / name).write_bytes(content)
    (folder / "empty").mkdir()
    for name in PIPES:
        os.mkfifo(folder / name)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder`: a file by its content's hash, a pipe by its kind (opening it would wait)."""
    entries = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root, name)
            kind = "pipe" if path.is_fifo() else "folder" if path.is_dir() else None
            entries[str(path.relative_to(folder))] = kind or hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


# ---- bad values, by kind -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BadValues:
    """Each of `listed` is tried once; `drawn` (if any) gives more, such as numbers from each side of a range."""

    listed: list[str]
    drawn: st.SearchStrategy[str] | None = None

    def strategy(self) -> st.SearchStrategy[str]:
        listed = st.sampled_from(self.listed)
        return listed | self.drawn if self.drawn is not None else listed


GRAPHS = ["nosuch-template", "", "missing.layerbook.json", "missing/deeper.layerbook.json", "broken.layerbook.json",
          "escape.layerbook.json", "newline.layerbook.json", "folder", ".", "/dev/null", "/dev/zero",
          "pipe.layerbook.json", "random.bin", "evil.pkl", "note.txt", "settings.json", LONG, "../../../nosuch",
          "mlp\n"]
FILES_READ = ["missing.pt", "folder", "empty", "/dev/null", "/dev/zero", "fifo", "random.pt", "evil.pt", "evil.pkl",
              "mlp.layerbook.json", "", "a" * 300, "note.txt/x.pt"]
RUNS_READ = ["missing", "empty", "folder", "note.txt", "/dev/null", "", "fake-run", "evil-run", "fifo", "a" * 300]
BY_DEST = {
    "weights": FILES_READ,
    "settings": [*FILES_READ, "broken.layerbook.json", "random.bin", "fake-run/settings.json"],
    "dataset": ["nosuch", "", "missing.csv", "empty", "folder", "/dev/null", "/dev/zero", "pipe.csv", "random.csv",
                "random.npz", "evil.npy", "mlp.layerbook.json", "a" * 300 + ".csv", "note.txt/x.csv"],
    "out": [".", "folder", "note.txt", "/dev/null", "", "fake-run", "evil-run", "mlp.layerbook.json", "a" * 300,
            "fifo", "note.txt/run"],
    "resume": [*RUNS_READ, "mlp.layerbook.json"],
    "results": RUNS_READ,
    "device": ["nosuch", "", "cuda:-1", "cuda:x", "gpu", "CPU", "cuda:99", "mps", "cpu\n", LONG],
    "label": ["x", "", ",", "../x", "f1,f2", LONG], "features": ["x", "", ",", "f1,f1", "y", "f1,x", LONG],
    # each of these but the empty one needs the window drawn (a second) before it can be refused: few of them
    "select": ["", "nosuch", LONG], "block": ["", "fc1"], "dock": ["", "Layers\n"],
}
CONTEXT = {"label": {"dataset": "table.csv"}, "features": {"dataset": "table.csv"}}  # what gives them columns
SIZES = ["0x0", "199x150", "200x149", "8193x100", "100x8193", "100000x100000", "-1x-1", "x", "", "1400", "1400x",
         "nanxnan", "infxinf", "²x²", "1e3x1e3", "1400x860x3", "1400X", "٠x٠", "9" * 5000 + "x1", "1400.5x860"]
SECONDS = ["-1", "-0.001", "nan", "inf", "-inf", "3600.0001", "1e308", "", "ten", "1e400", "3601", "-1e-300"]
OPSETS = ["0", "-1", "5", str(supported_opsets()[0] - 1), str(supported_opsets()[-1] + 1), "999", str(10**23), "",
          "eighteen", "18.0", "nan", "1e1", "0x12", LONG]
TYPED = {main.window_size: SIZES, main.train_seconds: SECONDS, main.opset_version: OPSETS}


def output_values(suffix: str) -> list[str]:
    """`self`: the output is the graph file it is made from (the case names both)."""
    return [f"missing/x{suffix}", ".", "folder", "folder/", f"note.txt/x{suffix}", "/dev/null", "/dev/zero", "fifo",
            "x.txt", "", "self", "a" * 300 + suffix, f"x{suffix}/", f"empty/{'b' * 300}{suffix}"]


def bad_values(command: str, action: argparse.Action) -> BadValues | None:
    """The bad values of an option, as texts; None for a kind of option this test does not know."""
    dest = action.dest
    if not action.option_strings and dest == "graph":
        return BadValues(GRAPHS + [ERRORS] * (command in SHAPES_CHECKED))
    if dest == "output":
        return BadValues(output_values(SUFFIX[command]))
    if dest in BY_DEST:
        return BadValues(BY_DEST[dest])
    if action.nargs == 0:  # a flag, given a value
        return BadValues(["=1", "=", "=no"])
    if action.choices:
        words = ["", "nosuch", " ", LONG, *(c.upper() for c in action.choices), *(f"{c} " for c in action.choices)]
        drawn = st.text(max_size=12).filter(lambda word: word not in action.choices and "\x00" not in word)
        return BadValues([word for word in words if word not in action.choices], drawn)
    if action.type in TYPED:
        return BadValues([text for text in TYPED[action.type] if not _accepts(action.type, text)])
    allowed = declared_range(dest) if command == "train" and action.type in (int, float) else None
    return number_values(allowed, action.type) if allowed else None


def declared_range(setting: str) -> Range | None:
    try:
        return setting_range(setting)
    except KeyError:
        return None


def number_values(allowed: Range, parse: Callable[[str], float]) -> BadValues:
    """Texts that are no number, or a number outside `allowed`: NaN, the infinities, each side of the range, the
    integers that overflow 64 bits, digits of another script."""
    low, high = int(allowed.low), int(allowed.high)
    listed = ["0", "-1", str(low - 1), str(high + 1), str(10**23), str(2**63), "nan", "inf", "-inf", "1e308", "1e400",
              "1.5", "1e3", "", "ten", "0x10", "²", "9" * 5000, _arabic(low - 1), _arabic(10**23),
              repr(math.nextafter(allowed.high, math.inf)), repr(math.nextafter(allowed.low, -math.inf))]
    outside = st.integers(max_value=low - 1) | st.integers(min_value=high + 1)

    def refused(text: str) -> bool:
        return not _accepts(lambda t: _inside(allowed, parse(t)), text)

    drawn = (outside.map(str) | outside.map(_arabic) | st.floats().map(repr)).filter(refused)
    return BadValues(sorted({text for text in listed if refused(text)}, key=listed.index), drawn)


def _inside(allowed: Range, value: float) -> None:
    if not allowed.holds(value):
        raise ValueError(value)


def _accepts(parse: Callable[[str], object], text: str) -> bool:
    try:
        parse(text)
    except (ValueError, TypeError, argparse.ArgumentTypeError):
        return False
    return True


def _arabic(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


# ---- valid values, to go with a bad one ---------------------------------------------------------------------------

HEAVY = ("batch_size", "train_size", "val_size")  # valid, but making that much data would be work itself
VALID_BY_DEST = {"dataset": ["blobs", "table.csv"], "settings": ["settings.json"], "out": ["new-run"],
                 "device": ["cpu", "auto"], "precision": ["fp32"], "dock": ["Summary", "Layers"],
                 "train_seconds": ["0", "0.5"], "size": ["200x150", "640x480"],
                 "opset": [str(supported_opsets()[0]), str(supported_opsets()[-1])]}


def valid_values(command: str, action: argparse.Action) -> st.SearchStrategy[str] | None:
    """Values this machine takes (fp32, the CPU) and that cost little; None for a file or a name to spare."""
    dest = action.dest
    if dest in VALID_BY_DEST:
        return st.sampled_from(VALID_BY_DEST[dest])
    if action.nargs == 0:
        return st.just("")
    if action.choices:
        return st.sampled_from(sorted(action.choices))
    allowed = declared_range(dest) if command == "train" and action.type in (int, float) else None
    if allowed is None:
        return None
    if action.type is float:
        return st.floats(allowed.low, allowed.high, exclude_min=allowed.above, exclude_max=allowed.below).map(repr)
    low, high = int(allowed.low), min(int(allowed.high), 256) if dest in HEAVY else int(allowed.high)
    return (st.integers(low, min(high, 200)) | st.sampled_from([low, high])).map(str)


def range_ends(allowed: Range, parse: type) -> list[str]:
    """The least and the greatest value a range holds (the nearest inside where an end is excluded)."""
    if parse is int:
        return [str(int(allowed.low) + allowed.above), str(int(allowed.high) - allowed.below)]
    low = math.nextafter(allowed.low, math.inf) if allowed.above else allowed.low
    high = math.nextafter(allowed.high, -math.inf) if allowed.below else allowed.high
    return [repr(float(low)), repr(float(high))]
