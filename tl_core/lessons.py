"""Classroom lessons: each one a short explanation, the runs that demonstrate it, and a measured verdict.

A lesson plans plain RunConfigs, each with its role and arm (tl_core.identity) and, once submitted, the
lesson's experiment id, so they show together on the Runs page and go through the same job queue; `verdict`
compares what was measured with what the lecture predicts. Runs are told apart by role, arm and config values,
never by their display names. No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any, Callable

from tl_core import identity, lecture_verdicts
from tl_core.config import RunConfig
from tl_core.identity import Role
from tl_core.status import Status

Run = dict[str, Any]  # {"config": RunConfig dict, "summary": dict, "metrics": [per-epoch rows]}


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    explanation: str  # markdown, a few sentences
    expectation: str  # the picture the lecture predicts, in one sentence
    picture: str  # how the page draws it (tl_view.lesson_views.lesson_figures): curves | labels | … | forgetting
    minutes_on_cpu: float  # its runs on an idle 2-core CPU with the source network cached, measured and rounded up
    stages: tuple[Callable[[bool, list[Run]], list[RunConfig]], ...]
    formula: str = ""  # LaTeX shown under the explanation
    notes: tuple[str, ...] = field(default_factory=tuple)


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


FREEZE_DEPTHS = (0, 1, 2, 3, 4)


def _which_layers(quick: bool, _: list[Run]) -> list[RunConfig]:
    depths = (0, 4) if quick else FREEZE_DEPTHS
    configs = [_base(quick, freeze=k, labels_per_class=20, epochs=6 if not quick else 2, snapshot_size=0,
                     name=f"freeze {k}", arm="freeze") for k in depths]
    configs.append(_base(quick, strategy="scratch", weights="random", freeze=0, labels_per_class=20,
                         epochs=6 if not quick else 2, snapshot_size=0, name="scratch", arm="scratch"))
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


def _distill_teacher(quick: bool, _: list[Run]) -> list[RunConfig]:
    teacher = "small_cnn" if quick else "resnet18"
    return [_base(quick, backbone=teacher, strategy="target-only", weights="random", freeze=0,
                  labels_per_class=None, epochs=8 if not quick else 1, snapshot_size=0, name=f"teacher ({teacher})",
                  role=Role.TEACHER.value, arm="teacher")]


def _distill_students(quick: bool, previous: list[Run]) -> list[RunConfig]:
    teacher = next(r for r in previous if r["config"]["role"] == Role.TEACHER)
    common = dict(weights="random", freeze=0, labels_per_class=10, epochs=8 if not quick else 1, snapshot_size=0,
                  role=Role.STUDENT.value)
    return [
        _base(quick, strategy="distill", settings={"teacher": teacher["summary"]["run_id"]}, name="student, distilled",
              arm="distilled", **common),
        _base(quick, strategy="scratch", name="student, labels only", arm="labels-only", **common),
    ]


def _negative_transfer(quick: bool, _: list[Run]) -> list[RunConfig]:
    common = dict(source="shapes" if not quick else "digits-m", labels_per_class=None, snapshot_size=0,
                  epochs=6 if not quick else 1, pretrain_epochs=4 if not quick else 1)  # no shipped shapes network
    return [
        _base(quick, freeze=3, name="transfer from shapes, 3 of 4 groups frozen", arm="frozen", **common),
        _base(quick, freeze=0, name="transfer from shapes, all layers fine-tuned", arm="fine-tuned", **common),
        _base(quick, strategy="scratch", weights="random", freeze=0, name="scratch", arm="scratch", **common),
    ]


LECTURE_SEEDS = (0, 1, 2)  # the lessons below repeat each arm over these seeds and judge by an interval


def _seeds(quick: bool) -> tuple[int, ...]:
    return (0,) if quick else LECTURE_SEEDS


def _self_supervised(quick: bool, _: list[Run]) -> list[RunConfig]:
    arms = (("scratch", "scratch", "random", "scratch"),
            ("rotation", "fine-tune", "ssl:rotation:target", "rotation-pretrained (target images, no labels)"),
            ("supervised", "fine-tune", "source", "supervised on the source (labels of task A)"))
    return [_base(quick, strategy=strategy, weights=weights, freeze=0 if strategy == "scratch" else 1, seed=seed,
                  epochs=6 if not quick else 2, snapshot_size=(300 if not quick else 60) if seed == 0 else 0,
                  snapshot_every=0, name=f"{name}, seed {seed}", arm=arm)
            for seed in _seeds(quick) for arm, strategy, weights, name in arms]


def _zero_shot(quick: bool, _: list[Run]) -> list[RunConfig]:
    common = dict(target="attribute-shapes", strategy="zero-shot", weights="random", freeze=0, snapshot_size=0,
                  labels_per_class=None if not quick else 20, epochs=4 if not quick else 2)
    return [_base(quick, settings=settings, seed=seed, name=f"{name}, seed {seed}", arm=arm, **common)
            for seed in _seeds(quick) for arm, settings, name in (
                ("all-attributes", {}, "shape, fill and colour"),
                ("without-colour", {"attributes": "shape,fill"}, "shape and fill only"))]


def _multitask(quick: bool, _: list[Run]) -> list[RunConfig]:
    arms = (("alone", dict(strategy="scratch", weights="random", freeze=0), "target task alone"),
            ("fine-tuned", dict(strategy="fine-tune", weights="source", freeze=0), "fine-tuned after the source task"),
            ("joint", dict(strategy="multitask", weights="random", freeze=0), "both tasks jointly"))
    return [_base(quick, labels_per_class=3, epochs=6 if not quick else 2, snapshot_size=0, seed=seed,
                  name=f"{name}, seed {seed}", arm=arm, **changes)
            for seed in _seeds(quick) for arm, changes, name in arms]


def _forgetting(quick: bool, _: list[Run]) -> list[RunConfig]:
    common = dict(target="shapes" if not quick else "digits", labels_per_class=30, epochs=6 if not quick else 2,
                  snapshot_size=0, freeze=0)
    return [_base(quick, seed=seed, name=f"{name}, seed {seed}", arm=arm, **common, **changes)
            for seed in _seeds(quick) for arm, changes, name in (
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
        minutes_on_cpu=1.0,
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
        minutes_on_cpu=1.0,
        stages=(_how_many_labels,),
    ),
    Lesson(
        key="which-layers",
        title="3 · Which layers transfer?",
        explanation=(
            "Freeze the first K layer groups of the task-A network and fine-tune the rest on task B. Early "
            "layers detect edges and strokes that suit any image, so freezing them costs little; late layers "
            "are specific to task A, so freezing them too removes what task B needs to adapt "
            "(Yosinski et al., 2014)."),
        expectation="Accuracy holds while only early layers are frozen and falls as the specific late layers are frozen too.",
        picture="freeze",
        minutes_on_cpu=1.0,
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
        minutes_on_cpu=2.0,
        stages=(_domain_shift,),
    ),
    Lesson(
        key="distillation",
        title="5 · Distillation",
        explanation=(
            "A large network (the *teacher*, ResNet-18) is trained on all labelled digits. A small network (the "
            "*student*) then learns from only 10 labels per class plus the teacher's softened predictions on "
            "every training image. Temperature T spreads the teacher's probabilities so the student also learns "
            "which wrong answers are nearly right (Hinton et al., 2015)."),
        formula=(r"L=\alpha\,T^2\,\mathrm{KL}\!\left(\sigma(z_t/T)\,\|\,\sigma(z_s/T)\right)"
                 r"+(1-\alpha)\,\mathrm{CE}(y,\sigma(z_s))"),
        expectation="The distilled student beats the same student trained on its labels alone, at a fraction of the teacher's size.",
        picture="distill",
        minutes_on_cpu=3.0,
        stages=(_distill_teacher, _distill_students),
    ),
    Lesson(
        key="negative-transfer",
        title="6 · Negative transfer",
        explanation=(
            "Transfer is not free. Here task A is *shapes* (circles, stars, crosses), unrelated to digits. With "
            "most layers frozen the digit classifier must make do with shape detectors; fine-tuning every layer, "
            "or starting from scratch, lets the network learn what digits need."),
        expectation="Frozen transfer from an unrelated task ends below training from scratch.",
        picture="negative",
        minutes_on_cpu=1.0,
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
            "scratch and one pretrained with the labels of task A (font digits). Three seeds each. Measured here, "
            "the claim does **not** hold on these small, centred digits: rotation pretraining ended about 10 points "
            "*below* scratch on every seed (perhaps because 0, 1 and 8 look alike upside down and 6 and 9 swap), "
            "and even supervised pretraining only matched scratch, which reaches 0.87 with 5 labels per class in 6 epochs."),
        formula=r"\min_\theta\ \frac{1}{4N}\sum_{i=1}^{N}\sum_{k=0}^{3} \mathrm{CE}\big(k,\ f_\theta(\mathrm{rot}_{90k}(x_i))\big)",
        expectation=("Rotation pretraining beats scratch without a single task-A label; supervised pretraining on a "
                     "related labelled task does better still."),
        picture="self-supervised",
        minutes_on_cpu=10.0,
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
        minutes_on_cpu=8.0,
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
            "Three seeds each. Measured here, joint training gave no reliable gain over the task alone (one seed "
            "up, two level or down), while fine-tuning after the rich task did; one suspect is BatchNorm, whose "
            "statistics mix both domains in every joint batch."),
        formula=r"L(\theta_s,\theta_A,\theta_B)=L_B(\theta_s,\theta_B)+w\,L_A(\theta_s,\theta_A)",
        expectation="Joint training lifts the label-poor task above training it alone.",
        picture="multitask",
        minutes_on_cpu=7.0,
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
            "small lateral adapter. It cannot forget — and it grows with every task. Three seeds each. Measured "
            "here, the new column also learned task B a little *worse* than fine-tuning did (0.34 against 0.38)."),
        formula=r"h^{B}_{i}=f\big(W^{B}_{i}\,h^{B}_{i-1}+U_{i}\,h^{A}_{i-1}\big),\qquad \theta_A\ \text{frozen}",
        expectation=("Fine-tuning on B makes task A's accuracy fall; the progressive network keeps it exactly, "
                     "at about twice the parameters."),
        picture="forgetting",
        minutes_on_cpu=10.0,
        stages=(_forgetting,),
    ),
)


def lesson(key: str) -> Lesson:
    for item in LESSONS:
        if item.key == key:
            return item
    raise KeyError(f"No lesson called {key!r}: choose one of {', '.join(l.key for l in LESSONS)}.")


def needs_pretraining(lesson: Lesson) -> bool:
    """Whether its first runs will pretrain a network first (not shipped or cached: adds a minute or more)."""
    from tl_core.pretrain import has_source_network
    from tl_core.ssl import ROTATION_WEIGHTS, rotation_checkpoint_path

    return any((c.weights == "source" and not has_source_network(c))
               or (c.weights in ROTATION_WEIGHTS and not rotation_checkpoint_path(c).exists())
               for c in lesson.stages[0](False, []))


def latest_experiment(rows: Sequence[dict], key: str) -> str | None:
    """The experiment id of the newest recorded run of this lesson (`rows` as `RunStore.list` gives them)."""
    newest = max((r for r in rows if identity.lesson_key(r.get("experiment") or "") == key),
                 key=lambda r: r.get("created") or 0, default=None)
    return newest["experiment"] if newest else None


def experiment_run_ids(rows: Sequence[dict], experiment: str) -> list[str]:
    """The experiment's run ids in the order they were submitted."""
    return [r["run_id"] for r in sorted((r for r in rows if r.get("experiment") == experiment),
                                        key=lambda r: (r.get("created") or 0, r["run_id"]))]


