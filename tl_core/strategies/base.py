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
from tl_core.train.schedules import cosine_factor

if TYPE_CHECKING:
    from tl_core.config import RunConfig
    from tl_core.model import TransferModel
    from tl_core.train.task import Batch, Task


@dataclass
class NoSettings:
    pass


@dataclass
class StepOutput:
    loss: torch.Tensor
    logits: torch.Tensor  # logits of the labelled part of the batch, for the running train accuracy


class Strategy:
    name: ClassVar[str]
    summary: ClassVar[str] = ""
    Settings: ClassVar[type] = NoSettings
    labelled_domain: ClassVar[str] = "target"  # whose labels train the model: "target" or "source"
    uses_unlabelled_target: ClassVar[bool] = False
    transfers_knowledge: ClassVar[bool] = False  # learns from the source task's labels or a teacher, whatever the weights
    needs_pretrained_weights: ClassVar[bool] = False
    optimizer_name: ClassVar[str] = "AdamW"  # what make_optimizer builds, in words
    default_lr: ClassVar[float | None] = None  # a learning rate that suits this strategy's optimiser (None: RunConfig's)
    baseline_label: ClassVar[str] = "without transfer"  # what its baseline run is, in words (tl_core.baselines)
    is_without: ClassVar[bool] = False  # a "without" run by nature (scratch, source-only): drawn as the baseline

    @classmethod
    def with_label(cls) -> str:
        """What a run of this strategy is next to its baseline: 'with transfer', 'with adaptation', ..."""
        return "with" + cls.baseline_label.removeprefix("without")

    def __init__(self, settings=None):
        self.settings = settings if settings is not None else self.Settings()
        self.runs_dir: Path | None = None  # the store the run is recorded in (build_strategy sets it)

    def check_settings(self) -> None:
        """Raise ConfigError for settings that cannot work."""

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

