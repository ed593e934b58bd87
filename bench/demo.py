"""Does the default experiment show what transfer buys, within seconds? The Experiment page's defaults, 10 seeds.

Each seed submits the default run and its baseline (scratch at scratch's own rate, `tl_core.baselines`) to a
JobManager exactly as the page's Train button does (one run at a time, one torch thread per run), and prints:
final and epoch-1 gains with a paired 95% interval over seeds, kNN class accuracy of the target-test features
with and without transfer (feature space and the 2-D maps, PCA and UMAP), and the time from submit to the first
curve point and to both runs finished: cold (seed 0 into an empty data folder, first) and warm. Every goal is
marked met or not.

    python bench/demo.py [--seeds 10] [--no-cold] [--target digits-m --labels-per-class 5 --epochs 4 --freeze 1]
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np
from common import bench_runs_dir, load_now, machine_line, parse_args, say, table

GOALS = {"gain": 0.15, "epoch1_gain": 0.30, "knn_gap": 0.20, "first_warm_s": 10, "first_cold_s": 30,
         "finished_warm_s": 90}


def _options(parser) -> None:
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold measurement (empty data folder)")
    for name, kind in (("target", str), ("labels_per_class", int), ("epochs", int), ("freeze", int),
                       ("backbone", str)):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                            help="explore another value than the default")


def _pair(manager, config):
    from tl_core import identity
    from tl_core.baselines import baseline_for
    from tl_core.identity import Role

    config = config.replace(role=Role.MAIN.value, experiment=identity.new_pair())
    baseline = baseline_for(config).replace(experiment=config.experiment)
    submitted = time.perf_counter()
    run_id, base_id = manager.submit(config), manager.submit(baseline)
    first = None
    while True:
        main, base = manager.view(run_id), manager.view(base_id)
        if first is None and main.history:
            first = time.perf_counter() - submitted
        if main.status.terminal and base.status.terminal:
            return main, base, first, time.perf_counter() - submitted
        time.sleep(0.05)


def _scores(view) -> dict[str, float]:
    from tl_core.analysis import MapFrame, embedding_scores, knn_class_accuracy
    from tl_core.train.snapshots import read_snapshot

    snap = read_snapshot(view.snapshots[-1][1])
    feats = np.concatenate([snap["source_feats"], snap["target_feats"]])
    n = len(snap["source_feats"])
    out = {"knn_features": knn_class_accuracy(snap["target_feats"], snap["target_labels"])}
    for method in ("pca", "umap"):
        coords = MapFrame(method).fit(feats).reference_
        scores = embedding_scores(snap["target_feats"], snap["target_labels"], coords[:n], coords[n:])
        out[f"knn_{method}"], out[f"mixing_{method}"] = scores["knn_map"], scores["domain_mixing"]
    return out


def _interval(diffs: list[float]) -> tuple[float, float, float]:
    """(mean, low, high) by the lab's one statistic: the 95% t-interval over seeds (NaN bounds with one seed)."""
    from tl_core.analysis.intervals import seed_interval

    interval = seed_interval(diffs)
    if not interval.bounded:
        return interval.effect, float("nan"), float("nan")
    return interval.effect, interval.low, interval.high


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], _options)
    from tl_core.config import RunConfig
    from tl_core.jobs import JobManager

    overrides = {k: getattr(args, k) for k in ("target", "labels_per_class", "epochs", "freeze", "backbone")
                 if getattr(args, k) is not None}
    base = RunConfig(device=args.device, **overrides)
    say(machine_line(args.device))
    say(f"config: {base.source} → {base.target}, {base.backbone} ({base.weights} weights, {base.pretrain_epochs} "
        f"pretraining epochs), {base.strategy}, freeze {base.freeze}, {base.labels_per_class} labels per class, "
        f"{base.epochs} epochs; {args.seeds} seeds")
    timings = []
    with bench_runs_dir("tl-bench-demo-") as runs:
        manager = JobManager(runs)
        if not args.no_cold:
            with tempfile.TemporaryDirectory(prefix="tl-bench-demo-data-") as empty:
                warm_data = os.environ["TL_DATA_DIR"]
                os.environ["TL_DATA_DIR"] = empty
                load = load_now()
                _main, _base, first, done = _pair(manager, base.replace(seed=0))
                os.environ["TL_DATA_DIR"] = warm_data
                timings.append(("cold", 0, first, done, load))
                say(f"cold seed 0: first point {first:.1f} s, both finished {done:.1f} s (load {load})")
        rows, results = [], []
        for seed in range(args.seeds):
            load = load_now()
            main, baseline, first, done = _pair(manager, base.replace(seed=seed))
            if main.status.value != "finished" or baseline.status.value != "finished":
                raise SystemExit(f"seed {seed}: {main.status.value} / {baseline.status.value}: "
                                 f"{main.summary.get('reason', '')} {baseline.summary.get('reason', '')}")
            timings.append(("warm", seed, first, done, load))
            with_s, without_s = _scores(main), _scores(baseline)
            results.append((main.history, baseline.history, with_s, without_s))
            rows.append([seed, f"{main.history[0]['target_acc']:.3f} / {baseline.history[0]['target_acc']:.3f}",
                         f"{main.history[-1]['target_acc']:.3f} / {baseline.history[-1]['target_acc']:.3f}",
                         *(f"{with_s[k]:.3f} / {without_s[k]:.3f}" for k in ("knn_features", "knn_pca", "knn_umap")),
                         f"{with_s['mixing_umap']:.2f} / {without_s['mixing_umap']:.2f}",
                         f"{first:.1f}", f"{done:.1f}", load])
            say(f"seed {seed} done in {done:.0f} s")
    say(table(["seed", "epoch 1 with / without", "final with / without", "kNN features", "kNN PCA map",
               "kNN UMAP map", "domain mixing (UMAP)", "first point s", "finished s", "load average"], rows,
              "Target-test accuracy and kNN class accuracy, with / without transfer (warm)"))
    final = _interval([m[-1]["target_acc"] - b[-1]["target_acc"] for m, b, _, _ in results])
    first_epoch = _interval([m[0]["target_acc"] - b[0]["target_acc"] for m, b, _, _ in results])
    gaps = {k: _interval([w[k] - wo[k] for _, _, w, wo in results]) for k in ("knn_features", "knn_pca", "knn_umap")}
    warm = [t for t in timings if t[0] == "warm"]
    cold = [t for t in timings if t[0] == "cold"]
    goals = [
        ("final gain (points, mean, 95% paired interval)", f"{100 * final[0]:+.1f} [{100 * final[1]:+.1f}, "
         f"{100 * final[2]:+.1f}]", "≥ +15, interval excludes 0",
         final[0] >= GOALS["gain"] and final[1] > 0),
        ("epoch-1 gain (points)", f"{100 * first_epoch[0]:+.1f} [{100 * first_epoch[1]:+.1f}, "
         f"{100 * first_epoch[2]:+.1f}]", "≥ +30", first_epoch[0] >= GOALS["epoch1_gain"]),
        *((f"kNN class accuracy gap, {name} (points)", f"{100 * gaps[k][0]:+.1f}", "≥ +20",
           gaps[k][0] >= GOALS["knn_gap"]) for k, name in (("knn_features", "features"), ("knn_pca", "PCA map"),
                                                           ("knn_umap", "UMAP map"))),
        ("first curve point, warm (s, slowest seed)", f"{max(t[2] for t in warm):.1f}", "≤ 10",
         max(t[2] for t in warm) <= GOALS["first_warm_s"]),
        ("both runs finished, warm (s, slowest seed)", f"{max(t[3] for t in warm):.1f}", "≤ 90",
         max(t[3] for t in warm) <= GOALS["finished_warm_s"]),
    ]
    if cold:
        goals.append(("first curve point, cold (s)", f"{cold[0][2]:.1f}", "≤ 30", cold[0][2] <= GOALS["first_cold_s"]))
        goals.append(("both runs finished, cold (s)", f"{cold[0][3]:.1f}", "", True))
    say(table(["measure", "measured", "goal", "verdict"], [[n, v, g, _mark(ok) if g else ""] for n, v, g, ok in goals],
              f"Goals (load average now {load_now()}; the time goals are for an idle 2-core CPU)"))


if __name__ == "__main__":
    main()
