"""The tensors every other part of tl_core consumes: a Domain is three fixed Splits of uint8 RGB images."""
from dataclasses import dataclass

import torch

DIGIT_CLASSES = tuple(str(d) for d in range(10))  # every digit domain uses these, so any pairs with any


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # uint8 N×3×H×W
    labels: torch.Tensor  # int64 N

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must be uint8 N×3×H×W, got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must be int64 of length {self.images.shape[0]}, got {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return self.labels.shape[0]

    def subset(self, indices: torch.Tensor) -> "Split":
        return Split(self.images[indices], self.labels[indices])


@dataclass(frozen=True)
class Domain:
    name: str
    classes: tuple[str, ...]
    train: Split
    val: Split
    test: Split

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    offline: bool  # usable right now without the internet
    kind: str  # 'built-in' | 'torchvision' | 'folder'
