"""Benchmark of domain adaptation (issue 21): DANN against its own weight-0 twin, a table like Ganin & Lempitsky's
(ICML 2015) Table 1 on data anyone has offline. For each pair, over fresh seeds, four rows:

- **twin** — source-only at DANN's own recipe (SGD with momentum, its rate, schedules and steps, both domains
  in each batch) with the domain weight at 0 and BatchNorm shared: `tl_core.runs.baselines`' "without adaptation";
- **DANN** — the shipped defaults (chosen by reverse validation, `bench/selections/`);
- **train on target** — every target training label (the ceiling);
- **AdaBN** — the twin's network with its BatchNorm statistics recomputed on the unlabelled target training
  images (Li et al. 2016): what normalising each domain with its own statistics does without adversarial
  training.

Per row: target-test accuracy (mean ± sd), the domain-confusion accuracy of its final features (a cross-validated
linear probe on 300 + 300 test images; 0.5 = indistinguishable) with the **no-shift band** of a permutation null
on that row's own features (domain labels shuffled, `--null-draws` draws on the first seed, 2.5th–97.5th
percentiles). Per seed, the gap closed (row − twin) / (ceiling − twin) — the three runs of a seed share its
source network — and the confusion difference DANN − twin; their means and 95% t-intervals come from the lab's
one interval statistic (`tl_core.analysis.intervals.seed_interval`). Ganin & Lempitsky's accuracies give 55.8%
on MNIST → MNIST-M by this definition.

Goals (issue 21): DANN closes ≥ 40% of the gap on digits → digits-m with an interval excluding 0; a positive
share with an interval excluding 0 on synth-digits → digits-m; DANN's domain confusion ≥ 0.10 below its twin's
with an interval excluding 0.

Seeds are FRESH (10–19): DANN's defaults were chosen on seeds SELECTION_SEEDS, never reported here. Runs go to
`--jobs` worker processes (one torch thread each).

    python bench/domain_adaptation.py [--jobs 2] [--pairs digits:digits-m] [--seeds 10,11] [--epochs 60]
                                      [--backbone small_cnn_wide] [--null-draws 200] [--from-log LOG]
"""
from __future__ import annotations

import multiprocessing
import os
import re
import resource
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

import common  # noqa: F401  (puts the repository root on sys.path)
from common import Clock, bench_runs_dir, load_now, machine_line, parse_args, pm, say, table

from tl_core.analysis import gap_closed, mean_sd
from tl_core.analysis.intervals import seed_interval
from tl_core.runs import identity
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status

PAIRS = [("digits", "digits-m"), ("synth-digits", "digits-m")]
ROWS = ["twin", "dann", "target-only", "adabn"]
TRAINED = ["twin", "dann", "target-only"]  # AdaBN is the twin's network, re-normalised: no run of its own
ROW_NAMES = {"twin": "source only (DANN, weight 0)", "dann": "DANN", "target-only": "train on target",
             "adabn": "AdaBN (twin + target BN)"}
GANIN_MNIST_M_GAP_CLOSED = (0.7666 - 0.5225) / (0.9596 - 0.5225)  # Ganin & Lempitsky 2015, Table 1's accuracies
SELECTION_SEEDS = (0, 1, 2)  # the seeds `python -m tl_core select` chose DANN's defaults on: never reported here
FRESH_SEEDS = tuple(range(10, 20))


@dataclass(frozen=True)
class Recipe:
    """What the rows of one pair share: the backbone (small_cnn) pretrained on the source (4 epochs), 32 px,
    batches of 64, and the number of epochs of each pair (DANN's selected training length; the ceiling trains as
    many steps)."""

    epochs: dict[tuple[str, str], int]
    seeds: tuple[int, ...]
    backbone: str = "small_cnn"
    snapshot_size: int = 300
    batch_size: int = 64
    pretrain_epochs: int = 4


UNSELECTED_EPOCHS = 15  # a pair whose length no selection chose (e.g. a folder source): the first rounds' length


def dann_epochs(pair: tuple[str, str]) -> int:
    from tl_core.strategies import strategy_class

    return strategy_class("dann").selected_epochs.get(pair, UNSELECTED_EPOCHS)


