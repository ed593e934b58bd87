from __future__ import annotations

from tl_core.strategies.base import Strategy
from tl_core.strategies.registry import register


@register("scratch")
class Scratch(Strategy):
    """The 'without transfer' baseline: random weights, every layer trains."""

    summary = "No transfer: random weights, every layer trains on the target labels alone."
    is_without = True
    uses_weights = False
    uses_freeze = False
    freeze_note = "Scratch ignores the weights and the freeze depth: everything trains from random weights."

    def effective_config(self, config):
        return config.replace(weights="random", freeze=0)  # what uses_weights and uses_freeze say, recorded
