"""The lessons' catalog: each lesson's text, its runs (one stage function per stage, for one seed) and its claim.

A lesson plans plain RunConfigs, each with its role and arm (tl_core.runs.identity); runs are told apart by role, arm
and config values, never by their display names. Its `claim` (primary contrast, side of the line, minimum effect
worth teaching) is stated here, before any run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tl_core.lessons.claims import Claim
from tl_core.records.run_view import RunView
from tl_core.runs.config import RunConfig
from tl_core.runs.identity import Role
from tl_core.strategies import strategy_class, suggested_lr, suggested_settings

SEEDS = 5  # per arm: the fewest with which a t-interval over seeds is narrow enough to decide a lesson's claim


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    explanation: str  # markdown, a few sentences
    expectation: str  # the picture the lecture predicts, in one sentence
    picture: str  # how the page draws it (tl_view.lesson_views.lesson_figures): curves | labels | … | forgetting
    stages: tuple[Callable[[bool, list[RunView]], list[RunConfig]], ...]
    claim: Claim  # the primary contrast the badge is decided on, stated before any run
    formula: str = ""  # LaTeX shown under the explanation
    seeds: int = SEEDS  # each arm runs once per seed (seed 0, 1, …); verdicts pair the arms by seed


def _base(quick: bool, **changes) -> RunConfig:
    """The lessons' common setting: synth-digits (task A) → the real digits (task B), small_cnn, CPU-sized."""
    config = RunConfig(source="synth-digits", target="digits", backbone="small_cnn", weights="source",
                       strategy="fine-tune", freeze=1, labels_per_class=5, epochs=8, snapshot_size=500,
                       snapshot_every=2, role=Role.LESSON_ARM.value)
    if quick:
        config = config.replace(source="digits-m", epochs=2, pretrain_epochs=1, snapshot_size=60, snapshot_every=0)
    return config.replace(**changes)


HARD_TARGET, HARD_LABELS = "digits-m", 10  # lessons 1 and 5 (design 2, bench/selections/lessons.md)


def _why_transfer(quick: bool, _: list[RunView]) -> list[RunConfig]:
    """The hard target (digits-m) at 10 labels per class, where scratch cannot learn to ignore the backgrounds
    from 100 images; each arm at its own strategy's rate."""
    common = dict(target=HARD_TARGET, labels_per_class=HARD_LABELS) if not quick else {}
    return [
        _base(quick, strategy="scratch", weights="random", freeze=0, name="scratch", arm="scratch",
              lr=suggested_lr("scratch"), **common),
        _base(quick, strategy="linear-probe", name="linear probe", arm="linear-probe",
              lr=suggested_lr("linear-probe"), **common),
        _base(quick, strategy="fine-tune", name="fine-tune", arm="fine-tune", lr=suggested_lr("fine-tune"),
              **common),
    ]


LABEL_BUDGETS = (1, 5, 10, 50, None)


def _how_many_labels(quick: bool, _: list[RunView]) -> list[RunConfig]:
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


def _which_layers(quick: bool, _: list[RunView]) -> list[RunConfig]:
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


def _domain_shift(quick: bool, _: list[RunView]) -> list[RunConfig]:
    """DANN against its own twin: the same recipe (SGD, rate, schedules, steps, discriminator) with the domain
    loss weighted 0, so the adversarial term is the only difference. Both start from the source-pretrained
    network, as Ganin et al. start from ImageNet on Office. DANN's settings are those selected for the lesson's
    pair (a discriminator of two hidden layers, stage 8 of bench/selections/dann-design-record.md)."""
    common = dict(source="synth-digits", target="digits", weights="source", freeze=0, labels_per_class=None,
                  epochs=6, snapshot_every=2, snapshot_size=500)
    if quick:
        common.update(source="digits", target="digits-m", epochs=2, snapshot_every=1, snapshot_size=60)
    dann = _base(quick, strategy="dann", name="DANN", arm="dann", lr=suggested_lr("dann"), **common)
    dann = dann.replace(settings=suggested_settings("dann", dann.source, dann.target))
    twin = strategy_class("dann").baseline(dann).replace(name="without adaptation (DANN, domain weight 0)")
    return [twin, dann]


