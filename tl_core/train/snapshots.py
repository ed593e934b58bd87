"""Feature snapshots: penultimate features of a fixed, class-stratified sample of source and target test images,
saved with the run and turned into the domain-confusion accuracy of that moment."""
from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from tl_core.analysis import domain_confusion, stratified_sample_indices
from tl_core.analysis.domain_confusion import MIN_ROWS
from tl_core.data import Domain
from tl_core.train.task import Examples, encode


def max_snapshot_bytes() -> int:
    """Disk one run's snapshots may use: `$TL_RUN_SNAPSHOT_MAX_MB` (default 500 MB)."""
    return int(float(os.environ.get("TL_RUN_SNAPSHOT_MAX_MB", "500")) * (1 << 20))


class SnapshotTaker:
    def __init__(self, source: Domain, target: Domain, size: int, seed: int, device: torch.device, batch_size: int):
        self.capped = False  # the run's snapshots reached max_snapshot_bytes(): no more are taken
        self.source_index = stratified_sample_indices(source.test.labels.numpy(), size, seed)
        self.target_index = stratified_sample_indices(target.test.labels.numpy(), size, seed)
        self.source = Examples(source.test.images[self.source_index].to(device), source.test.labels[self.source_index])
        self.target = Examples(target.test.images[self.target_index].to(device), target.test.labels[self.target_index])
        self.seed = seed
        self.batch_size = batch_size

    def features(self, model, in_domain=None) -> tuple[np.ndarray, np.ndarray]:
        """Each domain's features; `in_domain(model, domain)` (a strategy's) is the context each is encoded in."""
        in_domain = in_domain or (lambda model, domain: nullcontext())
        with in_domain(model, "source"):
            source = encode(model, self.source, self.batch_size).x.cpu().numpy()
        with in_domain(model, "target"):
            target = encode(model, self.target, self.batch_size).x.cpu().numpy()
        return source, target

    def take(self, model, path: Path, in_domain=None) -> dict[str, float]:
        """Save the snapshot to `path` (.npz) and return its domain-confusion accuracy and proxy A-distance;
        nothing (and `capped` set) once the run's snapshots use `max_snapshot_bytes()`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.capped or sum(f.stat().st_size for f in path.parent.glob("*.npz")) >= max_snapshot_bytes():
            self.capped = True
            return {}
        source, target = self.features(model, in_domain)
        metrics = {}  # too few test images to measure: the snapshot itself is still kept
        if min(len(source), len(target)) >= MIN_ROWS:
            confusion = domain_confusion(source, target, seed=self.seed)
            metrics = {"domain_confusion_acc": confusion.acc, "a_distance": confusion.a_distance,
                       "domain_confusion_n": min(len(source), len(target))}
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        np.savez_compressed(tmp, source_feats=source.astype(np.float32), target_feats=target.astype(np.float32),
                            source_labels=self.source.y.numpy(), target_labels=self.target.y.numpy(),
                            source_index=self.source_index, target_index=self.target_index,
                            **{key: np.asarray(value) for key, value in metrics.items()})
        tmp.replace(path)
        return metrics


def snapshot_path(snapshots_dir: Path, epoch: int) -> Path:
    return snapshots_dir / f"epoch_{epoch:03d}.npz"


def measured_metrics(path: Path) -> dict[str, float]:
    """The domain confusion measured when the snapshot was taken ({} for one too small to measure, or saved before
    snapshots kept it): how epoch 0, the network a run starts from, gets its point on the curves."""
    with np.load(path) as data:
        return {key: float(data[key]) for key in ("domain_confusion_acc", "a_distance") if key in data.files}


def read_snapshot(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}
