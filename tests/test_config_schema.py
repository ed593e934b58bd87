"""RunConfig's fields declare their range and choices once: the form, the CLI and the validator all read them."""
import argparse
import json

import pytest
from streamlit.testing.v1 import AppTest

from tl_core.cli import CONFIG_OPTIONS, _parser, main
from tl_core.errors import ConfigError
from tl_core.runs.config import RunConfig, config_schema
from tl_core.runs.validation import validate_config
from tl_core.strategies import build_strategy, parse_settings
from tl_ui.form import NUMBERS
from tl_view import config_widgets

SCHEMA = config_schema()
BOUNDED = [name for name, s in SCHEMA.items() if s.low is not None or s.high is not None]


def _train_options() -> dict[str, argparse.Action]:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


def _draw_form():
    """The Experiment form's controls alone (the pages need the whole dashboard)."""
    import streamlit as st

    from tl_ui import form

    class Store:
        def list(self, **_):
            return []

    class Manager:
        store = Store()

    result = form.controls(Manager())
    st.session_state["drawn"] = result.config.to_dict()


def _form() -> AppTest:
    return AppTest.from_function(_draw_form, default_timeout=180).run()


def _error_of(config: RunConfig) -> str:
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    return str(err.value)


def test_every_field_is_on_the_command_line_or_deliberately_not():
    assert set(CONFIG_OPTIONS) | {"settings", "role", "experiment", "arm"} == set(SCHEMA)
    assert set(NUMBERS) <= set(CONFIG_OPTIONS)


@pytest.mark.parametrize("name", CONFIG_OPTIONS)
def test_the_cli_option_reads_the_schema(name):
    schema, action = SCHEMA[name], _train_options()[name]
    assert action.option_strings == [f"--{name.replace('_', '-')}"]
    assert schema.help.rstrip(".") in action.help
    assert action.choices == schema.choices
    if schema.kind in ("int", "float"):
        assert action.type(str(schema.low)) == schema.low


@pytest.mark.parametrize("name", BOUNDED)
def test_the_validator_keeps_each_field_in_its_range(name):
    schema = SCHEMA[name]
    for inside in (schema.low, schema.high):
        if inside is not None:
            validate_config(RunConfig(**{name: inside}))
    outside = ([schema.low - 1] if schema.low is not None else []) + ([schema.high + 1] if schema.high is not None
                                                                      else [])
    for value in outside:
        assert f"{schema.label} must be {schema.range_text()}" in _error_of(RunConfig(**{name: value}))


