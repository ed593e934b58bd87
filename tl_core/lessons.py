"""Classroom lessons: each one a short explanation, the runs that demonstrate it, its claim, and a measured verdict.

A lesson plans plain RunConfigs, each with its role and arm (tl_core.identity) and, once submitted, the
lesson's experiment id, so they show together on the Runs page and go through the same job queue. Its `claim`
(primary contrast, side of the line, minimum effect worth teaching) is stated here, before any run; `verdict`
judges the claim on the lesson's own finished runs once every seed has finished (`tl_core.verdicts`,
`tl_core.analysis.intervals`). Runs are told apart by role, arm and config values, never by their display
names. No Streamlit here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from collections.abc import Sequence
from typing import Callable

from tl_core import identity, lecture_verdicts
from tl_core.analysis.null_band_store import stored_null_band
from tl_core.analysis.intervals import all_of, decide
from tl_core.config import RunConfig
from tl_core.identity import Role
from tl_core.verdicts import (Claim, Progress, Run, Verdict, arm, claim_text, contrast_interval, difference,
                              finished, interval_text, judged, mean_of, progress, seeds_text)



SEEDS = 5  # per arm: the fewest with which a t-interval over seeds is narrow enough to decide a lesson's claim


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    explanation: str  # markdown, a few sentences
    expectation: str  # the picture the lecture predicts, in one sentence
    picture: str  # how the page draws it (tl_view.lesson_views.lesson_figures): curves | labels | … | forgetting
    minutes_on_cpu: float  # its runs on an idle 2-core CPU, source network cached: measured with 3 seeds, × 5/3
    # for SEEDS = 5, rounded up to half a minute
    stages: tuple[Callable[[bool, list[Run]], list[RunConfig]], ...]
    claim: Claim  # the primary contrast the badge is decided on, stated before any run
    formula: str = ""  # LaTeX shown under the explanation
    notes: tuple[str, ...] = field(default_factory=tuple)
    seeds: int = SEEDS  # each arm runs once per seed (seed 0, 1, …); verdicts pair the arms by seed


def _base(quick: bool, **changes) -> RunConfig:
    """The lessons' common setting: synth-digits (task A) → the real digits (task B), small_cnn, CPU-sized."""
    config = RunConfig(source="synth-digits", target="digits", backbone="small_cnn", weights="source",
                       strategy="fine-tune", freeze=1, labels_per_class=5, epochs=8, snapshot_size=500,
                       snapshot_every=2, role=Role.LESSON_ARM.value)
    if quick:
        config = config.replace(source="digits-m", epochs=2, pretrain_epochs=1, snapshot_size=60, snapshot_every=0)
    return config.replace(**changes)


def _why_transfer(quick: bool, _: list[Run]) -> list[RunConfig]:
    return [
        _base(quick, strategy="scratch", weights="random", freeze=0, name="scratch", arm="scratch"),
        _base(quick, strategy="linear-probe", name="linear probe", arm="linear-probe"),
        _base(quick, strategy="fine-tune", name="fine-tune", arm="fine-tune"),
    ]


LABEL_BUDGETS = (1, 5, 10, 50, None)


def _how_many_labels(quick: bool, _: list[Run]) -> list[RunConfig]:
    budgets = (1, 10) if quick else LABEL_BUDGETS
    configs = []
    for budget in budgets:
        tag = "all" if budget is None else str(budget)
        configs.append(_base(quick, labels_per_class=budget, epochs=6 if not quick else 2, snapshot_size=0,
                             name=f"with transfer, {tag} per class", arm="with"))
        configs.append(_base(quick, strategy="scratch", weights="random", freeze=0, labels_per_class=budget,
                             epochs=6 if not quick else 2, snapshot_size=0, name=f"without transfer, {tag} per class",
                             arm="without"))
    return configs


FREEZE_DEPTHS = (0, 2, 4)  # every other depth: 3 seeds × 2 sources stay within a class demo
CLOSE_SOURCE, DISTANT_SOURCE = "synth-digits", "shapes"
DISTANT_PRETRAIN_EPOCHS = 4  # no shapes network is shipped: pretrained here once (4 epochs) and cached


def _pretraining(source: str, quick: bool) -> dict:
    return {"pretrain_epochs": DISTANT_PRETRAIN_EPOCHS} if source == DISTANT_SOURCE and not quick else {}


