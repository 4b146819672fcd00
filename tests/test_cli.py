"""The command line: `validate` and `info`, their exit codes and JSON, on templates and on files."""

from __future__ import annotations

import itertools
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
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"wrote {target} (class Lenet) in ")
    assert out[1:] == ["  verified in a fresh interpreter: its example runs and prints torch.Size([2, 10])",
                       "  Lenet() with the compiled module's weights (loaded strictly) computes its outputs at batch "
                       "3: largest difference 0.0e+00 of the output's scale (0.0e+00 absolute)"]


def test_code_of_gpt_runs_as_a_script(tmp_path: Path) -> None:
    """The probe: `code gpt -o gpt.py && python gpt.py` ended in NameError: name 'V' is not defined."""
    assert main.main(["code", "gpt", "-o", str(tmp_path / "gpt.py")]) == 0
    done = subprocess.run([sys.executable, "gpt.py"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "torch.Size([2, 64, 96])\n", "")


def test_a_code_generator_fault_is_one_line_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from runtime.codegen.source_file import FileWriter

    monkeypatch.setattr(FileWriter, "_sample", lambda self, name: "torch.randint(V, (2, 12))")
    assert main.main(["code", "lstm", "-o", str(tmp_path / "lstm.py")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("code failed: the file generated for 'lstm' was not written: the file fails while running "
                          "its example: NameError: name 'V' is not defined (line ") and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("opset", ["5", "999", "-1"])
def test_an_opset_the_exporter_does_not_write_is_refused_before_any_work(opset: str, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The probe: --opset 5, 999 and -1 each wrote a file of opset 18 without a word."""
    from runtime.export import supported_opsets

    opsets = supported_opsets()
    with pytest.raises(SystemExit) as exit_info:
        main.main(["export", "mlp", "-o", str(tmp_path / "mlp.onnx"), "--opset", opset])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"layerbook export: error: argument --opset: opset {opset} is not supported: the installed exporter writes "
        f"opsets {opsets.start} to {opsets.stop - 1}")
    assert not list(tmp_path.iterdir())


def test_a_checkpoint_that_is_not_there_is_an_unusable_input(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "best.pt"
    assert main.main(["export", "mlp", "-o", str(tmp_path / "mlp.onnx"), "--weights", str(missing)]) == 2
    assert capsys.readouterr().err == f"export failed: cannot export 'mlp': no checkpoint at '{missing}'\n"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("size", "message"), [
    ("100000x100000", "100000x100000 is too large: at most 8192 pixels a side"),
    ("9000x600", "9000x600 is too large: at most 8192 pixels a side"),
    ("100x100", "100x100 is too small: the window is at least 200x150"),
    ("big", "'big' is not a size such as 1400x860"),
    ("²x²", "'²x²' is not a size such as 1400x860"),  # int() refused what isdigit() took: 'invalid window_size value'
    ("9" * 5000 + "x1", "99999999999999999999... is too large: at most 8192 pixels a side"),  # the same, by length
])
def test_a_screenshot_size_out_of_bounds_is_named(size: str, message: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The probe: --size 100000x100000 failed at the end, blaming the path."""
    with pytest.raises(SystemExit) as exit_info:
        main.main(["screenshot", "mlp", "-o", str(tmp_path / "shot.png"), "--size", size])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"layerbook screenshot: error: argument --size: {message}"


def test_the_screenshot_limits_are_in_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["screenshot", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "from 200x150 to 8192 a side" in help_text and "(at most 3,600)" in help_text


@pytest.mark.parametrize("seconds", ["nan", "inf", "-1", "1e9"])
def test_screenshot_training_time_out_of_range_is_refused(seconds: str, capsys: pytest.CaptureFixture[str]) -> None:
    """int(inf * 1000) was an OverflowError traceback once the window was up."""
    with pytest.raises(SystemExit) as exit_info:
        main.main(["screenshot", "mlp", "-o", "shot.png", "--train-seconds", seconds])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"{seconds} is not between 0 and 3,600 seconds")


def many_nodes_graph(folder: Path) -> Path:
    """A chain of 1,500 relus: `info --json` prints more than a pipe holds (64 KiB), so the reader's end is closed
    while the command is still writing, however the two processes are scheduled."""
    g = Graph("long")
    names = ["X", *(f"relu{i}" for i in range(1500)), "Y"]
    g.add("input", "X", shape=(4,))
    for name in names[1:-1]:
        g.add("relu", name)
    g.add("output", "Y")
    for src, dst in itertools.pairwise(names):
        g.connect(src, dst)
    return save_graph(g, folder / "long.layerbook.json")


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """The probe: `templates | head -3` ended in a BrokenPipeError traceback. Read three lines, close the pipe:
    the command stops quietly with 141, as `cat` killed by SIGPIPE would."""
    process = subprocess.Popen([sys.executable, "main.py", "info", str(many_nodes_graph(tmp_path)), "--json"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    lines = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()
    assert lines[0] == b"{\n" and all(lines)
    assert process.wait(timeout=60) == main.EXIT_BROKEN_PIPE == 141
    assert process.stderr.read() == b""


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


def test_ctrl_c_during_code_leaves_nothing_and_one_line(tmp_path: Path) -> None:
    """Ctrl+C while the generated file is checked: the temporary file beside the target goes, no traceback."""
    import signal

    from tests.processes import CHILD_ENVIRONMENT, wait_until

    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "code", "lenet", "-o", "lenet.py"],
                               cwd=tmp_path, env=CHILD_ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    wait_until(lambda: any(tmp_path.glob(".lenet.py.*.tmp")), "the file under check", process=process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out, err) == (main.EXIT_INTERRUPTED, "", "interrupted: nothing was written\n")
    assert not list(tmp_path.iterdir())
