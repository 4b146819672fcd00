"""Property-based fuzzing of the graph file loader: random and mutated documents, strict and tolerant.

Every input must give either a Graph or a GraphFileError whose defects are non-empty messages, each naming
its path in the document (`nodes[3].params.out_features: ...`) unless it is about the whole file (not JSON,
not UTF-8, nested too deeply). Any other exception is a loader defect. A graph that loads must also survive
what the editor does next: analysis, and saving (save → load → save gives the same bytes).

Cases per run (derandomized, so CI sees the same ones every time):
    random JSON values                       1,500
    random documents shaped like graph files 3,500
    mutated template documents               2,000
    mutated template bytes                   2,500
    tolerant loads of mutated documents      1,000
    total                                   10,500
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from graph import Graph, GraphFileError, loads
from graph.catalog import KINDS
from graph.document import EDGE_KEYS, NODE_KEYS, PARAM_DECL_KEYS, TOP_KEYS
from graph.fileformat import parse_json, to_document
from graph.library import BLOCKS, TEMPLATES, library_blocks
from graph.registry import layer_spec, layer_types

RESOURCE_FILES = sorted(TEMPLATES.glob("*.layerbook.json")) + sorted(BLOCKS.glob("*.layerbook.json"))
RESOURCES: list[bytes] = [p.read_bytes() for p in RESOURCE_FILES]
# Where a byte mutation can put a number or a nested value: each digit, and just after each colon.
DIGITS: list[list[int]] = [[i for i, c in enumerate(raw) if chr(c).isdigit()] for raw in RESOURCES]
COLONS: list[list[int]] = [[i + 1 for i, c in enumerate(raw) if c == ord(":")] for raw in RESOURCES]

# Defects about the file as a whole have no path; every other defect starts with one.
WHOLE_FILE = ("the file is empty", "the file is not UTF-8 text", "not valid JSON at", "not a usable JSON document",
              "the document is nested too deeply", "the document must be a JSON object")


def fuzz_settings(examples: int) -> settings:
    """Reproducible (derandomized, no example database written into the repo) and never timed per example."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


# --- checking one input ---------------------------------------------------------------------------------------

def check_defects(defects: list[str], top_keys: list[str] | None) -> None:
    """Each defect is a non-empty message; one about a part of the document starts with that part's path,
    whose first step is a top-level key of the document (or a header key it lacks)."""
    assert defects, "a GraphFileError with no defect"
    for defect in defects:
        assert isinstance(defect, str) and defect.strip(), f"an empty defect in {defects!r}"
        assert "Traceback" not in defect
        if defect.startswith(WHOLE_FILE):
            continue
        assert top_keys is not None, f"a defect with a path, but the document did not parse: {defect!r}"
        roots = [*(key or '""' for key in top_keys), "format", "version"]  # an empty key shows as ""
        assert any(defect.startswith(root + sep) for root in roots for sep in (": ", ".", "[")), \
            f"a defect without a path into the document: {defect!r}"
        assert defect.split(": ", 1)[-1].strip(), f"a path with no message: {defect!r}"


def top_keys_of(raw: str | bytes) -> list[str] | None:
    """The top-level keys as the loader parsed them (None when parsing itself failed)."""
    try:
        doc = parse_json(raw, "<fuzz>")
    except GraphFileError:
        return None
    return list(doc) if isinstance(doc, dict) else []


def load_strict(raw: str | bytes) -> Graph | GraphFileError:
    """Load strictly; only GraphFileError may escape the loader (anything else fails the test as it is)."""
    try:
        graph = loads(raw, "<fuzz>")
    except GraphFileError as error:
        assert error.source == "<fuzz>" and str(error).startswith("cannot load <fuzz>:")
        check_defects(error.defects, top_keys_of(raw))
        return error
    assert isinstance(graph, Graph)
    assert graph.__dict__["load_defects"] == []
    return graph


