"""`python main.py train`: settings from the template, a --settings file, then the command line; a run folder that
never overwrites anything; Ctrl+C, SIGTERM and SIGHUP stop cleanly (signals.py)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph import Graph, GraphFileError, dumps, load_graph
from graph.outputs import unwritable_reason
from runtime.data.provenance import data_difference, describe_data
from runtime.training.checkpoint import CheckpointError
from runtime.training.config import ConfigError, TrainConfig, template_config
from runtime.training.engine import Trainer
from runtime.training.events import Event, Failed
from runtime.training.memory import check_before_start
from runtime.training.progress import ProgressPrinter
from runtime.training.run_folder import GRAPH_FILE, LAST, SETTINGS_FILE, new_run_problem, read_json
from runtime.training.signals import Quit, stop_on_signals

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130
RUNS = Path("runs")  # in the working directory, as training tools do
MAX_SETTINGS_BYTES = 1 << 20  # a settings.json is a few hundred bytes
# command-line option → TrainConfig field (those given override the template's defaults)
OPTIONS = ("dataset", "epochs", "batch_size", "lr", "optimizer", "momentum", "nesterov", "weight_decay", "schedule",
           "warmup_steps", "step_epochs", "gamma", "clip", "seed", "device", "precision", "channels_last",
           "compile", "patience", "noise", "train_size", "val_size", "features", "label", "log_every")
NAMED_BY = {"settings": ("--settings", "a settings file"), "dataset": ("--data", "a built-in dataset or a path"),
            "out": ("--out", "the run folder"), "resume": ("--resume", "the run folder to continue")}


def train_command(options: dict[str, Any]) -> int:
    """Run `train` with the parsed options (a dict of the OPTIONS plus graph, settings, out, resume, quiet,
    allow_other_data)."""
    changes = {name: options.get(name) for name in OPTIONS}
    printer = ProgressPrinter(bar=not options.get("quiet"))
    try:
        trainer = _trainer(options, changes, _never_failing(printer))
    except (GraphFileError, ConfigError, CheckpointError) as error:
        print(error, file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:  # Ctrl+C while the settings and the data are checked (hashing a large file)
        print("interrupted before training started: nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        with stop_on_signals(trainer):
            outcome = trainer.run()
    except Quit as quit:
        with contextlib.suppress(OSError):
            printer.close()
            print(quit, file=sys.stderr)
        return quit.status
    if isinstance(outcome, Failed):
        # Data that cannot be used, or a setting the device refuses, stops the run before it starts (no session,
        # no run folder): unusable, like any other bad setting.
        return EXIT_UNUSABLE if trainer.session is None and outcome.kind in ("data", "config") else EXIT_FAILED
    return EXIT_OK


def _never_failing(printer: ProgressPrinter) -> Callable[[Event], None]:
    """The printer, minus its failures: a terminal gone (SIGHUP, a closed pipe) must not lose the run's save."""
    def on_event(event: Event) -> None:
        with contextlib.suppress(OSError):
            printer(event)

    return on_event


def _trainer(options: dict[str, Any], changes: dict[str, Any], on_event: Callable[[Event], None]) -> Trainer:
    _refuse_empty(options)
    if options.get("resume"):
        return _resuming(options, changes, on_event)
    if not options.get("graph"):
        raise ConfigError("name a graph to train (a .layerbook.json file or a template such as lenet), "
                          "or --resume a run folder")
    graph = load_graph(options["graph"])
    settings = _settings_file(options.get("settings"))
    config = _config(graph, settings, changes, options.get("settings"))
    check_before_start(graph, config)  # a run that cannot fit: refused before any data is made, even to suggest
    if not config.dataset:  # refused before the run folder is made: a settings error like the others
        raise ConfigError(_no_dataset(graph))
    if settings is not None:
        _check_data(settings.get("data"), config, options, f"the settings file '{options['settings']}'")
    out = Path(options["out"]) if options.get("out") else None
    if out is not None:
        problem = new_run_problem(out) or _cannot_write(out, f"--out '{out}'")
    else:
        problem = _cannot_write(RUNS, f"the runs folder '{RUNS.absolute()}' (runs/ in the working directory)")
    if problem:
        raise ConfigError(problem)
    return Trainer(graph, config, run_dir=out, runs_root=None if out else RUNS, on_event=on_event)


def _refuse_empty(options: dict[str, Any]) -> None:
    """An empty name would mean the working folder (Path('') is '.') or nothing at all: a run in runs/ for an
    empty --out, a new run for an empty --resume."""
    for name, (flag, what) in NAMED_BY.items():
        if options.get(name) == "":
            raise ConfigError(f"{flag} is empty: give {what}, or leave {flag} out")


def _cannot_write(folder: Path, what: str) -> str | None:
    problem = unwritable_reason(folder)
    return problem and f"cannot write {what}: {problem}; choose a folder you can write to with --out"


