"""The `.layerbook.json` format: save → load gives the same graph and the same bytes; saving is atomic; every
malformed file is refused with GraphFileError naming each defect by its path in the document."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph import Bracket, Graph, GraphError, GraphFileError, dumps, load_graph, loads, save_graph
from graph.catalog import ParamSpec
from graph.fileformat import MAX_FILE_BYTES
from graph.library import BLOCKS, TEMPLATES
from graph.names import graph_name_problem

TEMPLATE_FILES = sorted(TEMPLATES.glob("*.layerbook.json"))
BLOCK_FILES = sorted(BLOCKS.glob("*.layerbook.json"))


def plain(value: Any) -> Any:
    """Tuples and lists compare alike (a file has only lists); positions compare as floats."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def snapshot(g: Graph, top: bool = True) -> dict[str, Any]:
    """Everything a file records about a graph, read through the public API (a block shares its file's blocks,
    so they are recorded once, at the top)."""
    return {
        "name": g.name, "title": g.title, "source": g.source, "description": g.description,
        "params": {k: spec.to_json() for k, spec in g.params.items()}, "values": plain(g.param_values),
        "blocks": {k: snapshot(b, top=False) for k, b in g.blocks.items()} if top else None,
        "nodes": [(n.name, n.type, plain(n.params), n.repeat, n.label,
                   None if n.position is None else [float(v) for v in n.position]) for n in g],
        "edges": [(e.src, e.dst, e.port, e.src_port) for e in g.edges],
        "brackets": [(b.label, list(b.nodes)) for b in g.brackets],
        "training": g.training,
    }


def document(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "layerbook", "version": 1, "name": "t",
        "nodes": [{"name": "X", "type": "input", "params": {"shape": [8]}}, {"name": "Y", "type": "output"}],
        "edges": [{"from": "X", "to": "Y"}],
    }
    doc.update(fields)
    return doc


def defects_of(raw: str | bytes, source: str = "<text>") -> list[str]:
    with pytest.raises(GraphFileError) as raised:
        loads(raw, source)
    error = raised.value
    assert error.defects and str(error).startswith(f"cannot load {source}:")
    assert "Traceback" not in str(error)
    return error.defects


def node_defects(params: dict[str, Any], type_name: str = "conv-2d") -> list[str]:
    return defects_of(json.dumps(document(nodes=[{"name": "a", "type": type_name, "params": params}], edges=[])))


# --- round trips --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", TEMPLATE_FILES + BLOCK_FILES, ids=lambda p: p.name)
def test_resource_files_are_stored_in_canonical_form(path: Path) -> None:
    g = load_graph(path, library=path not in BLOCK_FILES)
    assert dumps(g) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", TEMPLATE_FILES + BLOCK_FILES, ids=lambda p: p.name)
def test_load_save_load_gives_the_same_graph_and_the_same_bytes(path: Path, tmp_path: Path) -> None:
    first = load_graph(path, library=path not in BLOCK_FILES)
    saved = save_graph(first, tmp_path / path.name)
    second = load_graph(saved, library=path not in BLOCK_FILES)
    assert snapshot(second) == snapshot(first)
    assert saved.read_bytes() == path.read_bytes()
    assert save_graph(second, tmp_path / "again.layerbook.json").read_bytes() == saved.read_bytes()


def test_the_library_files_define_the_five_blocks() -> None:
    names = {name for path in BLOCK_FILES for name in load_graph(path, library=False).blocks}
    assert names == {"resblock", "dresblock", "ffw", "self-att", "cross-att"}


