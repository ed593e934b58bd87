"""Whether this CPU trains faster in bf16 than in fp32: timed once per boot of the machine, not read from its flags.

The flags do not answer it. Two hosts of this lab's kind report the same CPU and the same flags (AVX-512 BF16, no
AMX); a small_cnn training step ran 1.28× faster in bf16 on one and 1.12–1.23× slower on the other (bench/layout.py
logs), and a whole lesson 1.41× slower. So the first process that asks times both precisions on the step every
run takes (about 7 s) and writes the answer where every later process of this boot reads it. A new boot may be a
new host, so it asks again. A shorter timing is not enough: with 7 repeats of 6 steps, twelve fresh processes on
the slower host read medians from 0.80 to 1.19; with 12 repeats, seven read 1.02–1.14, and one beside a browser
starting 0.985.
"""
from __future__ import annotations

import fcntl
import functools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from tl_core.machine.allocator import hold_freed_memory

# bf16 only where its step takes at most 90% of fp32's; a tie keeps full precision. Between the hosts measured: 0.80
# where bf16 pays, 0.985–1.14 (eight timings of 12 repeats) where it does not.
BF16_MUST_BEAT = 0.90
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def bf16_pays(ratios: Sequence[float]) -> bool:
    """From paired timings of the same training step, bf16's time over fp32's: the median clearly below 1."""
    return statistics.median(ratios) <= BF16_MUST_BEAT


def time_bf16_against_fp32(repeats: int = 12, steps: int = 6) -> list[float]:
    """bf16's time over fp32's for `steps` training steps of small_cnn at 32 px (DANN's 2 × 64 images, SGD with
    momentum, channels-last), in `repeats` interleaved pairs whose order alternates, so a load that comes and goes
    touches both alike; two warm-up steps each first. The process's random numbers are left as they were: a run
    that asks mid-way draws the same numbers whether or not its process was the one that timed."""
    hold_freed_memory()  # as runs train
    with torch.random.fork_rng(devices=[]):
        return _time_bf16_against_fp32(repeats, steps)


def _time_bf16_against_fp32(repeats: int, steps: int) -> list[float]:
    from torch.nn import functional as F

    from tl_core.backbones import create_backbone
    from tl_core.networks.model import TransferModel

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (128, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (128,), generator=generator)
    models = {dtype: TransferModel(create_backbone("small_cnn", "random", 32), 10) for dtype in ("bf16", "fp32")}
    optimizers = {dtype: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for dtype, m in models.items()}

    def step(dtype: str) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
            loss = F.cross_entropy(models[dtype](images), labels)
        optimizers[dtype].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[dtype].step()

    def seconds(dtype: str) -> float:
        started = time.perf_counter()
        for _ in range(steps):
            step(dtype)
        return time.perf_counter() - started

    for dtype in models:
        step(dtype)
        step(dtype)
    ratios = []
    for r in range(repeats):
        order = ("bf16", "fp32") if r % 2 == 0 else ("fp32", "bf16")
        taken = {dtype: seconds(dtype) for dtype in order}
        ratios.append(taken["bf16"] / taken["fp32"])
    return ratios


def _answers_file() -> Path:
    boot = BOOT_ID.read_text().strip() if BOOT_ID.exists() else "unknown-boot"
    return Path(tempfile.gettempdir()) / f"transfer-lab-cpu-precision-{boot}.json"


def _read_answers(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@functools.cache
def bf16_is_faster_here() -> bool:
    """This boot's answer for this torch: read, or timed now and written. One process times at a time (a file
    lock): processes that start together wait for its answer instead of timing beside it."""
    key = f"torch {torch.__version__}"
    path = _answers_file()
    lock = os.open(path.with_name(f"{path.name}.lock"), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        answers = _read_answers(path)
        if key not in answers:
            ratios = time_bf16_against_fp32()
            answers[key] = {"bf16": bf16_pays(ratios), "median_ratio": round(statistics.median(ratios), 3)}
            scratch = path.with_name(f"{path.name}.{os.getpid()}")
            scratch.write_text(json.dumps(answers))
            os.replace(scratch, path)
        return bool(answers[key]["bf16"])
    finally:
        os.close(lock)  # closing the descriptor releases the lock