def plan_next(lesson: Lesson, runs: Sequence[Run], experiment: str,
              quick: bool = False) -> tuple[str, list[RunConfig]]:
    """The next stage to submit, given the lesson's runs so far in submission order (all of them ended).

    ("stage N", configs) — the configs tagged with `experiment`; ("done", []) when every stage has its runs;
    ("blocked", []) when a later stage needs runs of an earlier one that did not finish (e.g. no teacher).
    """
    submitted = 0
    for i, stage in enumerate(lesson.stages):
        previous = list(runs[:submitted])
        if i and any(r["summary"].get("status") != "finished" for r in previous):
            return "blocked", []
        configs = stage(quick, previous)
        if len(runs) <= submitted:
            return f"stage {i + 1}", [c.replace(experiment=experiment) for c in configs]
        submitted += len(configs)
    return "done", []


def blocked_reason(lesson: Lesson, runs: Sequence[Run]) -> str | None:
    """Why the lesson's later stage cannot start (None when it can, or has)."""
    if len(lesson.stages) < 2:
        return None
    first = len(lesson.stages[0](False, []))
    if len(runs) != first or len(runs) == 0:
        return None
    unfinished = [r for r in runs if Status.of(r["summary"].get("status")).terminal
                  and r["summary"]["status"] != Status.FINISHED]
    if not unfinished:
        return None
    names = ", ".join(f"{r['config'].get('name')} ({r['summary'].get('status')})" for r in unfinished)
    return f"The second stage needs the first stage's runs, and these did not finish: {names}. Run the lesson again."


