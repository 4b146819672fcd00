"""Where a writer may put the file a user names (graph.outputs): one rule, one message for each refusal, and the
temporary file that becomes the output only once it is complete."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from graph.outputs import OutputError, check_output, replacing, temporary_beside, unwritable_reason
from tests.folders import unwritable_folder

ONNX = (".onnx",)


def refusal(path: Path | str, suffixes: tuple[str, ...] = ONNX, source: Path | None = None) -> str:
    with pytest.raises(OutputError) as caught:
        check_output(path, suffixes, source=source)
    return str(caught.value)


def test_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "x.onnx"
    assert refusal(target) == f"cannot write '{target}': the folder '{target.parent}' does not exist (create it first)"
    assert not (tmp_path / "no").exists()


def test_a_folder_is_not_a_file_name(tmp_path: Path) -> None:
    assert refusal(tmp_path) == f"cannot write '{tmp_path}': it is a folder, not a file name"
    assert refusal(f"{tmp_path / 'new'}/") == f"cannot write '{tmp_path / 'new'}/': it is a folder, not a file name"
    assert refusal("") == "cannot write '': no file name given"


def test_a_file_in_place_of_the_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    target = tmp_path / "notes.txt" / "x.onnx"
    assert refusal(target) == f"cannot write '{target}': '{tmp_path / 'notes.txt'}' is a file, not a folder"


def test_the_extension_is_the_writers_own() -> None:
    assert refusal("model.py") == "cannot write 'model.py': the file name must end in .onnx"
    assert refusal("figure.gif", (".svg", ".pdf", ".png")) == \
        "cannot write 'figure.gif': the file name must end in .svg, .pdf or .png"
    assert refusal("net.layerbook.json", (".png", ".jpg")).endswith("must end in .png or .jpg")
    assert check_output("MODEL.ONNX", ONNX) == Path("MODEL.ONNX")  # the case of the extension does not matter


def test_the_graph_being_read_is_never_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = tmp_path / "net.onnx"  # a graph file may be named anything
    graph.write_text("{}")
    monkeypatch.chdir(tmp_path)
    message = "it is the file being read (choose another name)"
    assert refusal(graph, source=graph) == f"cannot write '{graph}': {message}"
    assert refusal("./net.onnx", source=graph).endswith(message)  # the same file, spelt otherwise
    assert check_output(tmp_path / "other.onnx", ONNX, source=graph) == tmp_path / "other.onnx"


def test_a_fifo_is_not_replaced(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.onnx")
    assert refusal(tmp_path / "pipe.onnx").endswith(": it is not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file")
def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "kept.onnx"
    target.write_text("mine")
    target.chmod(stat.S_IRUSR)
    assert refusal(target) == f"cannot write '{target}': the file is read-only"


def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    with unwritable_folder(tmp_path) as folder:
        target = folder / "x.onnx"
        assert refusal(target).startswith(f"cannot write '{target}': the folder '{folder}' is not writable (")
        assert not target.exists()


def test_a_folder_still_to_be_made_is_judged_by_its_nearest_parent(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs folder of `train` and of the application (made when the first run starts) passes when its nearest
    existing parent takes a new file; the same rule and words as a writer's folder, every path quoted and from
    the root, and nothing is created to find out."""
    (tmp_path / "notes.txt").write_text("mine")
    assert unwritable_reason(tmp_path / "new" / "runs") is None
    assert unwritable_reason(tmp_path / "notes.txt" / "deeper" / "runs") == \
        f"'{tmp_path / 'notes.txt'}' is a file, not a folder"
    monkeypatch.chdir(tmp_path)
    assert unwritable_reason(Path("notes.txt")) == f"'{tmp_path / 'notes.txt'}' is a file, not a folder"
    with unwritable_folder(tmp_path) as folder:
        assert unwritable_reason(folder / "runs").startswith(f"the folder '{folder}' is not writable (")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", *(["locked"] * (os.geteuid() != 0))]


def test_an_existing_file_may_be_replaced(tmp_path: Path) -> None:
    (tmp_path / "old.onnx").write_text("old")
    assert check_output(tmp_path / "old.onnx", ONNX) == tmp_path / "old.onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.onnx"]  # the probe of the folder leaves nothing


def test_replacing_renames_a_complete_file_and_removes_a_failed_one(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_text("before")
    with pytest.raises(RuntimeError), replacing(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("the export failed")
    assert target.read_text() == "before" and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    with replacing(target) as temporary:
        temporary.write_text("after")
    assert target.read_text() == "after" and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_written_file_has_the_permissions_of_the_users_files(tmp_path: Path) -> None:
    """mkstemp's files are private (0600): an exported model would be unreadable to the user's group."""
    mask = os.umask(0o027)
    try:
        temporary = temporary_beside(tmp_path / "x.onnx")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(temporary.stat().st_mode) == 0o640