def _which_layers(quick: bool, _: list[Run]) -> list[RunConfig]:
    """The same freeze depths from a close source (font digits) and a distant one (shapes), as Yosinski et al.
    compare similar and dissimilar tasks."""
    depths = (0, 4) if quick else FREEZE_DEPTHS
    sources = ("digits-m", "shapes") if quick else (CLOSE_SOURCE, DISTANT_SOURCE)
    common = dict(labels_per_class=20, epochs=6 if not quick else 2, snapshot_size=0)
    configs = [_base(quick, source=source, freeze=k, name=f"from {source}, freeze {k}", arm=name, **common,
                     **_pretraining(source, quick))
               for source, name in zip(sources, ("freeze", "freeze-distant")) for k in depths]
    configs.append(_base(quick, strategy="scratch", weights="random", freeze=0, name="scratch", arm="scratch",
                         **common))
    return configs


def _domain_shift(quick: bool, _: list[Run]) -> list[RunConfig]:
    """Both runs start from the source-pretrained network (as Ganin et al. start from ImageNet on Office), each at
    its own strategy's learning rate: DANN's SGD wants a larger one than AdamW."""
    from tl_core.strategies import suggested_lr

    common = dict(source="synth-digits", target="digits", weights="source", freeze=0, labels_per_class=None,
                  epochs=6, snapshot_every=2, snapshot_size=500)
    if quick:
        common.update(source="digits", target="digits-m", epochs=2, snapshot_every=1, snapshot_size=60)
    return [_base(quick, strategy=s, name=name, arm=s, lr=suggested_lr(s), **common)
            for s, name in (("source-only", "source only"), ("dann", "DANN"))]


DISTILL_LABELS = 10


def _distill_teacher(quick: bool, _: list[Run]) -> list[RunConfig]:
    """The teacher sees no more target labels than its students: it knows more because it learned task A first
    (the font digits) and trains longer, not because it saw more of task B's labels."""
    return [_base(quick, strategy="fine-tune", freeze=0, labels_per_class=DISTILL_LABELS,
                  epochs=12 if not quick else 1, snapshot_size=0, name="teacher (transferred)",
                  role=Role.TEACHER.value, arm="teacher")]


def _distill_students(quick: bool, previous: list[Run]) -> list[RunConfig]:
    teacher = next(r for r in previous if r["config"]["role"] == Role.TEACHER)
    common = dict(weights="random", freeze=0, labels_per_class=DISTILL_LABELS, epochs=8 if not quick else 1,
                  snapshot_size=0, role=Role.STUDENT.value)
    taught = {"teacher": teacher["summary"]["run_id"]}
    return [
        _base(quick, strategy="distill", settings=taught, name="student, soft targets", arm="distilled", **common),
        _base(quick, strategy="distill", settings={**taught, "hard_targets": True},
              name="student, teacher's hard labels", arm="pseudo-labels", **common),
        _base(quick, strategy="scratch", name="student, labels only", arm="labels-only", **common),
    ]


def _negative_transfer(quick: bool, _: list[Run]) -> list[RunConfig]:
    """Transfer from shapes against scratch under one protocol, every layer fine-tuned at one rate (lr_decay 1), so
    neither freezing nor slowed early layers can be the cause; the control is the same from a related source (font
    digits), which must not lose. The frozen arm shows how much worse it gets when the shape detectors must stay."""
    distant, close = ("shapes", "digits-m") if quick else (DISTANT_SOURCE, CLOSE_SOURCE)
    common = dict(labels_per_class=20, snapshot_size=0, epochs=6 if not quick else 1)
    every_layer = dict(freeze=0, settings={"lr_decay": 1.0})
    return [
        _base(quick, source=distant, name=f"from {distant}, every layer fine-tuned", arm="fine-tuned", **every_layer,
              **common, **_pretraining(distant, quick)),
        _base(quick, source=close, name=f"from {close}, every layer fine-tuned (control)", arm="related-fine-tuned",
              **every_layer, **common),
        _base(quick, source=distant, freeze=3, name=f"from {distant}, 3 of 4 groups frozen", arm="frozen", **common,
              **_pretraining(distant, quick)),
        _base(quick, strategy="scratch", weights="random", freeze=0, name="scratch", arm="scratch", **common),
    ]