def configs(recipe: Recipe, device: str, pairs=PAIRS) -> list[RunConfig]:
    from tl_core.data import load_domain
    from tl_core.runs.baselines import baseline_for
    from tl_core.strategies import strategy_class, suggested_lr, suggested_settings
    from tl_core.train.loop import steps_per_epoch

    out = []
    for source, target in pairs:
        # spelled out, with what was selected for the pair: the record says which
        dann_defaults = {**asdict(strategy_class("dann").Settings()), **suggested_settings("dann", source, target)}
        epochs = recipe.epochs[(source, target)]
        steps = epochs * steps_per_epoch(len(load_domain(source, 32).train.labels), recipe.batch_size)
        target_epochs = max(1, round(steps / steps_per_epoch(len(load_domain(target, 32).train.labels),
                                                              recipe.batch_size)))
        for seed in recipe.seeds:
            shared = dict(source=source, target=target, backbone=recipe.backbone, weights="source", freeze=0,
                          labels_per_class=None, batch_size=recipe.batch_size, img_size=32, seed=seed, device=device,
                          pretrain_epochs=recipe.pretrain_epochs, snapshot_every=0,
                          snapshot_size=recipe.snapshot_size, role="bench",
                          experiment=identity.bench("domain-adaptation"))
            dann = RunConfig(strategy="dann", epochs=epochs, lr=suggested_lr("dann"), settings=dann_defaults,
                             name=f"{source}→{target} dann seed {seed}", **shared)
            twin = baseline_for(dann).replace(role="bench", name=f"{source}→{target} twin seed {seed}")
            ceiling = RunConfig(strategy="target-only", epochs=target_epochs, lr=suggested_lr("target-only"),
                                settings={"lr_decay": 1.0}, name=f"{source}→{target} target-only seed {seed}",
                                **shared)
            out += [(twin, "twin"), (dann, "dann"), (ceiling, "target-only")]
    return out


def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _run(config: RunConfig, row: str, runs_dir: str, null_draws: int) -> dict:
    """Train one row's run; for the twin also its AdaBN evaluation; with `null_draws`, each row's permutation
    band on its final features."""
    import numpy as np

    from tl_core.analysis import permutation_null_band
    from tl_core.networks.adabn import adabn_evaluation
    from tl_core.records.run_dir import RunDir
    from tl_core.runs.runner import run_config
    from tl_core.train.snapshots import read_snapshot, snapshot_path

    summary = run_config(config, runs_dir)
    out = {row: {k: summary.get(k) for k in ("status", "reason", "target_acc", "domain_confusion_acc",
                                             "a_distance", "seconds")}}
    if summary["status"] != Status.FINISHED:
        return out
    snap = read_snapshot(snapshot_path(RunDir(Path(summary["run_dir"])).snapshots_dir, config.epochs))
    feats = {row: (snap["source_feats"], snap["target_feats"])}
    if row == "twin":
        adabn = adabn_evaluation(summary["run_id"], Path(runs_dir), config.snapshot_size)
        out["adabn"] = {"status": Status.FINISHED.value, **{k: adabn[k] for k in ("target_acc", "domain_confusion_acc",
                                                                        "a_distance")}}
        feats["adabn"] = (adabn["source_feats"], adabn["target_feats"])
    if null_draws:
        for name, (s, t) in feats.items():
            band = permutation_null_band(np.asarray(s), np.asarray(t), draws=null_draws, seed=config.seed)
            out[name]["null_band"] = [band.low, band.high]
    return out


def _options(parser) -> None:
    parser.add_argument("--jobs", type=int, default=0, help="parallel runs (0: one per CPU core on a CPU, 1 on a GPU)")
    parser.add_argument("--pairs", default="", help="SOURCE:TARGET,… (default: both pairs); a source may be "
                        "folder:PATH (bench/source_subset.py)")
    parser.add_argument("--seeds", default="", help="comma-separated seeds (default: the 10 fresh seeds 10–19)")
    parser.add_argument("--epochs", type=int, default=0, help="DANN's epochs for every pair (default: selected)")
    parser.add_argument("--backbone", default="small_cnn", help="the network of every row (small_cnn_wide: is "
                        "capacity the limit?); DANN's settings stay those selected for small_cnn")
    parser.add_argument("--null-draws", type=int, default=200, help="permutation draws of each row's no-shift "
                        "band, on the first seed (0: none)")
    parser.add_argument("--from-log", default="", help="train nothing: the table from the per-seed lines of an "
                        "earlier run's log (one that was stopped), for the --pairs and --seeds it finished")