def test_a_graph_with_blocks_meta_parameters_and_expressions_round_trips() -> None:
    g = Graph("knobs")
    g.title = "A title with ünïcode × signs"
    g.params["N"] = ParamSpec("N", "int", 2, minimum=1, maximum=8, description="depth")
    g.param_values["N"] = 3
    block = Graph("twice", blocks=g.blocks)
    block.params["K"] = ParamSpec("K", "int", 2, minimum=1)
    x, fc, y = block.add("input", "x", shape=["D"]), block.add("fully-conn", out_features="K*D"), block.add("output")
    block.connect(x, fc)
    block.connect(fc, y)
    g.blocks["twice"] = block
    x, t, y = g.add("input", shape=(4,)), g.add("twice", K=3, repeat="N", label="T"), g.add("output")
    g.connect(x, t)
    g.connect(t, y)
    g.training = {"dataset": "blobs", "epochs": 3}
    again = loads(dumps(g))
    assert snapshot(again) == snapshot(g)
    assert dumps(again) == dumps(g)
    assert again.analyze().nodes[t].output.shape == (4 * 3**3,)


def test_parameters_are_written_in_the_order_the_spec_declares_them() -> None:
    g = Graph()
    g.add("conv-2d", bias=False, stride=2, out_channels=8)
    text = dumps(g)
    assert text.index('"out_channels"') < text.index('"stride"') < text.index('"bias"')


# Random graphs built by the API: every value valid, so that a strict load accepts the file.
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
LAYERS: list[tuple[str, st.SearchStrategy[dict[str, Any]]]] = [
    ("fully-conn", st.fixed_dictionaries({}, optional={"out_features": st.integers(1, 4096), "bias": st.booleans()})),
    ("conv-2d", st.fixed_dictionaries({}, optional={
        "out_channels": st.integers(1, 512), "kernel_size": st.one_of(st.integers(1, 7), st.lists(
            st.integers(1, 7), min_size=2, max_size=2)), "padding": st.sampled_from([0, 1, "same", [1, 2]])})),
    ("dropout", st.fixed_dictionaries({}, optional={"p": st.floats(0, 1)})),
    ("layernorm", st.fixed_dictionaries({}, optional={"eps": st.floats(1e-12, 1e-1)})),
    ("reshape", st.fixed_dictionaries({"shape": st.lists(st.integers(1, 64), min_size=1, max_size=4)})),
    ("gelu", st.fixed_dictionaries({}, optional={"approximate": st.sampled_from(["none", "tanh"])})),
    ("relu", st.just({})), ("+", st.just({})), ("concat", st.just({})), ("mha", st.just({})),
    ("resblock", st.just({})), ("dresblock", st.fixed_dictionaries({}, optional={"S": st.integers(1, 4)})),
]


@st.composite
def api_graphs(draw: st.DrawFn) -> Graph:
    g = Graph(draw(st.text(min_size=1, max_size=30).filter(lambda name: graph_name_problem(name) is None)))
    g.title = draw(st.text(max_size=40))
    names = [g.add("input", shape=tuple(draw(st.lists(st.integers(1, 64), min_size=1, max_size=3))))]
    for _ in range(draw(st.integers(0, 10))):
        type_name, params = draw(st.sampled_from(LAYERS))
        name = draw(st.one_of(st.none(), NAMES.filter(lambda n: n not in g)))
        position = draw(st.one_of(st.none(), st.tuples(*[st.floats(-1e6, 1e6, allow_subnormal=False)] * 2)))
        names.append(g.add(type_name, name, repeat=draw(st.integers(1, 4)), label=draw(
            st.one_of(st.none(), st.text(max_size=20))), position=position, **draw(params)))
        for src in draw(st.lists(st.sampled_from(names[:-1]), max_size=2)):
            port = draw(st.sampled_from(["q", "k", "v"])) if type_name == "mha" else None
            g.connect(src, names[-1], port)
    names.append(g.add("output"))
    g.connect(names[-2], names[-1])
    if draw(st.booleans()):
        g.brackets.append(Bracket(draw(st.text(max_size=20)), names[1:3]))
    return g


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(api_graphs())
def test_random_graphs_built_by_the_api_round_trip(g: Graph) -> None:
    text = dumps(g)
    again = loads(text)
    assert snapshot(again) == snapshot(g)
    assert dumps(again) == text
    assert json.loads(text)["format"] == "layerbook"


