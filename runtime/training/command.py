"""`python main.py train`: settings from the template, then the command line; Ctrl+C stops cleanly."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graph import Graph, GraphFileError, load_graph
from runtime.training.checkpoint import CheckpointError
from runtime.training.config import ConfigError, TrainConfig, template_config
from runtime.training.control import Control
from runtime.training.engine import Trainer
from runtime.training.events import Failed
from runtime.training.memory import check_before_start
from runtime.training.progress import ProgressPrinter
from runtime.training.run_folder import LAST

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
# command-line option → TrainConfig field (those given override the template's defaults)
OPTIONS = ("dataset", "epochs", "batch_size", "lr", "optimizer", "momentum", "nesterov", "weight_decay", "schedule",
           "warmup_steps", "step_epochs", "gamma", "clip", "seed", "device", "precision", "channels_last",
           "compile", "patience", "noise", "train_size", "val_size", "features", "label", "log_every")


def train_command(options: dict[str, Any]) -> int:
    """Run `train` with the parsed options (a dict of the OPTIONS plus graph, out, resume, quiet)."""
    changes = {name: options.get(name) for name in OPTIONS}
    printer = ProgressPrinter(bar=not options.get("quiet"))
    try:
        trainer = _trainer(options, changes, printer)
    except (GraphFileError, ConfigError, CheckpointError) as error:
        print(error, file=sys.stderr)
        return EXIT_UNUSABLE
    with _stop_on_interrupt(trainer.control):
        outcome = trainer.run()
    if isinstance(outcome, Failed):
        # Data that cannot be used, or a setting the device refuses, stops the run before it starts (no session,
        # no run folder): unusable, like any other bad setting.
        return EXIT_UNUSABLE if trainer.session is None and outcome.kind in ("data", "config") else EXIT_FAILED
    return EXIT_OK


def _trainer(options: dict[str, Any], changes: dict[str, Any], on_event: ProgressPrinter) -> Trainer:
    if options.get("resume"):
        run_dir = Path(options["resume"])
        if not (run_dir / LAST).is_file():
            raise CheckpointError(f"'{run_dir}' has no last.pt checkpoint to resume from")
        return Trainer.resuming(run_dir, changes, on_event=on_event)
    if not options.get("graph"):
        raise ConfigError("name a graph to train (a .layerbook.json file or a template such as lenet), "
                          "or --resume a run folder")
    graph = load_graph(options["graph"])
    config = _config(graph, changes)
    check_before_start(graph, config)  # a run that cannot fit: refused before any data is made, even to suggest
    if not config.dataset:  # refused before the run folder is made: a settings error like the others
        raise ConfigError(_no_dataset(graph))
    out = Path(options["out"]) if options.get("out") else None
    if out is not None and (out / LAST).exists():
        raise ConfigError(f"'{out}' already holds a run: continue it with --resume {out}, or choose another --out")
    return Trainer(graph, config, run_dir=out, runs_root=None if out else Path("runs"), on_event=on_event)


def _config(graph: Graph, changes: dict[str, Any]) -> TrainConfig:
    try:
        defaults = template_config(graph.training or {})
    except ConfigError as error:
        raise ConfigError(f"the training settings stored in '{graph.name}' are wrong: {error}") from None
    return defaults.updated(**changes)


def _no_dataset(graph: Graph) -> str:
    from runtime.data import GraphSpec, fitting_datasets

    fitting = fitting_datasets(GraphSpec.of(graph)) if graph.analyze().ok else []
    names = f"a built-in dataset that fits it ({', '.join(fitting)})" if fitting \
        else "a path to your data (no built-in dataset fits its inputs and outputs)"
    return f"no dataset: '{graph.name}' has no training settings naming one; pass --data with {names}"


@contextmanager
def _stop_on_interrupt(control: Control) -> Iterator[None]:
    """The first Ctrl+C asks the run to stop after its current step and save; the second one quits."""
    def handler(signum: int, frame: object) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        control.request_stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
