"""Memory before allocation: `train` refuses a run that cannot fit (exit 2, before the run folder, with the figures
and the batch that fits); an out-of-memory that still happens is named like the GPU's, the run folder consistent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import main
import runtime.training.memory as memory
from graph import load_graph
from graph.capacity import GIB, Available
from graph.summary import largest_batch, summarize, training_memory
from runtime.training import session as session_module
from runtime.training.config import TrainConfig
from runtime.training.distributed import World
from runtime.training.engine import Trainer
from runtime.training.events import Failed
from runtime.training.memory import fit_refusal, refusal_before_start
from tests.probes import probe
from tests.processes import CHILD_ENVIRONMENT
from tests.training.toy import classifier, cluster_dataset

ROOT = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")
CPU_ALLOCATOR_FAILURE = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                         "you tried to allocate 262144000000 bytes. Error code 12 (Cannot allocate memory)")


def free_ram(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda: Available(count, "of free RAM"))


def test_train_refuses_a_run_that_cannot_fit_before_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The probe: a 10**6-channel convolution died allocating 244 GiB in its first step, after the run folder
    was written. Now: exit 2 with the figures and the batch that fits, nothing written."""
    free_ram(monkeypatch, 20 * GIB)
    out = tmp_path / "run"
    assert main.main(["train", str(probe("wide-conv")), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    summary = summarize(load_graph(probe("wide-conv")))
    need = training_memory(summary, 64, "adam").total
    assert f"cannot train 'wide-conv' on cpu: one training step at batch size 64 needs about {need / GIB:,.1f} GiB" \
        in err
    assert "but 16.0 GiB (80% of the 20.0 GiB of free RAM, a 20% safety margin) may be used" in err
    fits = largest_batch(summary, 16 * GIB)
    assert fits == 1 and "batch size 1 fits: set the batch size to 1 (--batch-size 1)" in err
    assert "Traceback" not in err and not out.exists()


def test_the_largest_batch_named_does_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    step = training_memory(summarize(load_graph("mlp")), 64, "adam").total
    free_ram(monkeypatch, step)  # 80% of one step at batch 64: batch 64 does not fit, a smaller one does
    assert main.main(["train", "mlp", "--epochs", "1", "--quiet", "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err
    fits = int(err.split("(--batch-size ")[1].split(")")[0])
    assert 0 < fits < 64
    out = tmp_path / "run"
    assert main.main(["train", "mlp", "--epochs", "1", "--quiet", "--batch-size", str(fits), "--train-size", "200",
                      "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["state"] == "finished"


@pytest.mark.parametrize(("name", "verdict"), [("huge-fully-conn", "even the weights"),
                                               ("huge-input", "on cpu: one training step at batch size 64"),
                                               ("huge-output", "activations 232.8 TiB")])
def test_the_probes_are_refused_at_once_in_a_real_process(name: str, verdict: str, tmp_path: Path) -> None:
    """On this machine's real memory. Before, the data alone (12 GB of blob centres for [10**9] features) took
    a minute before the allocator's traceback; the timeout guards against that, it is not a timing."""
    done = subprocess.run([sys.executable, "main.py", "train", str(probe(name)), "--out", str(tmp_path / "run")],
                          cwd=ROOT, env=CHILD_ENVIRONMENT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"cannot train '{name}' on cpu: one training step at batch size 64 needs about" in done.stderr
    assert verdict in done.stderr and "safety margin" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_a_graph_naming_no_data_is_refused_before_datasets_are_tried(tmp_path: Path) -> None:
    """Without a dataset, train suggests the built-in ones that fit by making two samples of each: for an input
    of [10**9] that was 12 GB of blob centres before anything was said. The size comes first now."""
    doc = json.loads(probe("huge-input").read_text())
    del doc["training"]
    graph = tmp_path / "no-data.layerbook.json"
    graph.write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "main.py", "train", str(graph), "--out", str(tmp_path / "run")],
                          cwd=ROOT, env=CHILD_ENVIRONMENT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("cannot train 'huge-input' on cpu: one training step")


def test_the_app_asks_the_same_question_before_it_starts_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    free_ram(monkeypatch, 20 * GIB)
    graph = load_graph(probe("wide-conv"))
    config = TrainConfig(dataset="shapes", device="cpu")
    assert refusal_before_start(graph, config) == fit_refusal(graph, config, CPU)
    assert refusal_before_start(load_graph("lenet"), config) is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU run is checked by its own training process")
def test_the_app_is_told_at_once_that_there_is_no_gpu() -> None:
    refusal = refusal_before_start(load_graph("lenet"), TrainConfig(device="cuda"))
    assert refusal is not None and refusal.startswith("device 'cuda' asked for, but torch sees no CUDA GPU here")


def test_processes_of_one_machine_share_its_ram(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under torchrun on CPUs each local process holds the model, on its share of the global batch."""
    free_ram(monkeypatch, 20 * GIB)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    shared = memory.free_memory(CPU, World(0, 4, 0))
    assert shared == Available(5 * GIB, "of free RAM, shared by 4 processes")
    monkeypatch.setattr(memory, "free_memory", lambda device, world=None: shared)
    graph = load_graph("resnet50")  # about 9.6 GiB at batch 64 in one process; a quarter of it on each of four
    assert fit_refusal(graph, TrainConfig(batch_size=64), CPU, World(0, 4, 0)) is None
    assert "at batch size 64 " in fit_refusal(graph, TrainConfig(batch_size=64), CPU)


# --- an out-of-memory that still happens ----------------------------------------------------------------------

def test_a_cpu_out_of_memory_in_a_step_is_named_and_the_folder_says_failed(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's own CPU message, raised from the forward pass: named like the GPU's, with a batch size to try;
    the folder keeps its settings and graph, no half-written file, and a summary that says it failed."""
    run = tmp_path / "run"
    trainer = Trainer(classifier(), TrainConfig(epochs=1, batch_size=32), dataset=cluster_dataset(), run_dir=run)
    original = Trainer._prepare

    def prepare_then_break(self: Trainer) -> None:
        original(self)

        def forward(**inputs: torch.Tensor) -> torch.Tensor:
            raise RuntimeError(CPU_ALLOCATOR_FAILURE)
        self.session.step_model = forward

    monkeypatch.setattr(Trainer, "_prepare", prepare_then_break)
    outcome = trainer.run()
    assert isinstance(outcome, Failed) and outcome.kind == "out-of-memory"
    assert outcome.message == ("out of memory on cpu with batch size 32 (torch could not allocate 244.1 GiB more): "
                               "try --batch-size 16 or a smaller model; the last good checkpoint is kept")
    assert sorted(p.name for p in run.iterdir()) == ["graph.layerbook.json", "metrics.csv", "settings.json",
                                                      "summary.json"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["state"] == "failed" and summary["failure"] == {"kind": "out-of-memory",
                                                                   "message": outcome.message}
    assert json.loads((run / "settings.json").read_text())["config"]["batch_size"] == 32


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError(CPU_ALLOCATOR_FAILURE),
                                   RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate "
                                                "1024 bytes.")])
def test_an_out_of_memory_while_building_leaves_no_folder(error: BaseException, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's MemoryError (an empty message before: "out of memory while preparing the run: "), Linux's and
    Windows' allocator messages."""
    def build(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(session_module, "build_module", build)
    run = tmp_path / "run"
    outcome = Trainer(classifier(), TrainConfig(epochs=1), dataset=cluster_dataset(), run_dir=run).run()
    assert isinstance(outcome, Failed) and outcome.kind == "out-of-memory"
    assert outcome.message.startswith("out of memory while building the model or loading the data")
    assert outcome.message.endswith(": free some memory, or train a smaller model or on less data "
                                    "(--train-size); no run folder was made")
    assert not run.exists()


def test_a_real_allocation_failure_under_a_memory_limit(tmp_path: Path) -> None:
    """A real limit (ulimit -v, in a child): the model fits it, the data asked for does not (the estimate counts
    the model and its step, the data is the user's). torch's allocator fails; the run says so, in one line."""
    script = ("import resource, sys, main\n"
              "from graph.capacity import _sizes\n"
              "from pathlib import Path\n"
              "mapped = _sizes(Path('/proc/self/status'))['VmSize']\n"
              "resource.setrlimit(resource.RLIMIT_AS, (mapped + (1 << 30), resource.RLIM_INFINITY))\n"
              "sys.exit(main.main(sys.argv[1:]))\n")
    out = tmp_path / "run"
    # 2,000,000 points of 2 features: 16 MB; of 1,000 features (blobs): 8 GB, past the limit
    graph = tmp_path / "wide.layerbook.json"
    doc = json.loads(probe("huge-input").read_text())
    doc["name"], doc["nodes"][0]["params"]["shape"] = "wide", [1000]
    graph.write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "-c", script, "train", str(graph), "--train-size", "2000000",
                           "--out", str(out)], cwd=ROOT, env=CHILD_ENVIRONMENT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    assert "out of memory while building the model or loading the data (torch could not allocate" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
