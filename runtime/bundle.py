"""One file that reproduces a run: a zip of the graph, its PyTorch source, the settings, the metrics, the
summary, the figure and the trained weights, with a note saying how to train it again."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from graph import load_graph
from graph.fileformat import atomic_write
from runtime.codegen import generate_source
from runtime.training.run_folder import BEST, GRAPH_FILE, LAST, METRICS_FILE, SETTINGS_FILE, SUMMARY_FILE

README = """This bundle reproduces the Layerbook run '{run}'.

  graph.layerbook.json   the graph, as trained (open it in Layerbook)
  model.py               the same network as plain PyTorch (weights.pt loads into it)
  weights.pt             the trained weights ({checkpoint}), a state_dict: torch.load(..., weights_only=True)
  settings.json          every training setting; metrics.csv and summary.json: what the run measured
  {figure}

Train it again with the same settings:
  python main.py train graph.layerbook.json {options}
"""
OPTION_NAMES = ("dataset", "epochs", "batch_size", "lr", "optimizer", "seed")


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
            archive.writestr(figure_name, figure)
        archive.writestr("README.txt", README.format(
            run=run_dir.name, checkpoint=checkpoint, options=_options(settings.get("config", {})),
            figure=f"{figure_name}   the figure, in the book's style" if figure is not None else ""))
    atomic_write(output, buffer.getvalue())
    return output


def _weights(checkpoint: Path) -> bytes:
    """Only the model's weights (the optimizer state is of no use to someone running the model)."""
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    buffer = io.BytesIO()
    torch.save(state.get("model", state), buffer)
    return buffer.getvalue()


def _options(config: dict[str, object]) -> str:
    parts = []
    for name in OPTION_NAMES:
        if config.get(name) is not None:
            flag = "--data" if name == "dataset" else "--" + name.replace("_", "-")
            parts.append(f"{flag} {config[name]}")
    return " ".join(parts)
