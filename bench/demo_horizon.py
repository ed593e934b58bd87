"""Does the demo's gain rest on its short horizon? Transfer's gain over scratch at each horizon and label budget,
on the target's validation split, from two `python -m tl_core select` records (bench/selections/defaults.md).

The fine-tune record holds the Experiment page's defaults over an epochs × labels-per-class grid; the scratch
record the same grid × scratch's candidate learning rates. At each cell scratch gets its best rate there (by mean
validation accuracy: generous to scratch), and the gain is fine-tune − scratch per seed (the records share their
seeds), then the mean. No test label is read: the records hold validation accuracies only.

    python bench/demo_horizon.py bench/selections/demo-horizon-fine-tune.json bench/selections/demo-horizon-scratch.json

Headline per cell: `RESULT labels_per_class=… epochs=… fine_tune=… scratch=… scratch_lr=… gain_points=…`.
"""
from __future__ import annotations

import json
import statistics
import sys

import common  # noqa: F401  (puts the repository root on sys.path)
from common import say, table


def _scores(record: dict) -> dict[tuple, list[float]]:
    """Each candidate's per-seed validation accuracies, keyed by its settings."""
    return {tuple(sorted(s["candidate"].items())): [r["val_acc"] for r in s["runs"]] for s in record["scored"]}


def main() -> None:
    fine_tune, scratch = (json.load(open(path)) for path in sys.argv[1:3])
    assert fine_tune["seeds"] == scratch["seeds"], "the records must share their seeds"
    tuned, fresh = _scores(fine_tune), _scores(scratch)
    rows, lines = [], []
    for budget in fine_tune["grid"]["labels_per_class"]:
        for epochs in fine_tune["grid"]["epochs"]:
            cell = {"epochs": epochs, "labels_per_class": budget}
            ft = tuned[tuple(sorted(cell.items()))]
            by_lr = {lr: fresh[tuple(sorted({**cell, "lr": lr}.items()))] for lr in scratch["grid"]["lr"]}
            best = max(by_lr, key=lambda lr: statistics.mean(by_lr[lr]))
            gains = [100 * (a - b) for a, b in zip(ft, by_lr[best])]
            rows.append([budget, epochs, f"{statistics.mean(ft):.3f}", f"{best:g}", f"{statistics.mean(by_lr[best]):.3f}",
                         ", ".join(f"{g:+.1f}" for g in gains), f"{statistics.mean(gains):+.1f}"])
            lines.append(f"RESULT labels_per_class={budget} epochs={epochs} fine_tune={statistics.mean(ft):.4f} "
                         f"scratch={statistics.mean(by_lr[best]):.4f} scratch_lr={best:g} "
                         f"gain_points={statistics.mean(gains):.1f}")
    say(table(["labels per class", "epochs", "fine-tune (val)", "scratch's best lr", "scratch (val)",
               "gain per seed (points)", "mean gain"], rows,
              title=f"Transfer's gain on the validation split, seeds {fine_tune['seeds']}"))
    for line in lines:
        say(line)


if __name__ == "__main__":
    main()
