"""Every command's options driven with values out of their range or nonsensical (hypothesis). The options come from
the command line's own parser, so a new option is fuzzed without anyone adding it, and one whose kind of value is
unknown (tests/command_values.py) fails the coverage test. Each case, one bad value among valid ones, must be
refused before any work begins: exit 2 (1 where a graph's problems are the answer), a short message naming the
option, the setting or the file, no traceback, nothing created, nothing changed, no pickle's code run. The ends of
each range, on the other hand, are accepted up to where the work begins.

Each listed bad value is tried once with the other options left out (explicit examples), then hypothesis draws
more: bad values with valid values of other options, and numbers from each side of a range."""

from __future__ import annotations

import argparse
import os
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import main
from tests.command_values import (
    CONTEXT,
    ERRORS,
    ERRORS_NAMED,
    MARKER,
    SUFFIX,
    VALID_BY_DEST,
    bad_values,
    declared_range,
    make_case_folder,
    range_ends,
    snapshot,
    valid_values,
)

PARSER = main.build_parser()
(_SUBPARSERS,) = [a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction)]
COMMANDS: dict[str, argparse.ArgumentParser] = dict(_SUBPARSERS.choices)
NOT_FUZZED = {("app", "graph"): "the application shows a graph it cannot open in a dialog (it may have been "
              "started without a terminal) and runs until it is closed: there is no exit status to check"}
DRAWN_PER_OPTION = 4  # cases hypothesis draws for each option, beyond its listed values
SECONDS_PER_CASE = 30  # a case past this is one that reads a pipe or a device that never ends
MEMORY_PER_CASE = 6 << 30  # address space a case may add: reading /dev/zero whole fails, not the machine


def options_of(command: str) -> list[argparse.Action]:
    return [a for a in COMMANDS[command]._actions if not isinstance(a, argparse._HelpAction)]


FUZZED = [(command, action) for command in COMMANDS for action in options_of(command)
          if (command, action.dest) not in NOT_FUZZED]
BASE = {"graph": "mlp.layerbook.json", "output": "out"}  # the output takes the command's suffix


class Case:
    """One command line: `value` is the bad value of `action`, among valid values of other options."""

    def __init__(self, command: str, action: argparse.Action, value: str, values: dict[argparse.Action, str]
                 ) -> None:
        self.command, self.action, self.value = command, action, value
        self.argv = _argv(command, values)

    def __repr__(self) -> str:  # how a failure shows the case: its command line, long values shortened
        return repr([text if len(text) <= 80 else f"{text[:20]}... ({len(text)} characters)" for text in self.argv])


def _argv(command: str, values: dict[argparse.Action, str]) -> list[str]:
    """Options as --name=value (so that a value starting with '-' is the option's), then `--` and the
    positionals, in the parser's order."""
    options, positionals = [], []
    for action in (a for a in options_of(command) if a in values):
        if not action.option_strings:
            positionals.append(values[action])
        else:
            name = max(action.option_strings, key=len)
            options.append(name + values[action] if action.nargs == 0 else f"{name}={values[action]}")
    return [command, *options, "--", *positionals] if positionals else [command, *options]


def case_of(command: str, bad: argparse.Action, value: str, extras: dict[argparse.Action, str] | None = None) -> Case:
    values = {a: BASE[a.dest] + (SUFFIX[command] if a.dest == "output" else "") for a in options_of(command)
              if a.dest in BASE and (a.required or not a.option_strings)}
    values.update({a: CONTEXT[bad.dest][a.dest] for a in options_of(command) if a.dest in CONTEXT.get(bad.dest, {})})
    values.update(extras or {})
    values[bad] = value
    if bad.dest == "output" and value == "self":  # the output is the file read
        graph = next(a for a in values if a.dest == "graph")
        values[graph] = values[bad] = f"self{SUFFIX[command]}"
    return Case(command, bad, values[bad], values)