def collect(run_ids: list[str], store) -> list[Run]:
    """The lesson's runs as `Run` dicts, read from the run store (unfinished ones included)."""
    runs = []
    for run_id in run_ids:
        row = store.get(run_id)
        if row is not None:
            runs.append({"config": row["config"], "summary": row["summary"],
                         "metrics": store.run_dir(run_id).read_metrics()})
    return runs


def finished(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r["summary"].get("status") == "finished"]


def by_arm(runs: list[Run]) -> dict[str, Run]:
    """Finished runs by arm (for lessons with one run per arm)."""
    return {r["config"]["arm"]: r for r in finished(runs)}


def arm_runs(runs: list[Run], arm: str) -> list[Run]:
    return [r for r in finished(runs) if r["config"]["arm"] == arm]


def _acc(run: Run | None) -> float | None:
    return None if run is None else run["summary"].get("target_acc")


def verdict(key: str, runs: list[Run]) -> tuple[bool | None, str]:
    """(met, sentence): whether the measured runs show the lecture's claim, with the figures. None: too few runs."""
    if key in lecture_verdicts.VERDICTS:
        return lecture_verdicts.VERDICTS[key](runs)
    named = by_arm(runs)
    if key == "why-transfer":
        scratch, fine = named.get("scratch"), named.get("fine-tune")
        if not scratch or not fine or not scratch["metrics"] or not fine["metrics"]:
            return None, "Waiting for the scratch and fine-tune runs."
        start = fine["metrics"][0]["target_acc"] - scratch["metrics"][0]["target_acc"]
        end = _acc(fine) - _acc(scratch)
        probe = named.get("linear-probe")
        probe_text = f", the linear probe {_acc(probe):.2f}" if probe else ""
        return start > 0 and end > 0, (
            f"After one epoch fine-tuning is {start:+.2f} ahead of scratch; at the end it reaches {_acc(fine):.2f} "
            f"against {_acc(scratch):.2f}{probe_text}.")
    if key == "how-many-labels":
        gaps = []
        with_by_budget = {r["config"]["labels_per_class"]: r for r in arm_runs(runs, "with")}
        without_by_budget = {r["config"]["labels_per_class"]: r for r in arm_runs(runs, "without")}
        for budget in LABEL_BUDGETS:
            tag = "all" if budget is None else str(budget)
            with_t, without = with_by_budget.get(budget), without_by_budget.get(budget)
            if with_t and without:
                gaps.append((tag, _acc(with_t) - _acc(without)))
        if len(gaps) < 2:
            return None, "Waiting for at least two label budgets."
        text = "; ".join(f"{tag} per class: {gap:+.2f}" for tag, gap in gaps)
        return gaps[0][1] > gaps[-1][1], f"Transfer gain by labels per class — {text}."
    if key == "which-layers":
        depths = [(r["config"]["freeze"], _acc(r)) for r in arm_runs(runs, "freeze")]
        if len(depths) < 2:
            return None, "Waiting for at least two freeze depths."
        depths.sort()
        best = max(a for _, a in depths)
        text = ", ".join(f"K={k}: {a:.2f}" for k, a in depths)
        return depths[-1][1] < best, f"Target accuracy by frozen groups — {text}."
    if key == "domain-shift":
        source, dann = named.get("source-only"), named.get("dann")
        if not source or not dann:
            return None, "Waiting for the source-only and DANN runs."
        sc, dc = source["summary"].get("domain_confusion_acc"), dann["summary"].get("domain_confusion_acc")
        confusion = f"; domain confusion {sc:.2f} → {dc:.2f}" if sc is not None and dc is not None else ""
        met = _acc(dann) > _acc(source) and (sc is None or dc is None or dc < sc)
        return met, f"Target accuracy {_acc(source):.2f} (source only) → {_acc(dann):.2f} (DANN){confusion}."
    if key == "distillation":
        teacher = named.get("teacher")
        distilled, alone = named.get("distilled"), named.get("labels-only")
        if not teacher or not distilled or not alone:
            return None, "Waiting for the teacher and both students."
        ratio = teacher["summary"].get("model_params", 0) / max(distilled["summary"].get("model_params", 1), 1)
        return _acc(distilled) > _acc(alone), (
            f"Teacher {_acc(teacher):.2f}; student with distillation {_acc(distilled):.2f} against "
            f"{_acc(alone):.2f} on labels alone, with {ratio:.0f}× fewer parameters than the teacher.")
    if key == "negative-transfer":
        frozen, scratch = named.get("frozen"), named.get("scratch")
        if not frozen or not scratch:
            return None, "Waiting for the frozen-transfer and scratch runs."
        tuned = named.get("fine-tuned")
        tuned_text = f", fine-tuning every layer {_acc(tuned):.2f}" if tuned else ""
        return _acc(frozen) < _acc(scratch), (
            f"Frozen transfer from shapes {_acc(frozen):.2f} against scratch {_acc(scratch):.2f}{tuned_text}.")
    raise KeyError(key)

