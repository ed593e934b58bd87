"""Does each lesson's claim hold with its defaults on this machine, how sure are we, and how long does it take?

Runs every lesson's preset (the one the Lessons page queues, each arm once per seed) one run after another, as
the dashboard's single job slot would, and prints the lesson's own verdict — met, not met or undecided on its
claim, decided by the lab's one statistic (a 95% t-interval over per-seed paired differences,
`tl_core.analysis.intervals`) — with the effect, its interval and the time taken. Whether the lesson first had
to pretrain source networks is printed too (the dashboard caches them, so only a lesson's first run pays).
Headline per lesson: `RESULT lesson=… verdict=… effect=… low=… high=… seeds=… split=… wall_s=… cpu_s=…`.

Designs are piloted and then confirmed (bench/selections/lessons.md): `--pilot` runs the page's seeds (0 …) and
judges them on the target's *validation* split (each run's final validation accuracy stands for its test
accuracy; no test label is read to change a design); `--confirm` runs fresh seeds (100 …) once, on the test split.

    python bench/lessons.py [--lesson why-transfer] [--seeds 5] [--pilot | --confirm [--first-seed 100]] [--quick]
                            [--threads 1] [--keep-runs DIR]
"""
from __future__ import annotations

import dataclasses
import os
from contextlib import nullcontext
from pathlib import Path

import common  # noqa: F401  (puts the repository root on sys.path)
from common import Clock, bench_runs_dir, load_now, machine_line, parse_args, say, table

from tl_core.lessons import (LESSONS, Verdict, collect, lesson, needs_pretraining, seed_count, stage_configs,
                             verdict)
from tl_core.records.run_view import RunView
from tl_core.runs import identity

CONFIRM_SEEDS = 100  # the first confirmatory seed: never used in a pilot


def on_validation(runs: list[RunView]) -> list[RunView]:
    """The runs as the verdict reads them, with each epoch's and the final validation accuracy on the target in
    place of the test accuracy: what a pilot judges a design by (`target_val_acc` where a run trains on the
    source's labels and its `val_acc` is the source's)."""
    out = []
    for run in runs:
        metrics = [{**m, "target_acc": m.get("target_val_acc", m.get("val_acc"))} for m in run.history]
        summary = {**run.summary, "target_acc": metrics[-1]["target_acc"] if metrics else None}
        out.append(dataclasses.replace(run, history=metrics, summary=summary))
    return out


def run_lesson(key: str, quick: bool, seeds: int | None, runs_dir: str, split: str = "test",
               first_seed: int = 0) -> tuple[Verdict, Clock, bool]:
    """(verdict on `split`, its clock, pretrained first) for one lesson, its stages in order."""
    from tl_core.records.store import RunStore
    from tl_core.runs.runner import run_config

    store, item, clock = RunStore(runs_dir), lesson(key), Clock()
    cold = first_seed > 0 or needs_pretraining(item, seed_count(item, quick, seeds))
    experiment = identity.new_lesson(key)  # kept runs show on the Lessons page as this lesson's latest
    run_ids: list[str] = []
    for index in range(len(item.stages)):
        for config in stage_configs(item, index, quick, collect(run_ids, store), seeds, first_seed):
            summary = run_config(config.replace(experiment=experiment), runs_dir)
            run_ids.append(summary["run_id"])
            shown = "target_acc" if split == "test" else (  # a pilot never prints a test number
                "target_val_acc" if "target_val_acc" in summary else "val_acc")
            say(f"  {key} · {config.name} · seed {config.seed}: {summary['status']}, {shown.replace('_', ' ')} "
                f"{summary.get(shown, float('nan')):.3f}, {summary.get('seconds', 0):.0f} s  "
                f"[{clock.wall_s:.0f} s]")
    runs = collect(run_ids, store)
    return verdict(key, on_validation(runs) if split == "val" else runs, seed_count(item, quick, seeds)), clock, cold


def main() -> None:
    def extra(parser) -> None:
        parser.add_argument("--lesson", action="append", choices=[item.key for item in LESSONS],
                            help="only this lesson (repeatable)")
        parser.add_argument("--seeds", type=int, default=None, help="seeds per arm (default: the lesson's own)")
        stage = parser.add_mutually_exclusive_group()
        stage.add_argument("--pilot", action="store_true", help="the page's seeds, judged on the validation split")
        stage.add_argument("--confirm", action="store_true",
                           help=f"fresh seeds ({CONFIRM_SEEDS} …), judged once on the test split")
        parser.add_argument("--first-seed", type=int, default=CONFIRM_SEEDS,
                            help="with --confirm: the first fresh seed (a redesigned lesson is confirmed on seeds "
                                 "its earlier design never used)")
        parser.add_argument("--keep-runs", metavar="DIR", help="record the runs in DIR and keep them (the dashboard "
                                                               "shows them with TL_RUNS_DIR=DIR)")

    args = parse_args(__doc__.splitlines()[0], extra=extra)
    keys = args.lesson or [item.key for item in LESSONS]
    confirm = f" --confirm --first-seed {args.first_seed}" if args.confirm else ""
    flags = (f"{' --quick' if args.quick else ''}{f' --seeds {args.seeds}' if args.seeds else ''}"
             f"{' --pilot' if args.pilot else ''}{confirm}")
    split = "val" if args.pilot else "test"
    say(f"bench/lessons.py{flags} on {machine_line(args.device)}")
    rows = []
    kept = nullcontext(Path(args.keep_runs)) if args.keep_runs else None
    with kept or bench_runs_dir("tl-bench-lessons-") as runs_dir:
        os.environ["TL_RUNS_DIR"] = str(runs_dir)  # the distillation lesson finds its teacher run there
        for key in keys:
            judged, clock, cold = run_lesson(key, args.quick, args.seeds, str(runs_dir), split,
                                             args.first_seed if args.confirm else 0)
            effect = ("" if judged.effect is None else
                      f"{judged.effect:+.3f} [{judged.low:+.3f}, {judged.high:+.3f}]")
            numbers = ("" if judged.effect is None else
                       f"effect={judged.effect:.4f} low={judged.low:.4f} high={judged.high:.4f} ")
            say(f"RESULT lesson={key} verdict={judged.outcome.replace(' ', '_')} {numbers}seeds={judged.seeds} "
                f"split={split} wall_s={clock.wall_s:.0f} cpu_s={clock.cpu_s:.0f}")
            took = f"{clock.wall_s:.0f} s wall, {clock.cpu_s:.0f} s CPU" + (" (incl. pretraining)" if cold else "")
            rows.append([lesson(key).title, judged.outcome, effect, judged.seeds, took, judged.text])
            say(f"{lesson(key).title}: {judged.outcome} — {judged.text} [{clock}]")
    say()
    say(table(["lesson", "verdict", "effect [95% interval]", "seeds", "took", "measured"], rows,
              title=f"bench/lessons.py{flags}"))
    say(f"Load average now {load_now()}.")


if __name__ == "__main__":
    main()
