"""Every command's --help is complete: each command has a description and examples, each argument a help text."""

from __future__ import annotations

import argparse

import pytest

import main


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = main.build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def missing_help(parser: argparse.ArgumentParser) -> list[str]:
    """The arguments of `parser` (other than -h) whose help is empty or suppressed."""
    return [a.option_strings[-1] if a.option_strings else a.dest for a in parser._actions
            if not isinstance(a, argparse._HelpAction)
            and (not (a.help and a.help.strip()) or a.help == argparse.SUPPRESS)]


def test_the_program_has_a_description_and_every_command_a_summary() -> None:
    parser = main.build_parser()
    assert parser.description and parser.epilog
    summaries = {a.dest: a.help for a in parser._subparsers._group_actions[0]._choices_actions}
    assert set(summaries) == set(subcommands())
    assert all(text and text.strip() for text in summaries.values()), summaries


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_command_has_a_description_and_an_example(name: str) -> None:
    command = subcommands()[name]
    assert command.description and command.description.strip(), f"{name}: no description"
    assert "python main.py" in (command.epilog or ""), f"{name}: no example in the epilog"


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_argument_has_help(name: str) -> None:
    missing = missing_help(subcommands()[name])
    assert not missing, f"{name}: arguments without help: {missing}"


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_help_prints(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main.main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: layerbook {name}") and "example" in out


def test_an_option_added_without_help_is_caught() -> None:
    command = subcommands()["train"]
    command.add_argument("--bare")
    command.add_argument("--hidden", help=argparse.SUPPRESS)
    assert missing_help(command) == ["--bare", "--hidden"]


def test_the_train_help_lists_every_built_in_dataset() -> None:
    """main.py spells the names out (importing the data package would import torch for every --help)."""
    from runtime.data import builtin_datasets

    assert ", ".join(builtin_datasets()) == main.DATASETS


def test_the_help_of_label_and_features_says_they_also_choose_an_npz_files_arrays() -> None:
    """They choose the arrays of an .npz file too (runtime/data/files.py); the help said CSV only."""
    helps = {a.dest: a.help for a in subcommands()["train"]._actions}
    assert "CSV" in helps["label"] and ".npz file, the output's array" in helps["label"]
    assert "CSV" in helps["features"] and ".npz file, the input's array" in helps["features"]
