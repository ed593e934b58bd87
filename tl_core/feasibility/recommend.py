"""A recommendation in plain words, placed on the lectures' grid of four cases:

                     similar to the source                 different from the source
    small target     keep the transferred features frozen  keep most of it frozen; retrain only the last
                     and train a linear head on them       layers (or read features from earlier layers)
    large target     fine-tune through the whole network   fine-tune everything; transferred weights are still
                     from the transferred weights          a better start than random ones, if only a little

Both axes are measured, not asked:
- small/large: labelled training images per class, below SMALL_PER_CLASS (100) is small. Fine-tuning a whole
  network on fewer than ~100 images a class tends to memorise them; the lab's CPU datasets sit below it.
- similar/different: a linear probe on transferred features against the same probe on random features of the
  same backbone; a gain of SIMILAR_MIN_GAIN (5 points) or more means the source taught features this target can
  use. Without that pair, the source-vs-target domain confusion accuracy decides (at most
  SIMILAR_MAX_CONFUSION_ACC: the domains overlap), else the case is left open.
Every number in the text comes from the results it is given; what was measured wins over the grid's advice.
Which setting wins is decided on the folds' validation splits; the accuracies quoted are the folds' test splits,
which played no part in the choice. One fold has no spread, so a comparison that needs one stays undecided.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tl_core.feasibility.label_curve import LabelCurve
from tl_core.feasibility.results import Score
from tl_core.feasibility.sweep import (SIMILAR_MIN_GAIN, SMALL_PER_CLASS, SettingScore, SweepReport, chosen_by,
                                      trained_groups_phrase)
from tl_core.strategies import strategy_class

SIMILAR_MAX_CONFUSION_ACC = 0.75  # a linear classifier tells the domains apart at most this well: "similar"
SAME_WITHIN_POINTS = 1.0  # differences below one accuracy point are "about the same"
HELD_OUT_NOTE = ("Settings were compared on each fold's validation split; the accuracies quoted are on the folds' "
                 "test splits, which played no part in the choice.")

CELLS = {
    ("small", "similar"): "Small target, similar to the source: use the network as a fixed feature extractor and "
                          "train only a new linear head; fine-tuning risks overfitting the few labels.",
    ("large", "similar"): "Large target, similar to the source: there is enough data to fine-tune through the "
                          "whole network, starting from the transferred weights with small learning rates.",
    ("small", "different"): "Small target, different from the source: keep most of the network frozen and "
                            "retrain only its last layers (or train the head on earlier-layer features); expect "
                            "modest gains and consider collecting more labels.",
    ("large", "different"): "Large target, different from the source: fine-tune the whole network; starting from "
                            "transferred weights usually still beats random ones, and training from scratch "
                            "becomes an option.",
}


@dataclass(frozen=True)
class Recommendation:
    size: str  # "small" | "large"
    similarity: str  # "similar" | "different" | "unknown"
    headline: str  # the one measured sentence
    advice: str  # what the grid cell says, in the lab's words
    evidence: tuple[str, ...]  # how both axes were decided, with the numbers
    strategy: str  # what to use: "linear-probe" | "fine-tune" | "scratch"
    best: dict = field(default_factory=dict)  # the best setting measured: label, strategy, freeze, acc mean/sd
    caveat: str = ""  # what the check could not try, and what to do about it

    @property
    def cell(self) -> str:
        return f"{self.size}-{self.similarity}"

    @property
    def text(self) -> str:
        return " ".join([self.headline, self.advice, *self.evidence, *([self.caveat] if self.caveat else [])])

    def to_dict(self) -> dict:
        return {**asdict(self), "cell": self.cell, "text": self.text}


def _pm(s: SettingScore) -> str:
    return _pm_score(s.score)


def _points(delta: float) -> str:
    n = round(abs(delta) * 100)
    return f"{n} point{'s' if n != 1 else ''}"


def _per_class_phrase(labels: float | None) -> str:
    return "" if labels is None else f" with {labels:.0f} images per class"


def size_of(labels_per_class: float | None, small_below: float = SMALL_PER_CLASS) -> str:
    return "small" if labels_per_class is None or labels_per_class < small_below else "large"


def _size_evidence(labels: float | None, size: str) -> str:
    if labels is None:
        return "The number of labelled images per class is unknown, so the target is treated as small."
    if size == "small":
        return (f"{labels:.0f} labelled images per class is below {SMALL_PER_CLASS}, so the target counts as small.")
    return f"{labels:.0f} labelled images per class is at least {SMALL_PER_CLASS}, so the target counts as large."


def similarity_of(transfer_gain: float | None, confusion_acc: float | None) -> tuple[str, str]:
    """('similar' | 'different' | 'unknown', the evidence in words)."""
    if transfer_gain is not None:
        verdict = "similar" if transfer_gain >= SIMILAR_MIN_GAIN else "different"
        sign = "beat" if transfer_gain >= 0 else "trail"
        return verdict, (f"Transferred features {sign} random ones by {_points(transfer_gain)} in a linear probe "
                         f"({'at least' if verdict == 'similar' else 'less than'} {_points(SIMILAR_MIN_GAIN)}), so "
                         f"the target counts as {verdict} to the source.")
    if confusion_acc is not None:
        verdict = "similar" if confusion_acc <= SIMILAR_MAX_CONFUSION_ACC else "different"
        return verdict, (f"A linear classifier tells source from target features apart with accuracy "
                         f"{confusion_acc:.2f} (0.5 would mean indistinguishable), so the target counts as {verdict}.")
    return "unknown", "Transferred and random features were not both measured, so similarity is unknown."


def _curve_phrase(curve: LabelCurve | None) -> str:
    if curve is None or curve.extrapolation.method == "none":
        return ""
    e = curve.extrapolation
    at = f"at {2 * e.current_labels:.0f} per class"
    if e.verdict == "undecided":
        if e.gain_low != e.gain_low:
            return "whether more labels pay off is undecided (one fold: no band to judge by)"
        return (f"whether more labels pay off is undecided (between {100 * e.gain_low:+.0f} and "
                f"{100 * e.gain_high:+.0f} points {at}, 95% band over folds)")
    band = f"{100 * e.gain_low:+.0f} to {100 * e.gain_high:+.0f} points {at}"
    if e.still_paying_off:
        return f"more labels are still paying off ({band}, 95% band over folds)"
    return f"more labels would add little ({band})"


def recommend(sweep: SweepReport, curve: LabelCurve | None = None, labels_per_class: float | None = None,
              domain_confusion_acc: float | None = None) -> Recommendation | None:
    """The recommendation from what was measured; None until at least one probe has finished.

    `labels_per_class` defaults to what the best probe really trained on; `domain_confusion_acc` to what the
    sweep measured (source-vs-target features of the best transferring candidate).
    """
    probe = sweep.best_transfer_probe or sweep.best_probe
    if probe is None or not probe.score.runs:
        return None
    labels = labels_per_class if labels_per_class is not None else probe.score.labels_per_class
    size = size_of(labels)
    confusion = domain_confusion_acc if domain_confusion_acc is not None else sweep.domain_confusion_acc
    similarity, why_similar = similarity_of(sweep.transfer_gain, confusion)
    evidence = [why_similar]
    if sweep.transfer_gain is not None and confusion is not None:
        evidence.append(_confusion_beside_gain(confusion, similarity))
    evidence.append(_size_evidence(labels, size))
    evidence.append(HELD_OUT_NOTE)

    random_probe = sweep.random_probe
    useless = (probe.candidate.transfers and random_probe is not None and random_probe.score.runs
               and not clearly_better(probe.score, random_probe.score))
    what = "Feature extraction" if probe.candidate.transfers else "A linear probe on random features"
    parts = [f"{what} with {probe.candidate.label} reaches {_pm(probe)}{_per_class_phrase(labels)}"]
    if useless:
        parts = [f"No pretrained network in this check clearly helps these images: feature extraction with "
                 f"{probe.candidate.label} reaches {_pm(probe)}{_per_class_phrase(labels)}, random weights "
                 f"{_pm(random_probe)} — not better by more than the fold-to-fold spread, so transferring from it "
                 "is not recommended"]
    finetune = next((s for s in sweep.finetune if s.candidate == probe.candidate and s.score.runs), None)
    if finetune is not None and finetune.score.runs:
        delta = finetune.score.target_acc_mean - probe.score.target_acc_mean
        how = f"fine-tuning {_trained(finetune)}"
        if abs(delta) * 100 < SAME_WITHIN_POINTS:
            parts.append(f"{how} makes no difference ({_pm(finetune)})")
        elif delta > 0:
            parts.append(f"{how} adds {_points(delta)} ({_pm(finetune)})")
        else:
            parts.append(f"{how} loses {_points(delta)} ({_pm(finetune)})")
    scratch = _scratch_all(curve)
    best_transfer = max((s for s in (*sweep.probe, *sweep.finetune) if s.candidate.transfers and s.score.runs),
                        key=chosen_by, default=None)
    lead = _scratch_lead(curve, best_transfer) if not useless else ""
    if lead:  # labels are plentiful enough that learning without transfer did best: say so first, and its cost
        parts = [lead, parts[0][0].lower() + parts[0][1:]] + parts[1:]
    curve_text = _curve_phrase(curve)
    if curve_text:
        parts.append(curve_text)
    headline = "; ".join(parts) + "."

    advice = CELLS.get((size, similarity)) or CELLS[(size, "different")].replace(
        "different from the source", "similarity unknown")
    grid_strategy = "linear-probe" if (size, similarity) == ("small", "similar") else "fine-tune"
    baselines = [(s.label, s.score, s) for s in sweep.probe if not s.candidate.transfers and s.score.runs]
    if scratch is not None:
        baselines.append(("training from scratch with every label", scratch, None))
        evidence.append(f"Without transfer, training {probe.candidate.backbone} from scratch with every label reaches "
                        f"{_pm_score(scratch)}.")
    baseline = max(baselines, key=lambda b: _validation(b[1]), default=None)
    best: SettingScore | None = best_transfer or sweep.best
    grid_best = _best_of(sweep, probe.candidate, grid_strategy)
    measured = grid_strategy
    if best_transfer is not None and baseline is not None and clearly_better(baseline[1], best_transfer.score):
        measured = "scratch"
        advice += (f" Here no transferred setting beat learning without transfer (best: {baseline[0]}, "
                   f"{_pm_score(baseline[1])}, against {_pm(best_transfer)} for {best_transfer.label}): this source "
                   "does not help these images, so train from scratch or try a source closer to them.")
        best = baseline[2]
    elif best is not None and best.strategy != grid_strategy and grid_best is not None:
        if clearly_better(best.score, grid_best.score):
            measured = best.strategy
            favoured = "fine-tuning" if strategy_class(measured).trains_backbone else "feature extraction"
            advice += (f" Here the measurements favour {favoured} ({best.label}: {_pm(best)}, against "
                       f"{_pm(grid_best)}), so prefer that.")
        elif not (best.score.has_spread and grid_best.score.has_spread):
            advice += (f" Undecided between {best.label} ({_pm(best)}) and {grid_best.label} ({_pm(grid_best)}): "
                       "with one fold there is no spread to judge a difference by.")
        else:
            advice += (f" The measurements cannot tell them apart: {best.label} ({_pm(best)}) is within the "
                       f"fold-to-fold spread of {grid_best.label} ({_pm(grid_best)}).")
    elif best is not None and best.strategy != grid_strategy:
        unmeasured = "Fine-tuning" if strategy_class(grid_strategy).trains_backbone else "Feature extraction"
        advice += (f" {unmeasured} has not been measured yet; so far the best setting is {best.label} "
                   f"({_pm(best)}).")
    elif best is not None:
        measured = best.strategy
        advice += f" The measurements agree: the best setting was {best.label} ({_pm(best)})."
    if useless:
        measured, best = "scratch", baseline[2] if baseline is not None else random_probe
    if not strategy_class(measured).uses_weights and best is None and scratch is not None:
        best_info = {"label": "training from scratch with every label", "strategy": "scratch", "freeze": 0,
                     "target_acc_mean": scratch.target_acc_mean, "target_acc_sd": scratch.target_acc_sd}
    else:
        best_info = {} if best is None else {
            "label": best.label, "backbone": best.candidate.backbone, "weights": best.candidate.weights,
            "source": best.candidate.source, "strategy": best.strategy, "freeze": best.freeze,
            "target_acc_mean": best.score.target_acc_mean, "target_acc_sd": best.score.target_acc_sd}
    return Recommendation(size, similarity, headline, advice, tuple(evidence), measured, best_info,
                          missing_pretrained(sweep, useless))


def missing_pretrained(sweep: SweepReport, useless: bool) -> str:
    """What the check could not try when no broadly pretrained (ImageNet or user-supplied) network was in it."""
    candidates = {s.candidate for s in (*sweep.probe, *sweep.finetune)}
    if any(c.weights == "imagenet" or c.weights.startswith("file:") for c in candidates):
        return ""
    sources = sorted({c.source for c in candidates if c.weights == "source"})
    only = f"a network pretrained on {', '.join(sources)} " if sources else "no pretrained network "
    verdict = ("which does not help here" if useless else
               "which suits digit-like images; for photos it says little about what transfer could do")
    return (f"No ImageNet-pretrained backbone was tried: none has its weights cached on this server and the check "
            f"never downloads, so the only source was {only}({verdict}). To try one, connect this server to the "
            "internet once and run `python -m tl_core train --backbone resnet18 --weights imagenet --epochs 1` "
            "(resnet18's weights are then cached and the next check includes them), or supply a weights file "
            "(.safetensors) as the starting weights.")


def clearly_better(a: Score, b: Score) -> bool:
    """Whether `a` beats `b` on the validation splits by at least SAME_WITHIN_POINTS and by more than the larger
    fold-to-fold spread, so a lucky fold does not flip the advice. With one fold there is no spread: never."""
    if not (a.has_spread and b.has_spread):
        return False
    diff = a.val_acc_mean - b.val_acc_mean
    return diff * 100 >= SAME_WITHIN_POINTS and diff > max(a.val_acc_sd, b.val_acc_sd)


def _validation(score: Score) -> float:
    value = score.val_acc_mean
    return -1.0 if value != value else value


def _best_of(sweep: SweepReport, candidate, strategy: str) -> SettingScore | None:
    settings = [s for s in (*sweep.probe, *sweep.finetune)
                if s.candidate == candidate and s.strategy == strategy and s.score.runs]
    return max(settings, key=chosen_by, default=None)


def _pm_score(score: Score) -> str:
    if not score.has_spread:
        return f"{score.target_acc_mean:.2f} (one fold)"
    return f"{score.target_acc_mean:.2f} ± {score.target_acc_sd:.2f}"


def _confusion_beside_gain(confusion: float, similarity: str) -> str:
    """The domain-confusion number beside the probe gain that decided similarity, reconciled when they seem to
    disagree: 'similar' here means the source's features serve this target, not that the images look alike."""
    text = f"Source and target features are told apart with accuracy {confusion:.2f} (0.5: indistinguishable)"
    apart = confusion > SIMILAR_MAX_CONFUSION_ACC
    if similarity == "similar" and apart:
        return (f"{text}: the images still look different to the network, yet what it learned on the source "
                "serves this target — the probe gain above, not how alike the images look, is what decides "
                "'similar' here.")
    if similarity == "different" and not apart:
        return (f"{text}: the domains overlap, yet the transferred features do not help this target enough — "
                "the probe gain above decides 'different' here.")
    return f"{text}, which agrees."


