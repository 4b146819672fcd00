"""Two CPU processes under torchrun (gloo) end with identical weights, equal to one process on the same global
batches; only rank 0 writes the run folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from runtime.training import Trainer
from tests.training.ddp_worker import CONFIG, DATA
from tests.training.toy import classifier, cluster_dataset

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_two_processes_match_one_process_on_the_same_global_batch(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
               str(WORKER), str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**_environment(), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(r["state"] == "finished" and r["world"] == 2 for r in ranks)
    single = Trainer(classifier(), CONFIG, dataset=cluster_dataset(**DATA))
    assert single.run().state == "finished"
    expected = single.session.model.state_dict()
    for key, value in expected.items():
        assert torch.equal(ranks[0]["weights"][key], ranks[1]["weights"][key]), key
        torch.testing.assert_close(ranks[0]["weights"][key], value, rtol=1e-5, atol=1e-6)
    assert not torch.equal(expected["fc1.weight"], classifier_initial()["fc1.weight"])  # it did train
    run = tmp_path / "run"
    assert (run / "last.pt").is_file() and (run / "summary.json").is_file()
    assert '"world_size": 2' in (run / "summary.json").read_text()


def classifier_initial() -> dict[str, torch.Tensor]:
    from runtime.compile import build_module

    torch.manual_seed(CONFIG.seed)
    return build_module(classifier()).state_dict()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
