"""Does each lesson's expected picture appear with its defaults on this machine, and how long does it take?

Runs every lesson's preset (the one the Lessons page queues) one run after another, as the dashboard's single
job slot would, and prints the lesson's own verdict and the time taken. Whether the lesson first had to
pretrain its source network is printed too (the dashboard caches it, so only a lesson's first run pays).

    python bench/lessons.py [--lesson why-transfer] [--quick] [--threads 1] [--keep-runs DIR]

Each lesson's runs carry a lesson experiment id, as the page's button gives them: with --keep-runs the runs stay
in DIR, and a dashboard started with TL_RUNS_DIR=DIR shows them on the Lessons page.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import common  # noqa: F401  (puts the repository root on sys.path)
from common import Clock, bench_runs_dir, load_now, machine_line, parse_args, say, table

from tl_core import identity
from tl_core.lessons import LESSONS, collect, lesson, needs_pretraining, verdict


def run_lesson(key: str, quick: bool, runs_dir: str) -> tuple[bool | None, str, float, bool]:
    """(met, sentence, seconds, pretrained first) for one lesson, its stages in order."""
    from tl_core.records.store import RunStore
    from tl_core.runner import run_config

    store, item, clock = RunStore(runs_dir), lesson(key), Clock()
    cold = needs_pretraining(item)
    experiment = identity.new_lesson(key)
    run_ids: list[str] = []
    for stage in item.stages:
        for config in stage(quick, collect(run_ids, store)):
            summary = run_config(config.replace(experiment=experiment), runs_dir)
            run_ids.append(summary["run_id"])
            say(f"  {key} · {config.name}: {summary['status']}, target acc {summary.get('target_acc', float('nan')):.3f}"
                f", {summary.get('seconds', 0):.0f} s  [{clock.wall_s:.0f} s]")
    met, sentence = verdict(key, collect(run_ids, store))
    return met, sentence, clock.wall_s, cold


@contextmanager
def kept_runs_dir(path: str):
    Path(path).mkdir(parents=True, exist_ok=True)
    yield Path(path)


def main() -> None:
    def extra(parser) -> None:
        parser.add_argument("--lesson", action="append", choices=[item.key for item in LESSONS],
                            help="only this lesson (repeatable)")
        parser.add_argument("--keep-runs", metavar="DIR", help="record the runs in DIR and keep them")

    args = parse_args(__doc__.splitlines()[0], extra=extra)
    keys = args.lesson or [item.key for item in LESSONS]
    say(f"bench/lessons.py{' --quick' if args.quick else ''} on {machine_line(args.device)}")
    rows = []
    with kept_runs_dir(args.keep_runs) if args.keep_runs else bench_runs_dir("tl-bench-lessons-") as runs_dir:
        os.environ["TL_RUNS_DIR"] = str(runs_dir)  # the distillation lesson finds its teacher run there
        for key in keys:
            met, sentence, seconds, cold = run_lesson(key, args.quick, str(runs_dir))
            mark = {True: "✓ as predicted", False: "✗ not this time", None: "… incomplete"}[met]
            rows.append([lesson(key).title, mark, f"{seconds:.0f} s" + (" (incl. pretraining)" if cold else ""),
                         f"{lesson(key).minutes_on_cpu:g} min", sentence])
    say()
    say(table(["lesson", "verdict", "took", "page says", "measured"], rows,
              title=f"bench/lessons.py{' --quick' if args.quick else ''}"))
    say(f"Load average now {load_now()}.")


if __name__ == "__main__":
    main()