def _resuming(options: dict[str, Any], changes: dict[str, Any], on_event: Callable[[Event], None]) -> Trainer:
    run_dir = Path(options["resume"])
    if options.get("settings"):
        raise ConfigError("--settings starts a new run from a run's settings, and --resume continues a run with "
                          "its own: give one of them")
    if options.get("out") and Path(options["out"]).resolve() != run_dir.resolve():
        raise ConfigError(f"--out cannot be given with --resume: the run continues in its own folder '{run_dir}'")
    try:
        resumable = (run_dir / LAST).is_file()
    except OSError as error:  # a name too long for the file system
        raise CheckpointError(f"cannot read the run folder '{run_dir}': {error.strerror or error}") from None
    if not resumable:
        raise CheckpointError(f"'{run_dir}' has no last.pt checkpoint to resume from")
    if options.get("graph"):
        _check_same_graph(options["graph"], run_dir)
    trainer = Trainer.resuming(run_dir, changes, on_event=on_event)
    try:
        recorded = read_json(run_dir / SETTINGS_FILE).get("data")
    except (OSError, ValueError, AttributeError):
        recorded = None  # Trainer.resuming has just read it: only a race gets here, and then nothing to compare
    _check_data(recorded, trainer.config, options, f"the run '{run_dir}'")
    return trainer


def _check_same_graph(source: str, run_dir: Path) -> None:
    """GRAPH with --resume is accepted when it is the run's own graph (a script that adds --resume to the command
    it first ran keeps working); another graph is refused, never silently ignored."""
    given, trained = load_graph(source), load_graph(run_dir / GRAPH_FILE)
    if dumps(given) != dumps(trained):
        raise ConfigError(f"'{source}' is not the graph the run in '{run_dir}' trained ({run_dir / GRAPH_FILE}): "
                          "--resume continues a run with its own graph; leave GRAPH out, or train "
                          f"'{source}' in a new run (without --resume)")


def _settings_file(path: str | None) -> dict[str, Any] | None:
    """A run's settings.json ({"config": {...}, "data": {...}, ...}) or a plain object of TrainConfig fields, as
    {"config": ..., "data": ...}; None without --settings."""
    if path is None:
        return None
    try:
        if Path(path).exists() and not Path(path).is_file():  # a folder, a device (/dev/zero never ends), a pipe
            raise ConfigError(f"the settings file '{path}' is not a file: give a run's settings.json")
        with open(path, "rb") as stream:
            raw = stream.read(MAX_SETTINGS_BYTES + 1)
        if len(raw) > MAX_SETTINGS_BYTES:
            raise ConfigError(f"'{path}' is too large for a settings file (more than {MAX_SETTINGS_BYTES:,} bytes)")
        content = json.loads(raw.decode("utf-8"))
    except ConfigError:
        raise
    except OSError as error:
        raise ConfigError(f"cannot read the settings file '{path}': {error.strerror or error}") from None
    except ValueError as error:  # not JSON, not UTF-8, an integer of thousands of digits
        raise ConfigError(f"the settings file '{path}' is not a JSON object of settings: {error}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"the settings file '{path}' must hold a JSON object of settings, not "
                          f"{type(content).__name__}")
    return content if isinstance(content.get("config"), dict) else {"config": content}


def _config(graph: Graph, settings: dict[str, Any] | None, changes: dict[str, Any], source: str | None
            ) -> TrainConfig:
    """The template's defaults, then the settings file's values (all of them, null included), then the options."""
    try:
        defaults = template_config(graph.training or {})
    except ConfigError as error:
        raise ConfigError(f"the training settings stored in '{graph.name}' are wrong: {error}") from None
    if settings is not None:
        try:
            defaults = TrainConfig.from_dict({**defaults.to_dict(), **settings["config"]})
        except ConfigError as error:
            raise ConfigError(f"the settings file '{source}': {error}") from None
    return defaults.updated(**changes)


def _check_data(recorded: Any, config: TrainConfig, options: dict[str, Any], where: str) -> None:
    """Refuse data other than the data `where` recorded (unless --allow-other-data)."""
    if options.get("allow_other_data"):
        return
    difference = data_difference(recorded, describe_data(config.dataset))
    if difference:
        raise ConfigError(f"the data differs from the data recorded in {where}: {difference}. Give the same data "
                          "with --data PATH, or pass --allow-other-data to train on this data anyway")


def _no_dataset(graph: Graph) -> str:
    from runtime.data import GraphSpec, fitting_datasets

    fitting = fitting_datasets(GraphSpec.of(graph)) if graph.analyze().ok else []
    names = f"a built-in dataset that fits it ({', '.join(fitting)})" if fitting \
        else "a path to your data (no built-in dataset fits its inputs and outputs)"
    return f"no dataset: '{graph.name}' has no training settings naming one; pass --data with {names}"
