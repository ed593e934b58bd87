"""Do the time promises hold? For every lesson and for the feasibility check: the promise its card shows at press
time (`tl_core.serving.promises`, the function the pages call), then the real wall time from the press until its last
run has ended, on a fresh job manager with a throwaway runs folder.

`experiment` adds the Experiment page's promise under Train (the defaults and their baseline).

Each case gets a fresh JobManager (the default executor and slots, as a server has them; its worker processes
started and idle before the press, as a server's are) and ChainRunner, as
the dashboard holds them; the calibration's timed batches are kept for the whole process, as a server keeps
them. Datasets are built beforehand (a page's promise does not count building them); source networks are used
as the runs find them (shipped or cached; the promise says when one is pretrained first). The feasibility check
runs on a generated folder of shapes (the page's "Try an example": 4 classes, 30 images each) with the page's
default settings (3 folds, 32 px, label curve on one fold). While a case runs, the remaining promise is read
every `--every` seconds, to show it shrinking.

Prints a table, then `RESULT case=… promised_s=… measured_s=… ratio=…` per case and
`RESULT cases=N within_25pct=K`, with the load average: only a run on an idle machine gives the figures that
count; its `slowdown` column says how much slower the machine trained during the case than when the pace was
timed (other work coming and going), which no promise made at press time can know. Per-run estimates against the
runs' own seconds go to `--out` (JSON) for whoever tunes the model; `--from-json` prints a table from one.

    python bench/lesson_timing.py [--cases why-transfer,feasibility] [--seeds 1] [--every 10] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import bench_runs_dir, load_now, say

from tl_core import lessons
from tl_core.runs import identity
from tl_core.serving import calibration
from tl_core.serving.chains import ChainRunner
from tl_core.serving.executors.processes import torch_threads
from tl_core.serving.jobs import JobManager, default_slots
from tl_core.serving.owners import Actor
from tl_core.serving.promises import Promise, check_promise, lesson_promise

OWNER = Actor("bench", teacher=True)  # the teacher: exempt from per-owner limits, as a class demo is run
WITHIN = 0.25


def build_datasets(configs) -> None:
    from tl_core.data import load_domain

    for name, size in sorted({(n, c.img_size) for c in configs for n in (c.source, c.target)}):
        if not name.startswith("folder:"):
            load_domain(name, size)


def workers_ready(manager: JobManager, quiet_s: float = 2.0, timeout_s: float = 300.0) -> None:
    """Wait until the slots' worker processes have started (imported torch and gone idle, waiting for a run), as
    a server's have long before anyone presses a button: a fresh manager's first run would otherwise wait for
    its worker to start, which no promise counts."""
    def cpu_ticks(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    pids = [slot._process.pid for slot in manager._slots if getattr(slot, "_process", None) is not None]
    deadline, last, quiet_since = time.time() + timeout_s, None, time.time()
    while pids and time.time() < deadline:
        try:
            ticks = [cpu_ticks(pid) for pid in pids]
        except OSError:
            return
        if ticks != last:
            last, quiet_since = ticks, time.time()
        elif time.time() - quiet_since >= quiet_s:
            return
        time.sleep(0.25)


def wait_chain(runner: ChainRunner, manager: JobManager, key: str, every: float, remaining) -> list[tuple]:
    """Block until the chain is done and its runs have ended; the remaining promise every `every` seconds."""
    started, trace, next_at = time.time(), [], time.time() + every
    while True:
        chain = runner.get(key)
        pending = [i for i in chain.ids if (v := manager.view(i)) is not None and v.active]
        if chain.done and not pending:
            return trace
        if time.time() >= next_at:
            p = remaining(chain)
            if p is not None:
                trace.append((round(time.time() - started), round(p.total_s), p.runs, p.runs_ahead))
            next_at += every
        time.sleep(0.5)


def per_run(manager: JobManager, ids: list[str], rows: list[dict]) -> list[dict]:
    """Each run's estimate (at the pace the promise used) against its own seconds, for tuning the model."""
    out = []
    for run_id in ids:
        row = manager.store.get(run_id)
        if row is None:
            continue
        config, summary = row["config"], row["summary"]
        from tl_core.runs.config import RunConfig

        estimate = calibration.estimate_run(RunConfig.from_dict(config), rows, wait=True)
        metrics = manager.store.run_dir(run_id).read_metrics()
        out.append({"arm": config.get("arm"), "strategy": config.get("strategy"), "weights": config.get("weights"),
                    "freeze": config.get("freeze"),
                    "epochs": config.get("epochs"), "labels": config.get("labels_per_class"),
                    "snapshot_size": config.get("snapshot_size"), "status": summary.get("status"),
                    "seconds": summary.get("seconds"), "epoch_seconds": sum(m.get("seconds", 0) for m in metrics),
                    "images_per_s": [round(m.get("images_per_s", 0)) for m in metrics],
                    "labelled": summary.get("labelled_examples"),
                    "estimate_s": None if estimate is None else round(estimate.total_s, 2),
                    "pace": None if estimate is None else estimate.pace.__dict__})
    return out


