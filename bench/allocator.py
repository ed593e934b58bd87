"""What holding freed memory buys (`tl_core.machine.allocator`), measured side by side in one run.

Every measurement is a fresh process, as a run's worker, a promise's timing and a bench worker each start fresh,
and the two arms alternate — glibc's malloc as it leaves itself ("glibc default") and with its thresholds fixed
("held") — so a load that comes and goes touches both alike. Three cases:

- **lesson step**: a training step of small_cnn at 32 px on 64 images with AdamW, 2 torch threads (a lesson's
  plain run on this 2-core server: one slot, both threads);
- **DANN table step**: DANN's step (source and target batch through the features as one batch of 2 × 64, SGD with
  momentum), 1 torch thread (`bench/domain_adaptation.py`'s workers);
- **DANN run**: a whole DANN run of synth-digits → digits-m with the shipped settings, `--epochs` epochs, 1 thread,
  through `tl_core.runs.runner.run_config` (the held arm as the engine runs; the default arm with the training
  loop's call to `hold_freed_memory` made a no-op in that process).

A step case reports, per arm, the medians over processes of the minor page faults a step, the CPU and wall
milliseconds a step (after 10 untimed warm-up steps, 60 timed); the run case the run's wall seconds.

    python bench/allocator.py [--repeats 6] [--epochs 2] [--cases lesson_step,dann_table_step,dann_run]

Headline per case: `RESULT case=… faults_default=… faults_held=… cpu_ms_default=… cpu_ms_held=… speedup=…`
(speed-up: default's median wall time / held's), and for the run `RESULT case=dann_run seconds_default=…
seconds_held=… speedup=…`.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import common  # noqa: F401  (puts the repository root on sys.path)
import torch
from common import Clock, load_now, median, parse_args, say, table

from tl_core.machine.device import PRECISION_NAMES, autocast_dtype

ARMS = ("default", "held")
STEP_CASES = {  # name: (images a step, optimizer, torch threads)
    "lesson_step": (64, "adamw", 2),
    "dann_table_step": (128, "sgd", 1),
}
CASES = (*STEP_CASES, "dann_run")
WARMUP, TIMED = 10, 60


def _step_child(case: str, arm: str) -> dict:
    import torch
    from torch.nn import functional as F

    from tl_core.backbones import create_backbone
    from tl_core.machine.allocator import hold_freed_memory
    from tl_core.machine.device import mixed_precision
    from tl_core.networks.model import TransferModel

    images_n, optimizer_name, threads = STEP_CASES[case]
    torch.set_num_threads(threads)
    if arm == "held":
        hold_freed_memory()
    generator = torch.Generator().manual_seed(0)
    model = TransferModel(create_backbone("small_cnn", "random", 32), 10)
    optimizer = (torch.optim.AdamW(model.parameters(), lr=1e-3) if optimizer_name == "adamw"
                 else torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    images = torch.randint(0, 256, (images_n, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (images_n,), generator=generator)

    def step() -> None:
        with mixed_precision(torch.device("cpu")):  # as the training loop runs
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(WARMUP):
        step()
    faults0, cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.process_time(), time.perf_counter()
    for _ in range(TIMED):
        step()
    return {"faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / TIMED,
            "cpu_ms": 1000 * (time.process_time() - cpu0) / TIMED,
            "wall_ms": 1000 * (time.perf_counter() - wall0) / TIMED}


def _run_child(arm: str, epochs: int) -> dict:
    import tempfile
    from dataclasses import asdict

    import torch

    import tl_core.train.loop as loop
    from tl_core.runs.config import RunConfig
    from tl_core.runs.runner import run_config
    from tl_core.strategies import strategy_class, suggested_lr

    torch.set_num_threads(1)
    if arm == "default":
        loop.hold_freed_memory = lambda: False
    config = RunConfig(source="synth-digits", target="digits-m", strategy="dann", backbone="small_cnn",
                       weights="source", freeze=0, epochs=epochs, lr=suggested_lr("dann"), batch_size=64,
                       img_size=32, seed=0, device="cpu", settings=asdict(strategy_class("dann").Settings()),
                       snapshot_every=0, snapshot_size=300, role="bench", name=f"allocator {arm}")
    with tempfile.TemporaryDirectory(prefix="tl-bench-alloc-") as runs_dir:
        summary = run_config(config, runs_dir)
    return {"seconds": summary["seconds"], "status": str(summary["status"])}


def _measure(case: str, arm: str, epochs: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", case, arm, str(epochs)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _options(parser) -> None:
    parser.add_argument("--repeats", type=int, default=6, help="fresh processes per arm and case")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the DANN run case")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from: {', '.join(CASES)}")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], _options)
    repeats = 2 if args.quick else args.repeats
    cases = args.cases.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        say(f"unknown case {', '.join(unknown)}: choose from {', '.join(CASES)}")
        raise SystemExit(2)
    clock = Clock()
    say(f"bench/allocator.py: {repeats} fresh processes per arm and case; load average at start {load_now()}")
    # The boot's precision is settled here, so no measured process is the one that times it (that timing holds
    # freed memory, which would make a "glibc default" process a held one).
    precision = PRECISION_NAMES.get(autocast_dtype(torch.device("cpu")), "fp32")
    say(f"precision of every step: {precision}")
    if "dann_run" in cases:
        _measure("dann_run", "held", 1)  # builds the datasets and caches the source network outside the timing
    results = {}
    for case in cases:
        for r in range(repeats):
            for arm in (ARMS if r % 2 == 0 else ARMS[::-1]):
                results.setdefault((case, arm), []).append(_measure(case, arm, args.epochs))
        say(f"  {case} done [{clock.wall_s:.0f} s, load {load_now()}]")

    rows, headlines = [], []
    for case in cases:
        med = {(arm, key): median([x[key] for x in results[(case, arm)]]) for arm in ARMS
               for key in results[(case, arm)][0] if key != "status"}
        if case == "dann_run":
            speedup = med[("default", "seconds")] / med[("held", "seconds")]
            rows.append([case, "", "", "", "", f"{med[('default', 'seconds')]:.1f} s",
                         f"{med[('held', 'seconds')]:.1f} s", f"{speedup:.2f}×"])
            headlines.append(f"RESULT case={case} seconds_default={med[('default', 'seconds')]:.1f} "
                             f"seconds_held={med[('held', 'seconds')]:.1f} speedup={speedup:.2f} "
                             f"epochs={args.epochs} repeats={repeats}")
            continue
        speedup = med[("default", "wall_ms")] / med[("held", "wall_ms")]
        rows.append([case, *(f"{med[(arm, 'faults')]:.0f}" for arm in ARMS),
                     *(f"{med[(arm, 'cpu_ms')]:.1f}" for arm in ARMS),
                     *(f"{med[(arm, 'wall_ms')]:.1f} ms" for arm in ARMS), f"{speedup:.2f}×"])
        headlines.append(f"RESULT case={case} faults_default={med[('default', 'faults')]:.0f} "
                         f"faults_held={med[('held', 'faults')]:.0f} cpu_ms_default={med[('default', 'cpu_ms')]:.1f} "
                         f"cpu_ms_held={med[('held', 'cpu_ms')]:.1f} speedup={speedup:.2f} repeats={repeats}")
    say("")
    say(table(["case", "faults/step default", "faults/step held", "CPU ms default", "CPU ms held",
               "wall default", "wall held", "speed-up"], rows, "bench/allocator.py (medians over processes)"))
    say("")
    for line in headlines:
        say(line)
    say(f"Wall time {clock.wall_s:.0f} s; load average now {load_now()}.")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _, _, case, arm, epochs = sys.argv
        print(json.dumps(_run_child(arm, int(epochs)) if case == "dann_run" else _step_child(case, arm)))
    else:
        main()