def _distill_teacher(quick: bool, _: list[RunView]) -> list[RunConfig]:
    """The teacher sees no more target labels than its students: it knows more because it learned task A first
    (the font digits), not because it saw more of task B's labels. The hard target (design 2), where a fresh
    student on 100 labels stays far below it."""
    target = dict(target=HARD_TARGET) if not quick else {}
    return [_base(quick, strategy="fine-tune", freeze=0, labels_per_class=HARD_LABELS,
                  epochs=12 if not quick else 1, snapshot_size=0, name="teacher (transferred)",
                  role=Role.TEACHER.value, arm="teacher", **target)]


STUDENT_BACKBONE = "small_cnn_tiny"  # lesson 5, design 3: the teacher (small_cnn) compressed to a quarter of its width


def _distill_students(quick: bool, previous: list[RunView]) -> list[RunConfig]:
    """Fresh students, a quarter of the teacher's width, on the same labels; the teacher's outputs on the labelled
    and unlabelled training images (the transfer set) are what the distilled ones learn from."""
    teacher = next(r for r in previous if r.config.role == Role.TEACHER)
    common = dict(backbone=STUDENT_BACKBONE, weights="random", freeze=0, labels_per_class=HARD_LABELS,
                  epochs=8 if not quick else 1, snapshot_size=0, role=Role.STUDENT.value,
                  **(dict(target=HARD_TARGET) if not quick else {}))
    taught = {"teacher": teacher.summary["run_id"]}
    return [
        _base(quick, strategy="distill", settings=taught, name="student, soft targets", arm="distilled", **common),
        _base(quick, strategy="distill", settings={**taught, "hard_targets": True},
              name="student, teacher's hard labels", arm="pseudo-labels", **common),
        _base(quick, strategy="scratch", name="student, labels only", arm="labels-only", **common),
    ]


def _negative_transfer(quick: bool, _: list[RunView]) -> list[RunConfig]:
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


def _self_supervised(quick: bool, _: list[RunView]) -> list[RunConfig]:
    """Design 2 (bench/selections/lessons.md): the hard target at 10 labels per class, where scratch learns little;
    the pretext task turns digits-m's own training images (labels unread); every arm 160 steps at its own rate."""
    arms = (("scratch", "scratch", "random", "scratch"),
            ("rotation", "fine-tune", "ssl:rotation:target", "rotation-pretrained (target images, no labels)"),
            ("supervised", "fine-tune", "source", "supervised on the source (labels of task A)"))
    common = dict(target=HARD_TARGET, labels_per_class=HARD_LABELS, epochs=8) if not quick else dict(epochs=2)
    return [_base(quick, strategy=strategy, weights=weights, freeze=1 if strategy_class(strategy).uses_freeze else 0,
                  snapshot_size=300 if not quick else 60, snapshot_every=0, name=name, arm=arm,
                  lr=suggested_lr(strategy), **common)
            for arm, strategy, weights, name in arms]


def _zero_shot(quick: bool, _: list[RunView]) -> list[RunConfig]:
    """Design 1: attribute-shapes, all three attributes against shape and fill only (design 2, seven segments on
    handwritten digits, failed its pilot: bench/selections/lessons.md)."""
    common = dict(target="attribute-shapes", strategy="zero-shot", weights="random", freeze=0, snapshot_size=0,
                  labels_per_class=None if not quick else 20, epochs=4 if not quick else 2)
    return [_base(quick, settings=settings, name=name, arm=arm, **common)
            for arm, settings, name in (
                ("all-attributes", {}, "shape, fill and colour"),
                ("fewer-attributes", {"attributes": "shape,fill"}, "shape and fill only"))]


# Joint training must learn the rich task before it can shape anything: after 160 steps its source accuracy was
# 0.39 and the pilot undecided; at 480 steps it is past 0.8 (bench/selections/lessons.md, lesson 9's change)
MULTITASK_EPOCHS = 24


def _multitask(quick: bool, _: list[RunView]) -> list[RunConfig]:
    """Design 2 (bench/selections/lessons.md): the hard target at 10 labels per class, where a network trained on
    the target alone learns little; the joint network and the one alone start from the same random weights and
    train the same 480 steps on the same target batches, each at its own strategy's rate. Fine-tuning after the
    source task (its whole pretraining behind it) is drawn for orientation, not judged."""
    arms = (("alone", dict(strategy="scratch", weights="random", freeze=0), "target task alone"),
            ("fine-tuned", dict(strategy="fine-tune", weights="source", freeze=0), "fine-tuned after the source task"),
            ("joint", dict(strategy="multitask", weights="random", freeze=0), "both tasks jointly"))
    common = dict(target=HARD_TARGET, labels_per_class=HARD_LABELS, epochs=MULTITASK_EPOCHS) if not quick else \
        dict(epochs=2)
    return [_base(quick, snapshot_size=0, name=name, arm=arm, lr=suggested_lr(changes["strategy"]), **common,
                  **changes)
            for arm, changes, name in arms]


