"""What the network's layout and precision buy, measured side by side in one run.

`tl_core.networks.model.TransferModel` keeps its convolution kernels channels-last (NHWC), so every feature map
is too; small_cnn's blocks max-pool before their ReLU (the same values and gradients on a quarter of the
elements); and the training loop runs under bf16 autocast on a CPU with bf16 instructions where bf16 was timed
faster on this boot (`tl_core.machine.cpu_precision`). This bench times the same small_cnn (32 px, a
TransferModel, the same weights) four ways on the same images — channels-last, pool then ReLU, in bf16; the same
in fp32; channels-last with ReLU before the pool, fp32; the default layout with ReLU before the pool, fp32 (the
network before all three changes) — for a training step of DANN's shape (source and target batch through the
features as one batch of 2 × 64, backward, SGD with momentum) and an evaluation pass (batch 256, no gradient).
Interleaved repeats: each repeat times every variant, in a rotating order, so a load that comes and goes touches
all alike. It prints each variant's median time, the median ratio to the bf16 variant's, how far the losses
differ, and which precision the lab chose on this boot.

    python bench/layout.py [--threads 1] [--device cpu] [--quick]

Headline per variant: `RESULT variant=… train_speedup=… eval_speedup=… train_ms=… eval_ms=… loss_diff=…`
(speed-up: that variant's time / the bf16 variant's), and `RESULT lab_precision=…`.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

import common  # noqa: F401  (puts the repository root on sys.path)
import torch
from common import Clock, load_now, machine_line, median, parse_args, say, table
from torch.nn import functional as F

from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.machine.device import PRECISION_NAMES, autocast_dtype, pick_device
from tl_core.networks.model import TransferModel

BATCH = 64
VARIANTS = {  # name: (memory format, ReLU before the pool, bf16 autocast)
    "bf16": (torch.channels_last, False, True),
    "fp32": (torch.channels_last, False, False),
    "relu_first": (torch.channels_last, True, False),
    "nchw_relu_first": (torch.contiguous_format, True, False),
}
NAMES = {"bf16": "channels-last, pool then ReLU, bf16 autocast",
         "fp32": "channels-last, pool then ReLU, fp32", "relu_first": "channels-last, ReLU then pool, fp32",
         "nchw_relu_first": "default layout, ReLU then pool, fp32 (before)"}


def _model(variant: str, device: torch.device) -> TransferModel:
    layout, relu_first, _ = VARIANTS[variant]
    torch.manual_seed(0)
    model = TransferModel(create_backbone("small_cnn", "random", 32), 10)
    if relu_first:  # conv, BatchNorm, ReLU, pool: the learned layers keep their indices
        for block in [model.backbone.stem, *model.backbone.blocks]:
            block[2], block[3] = block[3], block[2]
    return model.to(device, memory_format=layout)


def _train_ms(model: TransferModel, images: torch.Tensor, labels: torch.Tensor, steps: int,
              precision: Callable[[], torch.autocast]) -> tuple[float, float]:
    """Median milliseconds of a training step (after two warm-up steps) and the last loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    times, loss = [], torch.zeros(())
    for step in range(steps + 2):
        clock = Clock()
        with precision():
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= 2:
            times.append(clock.wall_s * 1e3)
    return median(times), float(loss)


@torch.no_grad()
def _eval_ms(model: TransferModel, images: torch.Tensor, passes: int,
             precision: Callable[[], torch.autocast]) -> float:
    model.eval()
    with precision():
        model(images)
    clock = Clock()
    for _ in range(passes):
        with precision():
            model(images)
    return clock.wall_s * 1e3 / passes


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    device = pick_device(args.device)
    repeats, steps, passes = (3, 5, 5) if args.quick else (7, 20, 20)
    say(f"bench/layout.py{' --quick' if args.quick else ''} on {machine_line(args.device)}")
    say(f"{repeats} interleaved repeats; a repeat: {steps} training steps of 2 × {BATCH} images and {passes} "
        f"evaluation passes of {4 * BATCH} images, in each variant")
    domain = load_domain("synth-digits", 32)
    images = domain.train.images[:2 * BATCH].to(device)
    labels = domain.train.labels[:2 * BATCH].to(device)
    eval_images = domain.test.images[:4 * BATCH].to(device)
    results = {name: {"train": [], "eval": [], "loss": []} for name in VARIANTS}
    names = list(VARIANTS)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            precision = partial(torch.autocast, device.type, dtype=torch.bfloat16, enabled=VARIANTS[name][2])
            train_ms, loss = _train_ms(_model(name, device), images, labels, steps, precision)
            results[name]["train"].append(train_ms)
            results[name]["loss"].append(loss)
            results[name]["eval"].append(_eval_ms(_model(name, device), eval_images, passes, precision))
        say(f"  repeat {r + 1}/{repeats}: " + ", ".join(
            f"{name} step {results[name]['train'][-1]:.1f} ms, eval {results[name]['eval'][-1]:.1f} ms"
            for name in VARIANTS))
    bf16 = results["bf16"]
    rows, lines = [], []
    for name, result in results.items():
        train_speedup = median(t / mine for t, mine in zip(result["train"], bf16["train"]))
        eval_speedup = median(t / mine for t, mine in zip(result["eval"], bf16["eval"]))
        loss_diff = max(abs(a - b) for a, b in zip(result["loss"], bf16["loss"]))
        rows.append([NAMES[name], f"{median(result['train']):.1f}", f"{train_speedup:.2f}",
                     f"{median(result['eval']):.1f}", f"{eval_speedup:.2f}", f"{loss_diff:.1e}"])
        lines.append(f"RESULT variant={name} train_speedup={train_speedup:.2f} eval_speedup={eval_speedup:.2f} "
                     f"train_ms={median(result['train']):.1f} eval_ms={median(result['eval']):.1f} "
                     f"loss_diff={loss_diff:.1e}")
    say()
    say(table(["variant", "training step (median ms)", "its time / bf16's", "evaluation pass (median ms)",
               "its time / bf16's", f"loss after {steps + 2} steps, vs bf16's"], rows, title="bench/layout.py"))
    chosen = PRECISION_NAMES.get(autocast_dtype(device), "fp32")
    say(f"The lab trains in {chosen} on this boot. Load average now {load_now()}.")
    for line in lines:
        say(line)
    say(f"RESULT lab_precision={chosen}")


if __name__ == "__main__":
    main()