def saved(graph: Graph) -> bytes:
    """The document save_graph writes, as UTF-8 JSON (`dumps` only lays this same document out; its layout is
    tested in test_fileformat, and costs several times as much as the fuzzing can afford)."""
    return json.dumps(to_document(graph), ensure_ascii=False, allow_nan=False).encode("utf-8")


def check_strict(raw: str | bytes) -> None:
    """A graph that loads saves to a file that loads back to the same bytes."""
    result = load_strict(raw)
    if isinstance(result, Graph):
        data = saved(result)
        assert saved(loads(data, "<saved>")) == data


def check_tolerant(raw: str | bytes) -> None:
    """The editor's mode: defects become problems on the boxes; only a file that is not JSON is refused."""
    try:
        graph = loads(raw, "<fuzz>", strict=False)
    except GraphFileError as error:
        assert all(d.startswith(WHOLE_FILE) for d in error.defects), error.defects
        check_defects(error.defects, None)
        return
    found = graph.__dict__["load_defects"]
    if found:
        check_defects(found, top_keys_of(raw))
    strict = load_strict(raw)  # both modes find the same defects
    assert (strict.defects if isinstance(strict, GraphFileError) else []) == found
    problems = graph.analyze().problems
    assert all(isinstance(p.message, str) and p.message for p in problems)
    data = saved(graph)  # the editor can save what it opened, and saving again changes nothing
    assert saved(loads(data, "<saved>", strict=False)) == data


# --- random values and documents ------------------------------------------------------------------------------

TYPES = layer_types() + sorted(library_blocks()) + ["linear", "conv2d", "rleu", "", "b", "resblock "]
KEYS = [*TOP_KEYS, *NODE_KEYS, *EDGE_KEYS, *PARAM_DECL_KEYS, "x", "", "a.b", "nodes[0]"]
PORTS = ["x", "y", "q", "k", "v", "a", "b", "h", ""]
PARAM_NAMES = sorted({p.name for t in layer_types() for p in layer_spec(t).params}) + ["S", "N", "name", "type"]
NODE_NAMES = ["X", "Y", "a", "b", "fc1", "b_1", "self", "class", "1a", "é", "x" * 65, "", "a b"]
EXPRESSIONS = ["N", "D", "S", "2*N", "N*S+1", "N**N", "9**9**9", "10**100", "2**64", "1/0", "N//0", "N%0", "x.y",
               "__import__('os')", "(", "", " ", "N if N else S", "-1", "1e999", "[1, 2]", "min()", "max(1)",
               "abs(-N)", "N and S", "not N", "0**-1", "(-8)**0.5", "1e308*1e308", "'a'", "lambda: 1", "N<S<D",
               "(" * 80 + "1" + ")" * 80, "1" + "+1" * 99, "N" * 201]

NUMBERS = [0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63), 10**99, 1e300, -0.0, 5e-324, math.inf, -math.inf]
STRINGS = [*EXPRESSIONS, *NODE_NAMES, *TYPES, "\ud800", "a\x00b", "\ud83d\ude00"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(NUMBERS), st.text(max_size=12), st.sampled_from(STRINGS),
)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                     st.dictionaries(st.text(max_size=6), inner, max_size=5)),
    max_leaves=10,
)

def to_json(value: Any, ascii_only: bool = True) -> str:
    """JSON text for a value; infinity is written as 1e999, as a file can hold it (json would write the
    literal Infinity, which the loader refuses before reading any field)."""
    return json.dumps(value, ensure_ascii=ascii_only).replace("Infinity", "1e999")


