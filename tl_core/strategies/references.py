"""The lower and upper references of every adaptation table."""
from __future__ import annotations

from tl_core.strategies.fine_tune import FineTune
from tl_core.strategies.registry import register
from tl_core.strategies.same_classes import require_same_classes


@register("source-only")
class SourceOnly(FineTune):
    """Train on the labelled source, test on the target: what the domain shift costs (the lower reference)."""

    summary = "Lower reference: train on labelled source images only and test on the target."
    labelled_domain = "source"
    needs_source_labels = True
    baseline_label = "without adaptation"
    is_without = True  # the lower reference of every adaptation table

    def check_config(self, config) -> None:
        require_same_classes(config, "source-only")


@register("target-only")
class TargetOnly(FineTune):
    """Train on every labelled target image: what full supervision reaches (the upper reference)."""

    summary = "Upper reference: train on every labelled target image."

    def effective_config(self, config):
        return config.replace(labels_per_class=None)
