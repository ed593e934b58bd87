"""Benchmark of the engine (issue 2), measured side by side in one run:

1. training throughput of the engine's one loop (`tl_core.train.loop.fit`) divided by a bare hand-written
   PyTorch loop on the same model (small_cnn in a TransferModel), data, device and batch size — interleaved
   repeats, median ratio; goal ≥ 0.95;
2. a linear-probe epoch with cached backbone features versus recomputing the frozen backbone every batch
   (`settings={"cache_features": False}`); goal ≥ 10× faster;
3. the transfer benefit: target-test accuracy with 10 labels per class, synth-digits → digits, fine-tuning the
   small_cnn pretrained on synth-digits for 10 epochs (`weights="source"`, cached under $TL_DATA_DIR) versus
   scratch, mean ± sd over 3 seeds; goal ≥ +15 points. The real digits are easy enough that scratch alone reaches
   about 0.94 with 10 labels per class, so the same measure is also printed for synth-digits → digits-m (the
   digits over photo patches), where the labels alone are not enough.

    python bench/engine.py [--quick] [--threads 1] [--device cpu]
"""
from __future__ import annotations

from pathlib import Path

import common  # noqa: F401  (puts the repository root on sys.path)
import torch
from common import Clock, bench_runs_dir, load_now, machine_line, median, parse_args, pm, say, table
from torch.nn import functional as F

from tl_core.analysis import mean_sd
from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.machine.device import pick_device
from tl_core.networks.model import TransferModel
from tl_core.networks.pretrain import checkpoint_path
from tl_core.records.run_dir import RunDir
from tl_core.runs.config import RunConfig
from tl_core.runs.runner import run_config
from tl_core.runs.status import Status
from tl_core.strategies import build_strategy
from tl_core.train.loop import FitContext, fit
from tl_core.train.task import Examples, build_task

BATCH = 64
LR, WEIGHT_DECAY = 1e-3, 1e-4


# 1. Throughput: the engine's loop against a bare loop ------------------------------------------------------------

def _fresh_model(device: torch.device, seed: int) -> TransferModel:
    torch.manual_seed(seed)
    return TransferModel(create_backbone("small_cnn", "random", 32), 10).to(device)


def _rates(images: int, clock: Clock) -> tuple[float, float]:
    """Images per second of wall time and of this process's CPU time (steadier when other work shares the
    cores; meaningful with --threads 1 on a CPU)."""
    return images / clock.wall_s, images / max(clock.cpu_s, 1e-9)


def _engine_images_per_s(task, steps: int, device: torch.device, seed: int) -> tuple[float, float]:
    model = _fresh_model(device, seed)
    ctx = FitContext("bench", "train", emit=lambda event: None)
    started = Clock()
    fit(model, task, build_strategy("scratch"), epochs=1, batch_size=BATCH, lr=LR, weight_decay=WEIGHT_DECAY,
        seed=seed, device=device, ctx=ctx)
    return _rates(steps * BATCH, started)