@st.composite
def drawn_cases(draw: st.DrawFn, command: str, bad: argparse.Action) -> Case:
    value = draw(bad_values(command, bad).strategy())
    others = [a for a in options_of(command) if a is not bad and valid_values(command, a) is not None]
    chosen = draw(st.lists(st.sampled_from(others), max_size=3, unique=True)) if others else []
    return case_of(command, bad, value, {a: draw(valid_values(command, a)) for a in chosen})


# ---- running one --------------------------------------------------------------------------------------------------

class WorkBegan(BaseException):  # not an Exception: no handler of the code under test may take it for a failure
    pass


def stop_work_at(monkeypatch: pytest.MonkeyPatch, entries: dict[str, tuple[object, str]]) -> None:
    """Replace each entry point (an attribute of a module or a class) with one that raises WorkBegan(its name)."""
    for name, (owner, attribute) in entries.items():
        def began(*args: object, _name: str = name, **kwargs: object) -> None:
            raise WorkBegan(_name)

        monkeypatch.setattr(owner, attribute, began)


def late_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the work itself begins: the data read and the model built (train refuses data it cannot use there,
    before any run folder), the export captured, the code, the figure or the picture written, training started
    from the window. A bad value must have been refused before."""
    import app.render
    import app.screenshot
    import runtime.codegen
    import runtime.export
    from runtime.training import engine

    opened = engine.open_session

    def open_session(*args: object, **kwargs: object) -> None:
        opened(*args, **kwargs)
        raise WorkBegan("training (the data was read and the model built)")

    monkeypatch.setattr(engine, "open_session", open_session)
    stop_work_at(monkeypatch, {"export": (runtime.export, "_capture"), "code": (runtime.codegen, "replacing"),
                               "render": (app.render, "render_to_file"), "screenshot": (app.screenshot, "_save"),
                               "screenshot training": (app.screenshot, "_train_for")})


def early_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where each command hands over to the work: the trainer, the exporter, the code writer, the drawing, the
    window. The memory one training step needs is the memory check's business (tests/training/test_memory.py),
    which depends on the machine: left out, so that a batch of 1,000,000 is judged by its range alone."""
    import app.main_window
    import app.render
    import runtime.codegen
    import runtime.export
    from runtime.training import command, engine

    monkeypatch.setattr(command, "check_before_start", lambda graph, config: None)
    stop_work_at(monkeypatch, {"train": (engine.Trainer, "run"), "export": (runtime.export, "export_onnx"),
                               "code": (runtime.codegen, "write_source"), "render": (app.render, "render_to_file"),
                               "screenshot": (app.main_window, "MainWindow")})


@contextmanager
def guarded(memory: bool) -> Iterator[None]:
    """A case that reads a pipe or a device for ever fails in seconds; with `memory`, one that reads /dev/zero
    whole runs out of address space rather than of the memory the machine needs."""
    def too_long(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {SECONDS_PER_CASE} s: a pipe or a device read for ever?")

    previous = signal.signal(signal.SIGALRM, too_long)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    if memory:
        used = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (min(limits[1], used + MEMORY_PER_CASE), limits[1]))
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_CASE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, limits)


def run(argv: list[str], capsys: pytest.CaptureFixture[str], memory: bool = True) -> tuple[int | str, str, str]:
    """The exit status (or where the work began), stdout and stderr of `main.main(argv)`."""
    capsys.readouterr()
    try:
        with guarded(memory):
            status: int | str = main.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    except WorkBegan as began:
        status = f"work began: {began}"
    out, err = capsys.readouterr()
    return status, out, err