def lesson_case(key: str, args) -> dict:
    lesson = lessons.lesson(key)
    build_datasets([c for stage in lessons.stages_left(lesson, seeds=args.seeds) for c in stage])
    with bench_runs_dir("tl-lesson-timing-") as folder:
        manager = JobManager(folder / "runs")
        workers_ready(manager)
        runner = ChainRunner(manager)
        try:
            rows = calibration.finished_rows(manager.store)
            promised = lesson_promise(manager, OWNER.owner, lesson, seeds=args.seeds, rows=rows, wait=True)
            group = identity.new_lesson(key)

            def plan_next(run_ids):
                return lessons.plan_next(lesson, lessons.collect(run_ids, manager.store), group, seeds=args.seeds)

            def remaining(chain):
                return lesson_promise(manager, OWNER.owner, lesson, lessons.collect(chain.ids, manager.store),
                                      chain.ids, seeds=args.seeds)

            load_before = load_now()
            timed = press_and_follow(runner, manager, group, plan_next, remaining, rows, time.time(), args.every)
        finally:
            runner.stop_all()
            manager.close()
    return {"case": key, "promise": promised, **timed, "load_before": load_before, "load_after": load_now()}


def press_and_follow(runner, manager, key, plan_next, remaining, rows, pressed, every, **start) -> dict:
    """Start the chain as the page's button does and follow it to its end: the time from `pressed`, the
    remaining-time promise read along the way, each run's figures, the chain's error."""
    runner.start(key, OWNER, plan_next, **start)
    trace = wait_chain(runner, manager, key, every, remaining)
    measured = time.time() - pressed
    chain = runner.get(key)
    return {"measured_s": measured, "trace": trace, "runs": per_run(manager, chain.ids, rows), "error": chain.error}


def feasibility_case(args) -> dict:
    from tl_core.data import load_domain
    from tl_core.feasibility.demo_data import write_shapes_folder
    from tl_core.feasibility.label_curve import DEFAULT_BUDGETS
    from tl_core.feasibility.pipeline import Plan, next_stage
    from tl_core.feasibility.prepare import prepare_dataset
    from tl_core.feasibility.results import results_from_jobs
    from tl_core.feasibility.sweep import SweepSettings
    from tl_core.feasibility.validate import validate_folder

    with bench_runs_dir("tl-feasibility-timing-") as folder:
        write_shapes_folder(folder / "example", num_classes=4, per_class=30)
        report = validate_folder(folder / "example")
        key = f"feasibility:bench{os.getpid()}"
        settings = SweepSettings(img_size=32, folds=3, check_id=key)
        plan = Plan(settings, None, DEFAULT_BUDGETS, curve_folds=1)  # what the page's "Run the check" queues
        load_domain("synth-digits", settings.img_size)  # the built-in source the check pretrains on
        manager = JobManager(folder / "runs")
        workers_ready(manager)
        runner = ChainRunner(manager)
        try:
            rows = calibration.finished_rows(manager.store)
            facts = (report.num_images, report.images_per_class, len(report.classes))
            promised = check_promise(manager, OWNER.owner, plan, *facts, rows=rows, wait=True)
            load_before = load_now()
            pressed = time.time()
            prepared = prepare_dataset(report, folder / "session", folds=settings.folds, seed=settings.seed)

            def plan_next(run_ids):
                results, _ = results_from_jobs(manager, run_ids)
                return next_stage(prepared, plan, results)

            def remaining(chain):
                return check_promise(manager, OWNER.owner, plan, *facts, mine=chain.ids,
                                     done=[s for s, _ in chain.stages])

            timed = press_and_follow(runner, manager, key, plan_next, remaining, rows, pressed, args.every,
                                     only_one="feasibility check")
        finally:
            runner.stop_all()
            manager.close()
    return {"case": "feasibility", "promise": promised, **timed, "load_before": load_before,
            "load_after": load_now()}


