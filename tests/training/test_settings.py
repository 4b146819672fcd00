"""Training settings: each numeric one has a range, declared with its field, checked before anything runs and
shown in --help; a --settings file (a run's settings.json or a plain object) is checked the same way; the NaN
diagnosis names the setting out of the ordinary and never advises a nonsensical value."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import main
from graph import load_graph
from graph.library import template_names
from runtime.training.config import ConfigError, TrainConfig, range_text, setting_range, template_config
from runtime.training.faults import non_finite_loss

QUICK = ("--epochs", "1", "--train-size", "64", "--val-size", "16", "--quiet")


def train(*args: str) -> int:
    return main.main(["train", *args])


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--gamma", "-1", "gamma must be a number above 0, at most 1, got -1.0"),  # trained with a negative lr
    ("--gamma", "1e308", "gamma must be a number above 0, at most 1, got 1e+308"),  # a traceback
    ("--lr", "inf", "lr must be a number above 0, at most 10, got inf"),
    ("--lr", "0", "lr must be a number above 0"),
    ("--momentum", "nan", "momentum must be a number from 0 to below 1, got nan"),
    ("--momentum", "1", "momentum must be a number from 0 to below 1, got 1.0"),
    ("--noise", "nan", "noise must be a number from 0 to 10, got nan"),
    ("--weight-decay", "nan", "weight_decay must be a number from 0 to 1, got nan"),
    ("--clip", "nan", "clip must be a number above 0, at most 1,000,000, got nan"),
    ("--clip", "inf", "clip must be a number above 0, at most 1,000,000, got inf"),
    ("--seed", str(10**23), "seed must be a whole number from 0 to 4,294,967,295, got a number of 24 digits"),
    ("--seed", "-1", "seed must be a whole number from 0 to 4,294,967,295, got -1"),
    ("--epochs", str(10**12), "epochs must be a whole number from 1 to 100,000, got 1000000000000"),
    ("--batch-size", str(10**9), "batch_size must be a whole number from 1 to 1,000,000"),
    ("--train-size", "0", "train_size must be a whole number from 1 to 100,000,000, got 0"),
    ("--val-size", str(10**10), "val_size must be a whole number from 1 to 100,000,000"),
    ("--warmup-steps", "-5", "warmup_steps must be a whole number from 0 to 10,000,000, got -5"),
    ("--patience", "0", "patience must be a whole number from 1 to 100,000, got 0"),
    ("--log-every", "0", "log_every must be a whole number from 1 to 1,000,000, got 0"),
    ("--step-epochs", "0", "step_epochs must be a whole number from 1 to 100,000, got 0"),
])
def test_a_setting_out_of_its_range_exits_2_naming_it_before_anything_runs(
        option: str, value: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert train("mlp", *QUICK, option, value) == 2
    assert words in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no run folder


def ranged_fields() -> list:
    return [f for f in fields(TrainConfig) if "range" in f.metadata]


@pytest.mark.parametrize("spec", ranged_fields(), ids=lambda f: f.name)
def test_every_numeric_setting_refuses_non_finite_values_and_both_sides_of_its_range(spec) -> None:
    allowed = spec.metadata["range"]
    bad = [math.nan, math.inf, -math.inf, allowed.low - 1, allowed.high * 2 + 1]
    if allowed.whole:
        bad += [1.5, "3", True]
    for value in bad:
        with pytest.raises(ConfigError, match=f"^{spec.name} must be"):
            TrainConfig(**{spec.name: value})
    TrainConfig(**{spec.name: allowed.high if not allowed.below else allowed.high / 2})


@pytest.mark.parametrize("spec", [f for f in ranged_fields() if f.name != "health_every"], ids=lambda f: f.name)
def test_train_help_shows_each_range_as_declared(spec) -> None:
    """health_every is the app's, not an option."""
    (train_parser,) = [a for a in main.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    option = "--" + spec.name.replace("_", "-")
    (action,) = [a for a in train_parser.choices["train"]._actions if option in a.option_strings]
    assert f"({range_text(spec.name)}; default " in action.help


@pytest.mark.parametrize("name", ["optimizer", "features", "no_such_setting"])
def test_a_setting_without_a_range_has_no_range_to_give(name: str) -> None:
    """It raised StopIteration, which ends a generator that asks silently, instead of the KeyError it promised."""
    with pytest.raises(KeyError, match=name):
        setting_range(name)


def test_every_template_trains_with_settings_inside_the_ranges() -> None:
    for name in template_names():
        template_config(load_graph(name).training)  # raises ConfigError, naming the setting, otherwise


# ---- --settings ------------------------------------------------------------------------------------------------

def write(path: Path, content: object) -> Path:
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize(("content", "words"), [
    ({"lr": 0.01, "epocs": 3}, "unknown training setting: epocs (the settings are: dataset, epochs,"),
    ({"config": {"lr": "fast"}}, "lr must be a number above 0, at most 10, got 'fast'"),
    ({"epochs": 2.5}, "epochs must be a whole number from 1 to 100,000, got 2.5"),
    ({"lr": float("nan")}, "lr must be a number above 0, at most 10, got nan"),
    ([1, 2], "must hold a JSON object of settings, not list"),
])
def test_a_wrong_settings_file_exits_2_naming_the_file_and_the_setting(
        content: object, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "settings.json", content)
    assert train("mlp", "--settings", str(path), "--quiet") == 2
    err = capsys.readouterr().err
    assert words in err and "settings file" in err and str(path) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


@pytest.mark.parametrize("raw", ["{not json", "", "\xff\xfe"])
def test_a_settings_file_that_is_not_json_exits_2(raw: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.json").write_text(raw, encoding="latin-1")
    assert train("mlp", "--settings", str(tmp_path / "s.json"), "--quiet") == 2
    assert f"the settings file '{tmp_path / 's.json'}' is not a JSON object of settings" in capsys.readouterr().err


def test_a_missing_settings_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train("mlp", "--settings", str(tmp_path / "nope.json"), "--quiet") == 2
    assert f"cannot read the settings file '{tmp_path / 'nope.json'}'" in capsys.readouterr().err


@pytest.mark.parametrize("special", ["folder", "/dev/zero"])
def test_a_settings_path_that_is_not_a_file_exits_2_without_reading_it(special: str, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/zero has no end: reading it whole never returned."""
    path = str(tmp_path) if special == "folder" else special
    if not Path(path).exists():
        pytest.skip(f"no {path} here")
    assert train("mlp", "--settings", path, "--quiet") == 2
    assert f"the settings file '{path}' is not a file" in capsys.readouterr().err


def test_a_settings_file_too_large_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "huge.json").write_text(" " * (2 << 20) + "{}")
    assert train("mlp", "--settings", str(tmp_path / "huge.json"), "--quiet") == 2
    assert "is too large for a settings file" in capsys.readouterr().err


def test_settings_file_values_replace_the_templates_and_options_replace_them(tmp_path: Path) -> None:
    """A plain object of settings: the template's defaults for the rest; null is a value (no clipping)."""
    out = tmp_path / "run"
    path = write(tmp_path / "mine.json", {"lr": 0.02, "batch_size": 16, "clip": None, "optimizer": "sgd"})
    assert train("mlp", "--settings", str(path), "--batch-size", "32", "--out", str(out), *QUICK) == 0
    config = json.loads((out / "settings.json").read_text())["config"]
    assert (config["lr"], config["batch_size"], config["optimizer"], config["clip"]) == (0.02, 32, "sgd", None)
    assert config["dataset"] == "blobs"  # the template's


# ---- the NaN diagnosis -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "named"), [
    ({"lr": 5.0, "optimizer": "sgd"}, "the learning rate 5 is high for sgd (try --lr 0.01)"),
    ({"lr": 0.5, "optimizer": "adam"}, "the learning rate 0.5 is high for adam (try --lr 0.001)"),
    ({"momentum": 0.995, "optimizer": "sgd", "lr": 0.01}, "the momentum 0.995 is close to 1 (try --momentum 0.9)"),
    ({"weight_decay": 0.9}, "the weight decay 0.9 is large (try --weight-decay 0.01)"),
    ({"noise": 5.0}, "the input noise 5 is large (try --noise 0.1)"),
])
def test_the_nan_diagnosis_names_the_setting_out_of_the_ordinary(changes: dict, named: str) -> None:
    message = str(non_finite_loss(math.nan, 8, 1, 0.0, TrainConfig(**changes)))
    assert f"settings out of the ordinary: {named}" in message
    assert "inf" not in message and "nan" not in message.replace("NaN", "")


def test_the_nan_diagnosis_of_ordinary_settings_advises_from_the_base_learning_rate() -> None:
    """The schedule's rate at that step may be 0 (the end of a cosine), or was inf: never advise --lr 0 or inf."""
    message = str(non_finite_loss(math.inf, 3, 1, 0.0, TrainConfig(lr=0.003)))
    assert "with learning rate 0:" in message and "Try a lower learning rate (e.g. --lr 0.0003)" in message


def test_a_run_that_diverges_with_a_huge_learning_rate_names_it(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert train("mlp", "--optimizer", "sgd", "--lr", "5", "--weight-decay", "1", "--epochs", "2",
                 "--train-size", "500", "--quiet", "--out", str(tmp_path / "run")) == 1
    err = capsys.readouterr().err
    assert "the learning rate 5 is high for sgd (try --lr 0.01); the weight decay 1 is large" in err


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**80, 2**80), st.floats(),
                        st.text(max_size=6), st.lists(st.text(max_size=3), max_size=2), st.dictionaries(
                            st.text(max_size=2), st.integers(), max_size=1))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in fields(TrainConfig)]), JSON_VALUES, max_size=6))
def test_any_settings_file_is_refused_naming_a_setting_or_holds_only_values_inside_the_ranges(values: dict) -> None:
    try:
        config = TrainConfig.from_dict(values)
    except ConfigError as error:
        assert str(error).split()[0] in values
        return
    for spec in ranged_fields():
        value = getattr(config, spec.name)
        assert (value is None and spec.default is None) or spec.metadata["range"].holds(value)
