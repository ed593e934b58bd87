"""The quick sweep: which backbone and weights, then how deep to fine-tune.

Stage 1 (probe): for every candidate (backbone, weights), a linear probe on cached features in each fold;
seconds per run. Stage 2 (fine-tune): the best candidate, fine-tuned at the freeze depths the probe evidence
makes most promising (see `finetune_depths`), in each fold. Every run is an ordinary RunConfig, so the
dashboard queues them through the JobManager and the runs show up on the Runs page; results come back in any
order and `summarise` turns whatever has arrived into a SweepReport.

    probe = plan_probe_stage(prepared.views, default_candidates())
    ...run them, collect RunResults...
    finetune = plan_finetune_stage(probe_results, prepared.views)
    report = summarise(probe_results + finetune_results)

All runs share batch size, learning rate, seed and pretraining epochs: those key the cached source-pretrained
checkpoint (`tl_core.networks.pretrain.checkpoint_path`), so the source model is trained once for the whole sweep.
The spread comes from the folds, not from seeds, for the same reason.

Settings are ranked, and the winner chosen, on each fold's validation split (`Score.val_acc_mean`); the
accuracies reported are those of the folds' test splits, which play no part in any choice.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from tl_core.backbones import describe_backbone
from tl_core.backbones.weights import cached_imagenet_file, has_imagenet_weights
from tl_core.feasibility.results import RunResult, Score, score
from tl_core.runs import identity
from tl_core.runs.config import RunConfig
from tl_core.runs.identity import Role
from tl_core.strategies import settings_schema, strategy_class

PROBE, FINETUNE, CURVE = "probe", "fine-tune", "curve"
BUILTIN_SOURCE = "synth-digits"  # rendered digits: built offline in seconds, the lab's default task A
SMALL_PER_CLASS = 100  # below this many labelled images per class a dataset counts as small (see recommend.py)
SIMILAR_MIN_GAIN = 0.05  # transferred features beat random ones by 5 points in a linear probe: "similar"


@dataclass(frozen=True)
class Candidate:
    backbone: str
    weights: str  # random | imagenet | source | file:PATH
    source: str = BUILTIN_SOURCE  # where `source` weights are pretrained; ignored otherwise

    @property
    def label(self) -> str:
        if self.weights == "source":  # a user's own source data is named without its path (tl_core.serving.privacy)
            origin = "your source data's" if self.source.startswith("folder:") else self.source
            return f"{self.backbone} ({origin} weights)"
        if self.weights.startswith("file:"):
            return f"{self.backbone} (weights from a file)"
        return f"{self.backbone} ({self.weights} weights)"

    @property
    def transfers(self) -> bool:
        return self.weights != "random"

    @classmethod
    def of(cls, config: RunConfig) -> "Candidate":
        return cls(config.backbone, config.weights, config.source if config.weights == "source" else BUILTIN_SOURCE)


@dataclass(frozen=True)
class SweepSettings:
    """Small by default: on 2 CPU cores a 10-class folder of 50 images per class probes in well under a minute."""

    img_size: int = 32
    probe_epochs: int = 8
    finetune_epochs: int = 6
    scratch_epochs: int = 10  # the no-transfer arm of the label curve trains everything from random weights
    finetune_head_epochs: int = 0  # >0: the lectures' two-stage recipe (head first, then the unfrozen layers)
    finetune_depths: int = 2  # how many freeze depths stage 2 tries
    folds: int = 3
    batch_size: int = 64
    lr: float = 3e-3
    pretrain_epochs: int = 4
    labels_per_class: int | None = None  # None: every training image
    seed: int = 0
    device: str = "auto"
    check_id: str = "check"  # the runs' experiment is identity.feasibility(check_id); their arm is the stage
    domain_confusion_samples: int = 200  # images per domain for the source-vs-target check (0: skip it)

    def to_dict(self) -> dict:
        return asdict(self)


def default_candidates(img_size: int = 32, source: str = BUILTIN_SOURCE,
                       imagenet_backbones: Sequence[str] = ("resnet18", "mobilenetv3_small_100")) -> list[Candidate]:
    """Candidates that work offline: small_cnn pretrained on `source`, small_cnn with random weights (the
    baseline that tells whether transferred features help), and ImageNet backbones whose weights are cached."""
    found = [Candidate("small_cnn", "source", source), Candidate("small_cnn", "random")]
    for name in imagenet_backbones:
        try:  # the disk check is instant; describe_backbone (which builds the model) only confirms a hit
            if (has_imagenet_weights(name) and cached_imagenet_file(name)
                    and describe_backbone(name, img_size).imagenet_cached):
                found.append(Candidate(name, "imagenet"))
        except Exception:  # an unknown or broken name is simply not offered
            continue
    return found


def stage_of(config: RunConfig) -> str:
    return config.arm if config.role == Role.FEASIBILITY else ""


def base_config(settings: SweepSettings, view: str, candidate: Candidate, strategy: str, stage: str,
                freeze: int | None = None, fold: int = 0) -> RunConfig:
    """A run of the sweep. The target is the user's data; with other than `source` weights the source is the
    target itself (never used, and already loaded)."""
    cls = strategy_class(strategy)
    epochs = settings.finetune_epochs if cls.trains_backbone else settings.probe_epochs
    what = f"label curve · {cls.label}" if stage == CURVE else cls.label  # in the sweep the strategy names the stage
    depth = f" freeze {freeze}" if freeze is not None and cls.uses_freeze else ""
    head_first = settings.finetune_head_epochs and "head_epochs" in settings_schema(strategy)
    return RunConfig(
        source=candidate.source if candidate.weights == "source" else view,
        target=view,
        backbone=candidate.backbone,
        weights=candidate.weights,
        strategy=strategy,
        freeze=freeze if freeze is not None else 0,
        labels_per_class=settings.labels_per_class,
        epochs=epochs,
        batch_size=settings.batch_size,
        lr=settings.lr,
        img_size=settings.img_size,
        seed=settings.seed,
        device=settings.device,
        settings={"head_epochs": settings.finetune_head_epochs} if head_first else {},
        pretrain_epochs=settings.pretrain_epochs,
        snapshot_every=0,
        snapshot_size=0,
        name=f"{what}{depth} · {candidate.label} · fold {fold + 1}",
        role=Role.FEASIBILITY.value,
        experiment=identity.feasibility(settings.check_id),
        arm=stage,
    )


def plan_probe_stage(views: Sequence[str], candidates: Sequence[Candidate] | None = None,
                     settings: SweepSettings = SweepSettings()) -> list[RunConfig]:
    """A linear probe of every candidate in every fold. The first fold of each transferring candidate also
    measures domain confusion between source and target features (`domain_confusion_acc` in its summary)."""
    candidates = list(candidates) if candidates is not None else default_candidates(settings.img_size)
    configs = []
    for k, view in enumerate(views):
        for candidate in candidates:
            config = base_config(settings, view, candidate, "linear-probe", PROBE, fold=k)
            if k == 0 and candidate.weights == "source" and settings.domain_confusion_samples:
                config = config.replace(snapshot_size=settings.domain_confusion_samples)
            configs.append(config)
    return configs


# ---------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class SettingScore:
    """One setting of the sweep (candidate × strategy × freeze depth) over its folds."""

    stage: str
    candidate: Candidate
    strategy: str
    freeze: int
    num_groups: int | None  # layer groups of the backbone (for "the last two groups")
    group_names: tuple[str, ...]
    score: Score
    domain_confusion_acc: float | None = None

    @property
    def label(self) -> str:
        cls = strategy_class(self.strategy)
        if not cls.uses_freeze:
            return f"{cls.label} · {self.candidate.label}"
        return f"{cls.label} {trained_groups_phrase(self.freeze, self.num_groups, self.group_names)} · " \
               f"{self.candidate.label}"


def trained_groups_phrase(freeze: int, num_groups: int | None, names: Sequence[str] = ()) -> str:
    """'the last two layer groups (block 2, head)' for freeze depth 2 of 4."""
    if num_groups is None:
        return f"above freeze depth {freeze}"
    trained = num_groups - freeze
    if freeze <= 0:
        return "the whole network"
    words = {1: "the last layer group", 2: "the last two layer groups", 3: "the last three layer groups"}
    phrase = words.get(trained, f"the last {trained} layer groups")
    return f"{phrase} ({', '.join(names[freeze:])})" if len(names) == num_groups else phrase


def _groups(backbone: str, img_size: int) -> tuple[int | None, tuple[str, ...]]:
    try:
        groups = describe_backbone(backbone, img_size).groups
        return len(groups), tuple(g.name for g in groups)
    except Exception:
        return None, ()


@dataclass(frozen=True)
class SweepReport:
    probe: tuple[SettingScore, ...]  # best first
    finetune: tuple[SettingScore, ...]  # best first
    pending: int  # planned runs without a result yet
    seconds: float  # training time of every run so far

    @property
    def best_probe(self) -> SettingScore | None:
        return self.probe[0] if self.probe else None

    @property
    def best_transfer_probe(self) -> SettingScore | None:
        return next((s for s in self.probe if s.candidate.transfers), None)

    @property
    def random_probe(self) -> SettingScore | None:
        """The random-features probe of the best transferring candidate's backbone (or any random one)."""
        best = self.best_transfer_probe
        randoms = [s for s in self.probe if not s.candidate.transfers]
        same = [s for s in randoms if best is not None and s.candidate.backbone == best.candidate.backbone]
        return (same or randoms or [None])[0]

    @property
    def best_finetune(self) -> SettingScore | None:
        return self.finetune[0] if self.finetune else None

    @property
    def best(self) -> SettingScore | None:
        """The winner by validation accuracy (its reported test accuracy played no part in choosing it)."""
        scored = [s for s in (*self.probe, *self.finetune) if s.score.runs]
        return max(scored, key=chosen_by) if scored else None

    @property
    def transfer_gain(self) -> float | None:
        """Validation accuracy of a probe on transferred features minus that on random features: evidence of
        similarity (it steers the fine-tune depths, so it is measured on the validation splits)."""
        best, rand = self.best_transfer_probe, self.random_probe
        if best is None or rand is None or not best.score.runs or not rand.score.runs:
            return None
        gain = best.score.val_acc_mean - rand.score.val_acc_mean
        return None if gain != gain else gain

    @property
    def domain_confusion_acc(self) -> float | None:
        best = self.best_transfer_probe
        return best.domain_confusion_acc if best is not None else None

    def to_dict(self) -> dict:
        def setting(s: SettingScore) -> dict:
            return {**asdict(s), "label": s.label}

        return {"probe": [setting(s) for s in self.probe], "finetune": [setting(s) for s in self.finetune],
                "pending": self.pending, "seconds": self.seconds, "transfer_gain": self.transfer_gain,
                "domain_confusion_acc": self.domain_confusion_acc,
                "best": setting(self.best) if self.best else None}


