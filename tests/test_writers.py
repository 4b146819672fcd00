"""Every command that writes a file the user names (export, code, render, screenshot) refuses the same places the
same way: exit 2, one line from one rule (graph.outputs), before any work (even before the graph is read), and
nothing created. `export -o /nonexistent/dir/x.onnx` and `code -o ...` created the folders; `render` refused."""

from __future__ import annotations

from pathlib import Path

import pytest

import main
from graph import load_graph
from graph.fileformat import dumps
from tests.folders import unwritable_folder

WRITERS = {"export": ".onnx", "code": ".py", "render": ".svg", "screenshot": ".png"}
KNOWN = {"export": ".onnx", "code": ".py", "render": ".svg, .pdf or .png", "screenshot": ".png, .jpg or .jpeg"}


def refused(command: str, graph: str, output: Path | str, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a refused write prints; the graph need not exist: the output is checked first."""
    assert main.main([command, graph, "-o", str(output)]) == main.EXIT_UNUSABLE
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    return captured.err.strip()


@pytest.mark.parametrize("command", WRITERS)
def test_a_missing_folder_is_refused_the_same_way_by_every_writer(command: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "nonexistent" / "dir" / f"x{WRITERS[command]}"
    assert refused(command, "no-such-graph", target, capsys) == \
        f"cannot write '{target}': the folder '{target.parent}' does not exist (create it first)"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", WRITERS)
def test_a_folder_a_wrong_extension_and_the_graph_itself_are_refused(command: str, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert refused(command, "mlp", tmp_path, capsys) == f"cannot write '{tmp_path}': it is a folder, not a file name"
    other = tmp_path / "figure.gif"
    assert refused(command, "mlp", other, capsys) == f"cannot write '{other}': the file name must end in " \
        f"{KNOWN[command]}"
    graph = tmp_path / f"mlp{WRITERS[command]}"  # a graph file may have any name
    graph.write_text(dumps(load_graph("mlp")), encoding="utf-8")
    before = graph.read_bytes()
    assert refused(command, str(graph), graph, capsys) == \
        f"cannot write '{graph}': it is the file being read (choose another name)"
    assert graph.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [graph.name]


@pytest.mark.parametrize("command", WRITERS)
def test_a_folder_that_cannot_be_written_is_named(command: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with unwritable_folder(tmp_path) as folder:
        target = folder / f"x{WRITERS[command]}"
        assert refused(command, "mlp", target, capsys).startswith(
            f"cannot write '{target}': the folder '{folder}' is not writable (")


@pytest.mark.parametrize("command", ["render", "screenshot"])
def test_a_graph_that_cannot_be_read_is_named_before_any_window(command: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """screenshot waited for ever on the window's message box (off-screen, nobody to click it)."""
    broken = tmp_path / "broken.layerbook.json"
    broken.write_text('{"format": "layerbook"', encoding="utf-8")
    assert main.main([command, str(broken), "-o", str(tmp_path / f"x{WRITERS[command]}")]) == main.EXIT_UNUSABLE
    assert capsys.readouterr().err.startswith(f"cannot load {broken}:\n  not valid JSON at line 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [broken.name]


@pytest.mark.parametrize("command", WRITERS)
def test_a_file_name_too_long_for_the_file_system_is_refused_in_one_line(command: str, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """It was an OSError traceback (File name too long), from the check meant to refuse it."""
    target = tmp_path / ("a" * 300 + WRITERS[command])
    assert refused(command, "mlp", target, capsys) == f"cannot write '{target}': File name too long"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", WRITERS)
def test_a_graph_name_too_long_is_named_as_the_graph_not_as_the_output(command: str, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """With an existing output, the check that it is not the graph being read failed on the graph's name and
    blamed the output ('cannot write ...: File name too long')."""
    target = tmp_path / f"x{WRITERS[command]}"
    target.write_bytes(b"before")
    assert main.main([command, "g" * 300, "-o", str(target)]) == main.EXIT_UNUSABLE
    assert capsys.readouterr().err.startswith(f"cannot load {'g' * 300}:\n  cannot read the file: File name too long")
    assert target.read_bytes() == b"before"
