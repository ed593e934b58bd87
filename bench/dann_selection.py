"""DANN's settings chosen by reverse validation in stages (issue 21): no target label is read.

A full grid over every DANN choice (learning rate, training length, the discriminator's speed and width, γ, the
domain weight) is 96 candidates × 3 seeds, days on a 2-core CPU. A staged (coordinate) search instead: each stage
is one `tl_core.selection.select` grid over two settings at the previous stages' choices, scored by reverse
validation (`tl_core.selection`: the forward DANN pseudo-labels the target training images, a fresh small_cnn
learns them, the labelled source validation split scores it) over the dev seeds. The stages, in order:

1. μ0 (the run's learning rate) × training length (epochs);
2. the discriminator's speed (domain_lr_scale) × width (hidden);
3. γ (the λ ramp) × the domain weight.

Each stage's record (every candidate, every seed's score, what was read) goes to `--out`, and one summary with the
three choices. The candidates' target accuracies are never printed or used. Later steps ran as single
`python -m tl_core select` grids at these choices, each written down before its runs: the grid past stage 1's edges
(μ0 × length), stage 4 (the discriminator's batch standardisation × its dropout), stage 5 (synth-digits →
digits-m's length at stage 4's discriminator) and stages 6–8 (the discriminator's depth on digits → digits-m, then
on each of the two synthetic pairs); their commands and records are in bench/selections/dann-design-record.md.

    python bench/dann_selection.py [--pair digits:digits-m] [--seeds 0,1,2] [--out bench/selections]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository root on sys.path)
from common import bench_runs_dir, say

from tl_core.config import RunConfig
from tl_core.selection import describe, select, selection_table

STAGES = (
    {"lr": [0.003, 0.01, 0.03], "epochs": [15, 60]},
    {"domain_lr_scale": [1.0, 10.0], "hidden": [256, 1024]},
    {"gamma": [3.0, 10.0], "domain_weight": [0.3, 1.0]},
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", default="digits:digits-m", help="SOURCE:TARGET")
    parser.add_argument("--seeds", default="0,1,2", help="dev seeds (never the bench's fresh ones)")
    parser.add_argument("--out", default="bench/selections", help="where the stage records go")
    args = parser.parse_args()
    source, target = args.pair.split(":")
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = RunConfig(source=source, target=target, backbone="small_cnn", weights="source", strategy="dann",
                     freeze=0, batch_size=64, lr=0.01, img_size=32, device="cpu", epochs=15)
    chosen: dict = {}
    stages = []
    with bench_runs_dir("dann-selection") as runs_dir:
        for number, grid in enumerate(STAGES, start=1):
            start = time.time()
            fields = {k: v for k, v in chosen.items() if k in ("lr", "epochs")}
            settings = {k: v for k, v in chosen.items() if k not in fields}
            stage_base = base.replace(**fields, settings={**base.settings, **settings})
            selection = select(stage_base, grid, seeds, runs_dir, progress=lambda line: say(f"stage {number}: {line}"))
            if selection.chosen is None:
                raise SystemExit(f"stage {number}: no candidate finished")
            chosen.update(selection.chosen)
            say(f"stage {number} ({time.time() - start:.0f} s):\n{selection_table(selection)}")
            say(f"stage {number} chose {describe(selection.chosen)}")
            record = out / f"dann-stage{number}-{source}-to-{target}.json"
            selection.record = str(record)
            record.write_text(json.dumps(selection.to_dict(), indent=1, default=float))
            stages.append({"grid": grid, "chosen": selection.chosen, "record": str(record)})
    summary = {"pair": args.pair, "seeds": seeds, "stages": stages, "chosen": chosen}
    (out / f"dann-stages-{source}-to-{target}.json").write_text(json.dumps(summary, indent=1, default=float))
    print("RESULT pair=" + args.pair + " " + " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                                       for k, v in chosen.items()))


if __name__ == "__main__":
    main()
