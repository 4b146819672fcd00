"""The data loaders against random hostile files: every .npz, CSV or image folder either loads data that fits the
graph (mlp: 50 features → 2 classes; lenet: 1×28×28 → 10 classes) or is refused with a DataError or ConfigError
naming the file; never another exception, never data that does not fit."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from graph import load_graph
from runtime.data import DataError, Dataset, GraphSpec, load_dataset
from runtime.training.config import ConfigError
from tests.data.helpers import CPU

FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GRAPHS = ("mlp", "lenet")


@cache
def graph_spec(name: str) -> GraphSpec:
    return GraphSpec.of(load_graph(name))


def check_loads_or_names(make: Callable[[Path], Path], graph: str) -> None:
    """`make` writes the file or folder in a fresh folder; it must load and fit `graph`, or be refused by name."""
    with tempfile.TemporaryDirectory() as folder:
        source = make(Path(folder))
        spec = graph_spec(graph)
        try:
            dataset = load_dataset(str(source), spec)
        except (DataError, ConfigError) as refusal:
            assert source.name in str(refusal), refusal
            event("refused")
            return
        check_fits(dataset, spec)
        event("loaded")


def check_fits(dataset: Dataset, spec: GraphSpec) -> None:
    (inp,), out = spec.inputs, spec.outputs[0]
    for split in (dataset.train, dataset.val):
        inputs, targets = next(split.batches(torch.arange(len(split)), len(split), CPU))
        x, y = inputs[inp.name], targets[out.name]
        assert tuple(x.shape[1:]) == inp.shape and x.dtype == torch.float32 and torch.isfinite(x).all()
        assert y.dtype == torch.int64 and len(y) == len(x) and int(y.min()) >= 0 and int(y.max()) < out.shape[-1]


# ---- .npz -------------------------------------------------------------------------------------------------------

DTYPES = [np.bool_, np.int8, np.uint8, np.int64, np.uint64, np.float16, np.float32, np.float64, np.complex64,
          np.dtype("U4"), np.dtype("S4"), np.dtype("datetime64[s]"), np.dtype("timedelta64[ms]")]
NAMES = ("x", "y", "X", "Y", "labels")


@st.composite
def fitting_arrays(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """x and y shaped for the mlp or lenet, with a few values that may be hostile (NaN, infinite, huge, -1)."""
    n = draw(st.integers(2, 6))
    shape = draw(st.sampled_from([(n, 50), (n, 1, 28, 28)]))
    x = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=shape)
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            x.reshape(-1)[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([np.nan, np.inf, 1e300]))
        else:
            y[draw(st.integers(0, n - 1))] = draw(st.sampled_from([-1, 10, 2**40]))
    return {draw(st.sampled_from(["x", "X"])): x, draw(st.sampled_from(["y", "Y"])): y}


@st.composite
def npz_arrays(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Arrays that nearly fit one of the graphs, perhaps with an extra array of another kind; or one to three
    arrays of random kinds (object arrays included) and shapes."""
    arrays = draw(fitting_arrays()) if draw(st.booleans()) else {}
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=0 if arrays else 1, max_size=3, unique=True)):
        if draw(st.integers(0, 9)) == 0:
            arrays[name] = np.array([{"a": 1}, None] * 3, dtype=object)  # saved as a pickle
        else:
            dtype = draw(st.sampled_from(DTYPES))
            arrays[name] = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)))
    return arrays


@FUZZ
@given(arrays=npz_arrays(), graph=st.sampled_from(GRAPHS))
def test_random_npz_files_load_or_are_refused_by_name(arrays: dict[str, np.ndarray], graph: str) -> None:
    def make(folder: Path) -> Path:
        np.savez(folder / "fuzz.npz", **arrays)
        return folder / "fuzz.npz"

    check_loads_or_names(make, graph)


@FUZZ
@given(content=st.binary(max_size=64), graph=st.sampled_from(GRAPHS))
def test_random_bytes_as_npz_are_refused_by_name(content: bytes, graph: str) -> None:
    def make(folder: Path) -> Path:
        (folder / "fuzz.npz").write_bytes(content)
        return folder / "fuzz.npz"

    check_loads_or_names(make, graph)