def _self_supervised(quick: bool, _: list[Run]) -> list[RunConfig]:
    arms = (("scratch", "scratch", "random", "scratch"),
            ("rotation", "fine-tune", "ssl:rotation:target", "rotation-pretrained (target images, no labels)"),
            ("supervised", "fine-tune", "source", "supervised on the source (labels of task A)"))
    return [_base(quick, strategy=strategy, weights=weights, freeze=0 if strategy == "scratch" else 1,
                  epochs=6 if not quick else 2, snapshot_size=300 if not quick else 60, snapshot_every=0, name=name,
                  arm=arm)
            for arm, strategy, weights, name in arms]


def _zero_shot(quick: bool, _: list[Run]) -> list[RunConfig]:
    common = dict(target="attribute-shapes", strategy="zero-shot", weights="random", freeze=0, snapshot_size=0,
                  labels_per_class=None if not quick else 20, epochs=4 if not quick else 2)
    return [_base(quick, settings=settings, name=name, arm=arm, **common)
            for arm, settings, name in (
                ("all-attributes", {}, "shape, fill and colour"),
                ("without-colour", {"attributes": "shape,fill"}, "shape and fill only"))]


def _multitask(quick: bool, _: list[Run]) -> list[RunConfig]:
    arms = (("alone", dict(strategy="scratch", weights="random", freeze=0), "target task alone"),
            ("fine-tuned", dict(strategy="fine-tune", weights="source", freeze=0), "fine-tuned after the source task"),
            ("joint", dict(strategy="multitask", weights="random", freeze=0), "both tasks jointly"))
    return [_base(quick, labels_per_class=3, epochs=6 if not quick else 2, snapshot_size=0, name=name, arm=arm,
                  **changes)
            for arm, changes, name in arms]