def _interval_text(iv, scale: float = 100.0, digits: int = 1) -> str:
    return f"{scale * iv.effect:.{digits}f} [{scale * iv.low:.{digits}f}, {scale * iv.high:.{digits}f}]"


def _train_all(args, pairs, seeds, recipe) -> tuple[dict, dict, float, float]:
    """Every row's runs of every pair and seed: (results by (source, target, row) and seed, no-shift bands by
    (source, target, row), wall seconds, CPU seconds of every process)."""
    threads = args.threads or 1
    jobs = args.jobs or (1 if args.device not in ("cpu",) else os.cpu_count() or 1)
    clock = Clock()
    say(f"bench/domain_adaptation.py on {machine_line(args.device)}")
    say(f"{jobs} parallel runs × {threads} torch thread(s); backbone {recipe.backbone}")
    todo = configs(recipe, args.device, pairs)
    for config, row in todo:
        if config.seed == seeds[0]:
            say(f"  {config.source} → {config.target}, {ROW_NAMES[row]}: {config.strategy}, {config.epochs} epochs "
                f"at lr {config.lr:g}, settings {config.settings}")

    first = {}  # one run per source network first, so parallel workers never pretrain the same network twice
    for config, row in todo:
        first.setdefault(config.source, (config, row))
    rest = [t for t in todo if t not in first.values()]
    results: dict[tuple[str, str, str], dict[int, dict]] = {}
    bands: dict[tuple[str, str, str], list[float]] = {}
    with bench_runs_dir("tl-bench-da-") as runs_dir, \
            ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(threads,),
                                mp_context=multiprocessing.get_context("spawn")) as pool:  # CUDA cannot fork
        for batch in (list(first.values()), rest):
            draws = [args.null_draws if c.seed == seeds[0] else 0 for c, _ in batch]
            for (config, row), out in zip(batch, pool.map(_run, [c for c, _ in batch], [r for _, r in batch],
                                                          [str(runs_dir)] * len(batch), draws)):
                for name, result in out.items():
                    if result["status"] != Status.FINISHED:
                        raise SystemExit(f"{config.name} ended {result['status']}: {result['reason']}")
                    results.setdefault((config.source, config.target, name), {})[config.seed] = result
                    if "null_band" in result:
                        bands[(config.source, config.target, name)] = result["null_band"]
                    say(f"  {config.source}→{config.target} {name} seed {config.seed}: target_acc "
                        f"{result['target_acc']:.3f}, confusion {result['domain_confusion_acc']:.3f}"
                        f"  [{clock.wall_s:.0f} s, load {load_now()}]")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return results, bands, clock.wall_s, clock.cpu_s + children.ru_utime + children.ru_stime


SEED_LINE = re.compile(r"^\s+(\S+)→(\S+) (\S+) seed (\d+): target_acc ([\d.]+), confusion ([\d.]+)")


def results_from_log(text: str) -> dict[tuple[str, str, str], dict[int, dict]]:
    """The per-seed lines an earlier run printed (one that was stopped, or whose table was lost), read back: the
    table is then made from them as from runs just trained (without the no-shift bands, which it never printed)."""
    results: dict[tuple[str, str, str], dict[int, dict]] = {}
    for line in text.splitlines():
        if m := SEED_LINE.match(line):
            results.setdefault((m[1], m[2], m[3]), {})[int(m[4])] = {"target_acc": float(m[5]),
                                                                     "domain_confusion_acc": float(m[6])}
    return results


