"""MNIST, USPS, SVHN, Fashion-MNIST and CIFAR-10 through torchvision, stored in `data_dir()/torchvision`.

Whether a set is present is decided from its files alone, so an offline machine gets an OfflineError
at once instead of torchvision's download attempts. Each set keeps its own train/test split; val is
carved from train, stratified, with the fixed split seed.
"""
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tl_core.machine.network import is_online

from ..errors import DatasetError, OfflineError
from .domain import DIGIT_CLASSES, Domain, Split
from .images import to_rgb_uint8
from .splits import SPLIT_SEED, stratified_indices

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_VAL_FRACTION = 0.1  # of the train set

# (root, train, download) -> (images N×H×W or N×3×H×W, labels) of the train or the test part
Loader = Callable[[Path, bool, bool], tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor]]


@dataclass(frozen=True)
class TorchvisionSet:
    title: str
    description: str
    classes: tuple[str, ...]
    folder: str  # relative to data_dir()/torchvision: where the files below live
    files: tuple[str, ...]
    load: Loader


# Each loader imports its torchvision dataset class itself: torchvision.datasets loads only when a set is asked for.
def _mnist_like(cls_name: str) -> Loader:
    def load(root: Path, train: bool, download: bool):
        import torchvision.datasets as tvd

        ds = getattr(tvd, cls_name)(str(root), train=train, download=download)
        return ds.data, ds.targets

    return load


def _usps(root: Path, train: bool, download: bool):
    from torchvision.datasets import USPS

    ds = USPS(str(root), train=train, download=download)
    return ds.data, np.asarray(ds.targets)


def _svhn(root: Path, train: bool, download: bool):
    from torchvision.datasets import SVHN

    ds = SVHN(str(root), split="train" if train else "test", download=download)
    return ds.data, ds.labels  # N×3×32×32; torchvision already maps label 10 to 0


def _cifar10(root: Path, train: bool, download: bool):
    from torchvision.datasets import CIFAR10

    ds = CIFAR10(str(root), train=train, download=download)
    return np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)), np.asarray(ds.targets)


SETS: dict[str, TorchvisionSet] = {
    "mnist": TorchvisionSet("MNIST", "70,000 handwritten digits, 28×28 grey", DIGIT_CLASSES,
                            "MNIST/raw", _MNIST_FILES, _mnist_like("MNIST")),
    "usps": TorchvisionSet("USPS", "9,298 handwritten digits from US mail, 16×16 grey", DIGIT_CLASSES,
                           ".", ("usps.bz2", "usps.t.bz2"), _usps),
    "svhn": TorchvisionSet("SVHN", "99,289 house-number digits from Street View, 32×32 colour", DIGIT_CLASSES,
                           ".", ("train_32x32.mat", "test_32x32.mat"), _svhn),
    "fashion-mnist": TorchvisionSet("Fashion-MNIST", "70,000 clothing images in 10 classes, 28×28 grey", FASHION,
                                    "FashionMNIST/raw", _MNIST_FILES, _mnist_like("FashionMNIST")),
    "cifar10": TorchvisionSet("CIFAR-10", "60,000 photos in 10 classes, 32×32 colour", CIFAR10,
                              "cifar-10-batches-py", ("batches.meta", *(f"data_batch_{i}" for i in range(1, 6)),
                                                      "test_batch"), _cifar10),
}


def is_downloaded(name: str, data_dir: Path) -> bool:
    spec = SETS[name]
    folder = data_dir / "torchvision" / spec.folder
    return all((folder / f).is_file() for f in spec.files)


def load_torchvision(name: str, img_size: int, data_dir: Path) -> Domain:
    spec = SETS[name]
    root = data_dir / "torchvision"
    download = not is_downloaded(name, data_dir)
    if download and not is_online():
        raise OfflineError(
            f"{spec.title} is not in {root} and this machine is offline: connect to the internet once, "
            f"or copy the {spec.title} files ({', '.join(spec.files)}) into {(root / spec.folder).resolve()}"
        )
    try:
        parts = [spec.load(root, train, download) for train in (True, False)]
    except (OSError, RuntimeError, ValueError) as e:  # download failures, damaged files
        raise DatasetError(f"{spec.title} could not be {'downloaded' if download else 'read'} in {root}: {e}") from e
    (train_x, train_y), (test_x, test_y) = parts
    train = Split(to_rgb_uint8(train_x, img_size), torch.as_tensor(train_y, dtype=torch.long))
    test = Split(to_rgb_uint8(test_x, img_size), torch.as_tensor(test_y, dtype=torch.long))
    keep, val = stratified_indices(train.labels, (1 - _VAL_FRACTION, _VAL_FRACTION), SPLIT_SEED)
    return Domain(name, spec.classes, train.subset(keep), train.subset(val), test)