# --- atomic save --------------------------------------------------------------------------------------------

def test_save_adds_the_suffix_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = save_graph(load_graph("mlp"), tmp_path / "net")
    assert target == tmp_path / "net.layerbook.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.layerbook.json"]
    assert snapshot(load_graph(target)) == snapshot(load_graph("mlp"))


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync"])
def test_a_failure_during_save_leaves_the_previous_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               failing: str) -> None:
    target = save_graph(load_graph("mlp"), tmp_path / "net.layerbook.json")
    before = target.read_bytes()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing.split(".")[1], fail)
    with pytest.raises(OSError, match="No space left"):
        save_graph(load_graph("lenet"), target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.layerbook.json"]


def test_an_interrupted_first_save_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_graph(load_graph("mlp"), tmp_path / "new.layerbook.json")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# --- templates by name --------------------------------------------------------------------------------------

def test_a_template_loads_by_name() -> None:
    by_name = load_graph("lenet")
    assert snapshot(by_name) == snapshot(load_graph(TEMPLATES / "lenet.layerbook.json"))
    assert by_name.analyze().ok


def test_an_unknown_name_lists_the_templates() -> None:
    with pytest.raises(GraphFileError) as raised:
        load_graph("lenett")
    (defect,) = raised.value.defects
    assert "no such file, and no template of that name" in defect
    assert "lenet" in defect and "mlp" in defect


def test_a_missing_file_is_a_graph_file_error(tmp_path: Path) -> None:
    with pytest.raises(GraphFileError, match="no such file"):
        load_graph(tmp_path / "absent.layerbook.json")


def test_a_folder_is_not_a_graph_file(tmp_path: Path) -> None:
    with pytest.raises(GraphFileError, match="cannot read the file: it is a folder, not a graph file"):
        load_graph(tmp_path)


def test_a_device_or_a_pipe_is_refused_without_being_read(tmp_path: Path) -> None:
    """`validate /dev/zero` read until the machine ran out of memory, and a pipe waited for ever; /dev/null was
    'empty'. A pipe that the loader opened would fail here after a second instead of hanging (nobody writes)."""
    def waited(signum: int, frame: object) -> None:
        raise TimeoutError("the loader opened the pipe")

    os.mkfifo(tmp_path / "pipe.layerbook.json")
    previous = signal.signal(signal.SIGALRM, waited)
    try:
        for path in ("/dev/null", tmp_path / "pipe.layerbook.json"):
            signal.alarm(2)
            with pytest.raises(GraphFileError, match=r"it is not a regular file \(a device or a pipe\)"):
                load_graph(path)
            signal.alarm(0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("length", [250, 5000])
def test_a_name_too_long_for_the_file_system_is_a_graph_file_error(length: int) -> None:
    """It was an OSError traceback (File name too long): from the name itself, or from the template's file name
    that 250 characters and the suffix make."""
    with pytest.raises(GraphFileError, match=r"no such file|File name too long"):
        load_graph("a" * length)


def test_an_empty_name_is_no_graph_given_not_the_working_directory() -> None:
    """`validate ''` said `cannot load .: ... Is a directory`."""
    with pytest.raises(GraphFileError, match=r"^cannot load '':\n  no graph given: name a graph file or a template"):
        load_graph("")


# --- malformed files ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "words"), [
    (b"", "the file is empty"),
    (b"  \n\t ", "the file is empty"),
    (b"\xff\xfe\x00{", "not UTF-8 text (byte 0)"),
    ('{"format": "layerbook", "version": 1, "nodes": [', "(the file looks truncated)"),
    ('{"format": "layerbook", "version": 1,', "line 1, column 38"),
    ('{"format": "layerbook" "version": 1}', "Expecting ',' delimiter"),
    ("[1, 2]", "must be a JSON object, not a list"),
    ('"layerbook"', "must be a JSON object, not a text"),
    ("null", "must be a JSON object, not null"),
])
def test_an_unreadable_document_is_refused_in_one_sentence(raw: str | bytes, words: str) -> None:
    (defect,) = defects_of(raw)
    assert words in defect


