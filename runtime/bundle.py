"""One file that reproduces a run: a zip of the graph, its PyTorch source, the settings, the metrics, the
summary, the figure and the trained weights, with a note saying how to train it again."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from graph import load_graph
from graph.fileformat import atomic_write
from graph.names import file_stem
from runtime.codegen import generate_source
from runtime.data.provenance import describe_record
from runtime.training.run_folder import BEST, GRAPH_FILE, LAST, METRICS_FILE, SETTINGS_FILE, SUMMARY_FILE

README = """This bundle reproduces the Layerbook run '{run}'.

  graph.layerbook.json   the graph, as trained (open it in Layerbook)
  model.py               the same network as plain PyTorch (weights.pt loads into it)
  weights.pt             the trained weights ({checkpoint}), a state_dict: torch.load(..., weights_only=True)
  settings.json          every training setting and the data trained on; metrics.csv and summary.json: what the
                         run measured
{figure}
The run trained on {data}.

Train it again with the same settings, in this folder:
  python main.py train graph.layerbook.json --settings settings.json
{notes}"""


def write_bundle(run_dir: Path, output: Path, figure: bytes | None = None, figure_name: str = "figure.svg"
                 ) -> Path:
    """Write the zip atomically (a failed write leaves no half file); returns its path."""
    graph = load_graph(run_dir / GRAPH_FILE)
    checkpoint = BEST if (run_dir / BEST).is_file() else LAST
    settings = json.loads((run_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in (GRAPH_FILE, SETTINGS_FILE, METRICS_FILE, SUMMARY_FILE):
            if (run_dir / name).is_file():
                archive.write(run_dir / name, name)
        archive.writestr("model.py", generate_source(graph))
        archive.writestr("weights.pt", _weights(run_dir / checkpoint))
        if figure is not None:
            archive.writestr(_member_name(figure_name), figure)
        archive.writestr("README.txt", README.format(
            run=run_dir.name, checkpoint=checkpoint, data=_data(settings), notes=_notes(settings),
            figure=f"  {_member_name(figure_name)}   the figure, in the book's style\n" if figure is not None else ""))
    atomic_write(output, buffer.getvalue())
    return output


def _weights(checkpoint: Path) -> bytes:
    """Only the model's weights (the optimizer state is of no use to someone running the model)."""
    import torch

    from runtime.weights import read_checkpoint_file

    state = read_checkpoint_file(checkpoint)
    buffer = io.BytesIO()
    torch.save(state.get("model", state), buffer)
    return buffer.getvalue()


def _data(settings: dict[str, Any]) -> str:
    record = settings.get("data")
    return describe_record(record) if isinstance(record, dict) else f"{settings.get('dataset', 'unrecorded data')}"


def _notes(settings: dict[str, Any]) -> str:
    """Where the command finds a user's data file (and how to point it elsewhere); the device it asks for."""
    config, record = settings.get("config") or {}, settings.get("data")
    notes = ""
    if isinstance(record, dict) and record.get("kind") != "built-in":
        notes += (f"It reads the data from {config.get('dataset')!r}; if it is elsewhere, add --data PATH. Data "
                  "whose contents differ from what the run trained on is refused (unless --allow-other-data).\n")
    if config.get("device", "auto") != "auto":
        notes += f"It asks for device {config['device']!r}: add --device auto to use what this machine has.\n"
    return notes


def _member_name(name: str) -> str:
    """A name inside the zip that stays in the folder it is unzipped to: one plain component."""
    suffix = Path(name).suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", Path(name).suffix) else ".svg"
    return file_stem(Path(name).stem, "figure") + suffix