def _forgetting(quick: bool, _: list[Run]) -> list[RunConfig]:
    common = dict(target="shapes" if not quick else "digits", labels_per_class=30, epochs=6 if not quick else 2,
                  snapshot_size=0, freeze=0)
    return [_base(quick, name=name, arm=arm, **common, **changes)
            for arm, changes, name in (
                ("fine-tuned", dict(strategy="fine-tune", settings={"lr_decay": 1.0}), "fine-tuned on B"),
                ("progressive", dict(strategy="progressive"), "progressive network"))]


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        key="why-transfer",
        title="1 · Why transfer?",
        explanation=(
            "A network first learns task A (12,000 font-rendered digits), then meets task B: real handwritten "
            "digits with only **5 labelled images per class**. We compare three ways to use those 50 images: "
            "train a fresh network (*scratch*), keep the task-A network fixed and train only a new last layer "
            "(*linear probe*), or keep training the task-A network on task B (*fine-tune*)."),
        expectation="With transfer the curve starts higher, climbs faster and ends higher than from scratch.",
        picture="curves",
        minutes_on_cpu=2.5,
        claim=Claim("fine-tune − scratch, final target accuracy",
                    side="above", min_effect=0.05, arms=("scratch", "fine-tune")),
        stages=(_why_transfer,),
    ),
    Lesson(
        key="how-many-labels",
        title="2 · How many labels do I need?",
        explanation=(
            "The same transfer, repeated with 1, 5, 10, 50 and all labelled images per class, each beside a "
            "network trained from scratch on the same labels. Transfer matters most when labels are scarce; "
            "with plenty of labels the two meet."),
        expectation="The gap between the two lines is widest on the left (few labels) and narrows to the right.",
        picture="labels",
        minutes_on_cpu=4.5,
        claim=Claim("gain of transfer at the fewest labels − at the most, target accuracy",
                    side="above", min_effect=0.05, arms=("with", "without"), kind="difference of differences"),
        stages=(_how_many_labels,),
    ),
    Lesson(
        key="which-layers",
        title="3 · Which layers transfer?",
        explanation=(
            "Freeze the first K layer groups of a pretrained network and fine-tune the rest on task B, once from a "
            "close task A (font-rendered digits) and once from a distant one (geometric shapes). Early layers "
            "detect edges and strokes that suit any image, so freezing them costs little from either source; late "
            "layers are specific to their task A, so freezing them too costs more the further task A lies from "
            "task B (Yosinski et al., 2014)."),
        expectation=("Accuracy falls as more groups are frozen, and falls more steeply when task A is distant "
                     "(shapes) than when it is close (font digits)."),
        picture="freeze",
        minutes_on_cpu=2.5,
        claim=Claim("drop from the shallowest to the deepest freeze, distant source − close source",
                    side="above", min_effect=0.05, arms=("freeze", "freeze-distant"),
                    kind="difference of differences"),
        stages=(_which_layers,),
    ),
    Lesson(
        key="domain-shift",
        title="4 · Domain shift and DANN",
        explanation=(
            "Same digits, different look: a network trained on labelled font digits is tested on real "
            "handwriting, whose labels it never sees. Both runs start from the network pretrained on the fonts. "
            "*Source only* keeps training on the fonts and ignores the shift. *DANN* adds a domain "
            "classifier that tries to tell source features from target features, and a gradient reversal layer "
            "that trains the feature extractor to defeat it, so the features stop encoding which domain an "
            "image came from while still predicting the digit (Ganin & Lempitsky, 2015). We measure the shift "
            "as the accuracy of a separate linear classifier that tells the domains apart: 0.5 means it cannot."),
        formula=(r"E(\theta_f,\theta_y,\theta_d)=\sum_{i\in S} L_y^i(\theta_f,\theta_y)"
                 r"-\lambda\sum_{i\in S\cup T} L_d^i(\theta_f,\theta_d)\\"
                 r"\theta_f \leftarrow \theta_f-\mu\left(\tfrac{\partial L_y}{\partial\theta_f}"
                 r"-\lambda\tfrac{\partial L_d}{\partial\theta_f}\right),\quad"
                 r"\theta_y \leftarrow \theta_y-\mu\tfrac{\partial L_y}{\partial\theta_y},\quad"
                 r"\theta_d \leftarrow \theta_d-\mu\tfrac{\partial L_d}{\partial\theta_d}\\"
                 r"\lambda_p=\frac{2}{1+e^{-10p}}-1,\qquad \mu_p=\frac{\mu_0}{(1+10p)^{0.75}}"),
        expectation="DANN reaches a higher target accuracy, and its domain-confusion accuracy falls toward 0.5.",
        picture="domain",
        minutes_on_cpu=5,
        claim=Claim("DANN − source only, target accuracy",
                    side="above", min_effect=0.03, arms=("source-only", "dann")),
        stages=(_domain_shift,),
    ),
    Lesson(
        key="distillation",
        title="5 · Distillation",
        explanation=(
            "A *teacher* that learned task A first (the font digits) is fine-tuned on 10 labelled real digits per "
            "class. Fresh *students* get the same 10 labels per class, no more than the teacher saw: one also "
            "learns the teacher's softened predictions on every training image, one learns only the teacher's top "
            "answer on them (hard pseudo-labels), one learns from its labels alone. Temperature T spreads the "
            "teacher's probabilities so the student also learns which wrong answers are nearly right "
            "(Hinton et al., 2015); the hard-label student shows how much of that comes from the spread itself."),
        formula=(r"L=\alpha\,T^2\,\mathrm{KL}\!\left(\sigma(z_t/T)\,\|\,\sigma(z_s/T)\right)"
                 r"+(1-\alpha)\,\mathrm{CE}(y,\sigma(z_s))"),
        expectation=("The student on soft targets beats the same student on its labels alone, and the one taught "
                     "the teacher's hard labels."),
        picture="distill",
        minutes_on_cpu=3.5,
        claim=Claim("student on soft targets − student on its labels alone, target accuracy",
                    side="above", min_effect=0.03, arms=("distilled", "pseudo-labels", "labels-only")),
        stages=(_distill_teacher, _distill_students),
    ),
    Lesson(
        key="negative-transfer",
        title="6 · Negative transfer",
        explanation=(
            "Transfer is not free. Here task A is *shapes* (circles, stars, crosses), unrelated to digits. Even "
            "with every layer fine-tuned, all at one learning rate, the network starts from shape detectors and "
            "may not get all the way back within the same training budget as a fresh network. The control: the "
            "same recipe from a related task A (font digits) — if it lost too, the loss would be the recipe's, not "
            "the source's. Freezing most layers makes it worse: the digit classifier must make do with shapes."),
        expectation=("Fine-tuned transfer from an unrelated task ends below training from scratch, while the same "
                     "recipe from a related task does not."),
        picture="negative",
        minutes_on_cpu=2,
        claim=Claim("fine-tuned from the unrelated source − scratch, target accuracy",
                    side="below", min_effect=0.03, arms=("fine-tuned", "related-fine-tuned", "scratch")),
        stages=(_negative_transfer,),
    ),
    Lesson(
        key="self-supervised",
        title="7 · No labels for task A: predict rotations",
        explanation=(
            "What if nobody labelled task A? A pretext task can make labels out of the images themselves. Each "
            "unlabelled image is shown turned by 0°, 90°, 180° or 270°, and the network learns which turn it sees; "
            "to answer it must find the top of the digit, which takes features of the digit itself "
            "(Gidaris et al., 2018). Here the pretext task uses the target's own training images, labels unread; "
            "the network is then fine-tuned on **5 labelled digits per class**, beside a network trained from "
            "scratch and one pretrained with the labels of task A (font digits). Measured here in an earlier round "
            "(three seeds), the claim did **not** hold on these small, centred digits: rotation pretraining ended about 10 points "
            "*below* scratch on every seed (perhaps because 0, 1 and 8 look alike upside down and 6 and 9 swap), "
            "and even supervised pretraining only matched scratch, which reaches 0.87 with 5 labels per class in 6 epochs."),
        formula=r"\min_\theta\ \frac{1}{4N}\sum_{i=1}^{N}\sum_{k=0}^{3} \mathrm{CE}\big(k,\ f_\theta(\mathrm{rot}_{90k}(x_i))\big)",
        expectation=("Rotation pretraining beats scratch without a single task-A label; supervised pretraining on a "
                     "related labelled task does better still."),
        picture="self-supervised",
        minutes_on_cpu=17,
        claim=Claim("rotation-pretrained − scratch, target accuracy",
                    side="above", min_effect=0.03, arms=("scratch", "rotation")),
        stages=(_self_supervised,),
    ),
    Lesson(
        key="zero-shot",
        title="8 · Zero-shot: classes never seen",
        explanation=(
            "Twelve classes of shapes, each one combination of a **shape** (circle, square, triangle), a **fill** "
            "(filled, outline) and a **colour** (red, blue). Four classes are held out entirely: not one of their "
            "images is used for training. The network learns to see each attribute on the eight seen classes; a "
            "test image of a held-out class gets the held-out class whose attribute signature its predicted "
            "attributes make most probable (Lampert et al., 2009; Palatucci et al., 2009). The held-out pairs "
            "differ only in colour: described without colour, two classes share one signature and no attribute "
            "predictor can tell them apart — the attributes must map one-to-one onto the classes."),
        formula=r"\hat y=\arg\max_{c\,\in\,\mathcal{U}}\ \sum_{m}\log p\big(a_m=a_m(c)\mid x\big)",
        expectation=("With all three attributes, unseen classes are recognised far above chance; without colour, "
                     "accuracy is capped where signatures collide."),
        picture="zero-shot",
        minutes_on_cpu=13.5,
        claim=Claim("unseen-class accuracy with every attribute − chance",
                    side="above", min_effect=0.10, arms=("all-attributes", "without-colour"),
                    kind="against a constant"),
        stages=(_zero_shot,),
    ),
    Lesson(
        key="multitask",
        title="9 · Multitask learning",
        explanation=(
            "Two tasks, one network: the label-poor target (real digits, **3 labels per class**) and a data-rich "
            "source (12,000 font digits), each with its own output head on shared layers. Trained together, "
            "every step's gradient of the rich task shapes the shared features the poor task uses. We compare "
            "the poor task trained alone, fine-tuned after the rich task, and trained jointly with it. "
            "Measured here in an earlier round (three seeds), joint training gave no reliable gain over the task "
            "alone (one seed up, two level or down), while fine-tuning after the rich task did; one suspect is BatchNorm, whose "
            "statistics mix both domains in every joint batch."),
        formula=r"L(\theta_s,\theta_A,\theta_B)=L_B(\theta_s,\theta_B)+w\,L_A(\theta_s,\theta_A)",
        expectation="Joint training lifts the label-poor task above training it alone.",
        picture="multitask",
        minutes_on_cpu=12,
        claim=Claim("joint − target task alone, target accuracy",
                    side="above", min_effect=0.03, arms=("alone", "joint")),
        stages=(_multitask,),
    ),
    Lesson(
        key="forgetting",
        title="10 · Forgetting and progressive networks",
        explanation=(
            "A network learned task A (font digits). Fine-tuning it on task B (shapes) rewrites the features "
            "task A needed: we measure task A's accuracy again after every epoch on B, with A's own output layer "
            "kept aside. A *progressive network* (Rusu et al., 2016) never touches A's network: it freezes it as "
            "column A, adds a new column for B, and lets every layer of B read the layer below it in A through a "
            "small lateral adapter. It cannot forget — and it grows with every task. Measured in an earlier round "
            "(three seeds), the new column also learned task B a little *worse* than fine-tuning did (0.34 against 0.38)."),
        formula=r"h^{B}_{i}=f\big(W^{B}_{i}\,h^{B}_{i-1}+U_{i}\,h^{A}_{i-1}\big),\qquad \theta_A\ \text{frozen}",
        expectation=("Fine-tuning on B makes task A's accuracy fall; the progressive network keeps it exactly, "
                     "at about twice the parameters."),
        picture="forgetting",
        minutes_on_cpu=17,
        claim=Claim("task A forgotten by fine-tuning − by the progressive network",
                    side="above", min_effect=0.05, arms=("fine-tuned", "progressive")),
        stages=(_forgetting,),
    ),
)


