"""Does the default experiment show what transfer buys, within seconds, and how much of it is the source
resembling the target? The Experiment page's defaults, 10 fresh seeds, from two sources.

Sources: synth-digits (the page's default, made to resemble digits-m: see the README) and fonts-plain (the same
fonts and warps on plain backgrounds: nothing of digits-m's generators, no low-resolution round trip). Each seed
starts from its own source network (pretrained with that seed; seeds without a shipped one are pretrained into
the data folder's cache first). The baseline is scratch on the same labelled images at a learning rate chosen
first on the target's *validation* split: every candidate in --scratch-lrs trains on the --pilot-seeds (not the
confirmation seeds) and the one with the highest mean final validation accuracy is kept; no test label is read
to choose it.

Each seed submits the run and its baseline to a JobManager as the page's Train button does (one run at a time),
and prints: final and epoch-1 gains with the lab's one statistic (95% t-interval over per-seed paired
differences), kNN class accuracy of the target-test features with and without transfer (feature space and the
2-D maps, PCA and UMAP), and the time from submit to the first curve point and to both runs finished: cold
(seed 0 into an empty data folder, first) and warm. The page's goals are judged on the default source.

    python bench/demo.py [--seeds 10] [--sources synth-digits,fonts-plain] [--no-cold]
                         [--target digits-m --labels-per-class 5 --epochs 4 --freeze 1]
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np
from common import bench_runs_dir, load_now, machine_line, parse_args, say, table

from tl_core.runs.status import Status

GOALS = {"gain": 0.15, "epoch1_gain": 0.30, "knn_gap": 0.20, "first_warm_s": 10, "first_cold_s": 30,
         "finished_warm_s": 90}


def _options(parser) -> None:
    parser.add_argument("--seeds", type=int, default=10, help="confirmation seeds 0 … N-1")
    parser.add_argument("--sources", default="synth-digits,fonts-plain",
                        help="task A of each row, comma-separated; the first is judged against the page's goals")
    parser.add_argument("--scratch-lrs", default="0.001,0.003,0.01,0.03",
                        help="scratch's candidate learning rates, chosen on the target's validation split")
    parser.add_argument("--pilot-seeds", default="100,101,102", help="seeds the scratch rate is chosen on")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold measurement (empty data folder)")
    for name, kind in (("target", str), ("labels_per_class", int), ("epochs", int), ("freeze", int),
                       ("backbone", str)):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                            help="explore another value than the default")


def _baseline(config, scratch_lr: float):
    from tl_core.runs.baselines import baseline_for

    return baseline_for(config).replace(experiment=config.experiment, lr=scratch_lr)


def _finished(view) -> None:
    if view.status is not Status.FINISHED:
        raise SystemExit(f"{view.config.name or view.config.strategy}, seed {view.config.seed}: {view.status.value}: "
                         f"{view.summary.get('reason', '')}")


def _choose_scratch_lr(manager, base, lrs: list[float], seeds: list[int]) -> tuple[float, dict[float, float]]:
    """The candidate with the highest mean final validation accuracy over the pilot seeds (target test unread)."""
    scores = {}
    for lr in lrs:
        views = []
        for seed in seeds:
            run_id = manager.submit(_baseline(base.replace(seed=seed), lr))
            while not manager.view(run_id).status.terminal:
                time.sleep(0.05)
            views.append(manager.view(run_id))
            _finished(views[-1])
        scores[lr] = float(np.mean([v.history[-1]["val_acc"] for v in views]))
    return max(scores, key=scores.get), scores


def _pair(manager, config, scratch_lr: float):
    from tl_core.runs import identity
    from tl_core.runs.identity import Role

    config = config.replace(role=Role.MAIN.value, experiment=identity.new_pair())
    baseline = _baseline(config, scratch_lr)
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


def _source_rows(manager, base, seeds: int, scratch_lr: float):
    """Every confirmation seed of one source: the table rows, each seed's (histories, scores) and timings."""
    rows, results, timings = [], [], []
    for seed in range(seeds):
        load = load_now()
        main, baseline, first, done = _pair(manager, base.replace(seed=seed), scratch_lr)
        _finished(main)
        _finished(baseline)
        timings.append(("warm", seed, first, done, load))
        with_s, without_s = _scores(main), _scores(baseline)
        results.append((main.history, baseline.history, with_s, without_s))
        rows.append([seed, f"{main.history[0]['target_acc']:.3f} / {baseline.history[0]['target_acc']:.3f}",
                     f"{main.history[-1]['target_acc']:.3f} / {baseline.history[-1]['target_acc']:.3f}",
                     *(f"{with_s[k]:.3f} / {without_s[k]:.3f}" for k in ("knn_features", "knn_pca", "knn_umap")),
                     f"{with_s['mixing_umap']:.2f} / {without_s['mixing_umap']:.2f}",
                     f"{first:.1f}", f"{done:.1f}", load])
        say(f"{base.source}, seed {seed} done in {done:.0f} s")
    say(table(["seed", "epoch 1 with / without", "final with / without", "kNN features", "kNN PCA map",
               "kNN UMAP map", "domain mixing (UMAP)", "first point s", "finished s", "load average"], rows,
              f"From {base.source}: target-test accuracy and kNN class accuracy, with / without transfer (warm)"))
    return results, timings


