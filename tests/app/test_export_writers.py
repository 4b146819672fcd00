"""The app's exports of a run (app/training/export.py) write as the command line does: PyTorch source checked in a
fresh interpreter before it is reported, and no export lands on the run's own checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app.training.export import BEST, GRAPH_FILE, export_checkpoint, export_source, write_bundle_report
from graph import load_graph, save_graph
from graph.outputs import OutputError
from runtime import build_module
from runtime.weights import save_weights
from tests.runtime.generated import load_generated


def run_folder(folder: Path) -> Path:
    """What an export reads of a run: its graph and its best weights."""
    run = folder / "mlp-run"
    run.mkdir()
    graph = load_graph("mlp")
    save_graph(graph, run / GRAPH_FILE)
    save_weights(build_module(graph), run / BEST)
    return run


def test_pytorch_source_is_verified_and_its_weights_load_into_it(tmp_path: Path) -> None:
    run = run_folder(tmp_path)
    output = tmp_path / "model.py"
    report = export_source(run, output).splitlines()
    assert report[0].startswith(f"wrote {output} (class Mlp) in ")
    assert report[1] == "  verified in a fresh interpreter: its example runs and prints torch.Size([2, 2])"
    assert report[-1] == f"wrote {output.with_suffix('.pt')} (load with model.load_state_dict(torch.load(path)))"
    model = load_generated(output).Mlp()
    model.load_state_dict(torch.load(output.with_suffix(".pt"), weights_only=True), strict=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp-run", "model.pt", "model.py"]


def test_no_export_lands_on_the_runs_checkpoint(tmp_path: Path) -> None:
    """`best.py` in the run's folder put its weights, a plain state_dict, over the run's best.pt."""
    run = run_folder(tmp_path)
    before = (run / BEST).read_bytes()
    with pytest.raises(OutputError, match=r"best\.pt': it is the file being read"):
        export_source(run, run / "best.py")
    with pytest.raises(OutputError, match=r"best\.pt': it is the file being read"):
        export_checkpoint(run, run / BEST)
    assert (run / BEST).read_bytes() == before
    assert sorted(p.name for p in run.iterdir()) == [BEST, GRAPH_FILE]
    copy = tmp_path / "copy.pt"
    assert export_checkpoint(run, copy) == f"copied {BEST} to {copy}" and copy.read_bytes() == before


def test_a_bundle_is_never_written_into_a_folder_it_would_create(tmp_path: Path) -> None:
    run = run_folder(tmp_path)
    target = tmp_path / "gone" / "run.zip"
    with pytest.raises(OutputError, match=r"the folder '.*gone' does not exist"):
        write_bundle_report(run, target, None, "")
    assert not (tmp_path / "gone").exists()