def test_a_latin_1_file_is_refused_at_its_first_non_utf8_byte() -> None:
    raw = '{"format": "layerbook", "version": 1, "name": "café"}'.encode("latin-1")
    position = raw.index("é".encode("latin-1"))
    (defect,) = defects_of(raw)
    assert defect == f"the file is not UTF-8 text (byte {position})"


def test_a_utf8_file_with_a_byte_order_mark_is_read() -> None:
    text = dumps(load_graph("mlp"))
    assert snapshot(loads(b"\xef\xbb\xbf" + text.encode("utf-8"))) == snapshot(loads(text))


def test_a_truncated_template_is_refused(tmp_path: Path) -> None:
    text = (TEMPLATES / "lenet.layerbook.json").read_text(encoding="utf-8")
    path = tmp_path / "cut.layerbook.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(GraphFileError) as raised:
        load_graph(path)
    (defect,) = raised.value.defects
    assert defect.startswith("not valid JSON at line ") and "(the file looks truncated)" in defect
    assert raised.value.source == str(path)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"format": "onnx"}, "format: must be \"layerbook\" (got 'onnx'): this is not a Layerbook graph file"),
    ({"format": None}, "format: must be \"layerbook\" (got null): this is not a Layerbook graph file"),
    ({"version": 2}, "version: this file was written by a newer Layerbook (format version 2); this one reads up "
                     "to version 1"),
    ({"version": "1"}, "version: must be a positive integer (got '1')"),
    ({"version": 0}, "version: must be a positive integer (got 0)"),
    ({"nodez": []}, "nodez: unknown key (did you mean 'nodes'?)"),
    ({"title": 5}, "title: must be a text of at most 500 characters"),
    ({"blocks": []}, "blocks: must be an object, not a list"),
])
def test_a_wrong_header_field_is_named(fields: dict[str, Any], expected: str) -> None:
    assert defects_of(json.dumps(document(**fields))) == [expected]


def test_nodes_that_are_not_a_list_are_refused_and_edges_to_them_too() -> None:
    defects = defects_of(json.dumps(document(nodes={"X": "input"})))
    assert defects[0] == "nodes: must be a list, not an object"
    assert "edges[0].from: names no node of this graph (got 'X')" in defects


@pytest.mark.parametrize(("node", "expected"), [
    ({"name": "a"}, "nodes[0].type: must be a layer type or a block name (got null)"),
    ({"name": "a", "type": 3}, "nodes[0].type: must be a layer type or a block name (got 3)"),
    ({"name": "a", "type": "fully-con"}, "nodes[0].type: unknown layer type or block 'fully-con' (did you mean "
                                         "'fully-conn'?)"),
    ({"name": "a", "type": "resblok"}, "nodes[0].type: unknown layer type or block 'resblok' (did you mean "
                                       "'resblock'?)"),
    ({"name": "a", "type": "relu", "parms": {}}, "nodes[0].parms: unknown key (did you mean 'params'?)"),
    ({"name": "a", "type": "fully-conn", "params": {"out_feature": 3}},
     "nodes[0].params.out_feature: fully-conn has no meta-parameter 'out_feature' (did you mean 'out_features'?)"),
    ({"name": "a", "type": "relu", "params": []}, "nodes[0].params: must be an object, not a list"),
    ({"name": "a", "type": "relu", "repeat": 0},
     "nodes[0].repeat: must be an integer from 1 to 10,000 or an expression (got 0)"),
    ({"name": "a", "type": "relu", "repeat": "x.y"}, "nodes[0].repeat: 'x.y' uses something other than arithmetic"),
    ({"name": "a", "type": "relu", "position": [1]}, "nodes[0].position: must be a list of two finite numbers [x, y]"),
    ({"name": "a", "type": "relu", "label": 7}, "nodes[0].label: must be a text of at most 100 characters"),
    ("relu", "nodes[0]: must be an object with a name and a type, not a text"),
])
def test_a_malformed_node_is_named_by_its_path(node: Any, expected: str) -> None:
    assert defects_of(json.dumps(document(nodes=[node], edges=[]))) == [expected]