def _bare_images_per_s(examples: Examples, steps: int, device: torch.device, seed: int) -> tuple[float, float]:
    """The loop anyone would write by hand: shuffle, forward, cross-entropy, backward, AdamW step."""
    model = _fresh_model(device, seed)
    started = Clock()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    model.train()
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed)).to(device)
    for i in range(steps):
        idx = order[i * BATCH:(i + 1) * BATCH]
        loss = F.cross_entropy(model(examples.x[idx]), examples.y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return _rates(steps * BATCH, started)


def throughput(device: torch.device, steps: int, repeats: int) -> dict:
    domain = load_domain("synth-digits", 32)
    task = build_task(domain, domain, "target", None, 0, device)
    task.labelled = Examples(task.labelled.x[:steps * BATCH], task.labelled.y[:steps * BATCH])  # one epoch = `steps`
    task.val = Examples(task.val.x[:16], task.val.y[:16])  # the loop's per-epoch evaluation: kept negligible
    task.test = Examples(task.test.x[:16], task.test.y[:16])
    _engine_images_per_s(task, steps, device, 0)  # warm-up of both paths (allocator, kernels)
    _bare_images_per_s(task.labelled, steps, device, 0)
    engine, bare = [], []
    for r in range(repeats):  # interleaved, alternating which goes first, so drifting load hits both alike
        pair = [lambda: engine.append(_engine_images_per_s(task, steps, device, r)),
                lambda: bare.append(_bare_images_per_s(task.labelled, steps, device, r))]
        for run in pair if r % 2 == 0 else pair[::-1]:
            run()
        say(f"  repeat {r + 1}/{repeats}: engine {engine[-1][0]:.0f} images/s, bare {bare[-1][0]:.0f} images/s, "
            f"ratio {engine[-1][0] / bare[-1][0]:.3f} (per CPU second: {engine[-1][1]:.0f} vs {bare[-1][1]:.0f}, "
            f"ratio {engine[-1][1] / bare[-1][1]:.3f})")
    wall = [e[0] / b[0] for e, b in zip(engine, bare)]
    cpu = [e[1] / b[1] for e, b in zip(engine, bare)]
    return {"engine": median(e[0] for e in engine), "bare": median(b[0] for b in bare), "ratio": median(wall),
            "ratio_min": min(wall), "ratio_max": max(wall), "cpu_ratio": median(cpu),
            "engine_cpu": median(e[1] for e in engine), "bare_cpu": median(b[1] for b in bare)}


# 2. Linear probe: cached features against recomputing the frozen backbone ----------------------------------------

def _probe_epochs(runs_dir, device: str, cache: bool, epochs: int, pretrain_epochs: int) -> dict:
    config = RunConfig(source="synth-digits", target="digits", backbone="small_cnn", weights="source",
                       strategy="linear-probe", labels_per_class=None, epochs=epochs, batch_size=BATCH,
                       pretrain_epochs=pretrain_epochs,
                       snapshot_size=0, device=device, settings={"cache_features": cache})
    started = Clock()
    summary = run_config(config, runs_dir)
    assert summary["status"] == Status.FINISHED, summary.get("reason")
    rows = RunDir(Path(summary["run_dir"])).read_metrics()
    return {"train_images_per_s": median(r["images_per_s"] for r in rows),
            "epoch_s": median(r["seconds"] for r in rows), "run_s": started.wall_s}


def linear_probe(runs_dir, device: str, epochs: int, repeats: int, pretrain_epochs: int) -> dict:
    _probe_epochs(runs_dir, device, True, 1, pretrain_epochs)  # the source checkpoint exists before any timing
    cached, recomputed = [], []
    for r in range(repeats):
        pair = [lambda: cached.append(_probe_epochs(runs_dir, device, True, epochs, pretrain_epochs)),
                lambda: recomputed.append(_probe_epochs(runs_dir, device, False, epochs, pretrain_epochs))]
        for run in pair if r % 2 == 0 else pair[::-1]:
            run()
        say(f"  repeat {r + 1}/{repeats}: epoch {cached[-1]['epoch_s']:.3f} s cached vs "
            f"{recomputed[-1]['epoch_s']:.3f} s recomputed")
    return {
        "cached_epoch_s": median(c["epoch_s"] for c in cached),
        "recomputed_epoch_s": median(c["epoch_s"] for c in recomputed),
        "epoch_ratio": median(b["epoch_s"] / a["epoch_s"] for a, b in zip(cached, recomputed)),
        "train_ratio": median(a["train_images_per_s"] / b["train_images_per_s"] for a, b in zip(cached, recomputed)),
        "cached_run_s": median(c["run_s"] for c in cached),
        "recomputed_run_s": median(c["run_s"] for c in recomputed),
    }


# 3. Transfer benefit ---------------------------------------------------------------------------------------------

def transfer_benefit(runs_dir, device: str, target: str, seeds: list[int], epochs: int, pretrain_epochs: int) -> dict:
    """Fine-tuning the source-pretrained small_cnn (the CLI example of issue 2: freeze the stem) versus scratch."""
    base = RunConfig(source="synth-digits", target=target, backbone="small_cnn", weights="source",
                     strategy="fine-tune", freeze=1, labels_per_class=10, epochs=epochs, batch_size=BATCH,
                     pretrain_epochs=pretrain_epochs, snapshot_size=0, device=device)
    results = {"fine-tune": [], "scratch": []}
    for seed in seeds:
        config = base.replace(seed=seed)
        cached = checkpoint_path(config).exists()
        for strategy in ("fine-tune", "scratch"):
            started = Clock()
            summary = run_config(config.replace(strategy=strategy), runs_dir)
            assert summary["status"] == Status.FINISHED, summary.get("reason")
            results[strategy].append(summary["target_acc"])
            note = f" (source pretraining {'cached' if cached else 'trained now'})" if strategy == "fine-tune" else ""
            say(f"  {target}, seed {seed}, {strategy}: target_acc {summary['target_acc']:.3f}, {started}{note}")
    return {name: mean_sd(accs) for name, accs in results.items()}


def _benefit_row(label: str, result: dict, seeds: list[int]) -> list[str]:
    (ft_mean, ft_sd), (sc_mean, sc_sd) = result["fine-tune"], result["scratch"]
    benefit = ft_mean - sc_mean
    return [f"{label} ({len(seeds)} seed{'s' * (len(seeds) > 1)})",
            f"{100 * benefit:+.1f} points: fine-tune {pm(ft_mean, ft_sd)} vs scratch {pm(sc_mean, sc_sd)}",
            "≥ +15 points", "yes" if benefit >= 0.15 else "NO"]


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    quick = args.quick
    device = pick_device(args.device)
    clock = Clock()
    say(f"bench/engine.py{' --quick' if quick else ''} on {machine_line(args.device)}")

    steps, repeats = (20, 3) if quick else (100, 7)
    say(f"\n1. Throughput: {repeats} interleaved repeats of {steps} steps × batch {BATCH}, small_cnn 32 px, "
        f"synth-digits, AdamW")
    tp = throughput(device, steps, repeats)

    with bench_runs_dir("tl-bench-engine-") as runs_dir:
        seeds, epochs, pretrain_epochs = ([0], 2, 1) if quick else ([0, 1, 2], 5, 10)
        probe_epochs, probe_repeats = (2, 1) if quick else (3, 3)
        say(f"\n2. Linear probe (small_cnn pretrained on synth-digits → digits, every label, {probe_epochs} epochs, "
            f"{probe_repeats} interleaved repeats)")
        lp = linear_probe(runs_dir, args.device, probe_epochs, probe_repeats, pretrain_epochs)

        say(f"\n3. Transfer benefit (synth-digits → digits and → digits-m, 10 labels per class, fine-tune with the "
            f"stem frozen vs scratch, {epochs} epochs, seeds {seeds}, source pretraining {pretrain_epochs} epochs, "
            f"cached under {checkpoint_path(RunConfig()).parent})")
        tb = transfer_benefit(runs_dir, args.device, "digits", seeds, epochs, pretrain_epochs)
        tb_m = transfer_benefit(runs_dir, args.device, "digits-m", seeds, epochs, pretrain_epochs)

    rows = [
        ["engine / bare-loop training throughput",
         f"{tp['ratio']:.3f} (range {tp['ratio_min']:.3f}–{tp['ratio_max']:.3f}; "
         f"{tp['engine']:.0f} vs {tp['bare']:.0f} images/s)", "≥ 0.95", "yes" if tp["ratio"] >= 0.95 else "NO"],
        ["  same, per CPU second of this process",
         f"{tp['cpu_ratio']:.3f} ({tp['engine_cpu']:.0f} vs {tp['bare_cpu']:.0f} images per CPU s)", "≥ 0.95",
         "yes" if tp["cpu_ratio"] >= 0.95 else "NO"],
        ["linear-probe epoch, cached vs recomputed backbone",
         f"{lp['epoch_ratio']:.1f}× faster ({lp['cached_epoch_s']:.3f} s vs {lp['recomputed_epoch_s']:.3f} s; "
         f"training steps alone {lp['train_ratio']:.1f}×)", "≥ 10×", "yes" if lp["epoch_ratio"] >= 10 else "NO"],
        _benefit_row("transfer benefit, synth-digits → digits", tb, seeds),
        _benefit_row("  supplementary: synth-digits → digits-m", tb_m, seeds),
    ]
    say()
    say(table(["measure", "result", "goal", "met"], rows, title=f"bench/engine.py{' --quick' if quick else ''}"))
    say(f"\nWhole linear-probe runs (incl. one-time feature caching, model build, records): "
        f"{lp['cached_run_s']:.1f} s cached vs {lp['recomputed_run_s']:.1f} s recomputed.")
    say(f"Total: {clock}; load average now {load_now()}.")


if __name__ == "__main__":
    main()