class Scribbler:
    """Random documents shaped like graph files, from a seed that hypothesis draws: building them with a plain
    seeded generator costs a hundredth of composing strategies for every field, which is what lets thousands
    run in seconds (a failure shows the document in place of a shrunk example)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def scalar(self) -> Any:
        rng = self.rng
        return rng.choice([
            lambda: None, lambda: rng.random() < 0.5, lambda: rng.randint(-3, 70), lambda: rng.randint(-2**70, 2**70),
            lambda: rng.uniform(-1e6, 1e6), lambda: rng.choice(STRINGS), lambda: rng.choice(NUMBERS), self.text,
        ])()

    def text(self) -> str:
        return "".join(chr(self.rng.randrange(0x20, 0x3000)) for _ in range(self.rng.randrange(12)))

    def value(self, depth: int = 2) -> Any:
        """Any JSON value, most often a scalar."""
        roll = self.rng.random()
        if depth == 0 or roll < 0.6:
            return self.scalar()
        size = self.rng.randrange(4)
        if roll < 0.8:
            return [self.value(depth - 1) for _ in range(size)]
        return {self.rng.choice(KEYS): self.value(depth - 1) for _ in range(size)}

    def section(self, makers: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        """Some of the keys a section expects, each with a value of the right shape or, at times, any value."""
        doc = {key: make() if self.rng.random() < 0.85 else self.value()
               for key, make in makers.items() if self.rng.random() < 0.7}
        if self.rng.random() < 0.1:
            doc[self.rng.choice(KEYS)] = self.value()
        return doc

    def some(self, make: Callable[[], Any], most: int) -> list[Any]:
        return [make() for _ in range(self.rng.randrange(most + 1))]

    def node(self) -> dict[str, Any]:
        rng = self.rng
        return self.section({
            "name": lambda: rng.choice(NODE_NAMES), "type": lambda: rng.choice(TYPES),
            "params": lambda: {rng.choice(PARAM_NAMES): self.value(1) for _ in range(rng.randrange(4))},
            "repeat": lambda: rng.choice([rng.randint(-2, 10_002), rng.choice(EXPRESSIONS)]),
            "label": self.scalar, "position": lambda: self.some(self.scalar, 3),
        })

    def edge(self) -> dict[str, Any]:
        rng = self.rng
        return self.section({"from": lambda: rng.choice(NODE_NAMES), "to": lambda: rng.choice(NODE_NAMES),
                             "port": lambda: rng.choice(PORTS), "from_port": lambda: rng.choice(PORTS)})

    def decl(self) -> dict[str, Any]:
        return self.section({
            "type": lambda: self.rng.choice([*KINDS, "integer"]), "default": self.scalar, "min": self.scalar,
            "max": self.scalar, "choices": lambda: self.some(self.scalar, 3), "description": self.scalar})

    def decls(self) -> dict[str, Any]:
        names = ["N", "S", "D", "a b", "1x", "self"]
        return {self.rng.choice(names): self.decl() for _ in range(self.rng.randrange(3))}

    def body(self) -> dict[str, Callable[[], Any]]:
        return {"params": self.decls, "nodes": lambda: self.some(self.node, 5),
                "edges": lambda: self.some(self.edge, 5)}

    def blocks(self) -> dict[str, Any]:
        names = ["blk", "resblock", "relu", "a-b", "b c", "b", ""]
        return {self.rng.choice(names): self.section(self.body() | {"description": self.scalar})
                for _ in range(self.rng.randrange(3))}

    def bracket(self) -> dict[str, Any]:
        return self.section({"label": self.scalar, "nodes": lambda: self.some(lambda: self.rng.choice(NODE_NAMES), 3)})

    def document(self) -> dict[str, Any]:
        rng = self.rng
        doc = self.section(self.body() | {
            "name": self.text, "title": self.scalar, "blocks": self.blocks, "training": lambda: self.value(3),
            "values": lambda: {rng.choice(["N", "S", "Q"]): self.scalar() for _ in range(rng.randrange(3))},
            "brackets": lambda: self.some(self.bracket, 2),
        })
        if rng.random() < 0.8:  # otherwise most documents stop at the header and the sections go unread
            doc = {"format": "layerbook", "version": 1} | doc
        return doc


@fuzz_settings(1_500)
@given(st.integers(0, 2**64), st.booleans())
def test_any_json_value_loads_or_is_refused_cleanly(seed: int, as_bytes: bool) -> None:
    text = to_json(Scribbler(seed).value(depth=4), ascii_only=as_bytes)
    note(text)
    check_strict(text.encode("utf-8") if as_bytes else text)


@fuzz_settings(3_500)
@given(st.integers(0, 2**64))
def test_random_documents_shaped_like_graph_files_load_or_are_refused_cleanly(seed: int) -> None:
    text = to_json(Scribbler(seed).document())
    note(text)
    check_strict(text)


HEADER = '{"format": "layerbook", "version": 1, '


@pytest.mark.parametrize(("raw", "defect"), [
    # an empty key was reported as a bare "unknown key", which reads as a defect of the whole file
    ('{"": null}', '"": unknown key'),
    # 1e999 parses as infinity: a declaration bounded by it loaded, and saved as Infinity, which cannot be read
    (HEADER + '"params": {"S": {"type": "int", "default": 1, "max": 1E400}}}',
     "params.S.max: must be a number (got a non-finite number)"),
    # the same through the free-form training settings
    (HEADER + '"training": {"lr": 1e999}}', "training.lr: must be a finite number (got a non-finite number)"),
    # an escaped lone surrogate loaded, then saving the graph failed to encode it as UTF-8
    (HEADER + '"title": "\\ud800x"}',
     "not a usable JSON document: a text holds an unpaired surrogate (\\ud800), which is not a character"),
])
def test_a_defect_found_by_fuzzing_is_refused_with_its_path(raw: str, defect: str) -> None:
    with pytest.raises(GraphFileError) as raised:
        loads(raw, "<fuzz>")
    assert defect in raised.value.defects
    check_strict(raw)


def test_a_tolerant_load_leaves_out_a_value_no_file_could_hold() -> None:
    """Found by fuzzing: a node parameter of 1e999 was kept, so the editor saved a file it could not reopen."""
    raw = HEADER + '"nodes": [{"name": "d", "type": "dropout", "params": {"p": 1e999, "inplace": -1e999}}]}'
    graph = loads(raw, "<fuzz>", strict=False)
    assert graph.node("d").params == {}
    assert len(graph.__dict__["load_defects"]) == 2
    check_tolerant(raw)


# --- mutated real documents -----------------------------------------------------------------------------------

WORDS = st.from_regex(r"[A-Za-z_]\w{0,8}", fullmatch=True)


def place(draw: st.DrawFn, doc: dict[str, Any]) -> tuple[dict[str, Any] | list[Any], Any] | None:
    """A random place in the document (its container and key), found by walking down from the top and
    stopping at each level with some chance: cheaper than listing every place of a large template."""
    container: dict[str, Any] | list[Any] | None = None
    key: Any = None
    value: Any = doc
    while isinstance(value, dict | list) and value and (container is None or draw(st.integers(0, 3)) > 0):
        container, key = value, pick(draw, list(value) if isinstance(value, dict) else list(range(len(value))))
        value = container[key]
    return None if container is None else (container, key)


def sections_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The document and each of its blocks: the objects that hold nodes and edges (a mutation may have
    replaced blocks by anything)."""
    blocks = doc.get("blocks")
    return [doc, *[b for b in blocks.values() if isinstance(b, dict)]] if isinstance(blocks, dict) else [doc]


