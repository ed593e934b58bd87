"""The Domain shift page's words: how to read its confusion and accuracy charts together, and what DANN's own
domain head did, read from what the runs recorded."""
from __future__ import annotations

from collections.abc import Sequence

from tl_view import fmt

ADAPTATION_READING = (
    "Read the two together. Adaptation is the confusion falling toward the grey band **while** the target accuracy "
    "rises above the run without adaptation; a confusion that falls while the target accuracy falls too means the "
    "features are collapsing, not mixing. Target accuracy is measured on the target's test split; DANN and its "
    "twin never train on target labels.")


def domain_head_text(curves: Sequence) -> str:
    """What the domain head did in these runs, and what that means. Its accuracy need not head for 0.5: the head
    learns faster than the features (tl_core.strategies.dann), so it usually stays ahead of them; how mixed the
    features really are is the held-out probe's question."""
    moves = []
    for curve in curves:
        _, values = curve.series("domain_head_acc")
        moves.append(f"{curve.label}: {fmt.pct(values[0])} → {fmt.pct(values[-1])}")
    return ("**DANN's domain head** is the discriminator trained inside DANN, behind the gradient reversal layer: "
            "the features are pushed to fool it while it keeps learning to tell the domains apart, so the two "
            "pull against each other and its accuracy need not reach 0.5 (at 0.5 it would be learning nothing). "
            f"In these runs it went {'; '.join(moves)} (first → last epoch). Whether the features really mix is "
            "what the held-out classifier of the first chart measures, independently of training.")
