"""Is the verdict procedure calibrated? Every lesson simulated with a known effect, judged as the app judges it.

Each lesson's claim (its primary contrast, side and minimum effect), its seed count and its test-set size are
read from the lessons themselves; per-image correctness with seed-to-seed variation is simulated
(`tl_core.analysis.verdict_calibration`) thousands of times and judged by `intervals.seed_interval` and
`intervals.decide`, the functions every verdict in the app calls. Prints per lesson: the false-"met" rate at
effect 0 (goal ≤ 5%), the coverage of the 95% interval (goal 93–97%), and the power ("met" rate) at the lesson's
minimum effect and at twice it. By the rule, power at exactly the minimum effect is at most about one half: "met"
needs the measured effect to reach the minimum.

Headline: the worst lesson on each — the highest false-met rate, the coverage farthest from 95%, the lowest power
at the minimum effect.

    python bench/verdict_calibration.py [--trials 4000] [--seed-sd 0.03] [--quick]
"""
from __future__ import annotations

import common  # noqa: F401  (puts the repository root on sys.path)
from common import parse_args, say, table

from tl_core.analysis.verdict_calibration import Scenario, simulate
from tl_core.lessons import LESSONS, Lesson

ARMS = {"difference": 2, "difference of differences": 4, "against a constant": 1}


def test_images(item: Lesson) -> int:
    """How many test images each seed's accuracy rests on: the target's test split; for zero-shot only its
    held-out classes' images; for forgetting task A's (the source's) test split, which its contrast reads."""
    from tl_core.data import load_domain
    from tl_core.data.attributes import class_attributes

    config = item.stages[0](False, [])[0]
    if item.key == "forgetting":
        return len(load_domain(config.source, config.img_size).test.labels)
    domain = load_domain(config.target, config.img_size)
    if item.key == "zero-shot":
        unseen = {domain.classes.index(c) for c in class_attributes(config.target).unseen}
        return int(sum(int(y) in unseen for y in domain.test.labels))
    return len(domain.test.labels)


def main() -> None:
    def extra(parser) -> None:
        parser.add_argument("--trials", type=int, default=4000, help="simulated lessons per lesson and effect")
        parser.add_argument("--seed-sd", type=float, default=0.03,
                            help="seed-to-seed SD of an arm's true accuracy (fraction)")

    args = parse_args(__doc__.splitlines()[0], extra=extra)
    trials = 400 if args.quick else args.trials
    say(f"bench/verdict_calibration.py: {trials} simulated lessons per row, seed-to-seed SD {args.seed_sd}")
    rows, worst = [], {"false_met": 0.0, "coverage": 0.95, "power": 1.0}
    for item in LESSONS:
        claim = item.claim
        scenario = Scenario(seeds=item.seeds, images=test_images(item), min_effect=claim.min_effect,
                            side=claim.side, arms=ARMS[claim.kind], seed_sd=args.seed_sd)
        null = simulate(scenario, 0.0, trials, seed=1)
        at_min = simulate(scenario, claim.min_effect, trials, seed=2)
        at_double = simulate(scenario, 2 * claim.min_effect, trials, seed=3)
        coverage = min((null.coverage, at_min.coverage, at_double.coverage), key=lambda c: abs(c - 0.95))
        worst["false_met"] = max(worst["false_met"], null.met)
        worst["coverage"] = max(worst["coverage"], coverage, key=lambda c: abs(c - 0.95))
        worst["power"] = min(worst["power"], at_min.met)
        rows.append([item.key, item.seeds, scenario.images, claim.kind, f"{claim.side} {claim.min_effect:.2f}",
                     f"{100 * null.met:.1f}", f"{100 * coverage:.1f}", f"{100 * at_min.met:.1f}",
                     f"{100 * at_double.met:.1f}"])
        say(f"RESULT lesson={item.key} false_met_pct={100 * null.met:.1f} coverage_pct={100 * coverage:.1f} "
            f"power_at_min_pct={100 * at_min.met:.1f} power_at_double_pct={100 * at_double.met:.1f}")
    say(table(["lesson", "seeds", "test images", "contrast", "claim", "false met % (effect 0)",
               "coverage % (worst of 3 effects)", "power % at min", "power % at 2×min"], rows,
              "Verdict calibration (goals: false met ≤ 5%, coverage 93–97%)"))
    say(f"RESULT false_met_pct={100 * worst['false_met']:.1f} coverage_pct={100 * worst['coverage']:.1f} "
        f"power_pct={100 * worst['power']:.1f}")


if __name__ == "__main__":
    main()