def report(results: dict, bands: dict, pairs, seeds) -> list[str]:
    """The table and the RESULT lines of `pairs` (each of their rows must hold every seed)."""
    table_rows, lines = [], []
    for source, target in pairs:
        pair = f"{source}:{target}"
        runs = {r: [results[(source, target, r)][seed] for seed in seeds] for r in ROWS}
        acc = {r: [x["target_acc"] for x in runs[r]] for r in ROWS}
        conf = {r: [x["domain_confusion_acc"] for x in runs[r]] for r in ROWS}
        for r in ROWS:
            closed = seed_interval([gap_closed(t, a, c) for t, a, c in zip(acc["twin"], acc[r], acc["target-only"])])
            band = bands.get((source, target, r))
            band_text = f"[{band[0]:.3f}, {band[1]:.3f}]" if band else "-"
            lines.append(f"RESULT pair={pair} method={r} target_acc={mean_sd(acc[r])[0]:.4f} "
                         f"gap_closed_pct={100 * closed.effect:.1f} low={100 * closed.low:.1f} "
                         f"high={100 * closed.high:.1f} confusion={mean_sd(conf[r])[0]:.4f} "
                         f"null_band={band_text.replace(' ', '')} seeds={len(seeds)}")
            table_rows.append([f"{source} → {target}", ROW_NAMES[r], pm(*mean_sd(acc[r])),
                               _interval_text(closed) if r in ("dann", "adabn") else "", pm(*mean_sd(conf[r])),
                               band_text])
        drop = seed_interval([t - d for t, d in zip(conf["twin"], conf["dann"])])
        over_adabn = seed_interval([d - a for d, a in zip(acc["dann"], acc["adabn"])])
        lines.append(f"RESULT pair={pair} contrast=confusion_twin_minus_dann mean={drop.effect:.4f} "
                     f"low={drop.low:.4f} high={drop.high:.4f} seeds={len(seeds)}")
        lines.append(f"RESULT pair={pair} contrast=target_acc_dann_minus_adabn mean={over_adabn.effect:.4f} "
                     f"low={over_adabn.low:.4f} high={over_adabn.high:.4f} seeds={len(seeds)}")
    say()
    say(table(["pair", "method", f"target acc (mean ± sd, {len(seeds)} seeds)", "gap closed % (mean [95% CI])",
               "domain confusion", "no-shift band (permutation)"], table_rows,
              title="bench/domain_adaptation.py"))
    say()
    for line in lines:
        say(line)
    say(f"\nGanin & Lempitsky 2015 (Table 1), MNIST → MNIST-M: {100 * GANIN_MNIST_M_GAP_CLOSED:.1f}% of the gap.")
    return lines


def _refuse(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra=_options)
    pairs = [tuple(p.rsplit(":", 1)) for p in args.pairs.split(",")] if args.pairs else PAIRS  # folder:PATH:target
    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else FRESH_SEEDS
    if set(seeds) & set(SELECTION_SEEDS):
        say(f"note: seeds {sorted(set(seeds) & set(SELECTION_SEEDS))} were used to choose DANN's defaults")
    if args.from_log:
        try:
            results = results_from_log(Path(args.from_log).read_text())
        except OSError as err:
            _refuse(f"cannot read {args.from_log} ({err.strerror}): give the path of a log this bench wrote")
        missing = [f"{s}→{t} {r} seed {seed}" for s, t in pairs for r in ROWS for seed in seeds
                   if seed not in results.get((s, t, r), {})]
        if missing:
            _refuse(f"{args.from_log} lacks {len(missing)} rows, e.g. {missing[0]}: pass the --pairs and --seeds "
                    "it ran to the end")
        say(f"bench/domain_adaptation.py: the table from the per-seed lines of {args.from_log}")
        report(results, {}, pairs, seeds)
        return
    recipe = Recipe(epochs={p: args.epochs or dann_epochs(p) for p in pairs}, seeds=seeds, backbone=args.backbone)
    results, bands, wall_s, cpu_s = _train_all(args, pairs, seeds, recipe)
    report(results, bands, pairs, seeds)
    say(f"Wall time {wall_s:.0f} s ({wall_s / 60:.1f} min); CPU time of all runs {cpu_s:.0f} s "
        f"({cpu_s / 60:.1f} CPU-min, so about {cpu_s / 120:.1f} min on 2 idle cores). Load average now {load_now()}.")


if __name__ == "__main__":
    main()