def lesson(key: str) -> Lesson:
    for item in LESSONS:
        if item.key == key:
            return item
    raise KeyError(f"No lesson called {key!r}: choose one of {', '.join(l.key for l in LESSONS)}.")


def seed_count(lesson: Lesson, quick: bool = False, seeds: int | None = None) -> int:
    """How many seeds each arm runs: `seeds` when given, else the lesson's own (one for a quick version)."""
    return seeds if seeds is not None else 1 if quick else lesson.seeds


def stage_configs(lesson: Lesson, index: int, quick: bool, previous: Sequence[Run],
                  seeds: int | None = None) -> list[RunConfig]:
    """Stage `index`'s configs once per seed; each seed's copy sees only the earlier runs of its own seed (its
    students learn from the teacher of their seed)."""
    configs = []
    for seed in range(seed_count(lesson, quick, seeds)):
        mine = [r for r in previous if int(r["config"].get("seed", 0)) == seed]
        configs += [c.replace(seed=seed) for c in lesson.stages[index](quick, mine)]
    return configs


def needs_pretraining(lesson: Lesson, seeds: int | None = None) -> bool:
    """Whether its first runs will pretrain a network first (not shipped or cached: adds a minute or more)."""
    from tl_core.pretrain import has_source_network
    from tl_core.ssl import ROTATION_WEIGHTS, rotation_checkpoint_path

    return any((c.weights == "source" and not has_source_network(c))
               or (c.weights in ROTATION_WEIGHTS and not rotation_checkpoint_path(c).exists())
               for c in stage_configs(lesson, 0, False, [], seeds))