def message_lines(text: str) -> list[str]:
    """What the user reads: argparse's usage left out, its error line kept."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("usage:"):
        return [line for line in lines if line.startswith("layerbook") and ": error: " in line]
    return lines


def named(case: Case, message: str) -> bool:
    """Whether the message names the option (or its setting) or the value given (as given, quoted or resolved)."""
    names = []
    if case.action.option_strings:
        names += [*case.action.option_strings, case.action.dest, case.action.dest.replace("_", " ")]
    value = case.value.lstrip("=")
    if value:
        names += [value, repr(value)[1:-1], value[:40], os.path.abspath(value), value.strip()]
    else:  # or what is missing: `train ''` is `train` without a graph
        names += ["''", '""', case.action.dest]
    if value == ERRORS:
        names += ERRORS_NAMED
    return any(name and name in message for name in names)


def check_refused(case: Case, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(folder)
    status, out, err = run(case.argv, capsys)
    assert status in ((1, 2) if case.value == ERRORS else (2,)), \
        f"a bad value was accepted: {case!r}: exit {status}\n{err[-2000:]}"
    assert "Traceback" not in out + err, err
    lines = message_lines(err + out * (status == 1))  # validate prints a graph's problems as its answer
    assert 1 <= len(lines) <= 5, f"not a short message: {err!r}"
    assert named(case, "\n".join(lines)), f"the message names neither {case.action.dest} nor the value: {lines}"
    own = getattr(case.action.type, "__name__", "<lambda>")  # argparse's words when a type's own message is lost
    assert own in ("int", "float", "<lambda>") or f"invalid {own} value" not in err, err
    assert not (folder / MARKER).exists(), "a pickle's code ran"
    assert snapshot(folder) == before, "files were created or changed"


# ---- the tests ----------------------------------------------------------------------------------------------------

def test_every_option_of_every_command_has_bad_values() -> None:
    """A new option of a kind unknown here (a file, a name) needs its bad values written: until then, this fails."""
    assert [f"{command} {action.dest}" for command, action in FUZZED if bad_values(command, action) is None] == []
    assert {command for command, _ in FUZZED} | {command for command, _ in NOT_FUZZED} == set(COMMANDS)


@pytest.mark.parametrize(("command", "action"), FUZZED, ids=[f"{c} {a.dest}" for c, a in FUZZED])
def test_a_bad_value_of_any_option_is_refused_before_any_work(command: str, action: argparse.Action,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    late_work(monkeypatch)
    numbers = count()

    @settings(max_examples=DRAWN_PER_OPTION, derandomize=True, database=None, deadline=None,
              report_multiple_bugs=False)
    @given(drawn_cases(command, action))
    def check(case: Case) -> None:
        folder = tmp_path / f"case-{next(numbers)}"
        folder.mkdir()
        make_case_folder(folder)
        monkeypatch.chdir(folder)
        check_refused(case, folder, capsys)

    for value in bad_values(command, action).listed:
        check = example(case_of(command, action, value))(check)
    check()


def boundary_cases() -> list[list[str]]:
    """The ends of every declared range: each numeric setting of train, export's opsets, screenshot's size and
    seconds (with a few other options at an end of their own, so that the ends meet too)."""
    graph = BASE["graph"]
    cases = []
    for action in options_of("train"):
        allowed = declared_range(action.dest) if action.type in (int, float) else None
        option = max(action.option_strings, key=len, default="")
        cases += [["train", graph, f"{option}={end}", "--quiet"] for end in (range_ends(allowed, action.type)
                                                                           if allowed else [])]
    cases += [["export", graph, "-o", "x.onnx", f"--opset={opset}"] for opset in VALID_BY_DEST["opset"]]
    cases += [["screenshot", graph, "-o", "x.png", f"--size={size}"] for size in ("200x150", "8192x8192")]
    cases += [["screenshot", graph, "-o", "x.png", f"--train-seconds={s}"] for s in ("0", "3600")]
    cases += [["train", graph, "--lr=10", "--momentum=0", "--seed=4294967295", "--epochs=1", "--optimizer=sgd"]]
    return cases


@pytest.mark.parametrize("argv", boundary_cases(),
                         ids=lambda argv: " ".join(a for a in argv if a not in ("-o", "--quiet", BASE["graph"])))
def test_the_ends_of_each_range_are_accepted_up_to_the_work(argv: list[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    early_work(monkeypatch)
    make_case_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    status, _, err = run(argv, capsys, memory=False)
    assert status == f"work began: {argv[0]}", f"{argv}: exit {status}\n{err}"
    assert snapshot(tmp_path) == before