@pytest.mark.parametrize(("params", "expected"), [
    ({"kernel_size": "abc"}, "kernel_size: must be a positive integer or a list of 2 such integers (got 'abc'); "
                             "expressions are allowed only inside blocks or with graph meta-parameters"),
    ({"kernel_size": True}, "kernel_size: must be a positive integer or a list of 2 such integers (got true)"),
    ({"kernel_size": 5.5}, "kernel_size: must be a positive integer or a list of 2 such integers (got 5.5)"),
    ({"kernel_size": [3, 3, 3]}, "(got [3, 3, 3])"),
    ({"out_channels": 2.0}, "out_channels: must be a positive integer (got 2)"),
    ({"bias": 1}, "bias: must be true or false (got 1)"),
    ({"bias": "yes"}, "bias: must be true or false (got 'yes'); expressions are allowed only inside blocks"),
    ({"kernel_size": 0}, "kernel_size: must be a positive integer or a list of 2 such integers (got 0)"),
    ({"out_channels": -1}, "out_channels: must be a positive integer (got -1)"),
    ({"padding": "full"}, "padding: must be a non-negative integer or a list of 2 such integers or one of: 'same', "
                          "'valid' (got 'full'); expressions are allowed only inside blocks"),
    ({"out_channels": 10**12}, "out_channels: must be a positive integer (got 1000000000000)"),
    ({"out_channels": 2**31}, "(got 2147483648)"),
])
def test_a_wrong_value_is_named_by_its_path(params: dict[str, Any], expected: str) -> None:
    (defect,) = node_defects(params)
    key = next(iter(params))
    assert defect.startswith(f"nodes[0].params.{key}: ") and expected in defect


@pytest.mark.parametrize(("value", "words"), [(1.5, "(got 1.5)"), (-0.1, "(got -0.1)"), ("0.5", "(got '0.5')")])
def test_a_probability_out_of_range_is_refused(value: Any, words: str) -> None:
    (defect,) = node_defects({"p": value}, "dropout")
    assert defect.startswith("nodes[0].params.p: must be a number from 0 to 1") and words in defect


@pytest.mark.parametrize(("value", "words"), [(10**12, "(got 1000000000000)"), (2**31, "(got 2147483648)"),
                                              (2**31 - 1, None), (-(10**12), "(got -1000000000000)")])
def test_out_features_beyond_what_can_be_built_are_refused(value: int, words: str | None) -> None:
    text = json.dumps(document(nodes=[{"name": "a", "type": "fully-conn", "params": {"out_features": value}}],
                               edges=[]))
    if words is None:  # the largest size a layer may have is still read
        assert loads(text).node("a").params == {"out_features": value}
    else:
        (defect,) = defects_of(text)
        assert defect == f"nodes[0].params.out_features: must be a positive integer {words}"


def with_raw_value(raw_value: str) -> str:
    text = json.dumps(document(nodes=[{"name": "a", "type": "dropout", "params": {"p": 0.25}}], edges=[]))
    return text.replace("0.25", raw_value)


