"""Which side of a comparison a run is on — with or without transfer (or adaptation, or the teacher) — and the
words and line style that go with it, the same on every page: with blue and solid, without red and dashed."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from tl_core.runs.baselines import ARM_LABELS
from tl_core.runs.config import RunConfig
from tl_core.runs.identity import Role
from tl_core.strategies import strategy_class, transfers
from tl_view import charts, theme


def is_without(config: RunConfig) -> bool:
    """A baseline, a run that transfers nothing, or one that is a baseline by nature (source-only) or by its
    settings (DANN with domain weight 0)."""
    return (config.role == Role.BASELINE or not transfers(config)
            or strategy_class(config.strategy).runs_without(config))


def learns_from_source_labels(strategy: str, *, adapting: bool) -> bool:
    """Does `strategy` learn the labels of the source only, and (`adapting`) align the target's unlabelled images
    with them (DANN) or (not `adapting`) ignore the target (source-only, the lower reference)?"""
    cls = strategy_class(strategy)
    return cls.labelled_domain == "source" and cls.uses_unlabelled_target == adapting


def side_label(config: RunConfig) -> str:
    """'with transfer', 'with adaptation', 'without adaptation', 'without the teacher', ..."""
    cls = strategy_class(config.strategy)
    if config.role == Role.BASELINE:
        return ARM_LABELS.get(config.arm, cls.baseline_label)
    return cls.baseline_label if is_without(config) else cls.with_label()


def strategy_text(config: RunConfig) -> str:
    """A table's 'strategy' cell: a baseline says what it is ('without adaptation (dann, domain weight 0)')."""
    if config.role != Role.BASELINE and not strategy_class(config.strategy).runs_without(config):
        return config.strategy
    return f"{side_label(config)} ({config.strategy}{', domain weight 0' if config.settings.get('domain_weight') == 0 else ''})"


def role_curves(runs: Sequence[tuple[RunConfig, str, Sequence[Mapping]]]) -> list[charts.Curve]:
    """One curve per (config, label, history): the first run with transfer blue and solid, the first without red
    and dashed, any further one of either side another colour in its side's dash."""
    curves, taken, extra = [], set(), 0
    for config, label, history in runs:
        without = is_without(config)
        if without not in taken:
            taken.add(without)
            curves.append(charts.without_transfer(history, label) if without else charts.with_transfer(history, label))
            continue
        curves.append(charts.Curve(label, history, theme.run_color(extra), dash="dash" if without else "solid"))
        extra += 1
    return curves


def run_labels(views: Sequence) -> list[str]:
    """A legend label per run: its name, else which side it is ('with adaptation'), numbered when two repeat."""
    labels, seen = [], {}
    for view in views:
        label = view.config.name or f"{view.config.strategy}, {side_label(view.config)}"
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return labels