def latest_experiment(rows: Sequence[dict], key: str) -> str | None:
    """The experiment id of the newest recorded run of this lesson (`rows` as `RunStore.list` gives them)."""
    newest = max((r for r in rows if identity.lesson_key(r.get("experiment") or "") == key),
                 key=lambda r: r.get("created") or 0, default=None)
    return newest["experiment"] if newest else None


def experiment_run_ids(rows: Sequence[dict], experiment: str) -> list[str]:
    """The experiment's run ids in the order they were submitted."""
    return [r["run_id"] for r in sorted((r for r in rows if r.get("experiment") == experiment),
                                        key=lambda r: (r.get("created") or 0, r["run_id"]))]


def plan_next(lesson: Lesson, runs: Sequence[Run], experiment: str, quick: bool = False,
              seeds: int | None = None) -> tuple[str, list[RunConfig]]:
    """The next stage to submit, given the lesson's runs so far in submission order (all of them ended).

    ("stage N", configs) — the configs tagged with `experiment`; ("done", []) when every stage has its runs;
    ("blocked", []) when a later stage needs runs of an earlier one that did not finish (e.g. no teacher).
    """
    submitted = 0
    for i in range(len(lesson.stages)):
        previous = list(runs[:submitted])
        if i and any(r["summary"].get("status") != "finished" for r in previous):
            return "blocked", []
        configs = stage_configs(lesson, i, quick, previous, seeds)
        if len(runs) <= submitted:
            return f"stage {i + 1}", [c.replace(experiment=experiment) for c in configs]
        submitted += len(configs)
    return "done", []


def collect(run_ids: list[str], store) -> list[Run]:
    """The lesson's runs as `Run` dicts with their evaluation.json, read from the run store (unfinished ones too)."""
    runs = []
    for run_id in run_ids:
        row = store.get(run_id)
        if row is not None:
            path = store.run_dir(run_id)
            runs.append({"config": row["config"], "summary": row["summary"], "metrics": path.read_metrics(),
                         "evaluation": path.read_json("evaluation.json")})
    return runs


def _first_epoch_acc(run: Run) -> float | None:
    return run["metrics"][0].get("target_acc") if run.get("metrics") else None


def _confusion(run: Run) -> float | None:
    return run["summary"].get("domain_confusion_acc")


