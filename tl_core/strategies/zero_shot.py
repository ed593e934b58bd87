"""Zero-shot learning by attributes (direct attribute prediction, Lampert et al. 2009).

Some classes are held out entirely: no labelled image of theirs is used. The network learns, on the seen
classes, to predict each attribute of an image (one softmax per attribute). An image is then given the unseen
class whose signature is most probable under the predicted attributes, each divided by its prior among the seen
classes as in Lampert et al.'s DAP, p(z | x) ∝ Π_m p(a_m^z | x) / p(a_m^z):

    ŷ = argmax_{c ∈ unseen} Σ_m [log p(a_m = a_m(c) | x) − log p(a_m = a_m(c))]

Without the prior a value that is rare among the seen classes (a seven-segment display's lower-left segment is
lit for only 0 and 8 of the seven seen digits) is predicted "absent" for every image, and every unseen digit that
lights it loses.

Target accuracy is measured on the unseen classes' test images only, against chance 1 / (number unseen). Two
unseen classes with the same signature cannot be told apart: the prediction always picks the first of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from tl_core.data.attributes import ClassAttributes, class_attributes
from tl_core.errors import ConfigError
from tl_core.runs.schema import spec
from tl_core.strategies.base import StepOutput, Strategy
from tl_core.strategies.registry import register
from tl_core.train.task import Examples


@dataclass
class ZeroShotSettings:
    unseen: str = spec("", "Comma-separated classes held out entirely (empty: the dataset's own choice).")
    attributes: str = spec("", "Comma-separated attributes the classes are described by (empty: all of them).")


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class AttributeHead(nn.Module):
    """Features → one logit per attribute value; `split` cuts them into one block per attribute."""

    def __init__(self, feature_dim: int, sizes: list[int]):
        super().__init__()
        self.sizes = sizes
        self.linear = nn.Linear(feature_dim, sum(sizes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)

    def split(self, logits: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.split(logits, self.sizes, dim=1)


@register("zero-shot")
class ZeroShot(Strategy):
    summary = ("Zero-shot by attributes: learn to see each attribute on the seen classes, then name classes never "
               "seen by their attribute signature (accuracy on the unseen classes).")
    Settings = ZeroShotSettings

    def _table(self, dataset: str) -> tuple[ClassAttributes, list[str], list[str]]:
        """(attributes, unseen classes, attribute names used) for `dataset`, or ConfigError."""
        table = class_attributes(dataset)
        if table is None:
            raise ConfigError(f"zero-shot needs a target whose classes have attributes (attribute-shapes, digits, "
                              f"synth-digits, digits-m); {dataset} has none.")
        unseen = _names(self.settings.unseen) or list(table.unseen)
        unknown = [c for c in unseen if c not in table.signatures]
        if unknown:
            raise ConfigError(f"zero-shot: {', '.join(unknown)} is no class of {dataset}; its classes are "
                              f"{', '.join(table.signatures)}.")
        if len(unseen) < 2 or len(unseen) == len(table.signatures):
            raise ConfigError("zero-shot needs at least two unseen classes and at least one seen class.")
        used = _names(self.settings.attributes) or list(table.groups)
        missing = [a for a in used if a not in table.groups]
        if missing:
            raise ConfigError(f"zero-shot: {dataset} has no attribute {', '.join(missing)}; its attributes are "
                              f"{', '.join(table.groups)}.")
        seen = [c for c in table.signatures if c not in unseen]
        for a in used:
            position = list(table.groups).index(a)
            never = [v for v in table.groups[a] if all(table.signatures[c][position] != v for c in seen)]
            if never:
                raise ConfigError(f"zero-shot: no seen class of {dataset} has {a} = {never[0]}, so no predictor can "
                                  f"learn it; hold out other classes (or leave {a} out of the attributes).")
        return table, unseen, used

    def check_config(self, config) -> None:
        self._table(config.target)

    def data_shares(self, config) -> tuple[float, float]:
        """It trains on the seen classes' images and scores the unseen classes' (classes of about equal size)."""
        table, unseen, _ = self._table(config.target)
        held_out = len(unseen) / len(table.signatures)
        return 1.0 - held_out, held_out

    def prepare(self, model, task, config):
        super().prepare(model, task, config)
        table, unseen, used = self._table(config.target)
        classes = list(task.target.classes)
        device = task.labelled.y.device
        self.unseen_mask = torch.tensor([c in unseen for c in classes], device=device)
        # value_of[m, c]: the index of class c's value of attribute m
        self.value_of = torch.tensor([[table.value_index(c, a) for c in classes] for a in used], device=device)
        model.head = AttributeHead(model.feature_dim, [len(table.groups[a]) for a in used]).to(device)
        seen = self.value_of[:, ~self.unseen_mask]  # attribute × seen class: each value's index
        # log p(a_m = v): the share of seen classes with value v (every value occurs among them)
        self.log_prior = [torch.log(torch.bincount(values, minlength=len(table.groups[a])).float() / len(values))
                          for values, a in zip(seen, used)]
        task.labelled = _keep(task.labelled, ~self.unseen_mask)
        task.val = _keep(task.val, self.unseen_mask)
        task.test = _keep(task.test, self.unseen_mask)

    def _class_scores(self, model, logits: torch.Tensor, among: torch.Tensor) -> torch.Tensor:
        """Σ_m [log p(a_m = a_m(c) | x) − log p(a_m = a_m(c))] for every class c; classes outside `among`
        get −inf."""
        scores = sum(F.log_softmax(block.float(), dim=1)[:, values] - log_prior[values]
                     for block, values, log_prior in zip(model.head.split(logits), self.value_of, self.log_prior))
        return scores.masked_fill(~among, float("-inf"))

    def loss(self, model, batch, progress):
        logits = model(batch.x)
        attribute_loss = sum(F.cross_entropy(block, values[batch.y])
                             for block, values in zip(model.head.split(logits), self.value_of)) / len(self.value_of)
        return StepOutput(attribute_loss, self._class_scores(model, logits.detach(), ~self.unseen_mask))

    def predict(self, model, x):
        return self._class_scores(model, model(x), self.unseen_mask)


def _keep(examples: Examples, class_mask: torch.Tensor) -> Examples:
    keep = class_mask[examples.y]
    return Examples(examples.x[keep], examples.y[keep])