def node_lists(doc: dict[str, Any]) -> list[list[Any]]:
    return [s["nodes"] for s in sections_of(doc) if isinstance(s.get("nodes"), list) and s["nodes"]]


def edge_lists(doc: dict[str, Any]) -> list[list[Any]]:
    return [s["edges"] for s in sections_of(doc) if isinstance(s.get("edges"), list) and s["edges"]]


def retyped(value: Any) -> Any:
    """The same content under another JSON type: what a hand edit or another tool might write."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return False


def pick(draw: st.DrawFn, items: list[Any]) -> Any:
    """One of the items; drawing an index is much cheaper than a sampled_from made anew for every example."""
    return items[draw(st.integers(0, len(items) - 1))]


def mutate(draw: st.DrawFn, doc: dict[str, Any]) -> None:
    """Apply one random mutation in place."""
    kind = draw(st.sampled_from(["delete", "replace", "retype", "nest", "huge", "unicode", "expression",
                                 "duplicate-node", "remove-node", "rename-node", "retarget-edge", "add-param"]))
    if kind in ("duplicate-node", "remove-node", "rename-node", "add-param") and node_lists(doc):
        mutate_nodes(draw, kind, pick(draw, node_lists(doc)))
        return
    if kind == "retarget-edge" and edge_lists(doc):
        edge = pick(draw, pick(draw, edge_lists(doc)))
        if isinstance(edge, dict):
            key = draw(st.sampled_from(EDGE_KEYS))
            edge[key] = draw(st.one_of(st.sampled_from(NODE_NAMES + PORTS), scalars))
        return
    spot = place(draw, doc)
    if spot is None:
        return
    parent, key = spot
    old = parent[key]
    if kind == "delete":
        del parent[key]
        return
    parent[key] = {
        "replace": lambda: draw(json_values),
        "retype": lambda: retyped(old),
        "nest": lambda: nested(old, draw(st.integers(1, 40))),
        "huge": lambda: draw(st.sampled_from([2**31, 2**63, -(2**63), 10**99, 1e308, -1e308, 5e-324, math.inf])),
        "unicode": lambda: draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)),
    }.get(kind, lambda: draw(st.sampled_from(EXPRESSIONS)))()


def nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def mutate_nodes(draw: st.DrawFn, kind: str, nodes: list[Any]) -> None:
    index = draw(st.integers(0, len(nodes) - 1))
    node = nodes[index]
    if kind == "duplicate-node":
        nodes.insert(draw(st.integers(0, len(nodes))), copy.deepcopy(node))
    elif kind == "remove-node":
        del nodes[index]
    elif isinstance(node, dict) and kind == "rename-node":
        node["name"] = draw(st.one_of(st.sampled_from(NODE_NAMES), WORDS, st.text(max_size=70)))
    elif isinstance(node, dict):
        params = node.setdefault("params", {})
        if isinstance(params, dict):
            params[draw(st.sampled_from(PARAM_NAMES))] = draw(st.one_of(scalars, st.lists(scalars, max_size=4)))


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    doc = json.loads(pick(draw, RESOURCES))
    for _ in range(draw(st.integers(1, 4))):
        mutate(draw, doc)
    return to_json(doc, ascii_only=draw(st.booleans()))


@fuzz_settings(2_000)
@given(mutated_documents())
def test_mutated_templates_load_or_are_refused_cleanly(text: str) -> None:
    check_strict(text)


@fuzz_settings(1_000)
@given(mutated_documents())
def test_mutated_templates_load_tolerantly_and_the_editor_can_analyse_and_save_them(text: str) -> None:
    check_tolerant(text)


# --- mutated bytes --------------------------------------------------------------------------------------------

NUMBER_LITERALS = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"9" * 101, b"-" + b"1" * 150,
                   b"9" * 100, b"1" * 4301, b"0.0000000000000000000000001", b"1E400", b"-0"]


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    index = draw(st.integers(0, len(RESOURCES) - 1))
    data = bytearray(RESOURCES[index])
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "number", "bom", "deep"]))
    where = draw(st.integers(0, len(data) - 1))
    if kind == "truncate":
        return bytes(data[:where])
    if kind == "flip":
        for spot in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=4)):
            data[spot] ^= draw(st.integers(1, 255))
    elif kind == "insert":  # bytes that are not UTF-8, or are but break the JSON
        data[where:where] = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf",
                                                  b'"', b"}", b"]", b",", b"\\", b"\\ud800"]))
    elif kind == "number":
        spot = pick(draw, DIGITS[index])
        data[spot:spot + 1] = draw(st.sampled_from(NUMBER_LITERALS))
    elif kind == "bom":
        data[0:0] = b"\xef\xbb\xbf"
    else:
        depth = draw(st.integers(25, 3000))
        spot = pick(draw, COLONS[index])
        data[spot:spot] = b"[" * depth + b"1" + b"]" * depth
    return bytes(data)


@fuzz_settings(2_500)
@given(mutated_bytes())
def test_mutated_template_bytes_load_or_are_refused_cleanly(raw: bytes) -> None:
    check_strict(raw)