def chosen_by(setting: SettingScore) -> float:
    """What settings are ranked by: mean validation accuracy over folds (−1 without finished runs)."""
    value = setting.score.val_acc_mean if setting.score.runs else -1.0
    return -1.0 if value != value else value


def _setting_key(config: RunConfig) -> tuple:
    depth = config.freeze if strategy_class(config.strategy).uses_freeze else -1
    return (Candidate.of(config), config.strategy, depth)


def _score_settings(results: Sequence[RunResult], stage: str) -> tuple[SettingScore, ...]:
    by_setting: dict[tuple, list[RunResult]] = {}
    for r in results:
        by_setting.setdefault(_setting_key(r.config), []).append(r)
    scores = []
    for (candidate, strategy, freeze), runs in by_setting.items():
        num_groups, names = _groups(candidate.backbone, runs[0].config.img_size)
        if not strategy_class(strategy).trains_backbone and num_groups is not None:
            freeze = num_groups
        confusion = [r.summary["domain_confusion_acc"] for r in runs if r.ok and r.summary.get("domain_confusion_acc")
                     is not None]
        scores.append(SettingScore(stage, candidate, strategy, freeze, num_groups, names, score(runs),
                                   float(confusion[0]) if confusion else None))
    return tuple(sorted(scores, key=lambda s: (-chosen_by(s), s.label)))


