"""What a training step of each strategy costs, measured, against what the time promises assume.

`tl_core.serving.calibration` prices a step from its strategy's `step_images` (images trained, images only passed
forward, per image of the labelled batch) at this server's timed training and evaluation paces. This bench
builds each lesson strategy on its real task (lesson settings, small_cnn, 32 px), times its steps in rounds —
every strategy a few steps per round, so a load that comes and goes touches them all alike — and prints the
median step of each relative to scratch's, beside the relative cost the promise assumes.

    python bench/step_costs.py [--rounds 12] [--steps 4]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import torch
from common import load_now, say

from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.networks.model import TransferModel
from tl_core.runs.config import RunConfig
from tl_core.serving import calibration
from tl_core.strategies import build_strategy
from tl_core.strategies.base import Strategy
from tl_core.train.loop import _optimizer
from tl_core.train.task import Batch, build_task, index_batches

CASES = {  # the lessons' settings for each strategy (tl_core.lessons.catalog)
    "scratch": dict(strategy="scratch", labels_per_class=5),
    "fine-tune": dict(strategy="fine-tune", freeze=1, labels_per_class=5),
    "linear-probe": dict(strategy="linear-probe", labels_per_class=5),
    "dann": dict(strategy="dann", labels_per_class=None),
    "distill": dict(strategy="distill", labels_per_class=10, settings={"teacher": "bench"}),
    "multitask": dict(strategy="multitask", labels_per_class=3),
    "progressive": dict(strategy="progressive", labels_per_class=30, target="shapes"),
    "zero-shot": dict(strategy="zero-shot", labels_per_class=None, target="attribute-shapes"),
}


def build(name: str, changes: dict, runs_dir: str):
    config = RunConfig(source="synth-digits", target="digits", backbone="small_cnn", weights="random", freeze=0,
                       img_size=32, batch_size=64).replace(**changes)
    strategy = build_strategy(config.strategy, config.settings, runs_dir)
    source, target = load_domain(config.source, 32), load_domain(config.target, 32)
    model = TransferModel(create_backbone("small_cnn", "random", 32), target.num_classes)
    task = build_task(source, target, strategy.labelled_domain, config.labels_per_class, 0, torch.device("cpu"))
    if name == "distill":  # a teacher of the same shape, without a teacher run on disk
        Strategy.prepare(strategy, model, task, config)
        strategy.teacher = TransferModel(create_backbone("small_cnn", "random", 32), target.num_classes).eval()
        strategy.epoch_started(model, 1)
    else:
        strategy.prepare(model, task, config)
    optimizer = _optimizer(strategy, model, 1e-3, 1e-4)
    use_unlabelled = strategy.uses_unlabelled_target and task.unlabelled is not None and len(task.unlabelled) > 0
    generator = torch.Generator().manual_seed(0)
    return config, strategy, model, task, optimizer, use_unlabelled, generator


def steps(state, count: int) -> float:
    """Seconds per step over `count` steps."""
    _, strategy, model, task, optimizer, use_unlabelled, generator = state
    model.train()
    labelled = index_batches(len(task.labelled), 64, count, generator)
    unlabelled = index_batches(len(task.unlabelled), 64, count, generator) if use_unlabelled else None
    started = time.perf_counter()
    for i, idx in enumerate(labelled):
        batch = Batch(task.labelled.x[idx], task.labelled.y[idx], task.unlabelled[unlabelled[i]] if use_unlabelled
                      else None)
        out = strategy.loss(model, batch, 0.5)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
    return (time.perf_counter() - started) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    say(f"load average at start {load_now()}; torch threads {args.threads}")
    pace = calibration.measure_pace("small_cnn", 32, "cpu")
    with tempfile.TemporaryDirectory() as runs_dir:
        states = {name: build(name, changes, runs_dir) for name, changes in CASES.items()}
        seconds = {name: [] for name in states}
        for _ in range(args.rounds):
            for name, state in states.items():
                steps(state, 1)  # warm
                seconds[name].append(steps(state, args.steps))
    base = statistics.median(seconds["scratch"])
    say(f"timed pace: {pace.images_per_s:.0f} training, {pace.evaluation_images_per_s:.0f} evaluation images/s; "
        f"scratch step {1000 * base:.1f} ms; load average at the end {load_now()}")
    say(f"{'strategy':<14} {'measured':>9} {'assumed':>8}")
    for name, state in states.items():
        trained, forwarded = type(state[1]).step_images
        assumed = (trained / pace.images_per_s + forwarded / pace.evaluation_images_per_s) * pace.images_per_s
        measured = statistics.median(seconds[name]) / base
        say(f"{name:<14} {measured:>9.2f} {assumed:>8.2f}")
        say(f"RESULT strategy={name} measured_rel={measured:.2f} assumed_rel={assumed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