# ---- CSV --------------------------------------------------------------------------------------------------------

CELLS = st.one_of(st.integers(-3, 3).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["", " ", "1e400", "-1e39", "nan", "inf", "cat", "dog", '"a,b"', '"', "1,5",
                                   "０", "\t", "NaN"]),
                  st.text(max_size=4))


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    """A header and rows: ragged or not, numbers huge or not, text cells, quotes; or 50 features and a label
    (the mlp's input) with some cells made hostile."""
    if draw(st.booleans()):
        header = [f"f{i}" for i in range(50)] + ["label"]
        rows = [[str(draw(st.integers(-5, 5))) for _ in range(50)] + [str(draw(st.integers(0, 1)))]
                for _ in range(draw(st.integers(1, 6)))]
        for _ in range(draw(st.integers(0, 2))):
            if rows:
                row = draw(st.sampled_from(rows))
                row[draw(st.integers(0, len(row) - 1))] = draw(CELLS)
    else:
        header = draw(st.lists(st.sampled_from(["a", "b", "label", "1", ""]) | st.text(max_size=3), max_size=5))
        rows = draw(st.lists(st.lists(CELLS, max_size=6), max_size=6))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(delimiter.join(row) for row in [header, *rows])
    return ("\ufeff" if draw(st.booleans()) else "") + text


@FUZZ
@given(text=csv_text(), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]), graph=st.sampled_from(GRAPHS))
def test_random_csv_files_load_or_are_refused_by_name(text: str, encoding: str, graph: str) -> None:
    def make(folder: Path) -> Path:
        (folder / "fuzz.csv").write_bytes(text.encode(encoding, errors="replace"))
        return folder / "fuzz.csv"

    check_loads_or_names(make, graph)


# ---- image folders ----------------------------------------------------------------------------------------------

MODES = ["L", "RGB", "RGBA", "P", "1", "I;16", "LA", "CMYK"]


def image_bytes(mode: str, size: tuple[int, int], suffix: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.new(mode, size) if mode != "I;16" else Image.fromarray(np.full(size[::-1], 40000, np.uint16))
    file_format = {".png": "PNG", ".jpg": "JPEG", ".bmp": "BMP", ".tif": "TIFF"}[suffix]
    try:
        image.save(buffer, format=file_format)
    except (OSError, KeyError):  # a mode this format cannot hold (CMYK as PNG, RGBA as JPEG)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format=file_format)
    return buffer.getvalue()


@st.composite
def folder_files(draw: st.DrawFn) -> dict[str, bytes]:
    """Relative path → content: images of random modes and sizes, empty or cut-short ones, files that are not
    images (some named like images), hidden files, class folders without images."""
    files = {}
    for label in draw(st.lists(st.sampled_from(["cat", "dog", ".hidden", "eel"]), max_size=3, unique=True)):
        files[f"{label}/"] = b""
        for i in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["image"] * 12 + ["empty", "cut", "text", "hidden"]))
            suffix = draw(st.sampled_from([".png", ".jpg", ".bmp", ".tif"]))
            if kind in ("image", "cut", "hidden"):
                size = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
                content = image_bytes(draw(st.sampled_from(MODES)), size, suffix)
                content = content[:len(content) // 2] if kind == "cut" else content
            else:
                content = b"" if kind == "empty" else b"not an image"
            name = f"._{i}{suffix}" if kind == "hidden" else f"{i}{suffix if kind != 'text' else '.txt'}"
            files[f"{label}/{name}"] = content
    if draw(st.booleans()):
        files["readme.md"] = b"a file beside the class folders"
    return files


@FUZZ
@given(files=folder_files(), graph=st.sampled_from(GRAPHS))
@pytest.mark.filterwarnings("ignore::UserWarning")  # PIL on truncated files
def test_random_image_folders_load_or_are_refused_by_name(files: dict[str, bytes], graph: str) -> None:
    def make(folder: Path) -> Path:
        root = folder / "pics"
        root.mkdir()
        for relative, content in files.items():
            if relative.endswith("/"):
                (root / relative).mkdir()
            else:
                (root / relative).write_bytes(content)
        return root

    check_loads_or_names(make, graph)