def summarise(results: Sequence[RunResult], planned: Sequence[RunConfig] = ()) -> SweepReport:
    """Probe and fine-tune results (curve runs are ignored) → scores with mean ± sd over folds, best (by
    validation accuracy) first.

    `planned`, when given, is what was submitted: `pending` counts the planned runs without a result.
    """
    probe = [r for r in results if stage_of(r.config) == PROBE]
    finetune = [r for r in results if stage_of(r.config) == FINETUNE]
    sweep_results = probe + finetune
    arrived = {_comparable(r.config) for r in sweep_results}
    pending = sum(1 for c in planned if stage_of(c) in (PROBE, FINETUNE) and _comparable(c) not in arrived)
    return SweepReport(_score_settings(probe, PROBE), _score_settings(finetune, FINETUNE), pending,
                       float(sum(r.seconds for r in sweep_results)))


def _comparable(config: RunConfig) -> tuple:
    """What identifies a planned run in its result (the engine may normalise other fields)."""
    depth = config.freeze if strategy_class(config.strategy).uses_freeze else None
    return (config.target, config.backbone, config.weights, config.strategy, depth, config.labels_per_class,
            config.experiment, config.arm)


# ---------------------------------------------------------------- stage 2


def finetune_depths(num_groups: int, small: bool, similar: bool | None, count: int = 2) -> list[int]:
    """Freeze depths to try, following the lectures' grid: similar features are worth keeping frozen (train the
    last one or two groups); different features need more of the network retrained; more data affords
    unfreezing more. Depth d trains groups d..num_groups−1; num_groups itself would be a linear probe."""
    last = num_groups - 1
    if similar is None:
        similar = True
    if small and similar:
        wanted = [last, last - 1, num_groups // 2]
    elif small:
        wanted = [last - 1, num_groups // 2, last]
    elif similar:
        wanted = [last - 1, 0, num_groups // 2]
    else:
        wanted = [num_groups // 2, 0, last - 1]
    depths: list[int] = []
    for d in wanted:
        d = min(max(d, 0), last)
        if d not in depths:
            depths.append(d)
    return depths[:max(1, count)]


def plan_finetune_stage(probe_results: Sequence[RunResult], views: Sequence[str],
                        settings: SweepSettings = SweepSettings(), candidate: Candidate | None = None,
                        depths: Sequence[int] | None = None) -> list[RunConfig]:
    """Fine-tune the best probed transferring candidate (see `_stage2_candidate`) at the most promising freeze
    depths, in every fold. [] when no probe has finished."""
    report = summarise(probe_results)
    best = _stage2_candidate(report) if candidate is None else None
    if candidate is None:
        if best is None:
            return []
        candidate = best.candidate
    num_groups, _ = _groups(candidate.backbone, settings.img_size)
    if num_groups is None or num_groups < 2:
        return []
    if depths is None:
        labelled = best.score.labels_per_class if best is not None else None
        small = labelled is None or labelled < SMALL_PER_CLASS
        gain = report.transfer_gain
        depths = finetune_depths(num_groups, small, None if gain is None else gain >= SIMILAR_MIN_GAIN,
                                 settings.finetune_depths)
    return [base_config(settings, view, candidate, "fine-tune", FINETUNE, freeze=d, fold=k)
            for d in depths for k, view in enumerate(views)]



def _stage2_candidate(report: SweepReport) -> SettingScore | None:
    """The best transferring candidate, even when random features probed better: fine-tuning is what may still
    rescue transferred weights (the grid's "different" cases), while training random weights is the label
    curve's scratch arm. Without any transferring candidate, the best one."""
    scored = [s for s in report.probe if s.score.runs]
    return next((s for s in scored if s.candidate.transfers), scored[0] if scored else None)