@pytest.mark.parametrize("name", BOUNDED)
def test_the_cli_refuses_out_of_range_values_with_the_validators_words(name, tmp_path, capsys):
    schema = SCHEMA[name]
    value = schema.high + 1 if schema.high is not None else schema.low - 1
    assert main(["train", "--runs-dir", str(tmp_path), f"--{name.replace('_', '-')}", str(value)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {_error_of(RunConfig(**{name: type(schema.low)(value)}))}"


def test_the_form_draws_every_config_widget_from_the_schema():
    at = _form()
    assert not at.exception, [e.value for e in at.exception]
    for name in NUMBERS:
        widget, schema = at.number_input(key=f"x_{name}"), SCHEMA[name]
        assert (widget.min, widget.max, widget.help) == (schema.low, schema.high, schema.help), name
        assert config_widgets.number_widget(name)["label"] == widget.label
    assert at.selectbox(key="x_device").options == list(SCHEMA["device"].choices)
    labels = SCHEMA["labels_per_class"]
    numbers = [int(o) for o in at.select_slider(key="x_labels").options if o != "all"]
    assert labels.optional and all(labels.low <= n <= labels.high for n in numbers)
    assert at.slider(key="x_freeze").min == SCHEMA["freeze"].low
    for name in ("source", "target", "backbone", "strategy"):
        assert at.selectbox(key=f"x_{name}").help == SCHEMA[name].help
    assert at.radio(key="x_weights").help == SCHEMA["weights"].help
    assert at.text_input(key="x_name").help == SCHEMA["name"].help
    assert set(at.session_state["drawn"]) == set(SCHEMA)


def _upload(at: AppTest, data: dict) -> AppTest:
    body = json.dumps(data).encode()
    return at.file_uploader(key="x_config_file").set_value(("config.json", body, "application/json")).run()


def test_an_uploaded_config_keeps_its_values_or_says_what_is_wrong():
    at = _form()
    good = RunConfig(epochs=SCHEMA["epochs"].high, labels_per_class=37, weight_decay=0.01, device="cpu").to_dict()
    at = _upload(at, good)
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["drawn"] == good
    at = _upload(at, {**good, "epochs": "5"})
    assert any("epochs must be a whole number, not '5'" in e.value for e in at.error), [e.value for e in at.error]
    assert at.number_input(key="x_epochs").value == SCHEMA["epochs"].high


def test_a_value_beyond_todays_bounds_is_moved_inside_them_and_the_form_says_so():
    at = AppTest.from_function(_draw_form, default_timeout=180)
    at.session_state["x_seed"] = 2**40  # e.g. an older run opened from the Runs page
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="x_seed").value == SCHEMA["seed"].high
    assert any("Seed 1099511627776 is beyond the range" in w.value for w in at.warning)


@pytest.mark.parametrize("changes, words", [
    ({"epochs": "5"}, "epochs must be a whole number, not '5'"),
    ({"epochs": 5.0}, "epochs must be a whole number, not 5.0"),
    ({"seed": True}, "seed must be a whole number, not True"),
    ({"lr": float("nan")}, "learning rate must be a finite number, not nan"),
    ({"weight_decay": "0.1"}, "weight decay must be a finite number"),
    ({"labels_per_class": 1e20}, "labels per class must be a whole number"),
    ({"device": 1}, "device must be text, not 1"),
    ({"settings": []}, "settings must be a JSON object"),
    ({"settings": {"head_epochs": 1.5}}, "Setting 'head_epochs' of 'fine-tune' must be a whole number, not 1.5"),
    ({"settings": {"lr_decay": "0.5"}}, "Setting 'lr_decay' of 'fine-tune' must be a finite number"),
])
def test_a_config_dict_with_wrong_types_is_a_config_error(changes, words):
    config = RunConfig.from_dict({**RunConfig().to_dict(), **changes})
    assert words in _error_of(config)


def test_an_int_is_a_fine_float_and_none_means_every_label():
    config = validate_config(RunConfig(lr=1, labels_per_class=None, settings={"lr_decay": 1}))
    assert config.labels_per_class is None
    assert build_strategy("fine-tune", {"lr_decay": 1}).settings.lr_decay == 1.0


def test_a_huge_labels_per_class_is_one_line_and_no_run(tmp_path, capsys):
    assert main(["train", "--runs-dir", str(tmp_path), "--labels-per-class", "100000000000000000000"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: labels per class must be between 1 and 100000, not 100000000000000000000."
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("setting, words", [
    ("lr_decay=abc", "Setting 'lr_decay' of 'fine-tune' must be a finite number, not 'abc'."),
    ("head_epochs=1.5", "Setting 'head_epochs' of 'fine-tune' must be a whole number, not '1.5'."),
    ("lr_decay=nan", "Setting 'lr_decay' of 'fine-tune' must be a finite number, not 'nan'."),
    ("nope=1", "Strategy 'fine-tune' has no setting nope"),
])
def test_strategy_settings_on_the_command_line_are_cast_strictly(setting, words, tmp_path, capsys):
    assert main(["train", "--runs-dir", str(tmp_path), "--set", setting]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err
    assert not any(tmp_path.iterdir())


def test_strategy_settings_are_cast_by_their_field_types():
    assert parse_settings("fine-tune", {"lr_decay": "1", "head_epochs": "2"}) == {"lr_decay": 1.0, "head_epochs": 2}
    assert parse_settings("dann", {"standardize": "false"}) == {"standardize": False}
    assert parse_settings("distill", {"teacher": "123"}) == {"teacher": "123"}
    with pytest.raises(ConfigError, match="must be true or false"):
        parse_settings("dann", {"standardize": "maybe"})
