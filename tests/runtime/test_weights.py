"""Checkpoints: a save → load round trip, safe loading (no code from a pickle ever runs) and messages that
explain why a checkpoint does not fit."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
import torch

import main
from graph import load_graph
from runtime.compile import build_module
from runtime.weights import WeightsError, load_weights, save_weights


def touch(path: str) -> None:
    Path(path).touch()


class Payload:
    """Unpickling this would create a file: proof that code ran, had weights_only let it through."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return touch, (str(self.marker),)


def module(name: str = "mlp", **changes: object) -> torch.nn.Module:
    graph = load_graph(name)
    for key, value in changes.items():
        node, param = key.split("__")
        graph.set_param(node, param, value)
    return build_module(graph)


def test_round_trip(tmp_path: Path) -> None:
    source, target = module("lenet"), module("lenet")
    path = save_weights(source, tmp_path / "lenet.pt")
    load_weights(target, path)
    for key, tensor in source.state_dict().items():
        assert torch.equal(tensor, target.state_dict()[key]), key
    assert [p.name for p in tmp_path.iterdir()] == ["lenet.pt"]  # no temporary file left by the atomic save


@pytest.mark.parametrize("wrapper", ["model", "state_dict"])
def test_a_state_dict_nested_in_a_training_checkpoint_loads(tmp_path: Path, wrapper: str) -> None:
    source, target = module(), module()
    torch.save({wrapper: source.state_dict(), "epoch": 3, "optimizer": {"lr": 0.1}}, tmp_path / "run.pt")
    load_weights(target, tmp_path / "run.pt")
    assert torch.equal(target.state_dict()["fc1.weight"], source.state_dict()["fc1.weight"])


def test_a_pickle_with_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    torch.save({"model": module().state_dict(), "extra": Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError, match=r"evil\.pt' holds code or Python objects \(\S*touch\) that Layerbook will "
                       r"not load"):
        load_weights(module(), tmp_path / "evil.pt")
    assert not marker.exists()


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no checkpoint at"):
        load_weights(module(), tmp_path / "absent.pt")
    (tmp_path / "notes.pt").write_text("these are not weights")
    with pytest.raises(WeightsError, match=r"notes\.pt' cannot be read as a checkpoint .*not a PyTorch file"):
        load_weights(module(), tmp_path / "notes.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(WeightsError, match=r"empty\.pt' cannot be read as a checkpoint .*empty, truncated"):
        load_weights(module(), tmp_path / "empty.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(WeightsError, match="holds no state_dict"):
        load_weights(module(), tmp_path / "list.pt")


def test_an_empty_name_a_folder_a_device_and_a_name_too_long_are_named_as_such(tmp_path: Path) -> None:
    """`export --weights ''` said "no checkpoint at '.'", a folder or /dev/null "no checkpoint at" them, and a name
    too long for the file system was an OSError traceback."""
    with pytest.raises(WeightsError, match=r"^no checkpoint given: '' is no file name$"):
        load_weights(module(), "")
    for path in (tmp_path, Path("/dev/null")):
        with pytest.raises(WeightsError, match=r"is not a checkpoint file \(it is a folder, a device or a pipe\)"):
            load_weights(module(), path)
    with pytest.raises(WeightsError, match=r"^cannot read the checkpoint '.*': File name too long$"):
        load_weights(module(), tmp_path / ("a" * 300 + ".pt"))


def test_wrong_keys_are_listed(tmp_path: Path) -> None:
    path = save_weights(module("mlp"), tmp_path / "mlp.pt")
    with pytest.raises(WeightsError) as caught:
        load_weights(module("lenet"), path)
    message = str(caught.value)
    assert "does not fit the model" in message
    assert "missing keys: conv1.weight, conv1.bias" in message
    assert "unexpected keys: fc3.weight, fc3.bias" in message


def test_the_first_wrong_shape_is_named(tmp_path: Path) -> None:
    path = save_weights(module("mlp"), tmp_path / "mlp.pt")
    target = module("mlp", fc1__out_features=30)
    before = target.state_dict()["fc2.weight"].clone()
    expected = "'fc1.weight' has shape 25×50 in the checkpoint but 30×50 in the model"
    with pytest.raises(WeightsError, match=re.escape(expected)):
        load_weights(target, path)
    assert torch.equal(target.state_dict()["fc2.weight"], before)  # nothing was half-loaded


def malicious_file(path: Path, marker: Path, form: str) -> Path:
    """A file whose unpickling would create `marker`: written by torch.save, or a bare pickle."""
    if form == "torch.save":
        torch.save({"model": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker)))
    return path


@pytest.mark.parametrize("form", ["torch.save", "pickle"])
def test_a_malicious_pickle_given_to_export_is_named_as_code_without_torchs_advice(
        tmp_path: Path, form: str, capsys: pytest.CaptureFixture[str]) -> None:
    """It used to say "it may be truncated" and quote torch's advice to load it with weights_only=False."""
    marker = tmp_path / "code-ran"
    evil = malicious_file(tmp_path / "evil.pt", marker, form)
    assert main.main(["export", "mlp", "-o", str(tmp_path / "mlp.onnx"), "--weights", str(evil)]) != 0
    err = capsys.readouterr().err
    assert "evil.pt' holds code or Python objects" in err and "that Layerbook will not load" in err
    assert "weights_only" not in err and "truncated" not in err and "trusted source" not in err
    assert not marker.exists() and not (tmp_path / "mlp.onnx").exists()
