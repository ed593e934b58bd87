"""Verdicts of the lessons on self-supervised, zero-shot and multitask learning and on forgetting.

Each is decided on its lesson's claim (`tl_core.lessons`: primary contrast, side, minimum effect) by the lab's
one statistic, a 95% t-interval over per-seed paired values (`tl_core.analysis.intervals`). Runs are told
apart by arm and seed, never by name. They are called only once every seed of the lesson has finished.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from tl_core.analysis.intervals import all_of, seed_interval
from tl_core.data.attributes import class_attributes
from tl_core.verdicts import Claim, Run, Verdict, arm, by_seed, claim_text, difference, interval_text, judged, mean_of

FORGETTING_KEPT = 0.005  # task-A accuracy a progressive network may lose and still "keep it exactly" (rounding)
CAP_SLACK = 0.01  # how far above the collision cap a run may read (one image in a hundred) before it breaks it


def _gain_over(runs: Sequence[Run], claim: Claim, treated: str, control: str, lead: str, other: str,
               other_lead: str) -> Verdict:
    """`treated` against `control` seed by seed (the verdict), with `other` against the same control alongside."""
    gain = difference(runs, arm(treated), arm(control))
    extra = difference(runs, arm(other), arm(control))
    other_text = f"; {other_lead}: {interval_text(extra)}" if extra is not None else ""
    return judged(claim.decide(gain), (
        f"{lead} {interval_text(gain)} in target accuracy ({mean_of(runs, arm(treated)):.3f} vs "
        f"{mean_of(runs, arm(control)):.3f}){other_text}. {claim_text(claim, gain)}"), gain)


def self_supervised(runs: Sequence[Run], claim: Claim) -> Verdict:
    return _gain_over(runs, claim, "rotation", "scratch", "Rotation pretraining against scratch", "supervised",
                      "supervised pretraining on task A")


def collision_cap(target: str, unseen: Sequence[str], attributes: Sequence[str]) -> float:
    """The best accuracy possible on equally many test images per unseen class: distinct signatures ÷ classes."""
    table = class_attributes(target)
    positions = [list(table.groups).index(a) for a in attributes]
    signatures = {tuple(table.signatures[c][p] for p in positions) for c in unseen}
    return len(signatures) / len(unseen)


def zero_shot_setting(run: Run) -> tuple[list[str], list[str]]:
    table = class_attributes(run["config"]["target"])
    settings = run["config"].get("settings") or {}
    unseen = [c.strip() for c in settings.get("unseen", "").split(",") if c.strip()] or list(table.unseen)
    used = [a.strip() for a in settings.get("attributes", "").split(",") if a.strip()] or list(table.groups)
    return unseen, used


def zero_shot(runs: Sequence[Run], claim: Claim) -> Verdict:
    """Primary contrast: unseen-class accuracy with every attribute minus chance; the part without colour must
    stay under its collision cap (a run above it would mean the test is broken, not that the claim holds)."""
    full = {r["config"]["seed"]: r for r in runs if r["config"].get("arm") == "all-attributes"}
    unseen, _ = zero_shot_setting(next(iter(full.values())))
    chance = 1 / len(unseen)
    above = seed_interval([v - chance for v in by_seed(runs, arm("all-attributes")).values()])
    text = (f"Unseen-class accuracy with shape, fill and colour {mean_of(runs, arm('all-attributes')):.3f}, "
            f"{interval_text(above)} against chance {chance:.3f}")
    partial = by_seed(runs, arm("without-colour"))
    capped = "met"
    if partial:
        run = next(r for r in runs if r["config"].get("arm") == "without-colour")
        unseen_p, used = zero_shot_setting(run)
        cap = collision_cap(run["config"]["target"], unseen_p, used)
        capped = "met" if max(partial.values()) <= cap + CAP_SLACK else "not met"
        text += (f"; without colour {mean_of(runs, arm('without-colour')):.3f}, at most {cap:.2f} possible because "
                 f"the held-out classes share {round(cap * len(unseen_p))} signatures among {len(unseen_p)} classes")
    return judged(all_of([claim.decide(above), capped]), f"{text}. {claim_text(claim, above)}", above)


def multitask(runs: Sequence[Run], claim: Claim) -> Verdict:
    return _gain_over(runs, claim, "joint", "alone", "Joint training against the target task alone", "fine-tuned",
                      "fine-tuning after the source task")


def forgot(run: Run) -> float:
    """How much task-A accuracy the run lost: accuracy before task B minus after."""
    return float(run["summary"]["source_acc_start"]) - float(run["summary"]["source_acc"])


def forgetting(runs: Sequence[Run], claim: Claim) -> Verdict:
    """Primary contrast: task A forgotten by fine-tuning minus by the progressive network; the progressive
    network must keep task A (within rounding)."""
    tuned, progressive = arm("fine-tuned"), arm("progressive")
    diff = difference(runs, tuned, progressive, value=forgot)
    kept = "met" if max(abs(v) for v in by_seed(runs, progressive, forgot).values()) < FORGETTING_KEPT else "not met"
    start = mean_of(runs, tuned, lambda r: float(r["summary"]["source_acc_start"]))
    params = {name: next((r["summary"].get("model_params") or 0 for r in runs if r["config"].get("arm") == name), 0)
              for name in ("fine-tuned", "progressive")}
    source_acc = lambda r: float(r["summary"]["source_acc"])  # noqa: E731
    return judged(all_of([claim.decide(diff), kept]), (
        f"Task A accuracy {start:.3f} before task B; after it, fine-tuning {mean_of(runs, tuned, source_acc):.3f}, "
        f"the progressive network {mean_of(runs, progressive, source_acc):.3f} (forgetting difference "
        f"{interval_text(diff)}). Task B: {mean_of(runs, tuned):.3f} fine-tuned vs {mean_of(runs, progressive):.3f} "
        f"progressive, with {params['fine-tuned']:,} vs {params['progressive']:,} parameters. "
        f"{claim_text(claim, diff)}"), diff)


VERDICTS: dict[str, Callable[[Sequence[Run], Claim], Verdict]] = {
    "self-supervised": self_supervised, "zero-shot": zero_shot, "multitask": multitask, "forgetting": forgetting}
