"""Learning curves of DANN at its selected settings and of its weight-0 twin, per epoch, over seeds: what issue 21
asks a closing note to show when DANN does not reach its goal (is it still climbing? does it ever leave its twin?).

The same runs as `bench/domain_adaptation.py`'s twin and DANN rows (its `configs`), with a feature snapshot every
`--every` epochs for the domain-confusion probe. Per epoch and row, the mean over seeds of the target's accuracy on
its validation and test splits, the source's validation accuracy and, at snapshots, the domain confusion. Run it on
the seeds the settings were selected on (0–2, the default): it selects nothing, and a selection's dev seeds are
where its candidates' curves belong.

    python bench/dann_curves.py [--pairs digits:digits-m] [--seeds 0,1,2] [--every 12] [--jobs 2]

Headline per (pair, row, epoch shown), with the run record's names (`val_acc` is the source's validation split):
`RESULT pair=… method=… epoch=… target_val_acc=… target_acc=… val_acc=… domain_confusion_acc=… seeds=…`.
"""
from __future__ import annotations

import multiprocessing
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import common  # noqa: F401  (puts the repository root on sys.path)
from common import Clock, bench_runs_dir, load_now, machine_line, parse_args, say, table
from domain_adaptation import PAIRS, Recipe, _worker_init, configs, dann_epochs

from tl_core.records.run_dir import RunDir
from tl_core.runs.status import Status

ROWS = ("twin", "dann")
COLUMNS = {"target_val_acc": "target val", "target_acc": "target test", "val_acc": "source val",
           "domain_confusion_acc": "confusion"}


def _curve(config, runs_dir: str) -> list[dict]:
    from tl_core.runs.runner import run_config

    summary = run_config(config, runs_dir)
    if summary["status"] != Status.FINISHED:
        raise SystemExit(f"{config.name} ended {summary['status']}: {summary.get('reason')}")
    return RunDir(Path(summary["run_dir"])).read_metrics()


def _options(parser) -> None:
    parser.add_argument("--jobs", type=int, default=2, help="parallel runs, one torch thread each by default")
    parser.add_argument("--pairs", default="digits:digits-m", help="SOURCE:TARGET,…")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: the selection's 0–2)")
    parser.add_argument("--every", type=int, default=12, help="epochs between snapshots (the confusion probe)")


def shown_epochs(epochs: int, every: int) -> list[int]:
    """Epoch 1, every snapshot epoch and the last."""
    return sorted({1, *range(every, epochs + 1, every), epochs})


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra=_options)
    pairs = [tuple(p.rsplit(":", 1)) for p in args.pairs.split(",")] if args.pairs else PAIRS
    seeds = tuple(int(s) for s in args.seeds.split(","))
    recipe = Recipe(epochs={p: dann_epochs(p) for p in pairs}, seeds=seeds)
    todo = [(c.replace(snapshot_every=args.every), row) for c, row in configs(recipe, args.device, pairs)
            if row in ROWS]
    clock = Clock()
    say(f"bench/dann_curves.py on {machine_line(args.device)}")
    say(f"{args.jobs} parallel runs × {args.threads or 1} torch thread(s); seeds {', '.join(map(str, seeds))}")
    first = {}  # one run per source network first, so parallel workers never pretrain the same network twice
    for config, row in todo:
        first.setdefault((config.source, config.seed), (config, row))
    rest = [t for t in todo if t not in first.values()]
    curves: dict[tuple[str, str, str], list[list[dict]]] = {}
    with bench_runs_dir("tl-bench-curves-") as runs_dir, \
            ProcessPoolExecutor(max_workers=args.jobs, initializer=_worker_init, initargs=(args.threads or 1,),
                                mp_context=multiprocessing.get_context("spawn")) as pool:
        for batch in (list(first.values()), rest):
            for (config, row), metrics in zip(batch, pool.map(_curve, [c for c, _ in batch],
                                                              [str(runs_dir)] * len(batch))):
                curves.setdefault((config.source, config.target, row), []).append(metrics)
                say(f"  {config.source}→{config.target} {row} seed {config.seed}: {len(metrics)} epochs "
                    f"[{clock.wall_s:.0f} s, load {load_now()}]")

    lines = []
    for source, target in pairs:
        epochs = recipe.epochs[(source, target)]
        rows = []
        for row in ROWS:
            for epoch in shown_epochs(epochs, args.every):
                means = {}
                for key in COLUMNS:
                    values = [m[epoch - 1][key] for m in curves[(source, target, row)] if key in m[epoch - 1]]
                    means[key] = statistics.fmean(values) if len(values) == len(seeds) else None
                rows.append([row, epoch, *("" if v is None else f"{v:.3f}" for v in means.values())])
                lines.append(f"RESULT pair={source}:{target} method={row} epoch={epoch} "
                             + " ".join(f"{k}={'-' if v is None else f'{v:.4f}'}" for k, v in means.items())
                             + f" seeds={len(seeds)}")
        say()
        say(table(["row", "epoch", *COLUMNS.values()], rows,
                  title=f"{source} → {target}, {epochs} epochs, mean of {len(seeds)} seeds"))
    say()
    for line in lines:
        say(line)
    say(f"\nWall time {clock.wall_s:.0f} s ({clock.wall_s / 60:.1f} min). Load average now {load_now()}.")


if __name__ == "__main__":
    main()