def _interval_text(interval) -> str:
    return f"{100 * interval[0]:+.1f} [{100 * interval[1]:+.1f}, {100 * interval[2]:+.1f}]"


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], _options)
    from tl_core.runs.config import RunConfig
    from tl_core.serving.jobs import JobManager
    from tl_core.strategies import suggested_lr

    overrides = {k: getattr(args, k) for k in ("target", "labels_per_class", "epochs", "freeze", "backbone")
                 if getattr(args, k) is not None}
    sources = args.sources.split(",")
    base = RunConfig(device=args.device, **overrides).replace(source=sources[0])
    lrs = [float(x) for x in args.scratch_lrs.split(",")]
    pilot_seeds = [int(x) for x in args.pilot_seeds.split(",")]
    if set(pilot_seeds) & set(range(args.seeds)):
        raise SystemExit("--pilot-seeds must not be confirmation seeds (0 … --seeds − 1)")
    say(machine_line(args.device))
    say(f"config: {' and '.join(sources)} → {base.target}, {base.backbone} ({base.weights} weights, one source "
        f"network per seed, {base.pretrain_epochs} pretraining epochs), {base.strategy}, freeze {base.freeze}, "
        f"{base.labels_per_class} labels per class, {base.epochs} epochs; seeds 0–{args.seeds - 1}")
    timings, by_source = [], {}
    if not args.no_cold:  # a server started on an empty data folder: its own manager, workers and runs
        with tempfile.TemporaryDirectory(prefix="tl-bench-demo-data-") as empty, \
                bench_runs_dir("tl-bench-demo-cold-") as cold_runs:
            warm_data = os.environ["TL_DATA_DIR"]
            os.environ["TL_DATA_DIR"] = empty
            cold = JobManager(cold_runs)
            load = load_now()
            _main, _base, first, done = _pair(cold, base.replace(seed=0), suggested_lr("scratch"))
            cold.close()
            os.environ["TL_DATA_DIR"] = warm_data
            timings.append(("cold", 0, first, done, load))
            say(f"cold seed 0: first point {first:.1f} s, both finished {done:.1f} s (load {load})")
    with bench_runs_dir("tl-bench-demo-") as runs:
        manager = JobManager(runs)
        scratch_lr, pilot = _choose_scratch_lr(manager, base, lrs, pilot_seeds)
        say(table(["scratch lr", "mean final validation accuracy"], [[lr, f"{v:.3f}"] for lr, v in pilot.items()],
                  f"Scratch's learning rate, chosen on the target's validation split (pilot seeds {pilot_seeds})"))
        print(f"RESULT pilot=scratch_lr chosen={scratch_lr:g} " + " ".join(
            f"val_acc_lr_{lr:g}={v:.4f}" for lr, v in pilot.items()), flush=True)
        for source in sources:
            results, source_timings = _source_rows(manager, base.replace(source=source), args.seeds, scratch_lr)
            by_source[source] = results
            if source == sources[0]:
                timings += source_timings
    summary = []
    for source, results in by_source.items():
        final = _interval([m[-1]["target_acc"] - b[-1]["target_acc"] for m, b, _, _ in results])
        first_epoch = _interval([m[0]["target_acc"] - b[0]["target_acc"] for m, b, _, _ in results])
        knn = _interval([w["knn_features"] - wo["knn_features"] for _, _, w, wo in results])
        summary.append([source, _interval_text(final), _interval_text(first_epoch), _interval_text(knn)])
        print(f"RESULT source={source} gain={final[0]:.4f} low={final[1]:.4f} high={final[2]:.4f} "
              f"epoch1_gain={first_epoch[0]:.4f} knn_gap={knn[0]:.4f} scratch_lr={scratch_lr:g} "
              f"seeds={len(results)}", flush=True)
    say(table(["source", "final gain (points, 95% interval)", "epoch-1 gain", "kNN gap (features)"], summary,
              f"What transfer buys on {base.target}, by source (scratch at lr {scratch_lr:g}, chosen on validation)"))
    results = by_source[sources[0]]
    final = _interval([m[-1]["target_acc"] - b[-1]["target_acc"] for m, b, _, _ in results])
    first_epoch = _interval([m[0]["target_acc"] - b[0]["target_acc"] for m, b, _, _ in results])
    gaps = {k: _interval([w[k] - wo[k] for _, _, w, wo in results]) for k in ("knn_features", "knn_pca", "knn_umap")}
    warm = [t for t in timings if t[0] == "warm"]
    cold = [t for t in timings if t[0] == "cold"]
    goals = [
        ("final gain (points, mean, 95% paired interval)", _interval_text(final), "≥ +15, interval excludes 0",
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
              f"Goals from {sources[0]} (load average now {load_now()}; the time goals are for an idle 2-core "
              "CPU)"))


if __name__ == "__main__":
    main()
