"""Bounding expansion: a graph whose blocks × repeats expand past MAX_BOXES is refused at load, with the count and
the limit, computed by multiplying counts through the block tree (never by expanding); real networks pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graph import Graph, GraphFileError, load_graph, loads
from graph.capacity import MAX_BOXES, MAX_REPEAT
from graph.inference import graph_scope
from graph.resolve import expanded_boxes
from tests.probes import probe
from tests.processes import CHILD_ENVIRONMENT

FIXTURES = Path(__file__).parent / "fixtures"  # the regression files of test_problems
ROOT = Path(__file__).resolve().parents[2]


def boxes(graph: Graph) -> int:
    return expanded_boxes(graph, graph_scope(graph)[0], MAX_REPEAT)


def nested(inner_repeat: int, outer_repeat: int, inner_type: str = "relu") -> dict:
    """X → block ×outer (holding `inner_type` ×inner) → Y, as a document."""
    block = {"nodes": [{"name": "x", "type": "input"}, {"name": "r", "type": inner_type, "repeat": inner_repeat},
                       {"name": "y", "type": "output", "params": {"loss": "none"}}],
             "edges": [{"from": "x", "to": "r"}, {"from": "r", "to": "y"}]}
    return {"format": "layerbook", "version": 1, "name": "nested", "blocks": {"stack": block},
            "nodes": [{"name": "X", "type": "input", "params": {"shape": [4]}},
                      {"name": "s", "type": "stack", "repeat": outer_repeat},
                      {"name": "Y", "type": "output", "params": {"loss": "mse"}}],
            "edges": [{"from": "X", "to": "s"}, {"from": "s", "to": "Y"}]}


def test_counts_multiply_through_the_block_tree() -> None:
    g = loads(json.dumps(nested(20, 10)))
    assert boxes(g) == 2 + 10 * (2 + 20)  # X and Y, then ten copies of the block's x, relu ×20 and y
    assert g.analyze().ok


@pytest.mark.parametrize("name", ["many-boxes", "block-bomb"])
def test_a_graph_expanding_past_the_limit_is_refused_at_load(name: str) -> None:
    with pytest.raises(GraphFileError) as refused:
        load_graph(probe(name))
    # X, head and Y, then the copies of the block (each its x and y, and what it repeats)
    count = {"many-boxes": 3 + 1000 * (2 + 10_000), "block-bomb": 3 + 1000 * (2 + 1000 * (2 + 10_000))}
    assert refused.value.defects == [
        f"'{name}' expands to {count[name]:,} boxes (every copy of a repeat and every box inside a block "
        f"counted), more than the limit of {MAX_BOXES:,} a graph may have: lower the repeats or the nesting of "
        "blocks"]


def test_the_editor_cannot_open_one_either() -> None:
    """strict=False loads a file with bad values for the editor to show: a bomb is refused all the same."""
    with pytest.raises(GraphFileError, match="more than the limit of"):
        load_graph(probe("many-boxes"), strict=False)


def test_the_limit_itself_passes_and_one_more_box_does_not() -> None:
    copies = (MAX_BOXES - 2) // 102  # each copy of the block: its x, relu ×100 and y
    at_limit = nested(100, copies)
    at_limit["nodes"] += [{"name": f"pad{i}", "type": "relu"} for i in range(MAX_BOXES - 2 - 102 * copies)]
    g = loads(json.dumps(at_limit))
    assert boxes(g) == MAX_BOXES
    at_limit["nodes"].append({"name": "one_more", "type": "relu"})
    with pytest.raises(GraphFileError, match=f"expands to {MAX_BOXES + 1:,} boxes"):
        loads(json.dumps(at_limit))


def test_an_edit_past_the_limit_is_an_error_before_anything_expands() -> None:
    """The same limit holds for a graph built or edited in the app (the file check never sees it): analysis
    reports it without inferring the copies, and so compilation refuses it."""
    g = loads(json.dumps(nested(MAX_REPEAT, 9)))
    assert g.analyze().ok
    g.set_repeat("s", 11)
    analysis = g.analyze()
    assert [p.code for p in analysis.errors] == ["too-large"]
    assert analysis.nodes == {}
    assert f"expands to {2 + 11 * (2 + MAX_REPEAT):,} boxes" in analysis.errors[0].message


def test_repeats_given_by_knobs_and_block_parameters_count_their_values() -> None:
    g = load_graph("gpt")  # its N knob (4) repeats a gpt-block whose inside has a `heads` parameter
    four = boxes(g)
    g.set_meta("N", 5)
    block = boxes(g) - four
    g.set_meta("N", 12)
    assert block > 2 and boxes(g) == four + 8 * block


def test_a_repeat_that_depends_on_a_shape_counts_as_the_largest_allowed() -> None:
    """A repeat the load cannot evaluate (it depends on the shape an instance receives) is counted at the most
    it may be: a bound, never an undercount."""
    doc = nested(1, 1)
    doc["blocks"]["stack"]["nodes"][0]["params"] = {"shape": ["D"]}
    doc["blocks"]["stack"]["nodes"][1]["repeat"] = "D"
    assert boxes(loads(json.dumps(doc))) == 2 + (2 + MAX_REPEAT)


def test_a_recursive_block_is_counted_without_recursing_forever() -> None:
    g = load_graph(FIXTURES / "recursive-block.layerbook.json", strict=False)
    assert boxes(g) < 100
    assert any(p.code == "recursive-block" for p in g.analyze().errors)


def test_blocks_nested_thousands_deep_do_not_exhaust_the_stack() -> None:
    blocks = {f"b{i}": {"nodes": [{"name": "x", "type": "input"}, {"name": "inner", "type": f"b{i + 1}"},
                                  {"name": "y", "type": "output", "params": {"loss": "none"}}],
                        "edges": [{"from": "x", "to": "inner"}, {"from": "inner", "to": "y"}]} for i in range(2000)}
    blocks["b2000"] = nested(1, 1)["blocks"]["stack"]
    doc = nested(1, 1)
    doc["blocks"] = blocks
    doc["nodes"][1]["type"] = "b0"
    g = loads(json.dumps(doc), strict=False)
    assert boxes(g) < MAX_BOXES
    assert any(p.code == "nesting" for p in g.analyze().errors)


@pytest.mark.parametrize("name", ["resnet50", "gpt2-small", "densenet121"])
def test_real_networks_are_far_below_the_limit(name: str) -> None:
    g = load_graph(name)
    assert boxes(g) < MAX_BOXES // 100


def test_a_5000_node_graph_passes() -> None:
    g = Graph("wide")
    previous = g.add("input", shape=(8,))
    for _ in range(5000):
        node = g.add("relu")
        g.connect(previous, node)
        previous = node
    g.connect(previous, g.add("output", loss="mse"))
    assert boxes(g) == 5002 and g.analyze().ok


@pytest.mark.parametrize("command", ["validate", "info", "train"])
def test_each_command_answers_the_probe_at_once(command: str) -> None:
    """Before, `train` hung building ten million modules: now every command refuses the file when it loads it.
    The timeout is a guard against a hang, not a timing: the answer takes about a second."""
    done = subprocess.run([sys.executable, "main.py", command, str(probe("many-boxes"))],
                          cwd=ROOT, env=CHILD_ENVIRONMENT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "expands to 10,002,003 boxes" in done.stderr and "Traceback" not in done.stderr


def test_the_repeat_limit_is_stated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file reader and inference apply graph.capacity's limit (both wrote 10,000 out before): lowered, both
    follow."""
    import graph.capacity

    monkeypatch.setattr(graph.capacity, "MAX_REPEAT", 5)
    doc = nested(6, 1)
    with pytest.raises(GraphFileError, match=r"repeat: must be an integer from 1 to 5 or an expression \(got 6\)"):
        loads(json.dumps(doc))
    g = Graph("chain")
    g.add("input", "X", shape=[4])
    g.add("relu", "r")
    g.add("output", "Y")
    g.connect("X", "r")
    g.connect("r", "Y")
    g.set_repeat("r", 6)
    assert [p.message for p in g.validate() if p.code == "param-range"] == [
        "relu 'r': repeat must be an integer from 1 to 5 (got 6)"]