@pytest.mark.parametrize(("raw_value", "words"), [
    ("1e999", "nodes[0].params.p: must be a number from 0 to 1 (got a non-finite number)"),
    ("NaN", "not a usable JSON document: NaN is not a number a graph can use"),
    ("Infinity", "not a usable JSON document: Infinity is not a number a graph can use"),
    ("-Infinity", "not a usable JSON document: -Infinity is not a number a graph can use"),
    ("9" * 5000, "not a usable JSON document: an integer of 5,000 digits (999999999999…) is far too large"),
    ("-" + "1" * 200, "an integer of 200 digits"),
])
def test_huge_and_non_finite_numbers_are_refused_cleanly(raw_value: str, words: str) -> None:
    (defect,) = defects_of(with_raw_value(raw_value))
    assert words in defect
    assert "sys.set_int_max_str_digits" not in defect and len(defect) < 200


def test_an_integer_just_short_of_the_digit_limit_is_a_range_defect_with_a_short_message() -> None:
    (defect,) = defects_of(with_raw_value("9" * 100))
    assert defect.startswith("nodes[0].params.p: must be a number from 0 to 1 (got an integer of about 100 digits)")


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_arrays_are_refused(depth: int) -> None:
    (defect,) = defects_of('{"format": "layerbook", "version": 1, "nodes": ' + "[" * depth + "]" * depth + "}")
    assert defect == "the document is nested too deeply"


@pytest.mark.parametrize("depth", [40, 900])
def test_a_value_nested_deeper_than_any_graph_needs_is_refused(depth: int) -> None:
    """Deep enough for the parser, too deep for everything that reads, shows and copies values after it."""
    (defect,) = defects_of(with_raw_value("[" * depth + "]" * depth))
    assert defect == "the document is nested too deeply (more than 32 levels)"


def test_a_nested_wrong_value_is_shown_shortly() -> None:
    (defect,) = defects_of(with_raw_value("[[[[[[1]]]]], 2, 3, 4, 5, 6, 7, 8, 9, 10]"))
    assert defect.endswith("(got [[[[…]]], 2, 3, 4, 5, 6, 7, 8, …])")


def test_duplicate_node_names_are_refused() -> None:
    nodes = [{"name": "a", "type": "relu"}, {"name": "a", "type": "tanh"}]
    assert defects_of(json.dumps(document(nodes=nodes, edges=[]))) == ["nodes[1].name: a node named 'a' already exists"]


@pytest.mark.parametrize("name", ["1a", "a b", "", "é", "a-b", "x" * 65, None, 3])
def test_invalid_node_names_are_refused(name: Any) -> None:
    (defect,) = defects_of(json.dumps(document(nodes=[{"name": name, "type": "relu"}], edges=[])))
    assert defect.startswith("nodes[0].name: ") and "is not a valid node name" in defect


@pytest.mark.parametrize(("name", "words"), [
    ("/abs/path/x", "must not contain / or \\"), ("../../etc/x", "must not contain / or \\"),
    ("..\\..\\x", "must not contain / or \\"), ("..", "must not contain '..'"), ("a..b", "must not contain '..'"),
    ("line\nbreak", "U+000A"), ("tab\there", "U+0009"), ("bell\x07", "U+0007"),
    ("evil\u202etxt.exe", "U+202E, right-to-left override"), ("x" * 65, "at most 64 characters"),
    ("   ", "must not be empty"), (7, "must be a text"),
])
def test_a_graph_name_that_could_become_a_path_or_hide_text_is_refused(name: Any, words: str) -> None:
    """The name becomes part of paths (train's run folder): it used to be written into /abs/path/x-<date>."""
    (defect,) = defects_of(json.dumps(document(name=name)))
    assert defect.startswith("name: ") and words in defect
    assert "\n" not in defect  # the name is shown escaped: a newline in it cannot fake another line of output
    with pytest.raises(GraphError, match="a graph's name"):
        Graph(name)


@pytest.mark.parametrize("name", ["lenet", "my net (v2)", "réseau-1.5", "x" * 64, "untitled"])
def test_ordinary_graph_names_load(name: str) -> None:
    assert loads(json.dumps(document(name=name))).name == name


