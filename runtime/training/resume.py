"""What keeps a run from being resumed, found before anything runs: a checkpoint of another graph, no epoch left
to train, a setting changed that the checkpoint fixes."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from graph import Graph
from runtime.compile import CompileError, build_module
from runtime.training.checkpoint import CheckpointError
from runtime.training.config import ConfigError, TrainConfig
from runtime.training.run_folder import GRAPH_FILE, LAST, SETTINGS_FILE
from runtime.weights import mismatch

# Settings the checkpoint holds (the optimizer's state and hyper-parameters: a new value would be silently
# replaced by the old one) or that place the run in its data (each epoch's batches come from the seed, the batch
# size and the samples taken): a resumed run keeps them.
FIXED_ON_RESUME = ("batch_size", "lr", "optimizer", "momentum", "nesterov", "weight_decay", "seed", "train_size",
                   "val_size", "features", "label")


def check_unchanged(run_dir: Path, recorded: TrainConfig, config: TrainConfig) -> None:
    """ConfigError naming the first setting of FIXED_ON_RESUME that `config` changes."""
    for name in FIXED_ON_RESUME:
        before, after = getattr(recorded, name), getattr(config, name)
        if before != after:
            again = f"python main.py train {shlex.quote(str(run_dir / GRAPH_FILE))} --settings " \
                    f"{shlex.quote(str(run_dir / SETTINGS_FILE))}"
            raise ConfigError(
                f"{name} cannot change when resuming '{run_dir}' (it trained with {before!r}; asked for {after!r}): "
                f"the checkpoint's optimizer state and the run's batches belong to it. To train with this "
                f"{name}, start a new run from its settings: {again} {_option(name, after)}")


def _option(name: str, value: Any) -> str:
    """The command-line option that sets `name` to `value`."""
    flag = "--data" if name == "dataset" else "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else f"(with \"{name}\": false in the settings file)"
    return f"{flag} {shlex.quote(','.join(value) if isinstance(value, list) else str(value))}"


def check_resumable(run_dir: Path, graph: Graph, config: TrainConfig, state: dict[str, Any]) -> None:
    """ConfigError when no epoch is left to train; CheckpointError when last.pt does not fit the graph."""
    _check_epochs_left(run_dir, state, config)
    _check_checkpoint_fits(run_dir, graph, state)


def _check_epochs_left(run_dir: Path, state: dict[str, Any], config: TrainConfig) -> None:
    done = int(state["position"]["epoch"])
    if config.epochs < done:
        raise ConfigError(f"'{run_dir}' has already trained {done} epochs: --epochs {config.epochs} would be "
                          f"fewer; to continue it, pass --epochs above {done} (the number of epochs in all)")
    if config.epochs == done:
        raise ConfigError(f"'{run_dir}' has trained all its {done} epochs: to train it further, pass --epochs N "
                          f"with N above {done} (the number of epochs in all)")


def _check_checkpoint_fits(run_dir: Path, graph: Graph, state: dict[str, Any]) -> None:
    """The checkpoint must hold the weights of the run's graph (one copied from another run would not fit); the
    graph is built on the meta device, which allocates nothing."""
    try:
        expected = build_module(graph, device="meta").state_dict()
    except CompileError as error:
        raise CheckpointError(f"'{run_dir / GRAPH_FILE}' cannot be built: {error}") from None
    model = state.get("model")
    problem = mismatch(expected, model if isinstance(model, dict) else {})
    if problem:
        raise CheckpointError(f"'{run_dir / LAST}' is not a checkpoint of the graph of '{run_dir}' "
                              f"({GRAPH_FILE}): {problem}")