def _scratch_lead(curve: LabelCurve | None, best_transfer: SettingScore | None) -> str:
    """When training from scratch with every label scored best on validation (by at least SAME_WITHIN_POINTS),
    the headline's first clause: its accuracy, and what it costs in labels (the smallest budget on the curve
    where scratch comes within a point of it); the transferred setting's numbers follow it."""
    scratch = _scratch_all(curve)
    if scratch is None or best_transfer is None or \
            (_validation(scratch) - _validation(best_transfer.score)) * 100 < SAME_WITHIN_POINTS:
        return ""
    done = [p for p in curve.scratch if p.score.runs]
    enough = next((p for p in done if p.score.target_acc_mean * 100 >= scratch.target_acc_mean * 100
                   - SAME_WITHIN_POINTS), done[-1])
    judged = "" if clearly_better(scratch, best_transfer.score) else (
        " (not beyond the fold-to-fold spread)" if scratch.has_spread and best_transfer.score.has_spread
        else " (one fold: no spread to judge the difference by)")
    cost = (f"it needs about {enough.labels_per_class:.0f} labelled images per class to come within "
            f"{SAME_WITHIN_POINTS:.0f} point of that" if enough.labels_per_class is not None else
            "it needs every label")
    return (f"Training from scratch with every label reaches {_pm_score(scratch)}"
            f"{_per_class_phrase(done[-1].labels_per_class)}, the best measured here{judged}; the labels are its "
            f"cost: {cost}")


def _scratch_all(curve: LabelCurve | None) -> Score | None:
    """The no-transfer arm at the largest budget (every label), when it has finished runs."""
    if curve is None:
        return None
    done = [p for p in curve.scratch if p.score.runs]  # sorted by budget, None (all) last
    return done[-1].score if done else None


def _trained(s: SettingScore) -> str:
    return trained_groups_phrase(s.freeze, s.num_groups, s.group_names)
