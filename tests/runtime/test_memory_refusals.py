"""The size probes of issue 13 against the commands that build a model without training it: `export` and `code`
(their checks run the model at batch 3) and the Train panel's data preview. Before, an input of [10**9] made the
kernel kill `export` (12 GB of weights and 12 GB of inputs), a 61e9-parameter graph ended in the allocator's
traceback, and the preview asked for 12 GB and showed torch's text. Now each is refused before anything is
allocated, with the figures (exit 2: a graph that cannot be used here), and an out-of-memory that still happens
is named the same way. The free memory is fixed here, so that no machine ever builds these graphs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

import main
import runtime.data.preview
import runtime.export
import runtime.out_of_memory
from graph import load_graph
from graph.capacity import GIB, Available, format_bytes
from graph.summary import memory_parts, running_memory, summarize
from runtime.codegen.verify import Job, _result
from runtime.data import GraphSpec
from runtime.data.preview import preview
from runtime.out_of_memory import TooLarge
from tests.probes import probe

FREE = Available(16 * GIB, "of free RAM")
MAY_BE_USED = "but 12.8 GiB (80% of the 16.0 GiB of free RAM, a 20% safety margin) may be used"
ALLOCATOR_FAILURE = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                     "you tried to allocate 262144000000 bytes. Error code 12 (Cannot allocate memory)")
ADVICE = "nothing was written: use a smaller model (fewer parameters, smaller inputs) or a machine with more memory"


@pytest.fixture(autouse=True)
def sixteen_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.out_of_memory, "available_memory", lambda: FREE)
    monkeypatch.setattr(runtime.data.preview, "available_memory", lambda: FREE)


@pytest.mark.parametrize("name", ["huge-input", "wide-conv", "huge-fully-conn", "huge-output"])
@pytest.mark.parametrize(("command", "suffix", "what"), [("export", ".onnx", "the export"),
                                                         ("code", ".py", "the generated file")])
def test_a_graph_too_large_to_check_is_refused_with_the_figures(name: str, command: str, suffix: str, what: str,
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / f"out{suffix}"
    assert main.main([command, str(probe(name)), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    need = running_memory(summarize(load_graph(probe(name))), 3, weight_copies=2)
    assert err == (f"{command} failed: '{name}' does not fit this machine's memory: checking {what} runs it at "
                   f"batch 3 with a second copy of its weights, which needs about {format_bytes(need.total)} "
                   f"({', '.join(memory_parts(need, 'sgd'))}) {MAY_BE_USED}; {ADVICE}\n")
    assert not list(tmp_path.iterdir())


def test_the_estimate_of_a_check_counts_the_weights_twice_the_inputs_and_the_largest_tensors() -> None:
    """huge-input: [10**9] → fully-conn of 3 outputs; at batch 3, with onnxruntime's copy of the weights."""
    need = running_memory(summarize(load_graph(probe("huge-input"))), 3, weight_copies=2)
    weights, inputs, largest = 3 * 10**9 + 3, 10**9, 3
    assert need.total == (2 * weights + 3 * (inputs + 2 * largest)) * 4


def test_an_out_of_memory_while_exporting_is_named_not_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The estimate is not exact: an allocation that fails anyway is the same refusal, with torch's figure."""
    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError(ALLOCATOR_FAILURE)

    monkeypatch.setattr(runtime.export, "build_module", out_of_memory)
    output = tmp_path / "mlp.onnx"
    assert main.main(["export", "mlp", "-o", str(output)]) == 2
    assert capsys.readouterr().err == ("export failed: 'mlp' does not fit this machine's memory: out of memory while "
                                       f"exporting (torch could not allocate 244.1 GiB more); {ADVICE}\n")
    assert not output.exists()


def test_an_out_of_memory_in_codes_checking_interpreter_is_not_blamed_on_the_generator(tmp_path: Path) -> None:
    """What the checking interpreter reports (its error's text) is read like an error of this process."""
    result = tmp_path / "0.out.pt"
    torch.save({"error": f"RuntimeError: {ALLOCATOR_FAILURE}", "stage": "running its example"}, result)
    done = subprocess.CompletedProcess([], 0, "", "")
    verdict = _result(Job(load_graph("mlp"), tmp_path / "mlp.py", "Mlp"), result, [], None, done)
    assert isinstance(verdict, TooLarge)
    assert str(verdict) == ("'mlp' does not fit this machine's memory: out of memory while checking the generated "
                            f"file (torch could not allocate 244.1 GiB more); {ADVICE}")


def test_the_preview_of_an_input_too_large_is_refused_before_any_sample_is_made() -> None:
    shown = preview("blobs", GraphSpec.of(load_graph(probe("huge-input"))), 16)
    assert shown.kind == "error"
    assert shown.error == ("no preview: one sample takes 3.7 GiB (input 'X' holds 1,000,000,000 values), and the "
                           f"preview's 32 samples would need about 119.2 GiB {MAY_BE_USED}: make the input smaller")
    assert preview("digits", GraphSpec.of(load_graph("lenet")), 16).kind == "images"  # a usual input is shown


def test_an_out_of_memory_while_making_the_preview_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError(ALLOCATOR_FAILURE)

    monkeypatch.setattr(runtime.data.preview, "load_dataset", out_of_memory)
    shown = preview("blobs", GraphSpec.of(load_graph("mlp")), 16)
    assert (shown.kind, shown.error) == ("error", "out of memory while making the preview's samples (torch could "
                                                  "not allocate 244.1 GiB more): make the graph's inputs smaller")