def _why_transfer_verdict(runs: list[Run], claim: Claim) -> Verdict:
    fine, scratch = arm("fine-tune"), arm("scratch")
    end = difference(runs, fine, scratch)
    start = difference(runs, fine, scratch, value=_first_epoch_acc)
    start_text = f" and is {interval_text(start)} ahead after one epoch" if start is not None else ""
    probe = mean_of(runs, arm("linear-probe"))
    probe_text = f"; the linear probe reaches {probe:.2f}" if probe is not None else ""
    return judged(claim.decide(end), (
        f"Fine-tuning ends {interval_text(end)} ahead of scratch ({mean_of(runs, fine):.2f} against "
        f"{mean_of(runs, scratch):.2f}){start_text}{probe_text}. {claim_text(claim, end)}"), end)


def _label_key(budget: int | None) -> str:
    return "all" if budget is None else str(budget)


def _how_many_labels_verdict(runs: list[Run], claim: Claim) -> Verdict:
    """Primary contrast: the gain at the fewest labels minus the gain at the most; the gain at the fewest must
    itself be worth teaching."""
    gains = [(budget, iv) for budget in LABEL_BUDGETS
             if (iv := difference(runs, arm("with", labels_per_class=budget),
                                  arm("without", labels_per_class=budget))) is not None]
    (fewest, few_gain), (most, _) = gains[0], gains[-1]
    narrowing = contrast_interval(runs, [arm("with", labels_per_class=fewest), arm("without", labels_per_class=fewest),
                                         arm("with", labels_per_class=most), arm("without", labels_per_class=most)],
                                  [1.0, -1.0, -1.0, 1.0])
    stops = [budget for budget, iv in gains if iv.low <= 0]
    where = (f"transfer stops paying from {_label_key(stops[0])} per class (its interval reaches 0 or below)"
             if stops else "transfer pays at every budget measured")
    listed = "; ".join(f"{_label_key(b)}: {interval_text(iv)}" for b, iv in gains)
    return judged(all_of([claim.decide(narrowing), decide(few_gain, claim.min_effect)]), (
        f"Gain of transfer by labels per class — {listed}. The gain narrows by {interval_text(narrowing)} from "
        f"{_label_key(fewest)} to {_label_key(most)} per class; {where}. {claim_text(claim, narrowing)}"),
        narrowing)


def _which_layers_verdict(runs: list[Run], claim: Claim) -> Verdict:
    depths = sorted({int(r["config"]["freeze"]) for r in finished(runs) if r["config"].get("arm") == "freeze"})
    shallow, deep = depths[0], depths[-1]
    distant = [arm("freeze-distant", freeze=shallow), arm("freeze-distant", freeze=deep)]
    close = [arm("freeze", freeze=shallow), arm("freeze", freeze=deep)]
    distant_drop = contrast_interval(runs, distant, [1.0, -1.0])
    close_drop = contrast_interval(runs, close, [1.0, -1.0])
    steeper = contrast_interval(runs, distant + close, [1.0, -1.0, -1.0, 1.0])
    return judged(claim.decide(steeper), (
        f"Freezing K={deep} instead of K={shallow} groups costs {interval_text(distant_drop)} from the distant "
        f"source and {interval_text(close_drop)} from the close one: the distant source falls "
        f"{interval_text(steeper)} more. {claim_text(claim, steeper)}"), steeper)


def _domain_shift_verdict(runs: list[Run], claim: Claim) -> Verdict:
    """Primary contrast: DANN's target accuracy over source only's; its domain confusion must also fall by more
    than two readings of identical domains differ."""
    dann, source = arm("dann"), arm("source-only")
    accuracy = difference(runs, dann, source)
    parts, outcomes = [f"DANN's target accuracy is {interval_text(accuracy)} above source only's "
                       f"({mean_of(runs, dann):.2f} against {mean_of(runs, source):.2f})"], [claim.decide(accuracy)]
    drop = difference(runs, source, dann, value=_confusion)
    if drop is None:
        outcomes.append("undecided")
        parts.append("no domain confusion was measured")
    else:
        per_domain = min(int(r["summary"].get("domain_confusion_n") or r["config"].get("snapshot_size") or 0)
                         for r in finished(runs))
        band = stored_null_band(max(per_domain, 2))
        low, high = band.low, band.high
        margin = (high - low) / 2 * math.sqrt(2)  # two readings, each as noisy as the null band is wide
        outcomes.append(decide(drop, margin))
        dann_conf = mean_of(runs, dann, _confusion)
        place = "inside" if dann_conf <= high else "still above"
        parts.append(f"domain confusion falls {interval_text(drop)} (to {dann_conf:.2f}, {place} the band "
                     f"{low:.2f}–{high:.2f} that two identical domains give; a fall counts from {margin:.2f})")
    return judged(all_of(outcomes), "; ".join(parts) + f". {claim_text(claim, accuracy)}", accuracy)