def _forgetting(quick: bool, _: list[RunView]) -> list[RunConfig]:
    common = dict(target="shapes" if not quick else "digits", labels_per_class=30, epochs=6 if not quick else 2,
                  snapshot_size=0, freeze=0, measure_forgetting=True)
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
            "digits over photos, textures and colour fields (digits-m), with only **10 labelled images per "
            "class**. We compare three ways to use those 100 images: "
            "train a fresh network (*scratch*), keep the task-A network fixed and train only a new last layer "
            "(*linear probe*), or keep training the task-A network on task B (*fine-tune*)."),
        expectation="With transfer the curve starts higher, climbs faster and ends higher than from scratch.",
        picture="curves",
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
            "*Without adaptation* keeps training on the fonts and ignores the shift. *DANN* adds a domain "
            "classifier that tries to tell source features from target features, and a gradient reversal layer "
            "that trains the feature extractor to defeat it, so the features stop encoding which domain an "
            "image came from while still predicting the digit (Ganin & Lempitsky, 2015). We measure the shift "
            "as the accuracy of a separate linear classifier that tells the domains apart: 0.5 means it cannot.\n\n"
            "**Its limit.** Adaptation keeps only what the source's features already tell apart on the target. "
            "From sklearn's 8×8 digits alone (no colour, no texture) to the same digits over photos and textures, "
            "the twin stays near chance and DANN does not lift it: on the Experiment page, choose source *digits*, "
            "target *digits-m* and strategy *dann* to see it."),
        formula=(r"E(\theta_f,\theta_y,\theta_d)=\sum_{i\in S} L_y^i(\theta_f,\theta_y)"
                 r"-\lambda\sum_{i\in S\cup T} L_d^i(\theta_f,\theta_d)\\"
                 r"\theta_f \leftarrow \theta_f-\mu\left(\tfrac{\partial L_y}{\partial\theta_f}"
                 r"-\lambda\tfrac{\partial L_d}{\partial\theta_f}\right),\quad"
                 r"\theta_y \leftarrow \theta_y-\mu\tfrac{\partial L_y}{\partial\theta_y},\quad"
                 r"\theta_d \leftarrow \theta_d-\mu\tfrac{\partial L_d}{\partial\theta_d}\\"
                 r"\lambda_p=\frac{2}{1+e^{-10p}}-1,\qquad \mu_p=\frac{\mu_0}{(1+10p)^{0.75}}"),
        expectation="DANN reaches a higher target accuracy, and its domain-confusion accuracy falls toward 0.5.",
        picture="domain",
        claim=Claim("DANN − its twin without adaptation (domain weight 0), target accuracy",
                    side="above", min_effect=0.03, arms=("without-adaptation", "dann")),
        stages=(_domain_shift,),
    ),
    Lesson(
        key="distillation",
        title="5 · Distillation",
        explanation=(
            "A *teacher* that learned task A first (the font digits) is fine-tuned on 10 labelled real digits per "
            "class over photos and textures (digits-m). Fresh *students*, networks a quarter of the teacher's "
            "width, get the same 10 labels per class, no more than the teacher saw, and the unlabelled training "
            "images: one also learns the teacher's softened predictions on every training image, one learns only "
            "the teacher's top answer on them (hard pseudo-labels), one learns from its labels alone. Distillation "
            "compresses what a large network knows into a small one. Temperature T spreads the teacher's "
            "probabilities so the student also learns which wrong answers are nearly right (Hinton et al., 2015); "
            "the hard-label student shows how much of that comes from the spread itself."),
        formula=(r"L=\alpha\,T^2\,\mathrm{KL}\!\left(\sigma(z_t/T)\,\|\,\sigma(z_s/T)\right)"
                 r"+(1-\alpha)\,\mathrm{CE}(y,\sigma(z_s))"),
        expectation=("The small student on soft targets beats the same student on its labels alone, and comes "
                     "closer to its larger teacher."),
        picture="distill",
        claim=Claim("student on soft targets − student on its labels alone, target accuracy",
                    side="above", min_effect=0.05, arms=("distilled", "pseudo-labels", "labels-only")),
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
            "(Gidaris et al., 2018). Here the pretext task uses the target's own training images (real digits over "
            "photos and textures, digits-m), labels unread; the network is then fine-tuned on **10 labelled images "
            "per class**, beside a network trained from scratch on them and one pretrained with the labels of "
            "task A (font digits)."),
        formula=r"\min_\theta\ \frac{1}{4N}\sum_{i=1}^{N}\sum_{k=0}^{3} \mathrm{CE}\big(k,\ f_\theta(\mathrm{rot}_{90k}(x_i))\big)",
        expectation=("Rotation pretraining beats scratch without a single task-A label; supervised pretraining on a "
                     "related labelled task does better still."),
        picture="self-supervised",
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
            "attributes make most probable, each weighed against how common it is among the seen classes "
            "(Lampert et al., 2009; Palatucci et al., 2009). The held-out pairs differ only in colour: described "
            "without colour, two classes share one signature and no attribute predictor can tell them apart — the "
            "attributes must map one-to-one onto the classes. This is the easy case — colour is the pixels' hue "
            "and fill their ink area; a harder one, handwritten digits described by the seven segments of a "
            "digital display, stayed below chance at this size (seven seen digits), as direct attribute prediction "
            "needs many seen classes to learn what an attribute means."),
        formula=(r"\hat y=\arg\max_{c\,\in\,\mathcal{U}}\ "
                 r"\sum_{m}\log\frac{p\big(a_m=a_m(c)\mid x\big)}{p\big(a_m=a_m(c)\big)}"),
        expectation=("With all three attributes, unseen classes are recognised far above chance; without colour, "
                     "accuracy is capped where signatures collide."),
        picture="zero-shot",
        claim=Claim("unseen-class accuracy with every attribute − chance",
                    side="above", min_effect=0.10, arms=("all-attributes", "fewer-attributes"),
                    kind="against a constant"),
        stages=(_zero_shot,),
    ),
    Lesson(
        key="multitask",
        title="9 · Multitask learning",
        explanation=(
            "Two tasks, one network: a label-poor target (real digits over photos and textures, digits-m, "
            "**10 labels per class**) and a data-rich source (12,000 font digits), each with its own output head "
            "on shared layers. Trained together from random weights, every step's gradient of the rich task "
            "shapes the shared features the poor task uses. We compare the poor task trained alone and jointly "
            "with the rich one, for the same steps on the same labelled images; a network fine-tuned after "
            "learning the rich task first is drawn beside them for orientation."),
        formula=r"L(\theta_s,\theta_A,\theta_B)=L_B(\theta_s,\theta_B)+w\,L_A(\theta_s,\theta_A)",
        expectation="Joint training lifts the label-poor task above training it alone.",
        picture="multitask",
        claim=Claim("joint − target task alone, target accuracy",
                    side="above", min_effect=0.05, arms=("alone", "joint")),
        stages=(_multitask,),
    ),
    Lesson(
        key="forgetting",
        title="10 · Forgetting and progressive networks",
        explanation=(
            "A network learned task A (font digits). Fine-tuning it on task B (shapes) changes the features task "
            "A needed: we measure task A's accuracy again after every epoch on B, with A's own output layer kept "
            "aside. Part of the fall is only bookkeeping — B's images replace the running statistics of every "
            "BatchNorm layer — so at the end we re-estimate A's statistics on A's images and measure again: "
            "what is still lost then is lost in the weights. A *progressive network* (Rusu et al., 2016) never "
            "touches A's network: it freezes it as column A, adds a new column for B, and lets every layer of B "
            "read the layer below it in A through a small lateral adapter. It cannot forget — by construction, "
            "so that is shown, not tested — and it grows with every task: how well it learns B, and at what size, "
            "is the price."),
        formula=r"h^{B}_{i}=f\big(W^{B}_{i}\,h^{B}_{i-1}+U_{i}\,h^{A}_{i-1}\big),\qquad \theta_A\ \text{frozen}",
        expectation=("Fine-tuning on B makes task A's accuracy fall, and restoring A's BatchNorm statistics gives "
                     "only part of it back; the progressive network keeps A exactly, at about twice the "
                     "parameters."),
        picture="forgetting",
        claim=Claim("task A lost by fine-tuning on B, with A's BatchNorm statistics restored",
                    side="above", min_effect=0.05, arms=("fine-tuned",), kind="against a constant"),
        stages=(_forgetting,),
    ),
)


def lesson(key: str) -> Lesson:
    for item in LESSONS:
        if item.key == key:
            return item
    raise KeyError(f"No lesson called {key!r}: choose one of {', '.join(l.key for l in LESSONS)}.")