def test_every_template_and_library_name_follows_the_rule() -> None:
    for path in TEMPLATE_FILES + BLOCK_FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert graph_name_problem(doc["name"]) is None, path
        assert all(graph_name_problem(block) is None for block in doc.get("blocks", {})), path


@pytest.mark.parametrize(("edge", "expected"), [
    ({"from": "X", "to": "Z"}, "edges[0].to: names no node of this graph (got 'Z')"),
    ({"from": "W", "to": "Y"}, "edges[0].from: names no node of this graph (got 'W')"),
    ({"from": 1, "to": "Y"}, "edges[0].from: names no node of this graph (got 1)"),
    ({"from": "X", "to": "Y", "port": "q"}, "edges[0].port: 'Y' has no input port 'q' (ports: x)"),
    ({"from": "X", "to": "Y", "port": 3}, "edges[0].port: must be a port name (got 3)"),
    ({"from": "X", "to": "Y", "from_port": "z"}, "edges[0].from_port: 'X' has no output port 'z'"),
    ({"from": "Y", "to": "X"}, "edges[0].to: 'X' has no input port; nothing can be wired into it"),
    ({"from": "Y", "to": "Y"}, "edges[0].from: 'Y' is an output node; nothing can be wired from it"),
    ({"from": "X", "to": "Y", "colour": "red"}, "edges[0].colour: unknown key"),
])
def test_an_edge_naming_a_missing_node_or_port_is_refused(edge: dict[str, Any], expected: str) -> None:
    assert expected in defects_of(json.dumps(document(edges=[edge])))


def test_node_params_named_like_node_fields_are_unknown_params_not_a_crash() -> None:
    params = {"name": 1, "type": 2, "repeat": 3, "label": 4, "position": 5}
    defects = defects_of(json.dumps(document(nodes=[{"name": "a", "type": "relu", "params": params}], edges=[])))
    assert defects == [f"nodes[0].params.{key}: relu has no meta-parameter '{key}'" for key in params]


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.layerbook.json"
    with path.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)  # sparse: no time or disk spent
    with pytest.raises(GraphFileError) as raised:
        load_graph(path)
    assert raised.value.defects == [f"the file is {MAX_FILE_BYTES + 1:,} bytes; graph files are at most "
                                    f"{MAX_FILE_BYTES:,}"]


def test_every_defect_of_a_file_is_listed_at_once() -> None:
    doc = document(
        colour="blue",
        nodes=[{"name": "X", "type": "input", "params": {"shape": [8]}},
               {"name": "c", "type": "conv-2d", "params": {"kernel_size": 0, "strides": 2}},
               {"name": "d", "type": "dropout", "params": {"p": 1.5}},
               {"name": "X", "type": "relu"},
               {"type": "relu"},
               {"name": "e", "type": "rleu"}],
        edges=[{"from": "X", "to": "nowhere"}, {"from": "c", "to": "d", "port": "q"}],
    )
    assert defects_of(json.dumps(doc)) == [
        "colour: unknown key",
        "nodes[1].params.kernel_size: must be a positive integer or a list of 2 such integers (got 0)",
        "nodes[1].params.strides: conv-2d has no meta-parameter 'strides' (did you mean 'stride'?)",
        "nodes[2].params.p: must be a number from 0 to 1 (got 1.5)",
        "nodes[3].name: a node named 'X' already exists",
        "nodes[4].name: 'None' is not a valid node name: use letters, digits and _ (not first), at most 64 characters",
        "nodes[5].type: unknown layer type or block 'rleu' (did you mean 'relu'?)",
        "edges[0].to: names no node of this graph (got 'nowhere')",
        "edges[1].port: 'd' has no input port 'q' (ports: x)",
    ]


