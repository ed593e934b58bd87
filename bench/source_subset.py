"""A built-in dataset cut to another's size, as an image folder: for asking whether a source's size is what limits
a result (`bench/selections/dann-design-record.md`).

Draws, per class, as many images from SOURCE's training split as LIKE holds in that class (all its splits), with a
seeded draw, and writes them as PNG files into OUT/<class>/. `folder:OUT` then splits them 70/10/20 like every
dataset, so its training split is as large as LIKE's:

    python bench/source_subset.py synth-digits --like digits /tmp/synth-digits-1797
    python bench/domain_adaptation.py --pairs folder:/tmp/synth-digits-1797:digits-m --epochs 79 …
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import common  # noqa: F401  (puts the repository root on sys.path)

from tl_core.data import load_domain
from tl_core.errors import DatasetError


def per_class_counts(name: str, img_size: int) -> np.ndarray:
    """How many images of each class the dataset holds, over all its splits."""
    domain = load_domain(name, img_size)
    labels = torch.cat([domain.train.labels, domain.val.labels, domain.test.labels]).numpy()
    return np.bincount(labels, minlength=domain.num_classes)


def write_subset(source: str, counts: np.ndarray, out: Path, img_size: int = 32, seed: int = 0) -> int:
    """Write counts[c] images of each class c, drawn from SOURCE's training split with `seed`, into OUT/<class>/;
    returns how many were written. ValueError for a folder that already holds files or a count the split cannot
    fill."""
    domain = load_domain(source, img_size)
    if len(counts) != domain.num_classes:
        raise ValueError(f"{source} has {domain.num_classes} classes, not {len(counts)}")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: give a new folder")
    labels = domain.train.labels.numpy()
    pools = [np.flatnonzero(labels == c) for c in range(domain.num_classes)]
    for c, (pool, count) in enumerate(zip(pools, counts)):
        if count > len(pool):
            raise ValueError(f"{source}'s training split has {len(pool)} images of class {domain.classes[c]}, "
                             f"fewer than the {count} asked")
    rng = np.random.default_rng(seed)
    written = 0
    for c, (pool, count) in enumerate(zip(pools, counts)):
        folder = out / domain.classes[c]
        folder.mkdir(parents=True, exist_ok=True)
        for i in np.sort(rng.choice(pool, size=count, replace=False)):
            Image.fromarray(domain.train.images[i].permute(1, 2, 0).numpy()).save(folder / f"{i:06d}.png")
            written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="the built-in dataset to draw from (its training split)")
    parser.add_argument("out", type=Path, help="a new, empty folder")
    parser.add_argument("--like", required=True, help="the dataset whose per-class counts to copy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        if load_domain(args.source).classes != load_domain(args.like).classes:
            raise ValueError(f"{args.source} and {args.like} have different classes")
        n = write_subset(args.source, per_class_counts(args.like, 32), args.out, seed=args.seed)
    except (ValueError, DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {n} images of {args.source} into {args.out}, per class as many as {args.like} has", file=sys.stderr)


if __name__ == "__main__":
    main()
