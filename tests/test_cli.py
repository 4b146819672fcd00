"""The command line: `validate` and `info`, their exit codes and JSON, on templates and on files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import main
from graph import Graph, save_graph

ROOT = Path(__file__).resolve().parent.parent


def broken_graph(tmp_path: Path) -> Path:
    g = Graph("broken")
    x = g.add("input", shape=(1, 28, 28))
    fc = g.add("fully-conn", out_features=10)
    g.connect(x, fc)
    y = g.add("output")
    g.connect(fc, y)
    return save_graph(g, tmp_path / "broken.layerbook.json")


def test_validate_template_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["validate", "lenet"]) == 0
    assert "lenet: valid (12 nodes, 105,506 parameters)" in capsys.readouterr().out


def test_validate_reports_problems_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["validate", str(broken_graph(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "fully-conn 'fc1' expects a vector" in out and "1×28×28" in out and "insert a reshape" in out


def test_validate_json_lists_problems_with_node_and_message(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["validate", str(broken_graph(tmp_path)), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert [(p["node"], p["code"]) for p in report["problems"]] == [("fc1", "rank")]
    assert "1×28×28" in report["problems"][0]["message"]


def test_unreadable_file_exits_2_with_the_defect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.layerbook.json"
    path.write_text('{"format": "layerbook", "version": 1, "nodes": [', encoding="utf-8")
    assert main.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and "truncated" in err and "Traceback" not in err


def test_unknown_graph_name_exits_2_and_lists_templates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["info", "lenett"]) == 2
    assert "lenet" in capsys.readouterr().err


def test_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main.main(["validate"])
    assert exit_info.value.code == 2


def test_info_json_gives_counts_and_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["info", "lenet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # Figure 5.2's parameter counts, from the standard formulas: conv (k·k·C_in + 1)·C_out, fully-conn (in + 1)·out.
    conv1, conv2 = (5 * 5 * 1 + 1) * 32, (5 * 5 * 32 + 1) * 64
    fc1, fc2 = (256 + 1) * 200, (200 + 1) * 10
    assert report["parameters"] == report["trainable_parameters"] == conv1 + conv2 + fc1 + fc2 == 105_506
    shapes = {n["name"]: n["output_shape"] for n in report["nodes"]}
    assert shapes["conv1"] == [32, 24, 24] and shapes["maxpool1"] == [32, 8, 8] and shapes["reshape1"] == [256]
    assert {n["name"]: n["parameters"] for n in report["nodes"]}["conv2"] == conv2
    assert set(report["nodes"][0]) >= {"name", "type", "output_shape", "parameters"}


def test_info_table_shows_every_node_and_total(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["info", "mlp"]) == 0
    out = capsys.readouterr().out
    assert "total parameters: 1,557" in out  # Figure 5.1: 50·25+25 + 25·10+10 + 10·2+2
    for name in ("X", "fc1", "relu1", "fc2", "relu2", "fc3", "Y"):
        assert f"\n{name} " in out


def test_main_py_runs_as_a_script() -> None:
    done = subprocess.run([sys.executable, "main.py", "validate", "mlp", "--json"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"graph": "mlp", "valid": True, "problems": []}


def test_export_writes_a_verified_onnx_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mlp.onnx"
    assert main.main(["export", "mlp", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert target.is_file() and "verified with onnxruntime" in out and "X [batch×50]" in out


def test_export_of_a_broken_graph_fails_naming_the_node(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["export", str(broken_graph(tmp_path)), "-o", str(tmp_path / "b.onnx")]) == 1
    err = capsys.readouterr().err
    assert "fc1" in err and "Traceback" not in err
    assert not (tmp_path / "b.onnx").exists()


def test_code_writes_an_importable_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "lenet_model.py"
    assert main.main(["code", "lenet", "-o", str(target)]) == 0
    source = target.read_text(encoding="utf-8")
    assert "class Lenet(nn.Module)" in source and "nn.Conv2d(1, 32, kernel_size=5)" in source
    compile(source, str(target), "exec")


def test_templates_lists_every_template_with_its_count(capsys: pytest.CaptureFixture[str]) -> None:
    from graph.library import template_names

    assert main.main(["templates", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == template_names()
    assert rows["mlp"]["parameters"] == 1_557 and rows["lenet"]["parameters"] == 105_506
    assert "Figure 5.2" in rows["lenet"]["source"] and all(r["valid"] for r in rows.values())
    assert main.main(["templates"]) == 0
    assert "105,506" in capsys.readouterr().out


def linted_graph(tmp_path: Path) -> Path:
    """Valid, but two fully-conn layers in a row: the lint warning linear-after-linear on fc1."""
    g = Graph("linted")
    x = g.add("input", shape=(8,))
    fc1 = g.add("fully-conn", name="fc1", out_features=16)
    fc2 = g.add("fully-conn", name="fc2", out_features=3)
    y = g.add("output", loss="cross-entropy")
    g.connect(x, fc1)
    g.connect(fc1, fc2)
    g.connect(fc2, y)
    return save_graph(g, tmp_path / "linted.layerbook.json")


def test_validate_prints_lint_warnings_and_still_exits_0(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["validate", str(linted_graph(tmp_path))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("warning: fully-conn 'fc1' feeds fully-conn 'fc2'")
    assert lines[-1].startswith("linted: valid (") and lines[-1].endswith(", 1 warning(s))")


def test_validate_json_gives_warnings_with_their_severity(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["validate", str(linted_graph(tmp_path)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert [(p["node"], p["code"], p["severity"]) for p in report["problems"]] == \
        [("fc1", "linear-after-linear", "warning")]


def test_render_prints_the_path_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mlp.svg"
    assert main.main(["render", "mlp", "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {target}" and target.is_file()


def test_train_without_data_is_a_settings_error_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main.main(["train", "ffw", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("no dataset: 'ffw'") and "--data" in err and "(digits, shapes)" in err
    assert not (tmp_path / "runs").exists()  # refused before the trainer made a run folder