def _distillation_verdict(runs: list[Run], claim: Claim) -> Verdict:
    """Primary contrast: soft targets over labels alone; soft targets must also beat the teacher's hard labels."""
    soft, hard, alone = arm("distilled"), arm("pseudo-labels"), arm("labels-only")
    over_labels, over_hard = difference(runs, soft, alone), difference(runs, soft, hard)
    teacher = mean_of(runs, arm("teacher"))
    teacher_text = f"Teacher {teacher:.2f}. " if teacher is not None else ""
    return judged(all_of([claim.decide(over_labels), decide(over_hard)]), (
        f"{teacher_text}The student on soft targets ({mean_of(runs, soft):.2f}) is "
        f"{interval_text(over_labels)} ahead of the one on its labels alone ({mean_of(runs, alone):.2f}) and "
        f"{interval_text(over_hard)} ahead of the one on the teacher's hard labels ({mean_of(runs, hard):.2f}). "
        f"{claim_text(claim, over_labels)}"), over_labels)


def _negative_transfer_verdict(runs: list[Run], claim: Claim) -> Verdict:
    """Primary contrast: the unrelated source fine-tuned against scratch, claimed below 0. The related source under
    the same protocol must not lose (else the loss is the protocol's), and must beat the unrelated one."""
    tuned, related, scratch = arm("fine-tuned"), arm("related-fine-tuned"), arm("scratch")
    loss = difference(runs, tuned, scratch)
    control = difference(runs, related, scratch)
    source_effect = difference(runs, related, tuned)
    control_holds = "not met" if control.high < 0 else "met"
    frozen = difference(runs, arm("frozen"), scratch)
    frozen_text = f" Frozen 3 groups deep it ends {interval_text(frozen)} against scratch." if frozen else ""
    return judged(all_of([claim.decide(loss), decide(source_effect), control_holds]), (
        f"Transfer from the unrelated source, every layer fine-tuned, ends {interval_text(loss)} against scratch "
        f"({mean_of(runs, tuned):.2f} against {mean_of(runs, scratch):.2f}); the related source under the same "
        f"protocol ends {interval_text(control)} against scratch"
        f"{' — it loses too, so the loss is the protocol, not the source' if control_holds == 'not met' else ''}, "
        f"and {interval_text(source_effect)} above the unrelated one.{frozen_text} {claim_text(claim, loss)}"), loss)


VERDICTS: dict[str, Callable[[list[Run], Claim], Verdict]] = {
    "why-transfer": _why_transfer_verdict,
    "how-many-labels": _how_many_labels_verdict,
    "which-layers": _which_layers_verdict,
    "domain-shift": _domain_shift_verdict,
    "distillation": _distillation_verdict,
    "negative-transfer": _negative_transfer_verdict,
    **lecture_verdicts.VERDICTS,
}


def progress_text(state: Progress) -> str:
    return f"{state.finished_seeds} of {state.planned_seeds} seeds finished — no verdict yet."


def verdict(key: str, runs: list[Run], seeds: int | None = None) -> Verdict:
    """Whether the lesson's own runs show the lecture's claim, on the lab's one statistic (a 95% t-interval over
    per-seed paired differences, `tl_core.analysis.intervals`).

    No verdict before the data: "waiting" until every one of the `seeds` planned seeds (the lesson's own count
    when not given) has all its runs finished, the claim's arms among them, and nothing is still queued or
    training; "incomplete", naming them, when runs ended without finishing.
    """
    item = lesson(key)
    planned = seed_count(item, seeds=seeds)
    state = progress(runs, item.claim, planned)
    if state.failed:
        return Verdict("incomplete", f"No verdict: these runs did not finish — {'; '.join(state.failed)}. "
                                     "Run the lesson again.")
    if state.active or state.finished_seeds < planned:
        return Verdict("waiting", progress_text(state))
    judged_ = VERDICTS[key](runs, item.claim)
    return replace(judged_, text=f"{judged_.text} Measured over {seeds_text(judged_.seeds)}.")
