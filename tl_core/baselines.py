"""What "without" means for each strategy: the baseline drawn beside a run, each arm at its own recipe.

- fine-tune, linear probe, target-only from transferred weights: *without transfer* — scratch on the same
  labelled target images for the same number of steps, at scratch's own learning rate (never the main run's);
- distill: *without the teacher* — the same student trained on its labels alone, at scratch's own rate;
- dann: *without adaptation* — the identical recipe (optimiser, rate, schedules, steps) with the adversarial
  weight at 0 and BatchNorm shared by both domains (no domain-specific statistics), which is source-only
  training through the same code path;
- scratch and source-only have no baseline of their own: they are the baselines.
"""
from __future__ import annotations

from tl_core.config import RunConfig
from tl_core.identity import Role

ARM_LABELS = {"without-transfer": "without transfer", "without-teacher": "without the teacher",
              "without-adaptation": "without adaptation"}
ARM_RECIPES = {
    "without-transfer": "scratch from random weights on the same labelled images for the same number of steps, "
                        "at scratch's own learning rate",
    "without-teacher": "the same student trained on its labels alone, at scratch's own learning rate",
    "without-adaptation": "the identical DANN recipe (optimiser, learning rate, schedules, steps) with the "
                          "adversarial weight at 0 and shared BatchNorm statistics: source-only training",
}


def baseline_for(config: RunConfig) -> RunConfig | None:
    """The baseline run of `config` (role baseline; its arm says which kind), or None when it has none."""
    from tl_core.strategies import suggested_lr

    common = dict(role=Role.BASELINE.value, name=_label(config))
    if config.strategy == "dann":
        return config.replace(settings={**config.settings, "domain_weight": 0.0, "domain_bn": False},
                              arm="without-adaptation", **common)
    if config.strategy in ("scratch", "source-only"):
        return None
    if config.strategy == "distill":
        return config.replace(strategy="scratch", weights="random", freeze=0, settings={}, lr=suggested_lr("scratch"),
                              arm="without-teacher", **common)
    if not config.transfers:
        return None
    return config.replace(strategy="scratch", weights="random", freeze=0, settings={}, lr=suggested_lr("scratch"),
                          arm="without-transfer", **common)


def _label(config: RunConfig) -> str:
    from tl_core.strategies import strategy_class

    what = strategy_class(config.strategy).baseline_label
    return f"{what} ({config.name})" if config.name else what
