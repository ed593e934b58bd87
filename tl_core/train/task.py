"""What a run trains and evaluates on, held in memory as tensors (on the GPU when one is used)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from tl_core.data import Domain, Split, label_budget


@dataclass
class Examples:
    x: torch.Tensor  # uint8 images N×3×H×W, or float feature vectors N×D once a strategy has encoded them
    y: torch.Tensor  # int64 labels N

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def of(cls, split: Split, device: torch.device) -> "Examples":
        return cls(split.images.to(device), split.labels.to(device))


@dataclass
class Batch:
    x: torch.Tensor
    y: torch.Tensor
    x_unlabelled: torch.Tensor | None = None  # target images without labels (domain adaptation)


@dataclass
class Task:
    source: Domain
    target: Domain
    labelled: Examples  # the labelled training examples (target under a label budget, or the source)
    unlabelled: torch.Tensor | None  # target training images whose labels the run may not use
    val: Examples  # validation split of the labelled domain
    test: Examples  # the target test split: `target_acc` is measured here
    input_is_features: bool = False
    # The target's validation split when `val` is the source's (adaptation: the target's labels are not trained
    # on): `target_val_acc`, what a design pilot judges by; nothing in a run reads it
    target_val: Examples | None = None

    @property
    def num_classes(self) -> int:
        return self.target.num_classes


def build_task(source: Domain, target: Domain, labelled_domain: str, labels_per_class: int | None,
               seed: int, device: torch.device) -> Task:
    labelled_target, unlabelled_target = label_budget(target.train, labels_per_class, seed)
    if labelled_domain == "source":
        labelled, val = source.train, source.val
    else:
        labelled, val = labelled_target, target.val
    return Task(
        source=source,
        target=target,
        labelled=Examples.of(labelled, device),
        unlabelled=target.train.images.to(device) if labelled_domain == "source" else unlabelled_target.images.to(device),
        val=Examples.of(val, device),
        test=Examples.of(target.test, device),
        target_val=Examples.of(target.val, device) if labelled_domain == "source" else None,
    )


@torch.no_grad()
def encode(model, examples: Examples, batch_size: int) -> Examples:
    """The backbone's features of every example (the model is put in eval mode)."""
    model.eval()
    chunks = [model.features(examples.x[i:i + batch_size]).float() for i in range(0, len(examples), batch_size)]
    return Examples(torch.cat(chunks) if chunks else torch.zeros((0, model.feature_dim)),
                    examples.y)


def index_batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> list[torch.Tensor]:
    """`steps` batches of indices into n examples: successive shuffled passes, so small sets are cycled."""
    order = torch.cat([torch.randperm(n, generator=generator) for _ in range(-(-steps * batch_size // n))])
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(steps)]
