"""The strategy class is the one place that knows a strategy: nobody else compares a strategy's name, every
setting declares its range and help, and the validator and the form read them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tl_core.errors import ConfigError
from tl_core.runs.config import RunConfig
from tl_core.runs.validation import validate_config
from tl_core.strategies import build_strategy, settings_schema, strategy_class, strategy_names
from tl_view.forms import settings_fields

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("tl_core", "tl_ui", "tl_view", "pages")
HOME = ROOT / "tl_core" / "strategies"
NAMES = frozenset(strategy_names())


def _names_in(node: ast.AST) -> list[str]:
    """The registered strategy names `node` spells out: a string, or a tuple, list or set of strings."""
    if isinstance(node, ast.Constant) and node.value in NAMES:
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for element in node.elts for n in _names_in(element)]
    return []


def name_comparisons(source: str) -> list[tuple[int, str]]:
    """(line, name) for each place a strategy's name decides something: a comparison or membership test
    against it, a match-case on it, or a table keyed by strategy names (a dict whose keys are all strategy
    names; a dict of other terms that happens to hold one, like a glossary or a lesson's arms, is no such table).
    Choosing a strategy by name (`strategy="scratch"`, `strategy_class("dann")`) is fine."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            found += [(node.lineno, n) for side in (node.left, *node.comparators) for n in _names_in(side)]
        elif isinstance(node, ast.MatchValue):
            found += [(node.lineno, n) for n in _names_in(node.value)]
        elif isinstance(node, ast.Dict) and node.keys and all(k is not None and _names_in(k) for k in node.keys):
            found += [(node.lineno, n) for k in node.keys for n in _names_in(k)]
    return found


@pytest.mark.parametrize("source", [
    'if config.strategy == "dann": pass',
    'x = "scratch" != row["strategy"]',
    'x = strategy in ("scratch", "linear-probe")',
    'x = f"{1 if s == \'fine-tune\' else 2}"',
    'COST = {"dann": 2.0, "distill": 1.4}',
    'match strategy:\n    case "multitask": pass',
])
def test_the_check_sees_each_way_of_comparing_a_name(source):
    assert name_comparisons(source)


@pytest.mark.parametrize("source", [
    'config = RunConfig(strategy="scratch")',
    'cls = strategy_class("dann")',
    'TERMS = {"scratch": "random weights", "epoch": "one pass"}',
    'if stage == FINETUNE: pass',
])
def test_choosing_a_strategy_by_name_is_no_comparison(source):
    assert not name_comparisons(source)


def test_no_strategy_name_is_compared_outside_the_strategies_package():
    offences = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(HOME):
                continue
            offences += [f"{path.relative_to(ROOT)}:{line} compares '{name}'"
                         for line, name in name_comparisons(path.read_text())]
    assert not offences, "Ask the strategy class (tl_core/strategies/base.py) instead:\n" + "\n".join(offences)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_setting_declares_its_help_and_a_number_its_range(name):
    for key, schema in settings_schema(name).items():
        assert schema.help, f"{name}'s setting {key} has no help"
        if schema.kind in ("int", "float"):
            assert schema.low is not None and schema.high is not None, f"{name}'s setting {key} has no range"


@pytest.mark.parametrize("name", sorted(NAMES))
def test_the_form_widgets_carry_the_declared_bounds_and_help(name):
    schema = settings_schema(name)
    for field in settings_fields(strategy_class(name).Settings):
        declared = schema[field.name]
        assert (field.low, field.high, field.help) == (declared.low, declared.high, declared.help)
        if field.kind in ("int", "float"):
            assert field.low <= field.default <= field.high


def test_an_out_of_range_setting_is_refused_naming_the_range():
    with pytest.raises(ConfigError, match=r"Setting 'lr_decay' of 'fine-tune' must be between 0\.01 and 1, not 7"):
        validate_config(RunConfig(settings={"lr_decay": 7}))
    with pytest.raises(ConfigError, match=r"Setting 'hidden' of 'dann' must be between 1 and 4096, not 0"):
        build_strategy("dann", {"hidden": 0})
    assert build_strategy("dann", {"hidden": 4096}).settings.hidden == 4096


def test_the_capabilities_say_what_the_names_used_to():
    assert not strategy_class("scratch").uses_weights and not strategy_class("scratch").uses_freeze
    assert not strategy_class("linear-probe").trains_backbone and not strategy_class("linear-probe").uses_freeze
    assert strategy_class("fine-tune").uses_freeze and strategy_class("distill").needs_teacher
    assert strategy_class("dann").step_images[0] > 1 and strategy_class("linear-probe").encodes_once


def test_run_config_does_not_import_the_registry():
    tree = ast.parse((ROOT / "tl_core" / "runs" / "config.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names]
    assert not [m for m in imported if m and m.startswith("tl_core.strategies")]
