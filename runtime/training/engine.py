"""The training engine: epochs of steps, validation, checkpoints, early stopping, faults, and a stream of events.

    trainer = Trainer(graph, TrainConfig(epochs=5), run_dir=Path("runs/lenet-1"), on_event=print)
    outcome = trainer.run()          # Finished or Failed, never an exception for a user's mistake
    trainer.control.request_stop()   # from another thread or a signal handler: stops after the current step

The loop keeps the device busy: losses and accuracy counts stay on the device between reports (every
`log_every` steps), where one synchronisation reads them, checks them for NaN/Inf and times the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import torch

from graph import Graph
from graph.fileformat import GraphFileError, load_graph
from runtime.data import Dataset
from runtime.out_of_memory import is_out_of_memory
from runtime.training import distributed, run_folder
from runtime.training.batching import epoch_plan, validation_order
from runtime.training.checkpoint import CheckpointError, Position, load_checkpoint, restore, save_checkpoint
from runtime.training.config import ConfigError, TrainConfig
from runtime.training.control import Control
from runtime.training.devices import autocast, describe
from runtime.training.distributed import broadcast_text
from runtime.training.events import EpochMetrics, Event, Failed, Finished, Health, Started, Status, StepMetrics
from runtime.training.faults import (
    EXPECTED,
    TrainingFailure,
    non_finite_data,
    non_finite_loss,
    out_of_memory,
    out_of_memory_preparing,
    refusal,
)
from runtime.training.health import HealthMonitor
from runtime.training.memory import largest_fitting_batch
from runtime.training.objective import as_tuple
from runtime.training.pace import Pace
from runtime.training.resume import check_resumable, check_unchanged
from runtime.training.run_folder import (
    BEST,
    GRAPH_FILE,
    LAST,
    SETTINGS_FILE,
    RunFolder,
    new_run_dir,
    new_run_problem,
    read_json,
)
from runtime.training.run_summary import run_summary, write_summary, writing
from runtime.training.session import Session, open_session
from runtime.training.window import Window


class Trainer:
    def __init__(self, graph: Graph, config: TrainConfig, *, run_dir: Path | None = None,
                 on_event: Callable[[Event], None] | None = None, control: Control | None = None,
                 dataset: Dataset | None = None, resume: bool = False, runs_root: Path | None = None) -> None:
        """`run_dir`: the run folder; or `runs_root`: the folder in which to make a new one named after the
        graph and the time; neither: nothing is written (tests, benchmarks)."""
        self.graph = graph
        self.config = config
        self.run_dir = run_dir
        self._runs_root = runs_root
        self.control = control or Control()
        self._on_event = on_event
        self._dataset = dataset
        self._resume = resume
        self._checkpoint: dict[str, Any] | None = None  # read by `resuming`, which checked it
        self.session: Session | None = None
        self.position = Position()
        self._health: HealthMonitor | None = None
        self.pace = Pace()

    @classmethod
    def resuming(cls, run_dir: Path, changes: dict[str, Any] | None = None, **options: Any) -> Trainer:
        """A trainer that continues the run in `run_dir` from its last checkpoint, with the same graph and
        settings (`changes` may raise the number of epochs, for instance). Refused (CheckpointError,
        ConfigError) before anything runs: a checkpoint of another graph, no epoch left to train, a setting
        that the checkpoint fixes changed."""
        try:
            graph = load_graph(run_dir / GRAPH_FILE)
            recorded = TrainConfig.from_dict(read_json(run_dir / SETTINGS_FILE)["config"])
        except (OSError, ValueError, KeyError, TypeError, GraphFileError) as error:
            raise CheckpointError(f"'{run_dir}' is not a run folder that can be resumed: {error}") from None
        config = recorded.updated(**(changes or {}))
        check_unchanged(run_dir, recorded, config)
        state = load_checkpoint(run_dir / LAST)
        check_resumable(run_dir, graph, config, state)
        trainer = cls(graph, config, run_dir=run_dir, resume=True, **options)
        trainer._checkpoint = state
        return trainer

    # ---- the run ---------------------------------------------------------------------------------------------

    def run(self) -> Finished | Failed:
        """Train to the end, to a stop request or to a failure; the outcome is also the last event sent."""
        outcome: Finished | Failed = Failed("error", "the run did not start")
        try:
            self._emit(Status("preparing", "building the model and loading the data"))
            self._prepare()
            outcome = Finished(self._train())
            outcome = Finished(outcome.state, self._finish(outcome.state))
        except TrainingFailure as failure:
            outcome = Failed(failure.kind, str(failure))
        except EXPECTED as error:
            outcome = refusal(error)
        except Exception as error:  # an out-of-memory outside a step: building the model, loading data, validating
            if not is_out_of_memory(error):
                raise
            failure = out_of_memory_preparing(error) if self.session is None else self._out_of_memory(error)
            outcome = Failed(failure.kind, str(failure))
        except BaseException:  # quit at once (a second Ctrl+C): the folder stays as it is, free for a resume
            if self.session is not None and self.session.folder is not None:
                self.session.folder.release()
            raise
        finally:
            distributed.finish(self.session.world if self.session else distributed.from_environment(),
                               together=isinstance(outcome, Finished))
        if isinstance(outcome, Failed):
            self._record_failure(outcome)
        self._emit(Status("failed" if isinstance(outcome, Failed) else outcome.state,
                          outcome.message if isinstance(outcome, Failed) else ""))
        self._emit(outcome)
        return outcome

    def _prepare(self) -> None:
        self.session = session = open_session(self.graph, self.config, self._dataset)
        if self.run_dir is None and self._runs_root is not None:
            # under torchrun every rank must use (and resume from) the folder rank 0 made
            made = self._new_run_dir() if session.world.main else ""
            self.run_dir = Path(broadcast_text(made, session.world))
        elif self.run_dir is not None and not self._resume and session.world.main:
            problem = new_run_problem(self.run_dir)  # the command line said so already; the app never gets here
            if problem:
                raise ConfigError(problem)
        if self.run_dir is not None and session.world.main:
            session.folder = RunFolder(self.run_dir)
        if self._resume:
            state = self._checkpoint or load_checkpoint(self.run_dir / LAST)
            self._checkpoint = None
            self.position = restore(state, session.model, session.optimizer, session.scheduler, session.scaler,
                                    session.noise)
        if self.config.health_every:
            self._health = HealthMonitor(self.graph, session.model, self.config.health_every)
        if session.folder is not None:
            with writing(session.folder.path):
                self._lock_folder()
                session.folder.begin(self.graph, session.settings(), self.position.step if self._resume else None)
        self._emit(Started(str(self.run_dir or ""), describe(session.device), session.dataset.description,
                           session.dataset.task, session.parameters, self.config.epochs, session.steps_per_epoch,
                           self.position.step, session.world.size, tuple(session.dataset.warnings)))

    def _lock_folder(self) -> None:
        """A folder another process trains in is left alone: not even a failure's summary is written there."""
        try:
            self.session.folder.lock()
        except ConfigError:
            self.session.folder = None
            raise

    def _new_run_dir(self) -> str:
        try:
            return str(new_run_dir(self.graph.name, self._runs_root))
        except OSError as error:
            raise TrainingFailure("disk", f"cannot make a run folder in '{self._runs_root}': "
                                  f"{error.strerror or error}") from None

    def _train(self) -> str:
        """Epochs from the current position; the state the run ends in."""
        self.pace.start(self.position.elapsed)
        self._emit(Status("running"))
        while self.position.epoch < self.config.epochs:
            if not self._epoch():
                return "stopped"
            if self._early_stop():
                return "early-stopped"
        return "finished"

    def _epoch(self) -> bool:
        """One epoch (or its remainder); False when a stop request ended it."""
        session, config, position = self.session, self.config, self.position
        plan = epoch_plan(len(session.dataset.train), config.batch_size, config.seed, position.epoch, session.world,
                          position.batch)
        window, epoch_totals = Window(session.device), Window(session.device)
        session.model.train()
        batches = session.dataset.train.batches(plan.order, plan.local_batch, session.device)
        for size, (inputs, targets) in zip(plan.global_sizes, batches, strict=False):
            if not self._may_continue():
                self._save(LAST)
                return False
            started = time.perf_counter()
            self._step(inputs, targets, size, window, epoch_totals)
            self.pace.add_step(time.perf_counter() - started, size)
            if window.steps >= config.log_every:
                self._report(window)
        if window.steps:
            self._report(window)
        self._end_epoch(epoch_totals)
        return True

    def _may_continue(self) -> bool:
        if self.control.paused:
            self._emit(Status("paused"))
            self.control.wait_while_paused()
            if not self.control.stop_requested:
                self._emit(Status("running"))
        stop = self.control.stop_requested
        if self.session.world.distributed:  # a signal reaches the ranks at different steps: all stop at one
            stop = distributed.any_rank(stop, self.session.world)
        if stop:
            self._emit(Status("stopping", "saving what was learned"))
            return False
        return True

    def _step(self, inputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], global_size: int,
              window: Window, epoch_totals: Window) -> None:
        session, config = self.session, self.config
        local = len(next(iter(inputs.values())))
        inputs = self._prepare_inputs(inputs)
        health = self._health if self._health and self._health.due(self.position.step + 1) else None
        if health is not None:
            health.arm()
        try:
            with autocast(config, session.device):
                predictions = as_tuple(session.step_model(**inputs))
                loss = session.objective.loss(predictions, targets)
            # each rank's mean, weighted by its share of the global batch: DDP's average is the global mean
            scaled = loss * (local * session.world.size / global_size) if session.world.distributed else loss
            self._backward_and_update(scaled, health)
        except Exception as error:
            if is_out_of_memory(error):
                raise self._out_of_memory(error) from None
            raise
        correct = session.objective.correct(predictions, targets)
        window.add(loss.detach(), local, correct)
        epoch_totals.add(loss.detach(), local, correct)
        self.position.step += 1
        self.position.batch += 1

    def _prepare_inputs(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        session, config = self.session, self.config
        if config.noise and session.dataset.task == "reconstruction":  # denoising: the target stays clean
            inputs = {k: v + config.noise * torch.randn(v.shape, generator=session.noise, device=v.device)
                      if v.is_floating_point() else v for k, v in inputs.items()}
        if config.channels_last and session.device.type == "cuda":
            inputs = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v
                      for k, v in inputs.items()}
        return inputs

    def _backward_and_update(self, loss: torch.Tensor, health: HealthMonitor | None) -> None:
        session, config = self.session, self.config
        if session.scaler is not None:
            session.scaler.scale(loss).backward()
            session.scaler.unscale_(session.optimizer)
        else:
            loss.backward()
        if health is not None:  # read between backward and step, while the gradients are there
            self._emit(Health(self.position.step + 1, health.collect()))
        if config.clip is not None:
            torch.nn.utils.clip_grad_norm_(session.model.parameters(), config.clip)
        if session.scaler is not None:
            session.scaler.step(session.optimizer)
            session.scaler.update()
        else:
            session.optimizer.step()
        session.scheduler.step()
        session.optimizer.zero_grad(set_to_none=True)

    def _out_of_memory(self, error: BaseException) -> TrainingFailure:
        session = self.session
        session.optimizer.zero_grad(set_to_none=True)
        if session.device.type == "cuda":
            torch.cuda.empty_cache()
        fits = largest_fitting_batch(session, self.config.batch_size)
        return out_of_memory(session.device, self.config.batch_size, fits, error)

    # ---- reports ---------------------------------------------------------------------------------------------

    def _report(self, window: Window) -> None:
        """Read the window's losses (one synchronisation), stop on NaN/Inf, send and record the metrics."""
        session, position = self.session, self.position
        lr = session.scheduler.get_last_lr()[0]
        loss, accuracy, diverged = window.means(session.world)
        if diverged:
            self._diverged(window, lr)
        seconds = window.seconds()
        total_steps = self.config.epochs * session.steps_per_epoch
        done = position.step
        eta = self.pace.eta(total_steps - done)
        metrics = StepMetrics(done, position.epoch + 1, loss, accuracy, lr,
                              window.samples * session.world.size / seconds if seconds else 0.0,
                              self.pace.elapsed(), done / max(1, total_steps), eta)
        window.clear()
        self._emit(metrics)
        self._log(metrics.step, metrics.epoch, "train", loss, accuracy, lr, metrics.samples_per_s)

    def _diverged(self, window: Window, lr: float) -> None:
        """Stop on the first step whose loss was NaN or Inf (in this process, or in another one)."""
        losses = window.losses()
        bad = torch.nonzero(~torch.isfinite(losses))
        first = int(bad[0]) if len(bad) else window.steps - 1
        step = self.position.step - window.steps + first + 1
        raise non_finite_loss(float(losses[first]) if len(bad) else float("nan"), step, self.position.epoch + 1, lr,
                              self.config, self._bad_data())

    def _bad_data(self) -> str | None:
        dataset = self.session.dataset
        return non_finite_data({"training": dataset.train, "validation": dataset.val})

    def _end_epoch(self, epoch_totals: Window) -> None:
        session, position = self.session, self.position
        train_loss, train_accuracy, _ = epoch_totals.means(session.world) if epoch_totals.steps else (None, None, 0)
        self._emit(Status("validating"))
        val_loss, val_accuracy = self._validate()
        if not torch.isfinite(torch.tensor(val_loss)):
            raise non_finite_loss(val_loss, position.step, position.epoch + 1, session.scheduler.get_last_lr()[0],
                                  self.config, self._bad_data())
        best = position.best_loss is None or val_loss < position.best_loss
        position.epoch += 1
        position.batch = 0
        if best:
            position.best_loss, position.best_epoch, position.bad_epochs = val_loss, position.epoch, 0
            position.best_accuracy = val_accuracy
        else:
            position.bad_epochs += 1
        position.history = {k: v for k, v in (("train_loss", train_loss), ("train_accuracy", train_accuracy),
                                              ("val_loss", val_loss), ("val_accuracy", val_accuracy)) if v is not None}
        # the row first, then the checkpoints: a run killed in between resumes from the previous checkpoint, which
        # cuts this row away and logs it again; the other order would lose the row for good
        self._log(position.step, position.epoch, "val", val_loss, val_accuracy, None, None)
        if best:
            self._save(BEST)
        self._save(LAST)
        self._emit(EpochMetrics(position.epoch, position.step, train_loss, train_accuracy, val_loss, val_accuracy,
                                best, self.pace.elapsed()))
        if position.epoch < self.config.epochs:
            self._emit(Status("running"))

    @torch.no_grad()
    def _validate(self) -> tuple[float, float | None]:
        session = self.session
        session.model.eval()
        totals = Window(session.device)
        order = validation_order(len(session.dataset.val), session.world)
        local_batch = max(1, self.config.batch_size // session.world.size)
        for inputs, targets in session.dataset.val.batches(order, local_batch, session.device):
            with autocast(self.config, session.device):
                predictions = as_tuple(session.model(**self._prepare_inputs(inputs)))
                loss = session.objective.loss(predictions, targets)
            totals.add(loss, len(next(iter(inputs.values()))), session.objective.correct(predictions, targets))
        session.model.train()
        loss, accuracy, diverged = totals.means(session.world)
        if diverged:  # the mean leaves non-finite batches out: it would look fine while it is not
            losses = totals.losses()
            bad = losses[~torch.isfinite(losses)]
            loss = float(bad[0]) if len(bad) else float("nan")
        return loss, accuracy

    def _early_stop(self) -> bool:
        patience = self.config.patience
        return patience is not None and self.position.bad_epochs >= patience

    def _save(self, name: str) -> None:
        session = self.session
        self.position.elapsed = self.pace.elapsed()
        if session.folder is None:
            return
        try:
            save_checkpoint(session.folder.path / name, session.model, session.optimizer, session.scheduler,
                            session.scaler, self.position, session.noise)
        except CheckpointError as error:  # a full disk: the run cannot keep what it learns, so it stops
            raise TrainingFailure("disk", str(error)) from None

    def _log(self, step: int, epoch: int, phase: str, loss: float, accuracy: float | None, lr: float | None,
             rate: float | None) -> None:
        folder = self.session.folder
        if folder is not None:
            with writing(folder.path / run_folder.METRICS_FILE):
                folder.log({"step": step, "epoch": epoch, "phase": phase, "loss": loss, "accuracy": accuracy,
                            "lr": lr, "samples_per_s": rate, "elapsed": self.pace.elapsed()})

    def _record_failure(self, outcome: Failed) -> None:
        """A run folder a failure stopped says so in its summary (state "failed", the cause), beside what it kept;
        a summary that cannot be written either (a full disk) leaves the folder as it was."""
        if self.session is None or self.session.folder is None or not self.session.folder.path.is_dir():
            return
        with suppress(TrainingFailure):
            self._finish("failed", {"kind": outcome.kind, "message": outcome.message})

    def _finish(self, state: str, failure: dict[str, str] | None = None) -> dict[str, Any]:
        summary = run_summary(state, self.graph, self.session, self.position, self.pace.elapsed(),
                              self.pace.samples_per_s(), failure)
        write_summary(self.session, summary)
        return summary

    def _emit(self, event: Event) -> None:
        world = self.session.world if self.session else distributed.from_environment()
        if self._on_event is not None and world.main:
            self._on_event(event)