def experiment_case(args) -> dict:
    """The Experiment page's defaults: Train queues the run and its baseline (one stage of two runs)."""
    from tl_core.runs.baselines import baseline_for
    from tl_core.runs.config import RunConfig
    from tl_core.serving.promises import promise

    configs = [RunConfig(), baseline_for(RunConfig())]
    build_datasets(configs)
    with bench_runs_dir("tl-experiment-timing-") as folder:
        manager = JobManager(folder / "runs")
        workers_ready(manager)
        try:
            rows = calibration.finished_rows(manager.store)
            promised = promise(manager, OWNER.owner, [configs], rows=rows, wait=True)
            load_before = load_now()
            pressed = time.time()
            ids = [manager.submit(c, owner=OWNER) for c in configs]
            for run_id in ids:
                manager.wait(run_id, timeout_s=3600)
            measured = time.time() - pressed
            runs = per_run(manager, ids, rows)
        finally:
            manager.close()
    return {"case": "experiment", "promise": promised, "measured_s": measured, "trace": [], "runs": runs,
            "load_before": load_before, "load_after": load_now(), "error": ""}


def slowdown(result: dict) -> float:
    """How much slower the machine trained during the case than when its pace was timed: the median, over its
    runs of plain steps (scratch, fine-tune), of the timed pace at the run's freeze depth over the run's own
    median images per second. 1.0: the load stayed as it was; 2.0: training took twice as long per image."""
    import statistics

    ratios = []
    for run in result["runs"]:
        pace, seen = run.get("pace") or {}, [x for x in run.get("images_per_s") or [] if x]
        if run.get("strategy") not in ("scratch", "fine-tune") or not seen or not pace or pace.get("runs"):
            continue
        timed = pace.get("frozen_images_per_s") or [pace["images_per_s"]]
        freeze = 0 if run["strategy"] == "scratch" else int(run.get("freeze") or 0)
        ratios.append(timed[min(freeze, len(timed) - 1)] / statistics.median(seen))
    return statistics.median(ratios) if ratios else float("nan")


def report(results: list[dict], seeds) -> None:
    say(f"{'case':<20} {'runs':>5} {'promised':>10} {'measured':>10} {'ratio':>6} {'slowdown':>9}  "
        f"load before → after")
    within = 0
    for r in results:
        p = r["promise"]
        promised = p["total_s"] if p is not None else float("nan")
        ratio = r["measured_s"] / promised if promised else float("nan")
        within += abs(ratio - 1) <= WITHIN
        say(f"{r['case']:<20} {len(r['runs']):>5} {promised:>9.0f}s {r['measured_s']:>9.0f}s {ratio:>6.2f} "
            f"{slowdown(r):>9.2f}  {r['load_before']} → {r['load_after']}")
    for r in results:
        p = r["promise"]
        promised = p["total_s"] if p is not None else float("nan")
        say(f"RESULT case={r['case']} promised_s={promised:.0f} measured_s={r['measured_s']:.0f} "
            f"ratio={r['measured_s'] / promised if promised else float('nan'):.2f} slowdown={slowdown(r):.2f}")
    say(f"RESULT cases={len(results)} within_25pct={within} load_avg={load_now().replace(' ', ',')} "
        f"seeds={seeds or 'each lesson own'}")


def promise_words(p: Promise | None) -> str:
    from tl_view.views import promise_text

    return "?" if p is None else promise_text(p)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = [item.key for item in lessons.LESSONS] + ["feasibility", "experiment"]
    parser.add_argument("--cases", default=",".join(every), help=f"comma-separated, from: {', '.join(every)}")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per arm (default: each lesson's own)")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between readings of the remaining promise")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "lesson_timing.json",
                        help="per-run estimates against the runs' own seconds (JSON)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="print the table of an earlier run's --out file instead of running anything")
    args = parser.parse_args()
    if args.from_json is not None:
        report(json.loads(args.from_json.read_text()), args.seeds)
        return 0
    say(f"load average at start {load_now()}; {os.cpu_count()} CPUs; slots {default_slots()}, "
        f"torch threads per run {torch_threads(default_slots())}")
    results = []
    for case in args.cases.split(","):
        say(f"case {case} …")
        special = {"feasibility": feasibility_case, "experiment": experiment_case}
        result = special[case](args) if case in special else lesson_case(case, args)
        p = result["promise"]
        say(f"  promised {promise_words(p)}; measured {result['measured_s']:.1f} s; load {result['load_before']} → "
            f"{result['load_after']}" + (f"; ERROR {result['error']}" if result["error"] else ""))
        say("  remaining promise while it ran (s since press, promised s left, runs left, runs ahead): "
            + " ".join(f"({a},{b},{c},{d})" for a, b, c, d in result["trace"]))
        results.append(result)
        args.out.write_text(json.dumps([{**r, "promise": None if r["promise"] is None else r["promise"].__dict__}
                                        for r in results], indent=1, default=str))  # after every case
    say("")
    report(json.loads(args.out.read_text()), args.seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