def test_the_error_message_shows_the_first_fifty_defects_and_counts_the_rest() -> None:
    nodes = [{"name": f"n{i}", "type": "relu", "params": {"bad": i}} for i in range(60)]
    with pytest.raises(GraphFileError) as raised:
        loads(json.dumps(document(nodes=nodes, edges=[])))
    assert len(raised.value.defects) == 60
    assert str(raised.value).endswith("... and 10 more")


@pytest.mark.parametrize(("decl", "expected"), [
    ({"type": "integer"}, "params.N.type: must be one of: int, float, bool, choice, size, shape, text (got 'integer')"),
    ({"type": "int", "default": "two"}, "params.N.default: must be an integer (got 'two')"),
    ({"type": "int", "default": 1, "min": "0"}, "params.N.min: must be a number"),
    ({"type": "int", "default": 1, "step": 1}, "params.N.step: unknown key"),
])
def test_a_malformed_meta_parameter_declaration_is_named(decl: dict[str, Any], expected: str) -> None:
    assert expected in defects_of(json.dumps(document(params={"N": decl})))


def test_a_block_named_like_a_layer_type_is_refused() -> None:
    blocks = {"relu": {"nodes": [], "edges": []}}
    assert defects_of(json.dumps(document(blocks=blocks))) == [
        "blocks.relu: 'relu' is the name of a layer type; give the block another name"]


def test_a_defect_inside_a_block_is_named_by_its_path() -> None:
    blocks = {"b": {"nodes": [{"name": "fc", "type": "fully-conn", "params": {"out_features": "D.x"}}],
                    "edges": [{"from": "fc", "to": "gone"}]}}
    assert defects_of(json.dumps(document(blocks=blocks))) == [
        "blocks.b.nodes[0].params.out_features: 'D.x' uses something other than arithmetic",
        "blocks.b.edges[0].to: names no node of this graph (got 'gone')",
    ]


# --- lenient loading ----------------------------------------------------------------------------------------

def test_strict_false_loads_range_errors_and_validation_reports_them_on_the_node() -> None:
    doc = document(
        nodes=[{"name": "X", "type": "input", "params": {"shape": [1, 28, 28]}},
               {"name": "conv1", "type": "conv-2d", "params": {"kernel_size": 0}},
               {"name": "drop", "type": "dropout", "params": {"p": 1.5}},
               {"name": "Y", "type": "output"}],
        edges=[{"from": "X", "to": "conv1"}, {"from": "conv1", "to": "drop"}, {"from": "drop", "to": "Y"}],
    )
    g = loads(json.dumps(doc), strict=False)
    assert g.__dict__["load_defects"] == [
        "nodes[1].params.kernel_size: must be a positive integer or a list of 2 such integers (got 0)",
        "nodes[2].params.p: must be a number from 0 to 1 (got 1.5)",
    ]
    assert g.node("conv1").params == {"kernel_size": 0}
    problems = {p.node: p for p in g.validate()}
    assert problems["conv1"].code == "param-range" and "kernel_size" in problems["conv1"].message
    assert problems["drop"].code == "param-range" and "(got 1.5)" in problems["drop"].message


def test_strict_false_still_refuses_what_is_not_json() -> None:
    with pytest.raises(GraphFileError, match="looks truncated"):
        loads('{"format": "layerbook", "nodes": [', strict=False)


def test_strict_false_keeps_an_unknown_type_for_the_editor_to_show() -> None:
    doc = document(nodes=[{"name": "X", "type": "input", "params": {"shape": [8]}}, {"name": "r", "type": "rleu"},
                          {"name": "Y", "type": "output"}],
                   edges=[{"from": "X", "to": "r"}, {"from": "r", "to": "Y"}])
    g = loads(json.dumps(doc), strict=False)
    assert g.node("r").type == "rleu" and [e.dst for e in g.edges] == ["r", "Y"]
    (problem,) = g.validate()
    assert problem.code == "unknown-type" and problem.node == "r" and "did you mean 'relu'?" in problem.message
