from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from tl_core.errors import ConfigError
from tl_core.strategies.base import StepOutput, Strategy
from tl_core.strategies.param_groups import discriminative_param_groups
from tl_core.strategies.registry import register
from tl_core.strategies.same_classes import require_same_classes
from tl_core.train.grl import DomainDiscriminator, GradientReversal
from tl_core.train.schedules import dann_lambda, dann_lr_factor


@dataclass
class DannSettings:
    gamma: float = 10.0  # steepness of the λ(p) ramp: λ = 2/(1+exp(-γp)) − 1
    domain_weight: float = 1.0  # weight of the domain loss in the total loss
    hidden: int = 256  # hidden units of the domain discriminator
    lr_decay: float = 1.0  # discriminative rates for the backbone's groups (1: all the same)


@register("dann")
class Dann(Strategy):
    """Domain-adversarial training (Ganin & Lempitsky 2015).

    The features feed a label head (trained on labelled source batches) and, through a gradient reversal
    layer, a domain head that tells source from target. Minimising the domain loss trains the domain head;
    the reversed gradient pushes the features to make the two domains indistinguishable:

        E(θf, θy, θd) = Σ_source L_y(θf, θy) − λ Σ_all L_d(θf, θd)
        θf ← θf − μ(∂L_y/∂θf − λ ∂L_d/∂θf),  θy ← θy − μ ∂L_y/∂θy,  θd ← θd − μ ∂L_d/∂θd

    with λ(p) = 2/(1+exp(−10p)) − 1 and μ(p) = μ0/(1+10p)^0.75 of training progress p.
    """

    summary = "Domain-adversarial: learn from labelled source images while a reversed domain head makes the " \
              "features of source and unlabelled target images indistinguishable."
    Settings = DannSettings
    labelled_domain = "source"
    uses_unlabelled_target = True

    def __init__(self, settings=None):
        super().__init__(settings)
        self.reversal = GradientReversal()
        self._reset_counts()

    def _reset_counts(self) -> None:
        self._domain_correct = 0
        self._domain_seen = 0
        self._lambda = 0.0

    def check_settings(self) -> None:
        if self.settings.gamma <= 0 or self.settings.domain_weight < 0 or self.settings.hidden < 1:
            raise ConfigError("DANN needs gamma > 0, domain_weight ≥ 0 and hidden ≥ 1.")
        if not 0 < self.settings.lr_decay <= 1:
            raise ConfigError("lr_decay must be in (0, 1].")

    def check_config(self, config) -> None:
        require_same_classes(config, "DANN")

    def prepare(self, model, task, config):
        super().prepare(model, task, config)
        model.domain_head = DomainDiscriminator(model.feature_dim, self.settings.hidden).to(
            next(model.head.parameters()).device)

    def param_groups(self, model, lr):
        groups = discriminative_param_groups(model, lr, self.settings.lr_decay)
        return groups + [{"params": list(model.domain_head.parameters()), "lr": lr, "lr_scale": 1.0}]

    def lr_factor(self, progress):
        return dann_lr_factor(progress)

    def epoch_started(self, model, epoch):
        self._reset_counts()
        return False

    def loss(self, model, batch, progress):
        n_source = len(batch.x)
        features = model.features(torch.cat([batch.x, batch.x_unlabelled]))  # both domains in one batch
        logits = model.head(features[:n_source])
        label_loss = F.cross_entropy(logits, batch.y)
        self._lambda = dann_lambda(progress, self.settings.gamma)
        domain_logits = model.domain_head(self.reversal(features, self._lambda)).float()
        is_source = torch.zeros(len(features), device=features.device)
        is_source[:n_source] = 1.0
        domain_loss = F.binary_cross_entropy_with_logits(domain_logits, is_source)
        self._domain_correct += ((domain_logits > 0).float() == is_source).sum().item()
        self._domain_seen += len(features)
        return StepOutput(label_loss + self.settings.domain_weight * domain_loss, logits,
                          {"domain_loss": domain_loss.item(), "dann_lambda": self._lambda})

    def epoch_metrics(self):
        if not self._domain_seen:
            return {}
        return {"domain_head_acc": self._domain_correct / self._domain_seen, "dann_lambda": self._lambda}
