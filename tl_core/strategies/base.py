"""What the one training loop asks of a strategy.

A strategy decides which parameters train (and at which rate), what the loss of a batch is, and how to
predict; the loop owns everything else (batches, devices, precision, events, records, stopping).
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import torch
from torch.nn import functional as F

from tl_core.backbones import freeze_first
from tl_core.strategies.registry import suggested_lr, transfers
from tl_core.train.schedules import cosine_factor

if TYPE_CHECKING:
    from tl_core.networks.model import TransferModel
    from tl_core.runs.config import RunConfig
    from tl_core.train.task import Batch, Task


@dataclass
class NoSettings:
    pass


@dataclass
class StepOutput:
    loss: torch.Tensor
    logits: torch.Tensor  # logits of the labelled part of the batch, for the running train accuracy


def scratch_twin(config: "RunConfig", arm: str) -> "RunConfig":
    """`config` trained from random weights on its labels alone, every layer, at scratch's own learning rate (with
    no task A to forget)."""
    return config.replace(strategy="scratch", weights="random", freeze=0, settings={}, lr=suggested_lr("scratch"),
                          arm=arm, measure_forgetting=False)


class Strategy:
    """A strategy's facts are declared here, on its class, and read by everyone else (the form, the baseline, the
    time estimate, the feasibility sweep, the lessons): nothing outside this package compares a strategy's name
    (tests/test_strategy_house.py). Like scikit-learn's estimator tags, each is a plain class attribute."""

    name: ClassVar[str]
    label: ClassVar[str]  # the name in words ("linear probe"); `register` sets it to the name unless declared
    summary: ClassVar[str] = ""
    Settings: ClassVar[type] = NoSettings  # a dataclass of `tl_core.runs.schema.spec` fields: help, range, unit
    uses_weights: ClassVar[bool] = True  # False: trains from random weights whatever the run's weights say
    uses_freeze: ClassVar[bool] = True  # keeps the run's first `freeze` layer groups fixed
    freeze_note: ClassVar[str] = ""  # for one that ignores the freeze depth: what it trains instead, in words
    trains_backbone: ClassVar[bool] = True  # False: only a new head trains, on the backbone's fixed features
    labelled_domain: ClassVar[str] = "target"  # whose labels train the model: "target" or "source"
    needs_source_labels: ClassVar[bool] = False  # learns from the source task's labels
    needs_teacher: ClassVar[bool] = False  # learns from a finished run's model (its `teacher` setting)
    uses_unlabelled_target: ClassVar[bool] = False
    needs_pretrained_weights: ClassVar[bool] = False
    optimizer_name: ClassVar[str] = "AdamW"  # what make_optimizer builds, in words
    default_lr: ClassVar[float | None] = None  # a learning rate that suits this strategy's optimiser (None: RunConfig's)
    # Training lengths chosen without target labels, per (source, target) pair: the Experiment page starts a run of
    # this strategy on such a pair at that many epochs.
    selected_epochs: ClassVar[dict[tuple[str, str], int]] = {}
    # Settings chosen without target labels for one (source, target) pair where they differ from the Settings'
    # defaults: a new run of this strategy on that pair starts from them (the CLI, the Experiment page, the benches).
    selected_settings: ClassVar[dict[tuple[str, str], dict]] = {}
    baseline_label: ClassVar[str] = "without transfer"  # what its baseline run is, in words (tl_core.runs.baselines)
    # What its training loss adds to the labels' cross-entropy, in words, for the learning curves (empty: nothing):
    # its baseline's loss counts the labels alone, so the two losses are not on one scale.
    loss_note: ClassVar[str] = ""
    is_without: ClassVar[bool] = False  # a "without" run by nature (scratch, source-only): drawn as the baseline
    # What one training step costs, per image of its labelled batch: (images trained — forward and backward —,
    # images only passed forward, e.g. through a frozen teacher or column). `tl_core.serving.calibration` prices them at
    # this server's measured training and evaluation paces.
    step_images: ClassVar[tuple[float, float]] = (1.0, 0.0)
    eval_passes: ClassVar[float] = 1.0  # networks an evaluated image goes through (the progressive network: both columns)
    encodes_once: ClassVar[bool] = False  # passes every split through the frozen backbone once, then trains a head

    def data_shares(self, config: "RunConfig") -> tuple[float, float]:
        """(share of the labelled images it trains on, share of the validation and test images it scores), for
        `tl_core.serving.calibration` to price: all of both, unless the strategy holds some classes out."""
        return 1.0, 1.0

    @classmethod
    def with_label(cls) -> str:
        """What a run of this strategy is next to its baseline: 'with transfer', 'with adaptation', ..."""
        return "with" + cls.baseline_label.removeprefix("without")

    @classmethod
    def runs_without(cls, config: "RunConfig") -> bool:
        """Whether this run is a "without" run: the strategy is one by nature, or (DANN) its settings make it one."""
        return cls.is_without

    @classmethod
    def loss_note_for(cls, config: "RunConfig") -> str:
        """`loss_note` for this run: none for one that is "without" by its settings (DANN at domain weight 0 adds
        no domain loss, so its curve is on its baseline's scale)."""
        return "" if cls.runs_without(config) else cls.loss_note

    @classmethod
    def baseline(cls, config: "RunConfig") -> "RunConfig | None":
        """What "without" means for a run of this strategy (tl_core.runs.baselines adds its role and name), or None
        when it has none. By default: scratch on the same labelled images, for a run that transfers."""
        if cls.is_without or not transfers(config):
            return None
        return scratch_twin(config, "without-transfer")

    def __init__(self, settings=None):
        self.settings = settings if settings is not None else self.Settings()
        self.runs_dir: Path | None = None  # the store the run is recorded in (build_strategy sets it)

    def check_config(self, config: "RunConfig") -> None:
        """Raise ConfigError for a run this strategy cannot do (e.g. domains whose classes differ)."""

    def effective_config(self, config: "RunConfig") -> "RunConfig":
        """The config this strategy really runs (e.g. scratch ignores weights): recorded with the run."""
        return config

    def prepare(self, model: "TransferModel", task: "Task", config: "RunConfig") -> None:
        freeze_first(model.backbone, config.freeze)

    def param_groups(self, model: "TransferModel", lr: float) -> list[dict]:
        params = [p for p in model.parameters() if p.requires_grad]
        return [{"params": params, "lr": lr, "lr_scale": 1.0}]

    def make_optimizer(self, groups: list[dict], lr: float, weight_decay: float) -> torch.optim.Optimizer:
        """AdamW over `groups`; a strategy whose recipe names another optimiser (DANN: SGD) overrides this."""
        return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)

    def lr_factor(self, progress: float) -> float:
        return cosine_factor(progress)

    def epoch_started(self, model: "TransferModel", epoch: int) -> bool:
        """Called before each epoch (1-based); True asks the loop to rebuild the optimizer."""
        return False

    def loss(self, model: "TransferModel", batch: "Batch", progress: float) -> StepOutput:
        logits = model(batch.x)
        return StepOutput(F.cross_entropy(logits, batch.y), logits)

    def predict(self, model: "TransferModel", x: torch.Tensor) -> torch.Tensor:
        return model(x)

    def in_domain(self, model: "TransferModel", domain: str) -> AbstractContextManager:
        """A block in which the model sees images of `domain` ("source" or "target"): DANN with domain-specific
        BatchNorm loads that domain's statistics; every other strategy has one network for both."""
        return nullcontext()

    def finish(self, model: "TransferModel") -> None:
        """Called once training ends (finished or stopped), before the final evaluation and saving."""

    def epoch_metrics(self) -> dict[str, float]:
        """Metrics of the strategy's own (e.g. the domain head's accuracy), reset each epoch."""
        return {}

